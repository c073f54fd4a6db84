"""The audit log over the management API, on both backends: what an admin and a member see,
paging and JSON Lines, proofs an auditor checks against the signed checkpoint, and who may
hand back a cosignature."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.audit.entries import ObjectRefs
from allyshare.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from allyshare.audit.notes import ED25519, Checkpoint, Verifier, open_note
from allyshare.config import Settings
from allyshare.keys import load_signing_key
from allyshare.server import create_server_app
from allyshare.service import Node
from allyshare.service.audit import derived_read

from support.audit import named

API = "/api/v1"
TAXII = "application/taxii+json;version=2.1"
AGREEMENT: dict[str, Any] = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "S",
    "tlp_ceiling": "AMBER",
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
        "pattern": f"[ipv4-addr:value = '10.0.0.{number}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [TLP_GREEN],
    }


@dataclass
class Site:
    client: TestClient
    node: Node
    tokens: dict[str, str]
    collection: str
    data_dir: Path

    def get(self, path: str, who: str = "root", **params: Any) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.get(API + path, headers=headers, params=params)

    def post_objects(self, who: str, objects: list[dict[str, Any]]) -> None:
        response = self.client.post(
            f"/taxii2/api/collections/{self.collection}/objects/",
            content=orjson.dumps({"objects": objects}),
            headers={
                "Authorization": f"Bearer {self.tokens[who]}",
                "Accept": TAXII,
                "Content-Type": TAXII,
            },
        )
        assert response.status_code == 202, response.text

    def read_objects(self, who: str) -> None:
        response = self.client.get(
            f"/taxii2/api/collections/{self.collection}/objects/",
            headers={"Authorization": f"Bearer {self.tokens[who]}", "Accept": TAXII},
        )
        assert response.status_code == 200, response.text

    def checkpoint(self) -> Checkpoint:
        note = self.get("/audit/checkpoint")
        assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
        key = load_signing_key(self.data_dir).public_key().public_bytes_raw()
        opened = open_note(note.text, [Verifier("allyshare/allyshare", ED25519, key)])
        return Checkpoint.parse(opened.text)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection("Indicators", agreement="us-rok-tech").id
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    tokens = {
        "root": node.add_user("root", is_admin=True),
        "cisa": node.add_user("cisa", organization=cisa, roles=["contributor"]),
        "kisa": node.add_user("kisa", organization=kisa, roles=["contributor"]),
    }
    with TestClient(create_server_app(node)) as client:
        yield Site(client, node, tokens, collection, tmp_path)
    node.close()


def test_an_admin_pages_through_every_entry_and_exports_json_lines(site: Site) -> None:
    site.post_objects("cisa", [indicator(1)])
    site.read_objects("kisa")
    first = site.get("/audit", limit=3)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["seq"] for e in page["entries"]] == [0, 1, 2] and page["next_after"] == 2
    rest = site.get("/audit", after=2, limit=10_000).json()
    assert rest["entries"][0]["seq"] == 3 and rest["next_after"] is None
    actions = [e["action"] for e in page["entries"] + rest["entries"]]
    assert "objects:write" in actions and "objects:read" in actions
    lines = site.get("/audit", action="objects:write", format="jsonl")
    assert lines.headers["content-type"].startswith("application/jsonl")
    [written] = [orjson.loads(line) for line in lines.content.splitlines()]
    assert written["actor"]["name"] == "cisa"
    assert [o["id"] for o in named(written)] == [indicator(1)["id"]]


def test_a_member_sees_who_read_its_objects_and_nothing_else(site: Site) -> None:
    site.post_objects("cisa", [indicator(1)])
    site.post_objects("kisa", [indicator(2)])
    site.read_objects("kisa")
    seen = site.get("/audit", who="cisa")
    assert seen.status_code == 200, seen.text
    entries = seen.json()["entries"]
    assert {(e["action"], e["actor"]["name"]) for e in entries} == {
        ("objects:write", "cisa"),
        ("objects:read", "kisa"),
    }
    for entry in entries:
        assert [o["id"] for o in named(entry)] == [indicator(1)["id"]]
    assert site.get("/audit", who="cisa", organization="KOR.KISA").status_code == 403
    trail = site.get("/audit", who="cisa", object=indicator(2)["id"]).json()["entries"]
    assert trail == []


def test_proofs_check_against_the_signed_checkpoint(site: Site) -> None:
    site.post_objects("cisa", [indicator(1)])
    earlier = site.checkpoint()
    for number in range(2, 6):
        site.post_objects("cisa", [indicator(number)])
    later = site.checkpoint()
    assert later.size > earlier.size
    entries = site.get("/audit", limit=10_000).json()["entries"]
    for index in (0, earlier.size - 1, later.size - 1):
        proof = site.get("/audit/proof", entry=index, size=later.size)
        assert proof.status_code == 200, proof.text
        leaf = leaf_hash(orjson.dumps(entries[index], option=orjson.OPT_SORT_KEYS))
        hashes = [base64.b64decode(h) for h in proof.json()["proof"]]
        assert verify_inclusion(leaf, index, later.size, hashes, later.root_hash)
    answer = site.get("/audit/consistency", **{"from": earlier.size, "to": later.size})
    assert answer.status_code == 200, answer.text
    hashes = [base64.b64decode(h) for h in answer.json()["proof"]]
    assert verify_consistency(earlier.size, later.size, hashes, earlier.root_hash, later.root_hash)
    assert site.get("/audit/proof", entry=later.size + 5, size=later.size + 9).status_code == 400
    assert site.get("/audit/consistency", **{"from": 0, "to": 1}).status_code == 400


def test_only_a_peer_node_hands_back_a_cosignature(site: Site) -> None:
    site.checkpoint()
    answer = site.client.post(
        f"{API}/audit/cosignatures",
        json={"size": 1, "signature": "— someone AAAA"},
        headers={"Authorization": f"Bearer {site.tokens['root']}"},
    )
    assert answer.status_code == 403, answer.text
    assert site.get("/audit/cosignatures").json() == {"cosignatures": []}


def test_a_burst_of_failed_logins_is_one_entry(site: Site) -> None:
    for _ in range(25):
        site.client.get(f"{API}/me", headers={"Authorization": "Bearer wrong"})
    [burst] = site.get("/audit", action="login:failed").json()["entries"]
    assert burst["outcome"] == "denied" and burst["detail"]["client"]


def test_an_auditor_checks_an_entry_naming_its_versions_as_in_an_earlier_one(site: Site) -> None:
    """Shown with the versions it resolves to; its leaf is what is shown without them."""
    site.post_objects("cisa", [indicator(1), indicator(2)])
    [written] = site.get("/audit", action="objects:write").json()["entries"]
    gate = site.node._gate
    refs = ObjectRefs.as_in(
        written["seq"],
        ["USA.CISA"],
        dropped=ObjectRefs.of([(indicator(2)["id"], indicator(2)["modified"], "USA.CISA")]),
    )
    seq = gate.record(derived_read(site.node.user("root"), refs, {"view": "coercion"}))
    checkpoint = site.checkpoint()
    for who in ("root", "cisa"):
        [entry] = site.get("/audit", who=who, after=seq - 1, limit=1).json()["entries"]
        assert entry["objects_as_in"] == written["seq"]
        assert [o["id"] for o in named(entry)] == [indicator(1)["id"]]
    [entry] = site.get("/audit", object=indicator(1)["id"], after=seq - 1).json()["entries"]
    assert entry["seq"] == seq
    assert site.get("/audit", object=indicator(2)["id"], after=seq - 1).json()["entries"] == []
    del entry["objects"]
    leaf = leaf_hash(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))
    proof = site.get("/audit/proof", entry=seq, size=checkpoint.size).json()
    assert base64.b64decode(proof["leaf_hash"]) == leaf
    hashes = [base64.b64decode(h) for h in proof["proof"]]
    assert verify_inclusion(leaf, seq, checkpoint.size, hashes, checkpoint.root_hash)
