"""A property of anonymous contribution: whoever contributes what, under whatever marking,
anonymously or not, no reader (each member, an admin, the console, a peer node) finds the
contributor of an anonymous object in anything the node tells it about that object: its body
on every read path, an export, what a peer is told, `policy explain`, or the audit log."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.service import CONSOLE, Node
from allyshare.sources import IDENTIFYING
from allyshare.storage import EntryFilter, PeerRecord, VersionFilter

ORGANIZATIONS = {
    "KOR.HANBIT": ("HANBIT", "KOR"),
    "KOR.KISA": ("KISA", "KOR"),
    "USA.CISA": ("CISA", "USA"),
}
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
EVERY = VersionFilter(versions=frozenset({"all"}))
AGREEMENT = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "S",
    "tlp_ceiling": "RED",
    "propin_match_only": True,
    "aggregate_k": 3,
}

contributions = st.lists(
    st.tuples(
        st.sampled_from(sorted(ORGANIZATIONS)),
        st.sampled_from([TLP_GREEN, TLP_AMBER]),
        st.booleans(),
        st.sampled_from(["report", "sighting"]),
    ),
    min_size=1,
    max_size=6,
)


def contribution(number: int, organization: str, marking: str, kind: str) -> dict[str, Any]:
    common = {
        "spec_version": "2.1",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "object_marking_refs": [marking],
        "created_by_ref": identity_of(organization),
        "x_case": f"CASE-{organization}-{number}",
        IDENTIFYING: ["x_case"],
    }
    if kind == "sighting":
        return {
            "type": "sighting",
            "id": f"sighting--{number:08d}-0000-4000-8000-000000000000",
            "sighting_of_ref": "indicator--00000000-0000-4000-8000-000000000001",
            "where_sighted_refs": [identity_of(organization)],
            **common,
        }
    return {
        "type": "report",
        "id": f"report--{number:08d}-0000-4000-8000-000000000000",
        "name": f"report {number}",
        "published": "2026-01-01T00:00:00Z",
        "object_refs": ["indicator--00000000-0000-4000-8000-000000000001"],
        **common,
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=contributions)
def test_no_reader_finds_the_contributor_of_an_anonymous_object(
    made: list[tuple[str, str, bool, str]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        node = Node.open(Settings(data_dir=Path(directory), country="KOR"))
        try:
            check(node, made)
        finally:
            node.close()


def check(node: Node, made: list[tuple[str, str, bool, str]]) -> None:
    for name, country in ORGANIZATIONS.values():
        node.add_organization(name, country=country, kind="company")
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection("Shared", agreement="us-rok-tech").id
    for organization in ORGANIZATIONS:
        node.add_user(f"writer-{organization}", organization=organization, roles=["contributor"])
    node.add_user("root", is_admin=True)
    node.add_peer(
        PeerRecord(
            "seoul", "https://seoul.example/taxii2/api/", b"", "", "KOR", "us-rok-tech", None, 0
        )
    )
    secrets: dict[str, tuple[bytes, ...]] = {}
    for number, (organization, marking, anonymous, kind) in enumerate(made, start=1):
        obj = contribution(number, organization, marking, kind)
        writer = node.user(f"writer-{organization}")
        status = node.add_objects(writer, collection, [obj], anonymous=anonymous)
        assert status.success_count == 1, status.failures
        if anonymous:
            name = ORGANIZATIONS[organization][0]
            secrets[obj["id"]] = (
                organization.encode(),
                identity_of(organization).encode(),
                f"CASE-{organization}".encode(),
                f'"{name}"'.encode(),
            )
    readers = [node.user(f"writer-{o}") for o in ORGANIZATIONS]
    readers += [node.user("root"), CONSOLE, node.peer_user(node.peer("seoul"))]
    for reader in readers:
        items = node.read_objects(reader, collection, EVERY, limit=1000).items
        for item in items:
            for secret in secrets.get(item.object_id, ()):
                assert secret not in item.body, (reader.name, item.object_id, secret)
        if reader.peer is not None:
            told = node.attested_originators(items)
            for item, originator in zip(items, told, strict=True):
                if item.object_id in secrets:
                    assert "." not in originator, "a peer learns only the country"
        if reader.peer is None:
            exported = b"\n".join(node.export(reader, collection, EVERY))
            for object_id, found in secrets.items():
                for line in exported.split(b"\n"):
                    if object_id.encode() in line:
                        assert not any(secret in line for secret in found), (reader.name, object_id)
    admin = node.user("root")
    for object_id, found in secrets.items():
        explained = repr(node.explain(admin, object_id, "writer-KOR.KISA"))
        assert not any(secret.decode() in explained for secret in found)
    for entry in node.audit_entries(CONSOLE, EntryFilter(), limit=10_000):
        for group, refs in entry.get("objects", {}).items():
            for ref in refs:
                if ref[0] not in secrets:
                    continue
                assert group.startswith("anonymous:"), (entry["action"], group)
                if entry["action"] == "objects:write":
                    assert entry["actor"]["kind"] == "anonymous"
                    dumped = orjson.dumps(entry)
                    assert not any(secret in dumped for secret in secrets[ref[0]])
