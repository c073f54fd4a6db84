"""An all-or-nothing write (``Node.add_objects(atomic=True)``, as spreadsheet imports make):
nothing is stored when any object is refused, by the checks or by the store, and every
object's status says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from allyshare.config import Settings
from allyshare.service import WITHDRAWN, Node
from allyshare.storage import User, VersionFilter

from support.economic import exposure, incident


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(
        {
            "name": "economic-security",
            "version": 1,
            "parties": {"countries": ["USA", "KOR"], "organizations": []},
            "categories": ["supply-chain"],
            "max_classification": "S",
            "tlp_ceiling": "AMBER",
            "propin_match_only": True,
            "aggregate_k": 2,
        }
    )
    node.add_collection("Supply chains", agreement="economic-security")
    for country in ("KOR", "USA"):
        organization = node.add_organization(
            f"{country} office", country=country, kind="government"
        )
        node.add_user(country.lower(), organization=organization, roles=["contributor", "curator"])
    yield node
    node.close()


def stored(node: Node, user: User) -> list[str]:
    [collection] = node.collections_for(user)
    page = node.read_objects(user, collection.collection.id, VersionFilter(), limit=100)
    return sorted(item.object_id for item in page.items)


def collection_of(node: Node, user: User) -> str:
    return node.collections_for(user)[0].collection.id


def test_a_refused_object_keeps_the_others_out(node: Node) -> None:
    kor = node.user("kor")
    collection = collection_of(node, kor)
    status = node.add_objects(kor, collection, [exposure(1), exposure(2, share=2)], atomic=True)
    assert (status.success_count, status.failure_count) == (0, 2)
    first, second = status.failures
    assert first["message"] == WITHDRAWN
    assert "'share': must be more than 0 and at most 1" in second["message"]
    assert stored(node, kor) == []
    assert node.status(kor, status.id).failure_count == 2  # the refusal is on record


def test_what_the_store_refuses_rolls_the_rest_back(node: Node) -> None:
    kor, usa = node.user("kor"), node.user("usa")
    collection = collection_of(node, kor)
    theirs = incident(7)
    assert node.add_objects(usa, collection, [theirs]).success_count == 1
    status = node.add_objects(kor, collection, [exposure(1), incident(7)], atomic=True)
    assert (status.success_count, status.failure_count) == (0, 2)
    assert status.failures[0]["message"] == WITHDRAWN
    assert (
        status.failures[1]["message"] == "only the originator of this object may add versions of it"
    )
    assert stored(node, kor) == [theirs["id"]]


def test_without_atomic_the_good_objects_are_stored(node: Node) -> None:
    kor = node.user("kor")
    collection = collection_of(node, kor)
    status = node.add_objects(kor, collection, [exposure(1), exposure(2, share=2)])
    assert (status.success_count, status.failure_count) == (1, 1)
    assert stored(node, kor) == [exposure(1)["id"]]
