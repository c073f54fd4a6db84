"""Through the node's write path: of any mix of valid and broken incidents and exposures, the
node stores exactly the valid ones and refuses exactly the broken ones, each on its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allyshare.config import Settings
from allyshare.service import CONSOLE, Node

from support.economic import broken, exposures, incidents


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, str]]:
    directory: Path = tmp_path_factory.mktemp("node")
    database = f"sqlite:///{directory / 'allyshare.db'}"
    node = Node.open(Settings(data_dir=directory, database_url=database, country="USA"))
    yield node, node.add_collection("Economic security").id
    node.close()


def fresh(obj: dict[str, Any]) -> dict[str, Any]:
    """The object under an id no example used before (the node keeps every example's)."""
    return {**obj, "id": f"{obj['type']}--{uuid.uuid4()}"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mix=st.lists(
        st.tuples(st.booleans(), incidents() | exposures(), broken()), min_size=1, max_size=8
    )
)
def test_exactly_the_valid_objects_are_stored(
    site: tuple[Node, str], mix: list[tuple[bool, dict[str, Any], dict[str, Any]]]
) -> None:
    node, collection = site
    objects = [fresh(good if valid else bad) for valid, good, bad in mix]
    status = node.add_objects(CONSOLE, collection, objects)
    valid = [obj["id"] for obj, (is_valid, _, _) in zip(objects, mix, strict=True) if is_valid]
    assert [success["id"] for success in status.successes] == valid
    assert status.failure_count == len(objects) - len(valid)
