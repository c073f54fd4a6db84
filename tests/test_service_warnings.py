"""A write whose markings the node cannot enforce is stored fail-closed, and its status says so:
otherwise the writer learns only when nobody else sees the object."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.service import Node
from allyshare.storage import VersionFilter
from allyshare.taxii import create_app

TAXII = "application/taxii+json;version=2.1"
UNKNOWN = "marking-definition--0f0a9e5c-7d4a-4cf6-a1ad-98a37d3d4e4b"
DEFINITION = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": UNKNOWN,
    "created": "2024-01-01T00:00:00.000Z",
    "name": "TLP:GREEN as the node's own definition",
    "extensions": {
        "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
            "extension_type": "property-extension",
            "tlp_2_0": "green",
        }
    },
}


def malware(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": f"malware--00000000-0000-4000-8000-00000000000{number}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "ROKRAT",
        "is_family": True,
        **extra,
    }


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    opened = Node.open(Settings(data_dir=tmp_path, database_url=database_url))
    yield opened
    opened.close()


def test_an_unknown_marking_is_stored_with_a_warning_in_the_status(node: Node) -> None:
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    collection = node.add_collection("Local").id
    writer = node.add_user("writer", organization=cisa, roles=["contributor"])
    reader = node.add_user("reader", organization=cisa, roles=["reader"])
    other = node.add_organization("DHS", country="USA", kind="government")
    outsider = node.add_user("outsider", organization=other, roles=["reader"])
    whole = malware(1, object_marking_refs=[UNKNOWN])
    granular = malware(2, granular_markings=[{"marking_ref": UNKNOWN, "selectors": ["name"]}])
    plain = malware(3)
    with TestClient(create_app(node)) as client:
        headers = {"Authorization": f"Bearer {writer}", "Accept": TAXII, "Content-Type": TAXII}
        path = f"/taxii2/api/collections/{collection}/objects/"
        posted = client.post(
            path, content=orjson.dumps({"objects": [whole, granular, plain]}), headers=headers
        )
        assert posted.status_code == 202, posted.text
        status = client.get(f"/taxii2/api/status/{posted.json()['id']}/", headers=headers).json()
        messages = {entry["id"]: entry["message"] for entry in status["successes"]}
        assert status["success_count"] == 3 and status["failure_count"] == 0
        assert messages == {
            whole["id"]: f"stored; warning: {UNKNOWN} is not known to this node, so only your "
            "organization and node admins can see it until its definition arrives",
            granular["id"]: f"stored; warning: {UNKNOWN} is not known to this node, so only "
            "your organization and node admins can see the fields it marks until its "
            "definition arrives",
            plain["id"]: "stored",
        }
        again = client.post(path, content=orjson.dumps({"objects": [whole]}), headers=headers)
        [repeat] = again.json()["successes"]
        assert repeat["message"].startswith("already stored") and "; warning: " in repeat["message"]

        # What the warning says: the writer's organization reads the object, another does not.
        assert visible(node, reader, collection, whole["id"]) == 1
        assert visible(node, outsider, collection, whole["id"]) == 0

        # With its definition in the same request, the marking is known: no warning.
        defined = malware(4, object_marking_refs=[UNKNOWN])
        both = client.post(
            path, content=orjson.dumps({"objects": [DEFINITION, defined]}), headers=headers
        )
        assert [s["message"] for s in both.json()["successes"]] == ["stored", "stored"]

    # ...until its definition arrives.
    assert visible(node, outsider, collection, whole["id"]) == 1


def visible(node: Node, token: str, collection: str, object_id: str) -> int:
    selection = VersionFilter(object_ids=(object_id,))
    user = node.authenticate_token(token)
    return len(node.read_objects(user, collection, selection, limit=5).items)
