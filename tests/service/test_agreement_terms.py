"""Every term of a sharing agreement does what it says, on SQLite and PostgreSQL: a collection
declares a category its agreement covers, a new agreement version takes effect at once on
every path, and applying it is recorded with who applied it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from allyshare.clock import now_us
from allyshare.config import Settings
from allyshare.errors import InvalidInput, NotFound, PermissionDenied
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, PeerRecord, SubscriptionRecord, User, VersionFilter

AGREEMENT: dict[str, Any] = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat", "supply-chain"],
    "max_classification": "S",
    "tlp_ceiling": "RED",
    "propin_match_only": True,
    "aggregate_k": 3,
}
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def indicator(number: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '10.0.0.{number % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [TLP_GREEN],
    }


@dataclass
class Site:
    node: Node
    cisa: User
    kisa: User
    admin: User


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    node.apply_agreement(AGREEMENT)
    node.add_user("cisa", organization=cisa, roles=["contributor"])
    node.add_user("kisa", organization=kisa, roles=["reader"])
    node.add_user("root", is_admin=True)
    yield Site(node, node.user("cisa"), node.user("kisa"), node.user("root"))
    node.close()


def seoul(node: Node, agreement: str = "us-rok-tech") -> User:
    node.add_peer(
        PeerRecord(
            "seoul", "https://seoul.example/taxii2/api/", b"", "", "KOR", agreement, None, now_us()
        )
    )
    return node.peer_user(node.peer("seoul"))


def test_a_collection_declares_a_category_its_agreement_covers(site: Site) -> None:
    node = site.node
    collection = node.add_collection(
        "Supply chain", agreement="us-rok-tech", category="supply-chain"
    )
    assert collection.category == "supply-chain"
    assert node.collection_for(site.kisa, collection.id, "read").collection.category == (
        "supply-chain"
    )
    with pytest.raises(InvalidInput, match="does not cover 'economic-coercion'"):
        node.add_collection("Coercion", agreement="us-rok-tech", category="economic-coercion")
    with pytest.raises(InvalidInput, match="name the collection's category"):
        node.add_collection("Which?", agreement="us-rok-tech")
    with pytest.raises(InvalidInput, match="unknown category 'weather'"):
        node.add_collection("Weather", category="weather")
    with pytest.raises(NotFound, match="no agreement 'nope'"):
        node.add_collection("Nope", agreement="nope", category="cyber-threat")
    national = node.add_collection("National")
    assert national.category is None and national.agreement_name is None


def test_an_agreement_covering_one_category_gives_it_to_its_collections(site: Site) -> None:
    node = site.node
    node.apply_agreement({**AGREEMENT, "name": "cyber-only", "categories": ["cyber-threat"]})
    assert node.add_collection("Cyber", agreement="cyber-only").category == "cyber-threat"


def test_a_dropped_category_closes_its_collections_at_once_on_every_path(site: Site) -> None:
    node = site.node
    kept = node.add_collection("Cyber", agreement="us-rok-tech", category="cyber-threat")
    dropped = node.add_collection("Supply", agreement="us-rok-tech", category="supply-chain")
    node.add_objects(site.cisa, dropped.id, [indicator(1)])
    peer = seoul(node)
    assert node.read_objects(peer, dropped.id, VersionFilter(), limit=10).items
    version_2 = {**AGREEMENT, "version": 2, "categories": ["cyber-threat"]}
    node.apply_agreement(version_2, actor=site.admin)
    for reader in (site.cisa, site.kisa, peer):
        with pytest.raises(NotFound):
            node.read_objects(reader, dropped.id, VersionFilter(), limit=10)
        assert dropped.id not in {a.collection.id for a in node.collections_for(reader)}
        node.collection_for(reader, kept.id, "read")
    with pytest.raises(NotFound):
        node.add_objects(site.cisa, dropped.id, [indicator(2)])
    assert node.read_objects(site.admin, dropped.id, VersionFilter(), limit=10).items
    [applied] = [
        e
        for e in node.audit_entries(CONSOLE, EntryFilter(), limit=1000)
        if e["action"] == "agreements:write" and e["detail"].get("version") == 2
    ]
    assert applied["actor"]["name"] == "root"
    node.apply_agreement({**version_2, "version": 3, "categories": AGREEMENT["categories"]})
    assert node.read_objects(site.kisa, dropped.id, VersionFilter(), limit=10).items


def test_a_subscription_is_refused_for_a_category_the_agreement_lacks(site: Site) -> None:
    node = site.node
    dropped = node.add_collection("Supply", agreement="us-rok-tech", category="supply-chain")
    seoul(node)
    node.apply_agreement({**AGREEMENT, "version": 2, "categories": ["cyber-threat"]})
    with pytest.raises(InvalidInput, match="holds supply-chain, which agreement us-rok-tech"):
        node.subscribe(SubscriptionRecord("seoul", "remote", dropped.id, push=False))
    assert node.subscriptions() == []
    with pytest.raises(PermissionDenied):
        node.subscribe(
            SubscriptionRecord("seoul", "remote", dropped.id, push=False), actor=site.cisa
        )


def test_retention_removes_exactly_the_expired_versions_and_records_the_run(site: Site) -> None:
    node = site.node
    node.apply_agreement({**AGREEMENT, "version": 2, "retention_days": 30})
    node.apply_agreement({**AGREEMENT, "name": "forever", "categories": ["cyber-threat"]})
    kept = node.add_collection("Cyber", agreement="us-rok-tech", category="cyber-threat")
    forever = node.add_collection("Forever", agreement="forever")
    national = node.add_collection("National")
    for collection in (kept, forever, national):
        node.add_objects(
            site.cisa if collection is not national else CONSOLE,
            collection.id,
            [
                indicator(1),
                {**indicator(1), "modified": "2026-02-01T00:00:00.000Z"},
            ],
        )
    everything = VersionFilter(versions=frozenset({"all"}))
    [first, second] = node.read_objects(site.admin, kept.id, everything, limit=10).items
    day = 86_400 * 1_000_000

    assert [e.versions for e in node.run_retention(now=first.date_added + 30 * day)] == [0]
    [expired] = node.run_retention(now=second.date_added + 30 * day)
    assert (expired.collection, expired.versions, expired.retention_days) == (kept.id, 1, 30)
    [left] = node.read_objects(site.admin, kept.id, everything, limit=10).items
    assert left.version == second.version
    assert [
        i.version for i in node.read_objects(site.kisa, kept.id, VersionFilter(), limit=10).items
    ] == [second.version]
    for untouched in (forever, national):
        assert len(node.read_objects(site.admin, untouched.id, everything, limit=10).items) == 2
    [run] = [
        e
        for e in node.audit_entries(CONSOLE, EntryFilter(), limit=1000)
        if e["action"] == "objects:expire"
    ]
    assert run["actor"] == {"name": "system:cli", "kind": "operator"}
    assert run["detail"]["collections"] == {
        kept.id: {"agreement": "us-rok-tech", "retention_days": 30, "versions": 1}
    }
    assert node.audit_verify().ok
    with pytest.raises(PermissionDenied):
        node.run_retention(actor=site.cisa)
