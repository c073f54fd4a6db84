"""Anonymous contribution through the service, on SQLite and PostgreSQL: readers see the
community, never the contributor; the true values are sealed at rest; the audit log names
the contributor's organization only by a pseudonym the organization itself can follow."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, text

from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from allyshare.service import CONSOLE, Node
from allyshare.sources import IDENTIFYING, community_identity_id
from allyshare.storage import EntryFilter, PeerRecord, User, VersionFilter

AGREEMENT: dict[str, Any] = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "S",
    "tlp_ceiling": "RED",
    "propin_match_only": True,
    "aggregate_k": 3,
}
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
PSEUDONYM = community_identity_id("us-rok-tech")
HANBIT = identity_of("KOR.HANBIT")
EVERY = VersionFilter(versions=frozenset({"all"}))


def report(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": f"Intrusion at a chip fab {number}",
        "published": "2026-01-01T00:00:00Z",
        "object_refs": [f"indicator--{number:08d}-0000-4000-8000-000000000000"],
        "object_marking_refs": [TLP_GREEN],
        "created_by_ref": HANBIT,
        **extra,
    }


@dataclass
class Site:
    node: Node
    collection: str
    hanbit: User
    kisa: User
    admin: User
    database_url: str

    def bodies(self, reader: User) -> list[dict[str, Any]]:
        items = self.node.read_objects(reader, self.collection, EVERY, limit=1000).items
        return [orjson.loads(item.body) for item in items]

    def audit_text(self, reader: User = CONSOLE) -> bytes:
        return orjson.dumps(self.node.audit_entries(reader, EntryFilter(), limit=10_000))


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="KOR"))
    hanbit = node.add_organization("HANBIT", country="KOR", kind="company")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection("Shared", agreement="us-rok-tech").id
    node.add_user("hanbit-analyst", organization=hanbit, roles=["contributor"])
    node.add_user("kisa", organization=kisa, roles=["reader"])
    node.add_user("root", is_admin=True)
    yield Site(
        node,
        collection,
        node.user("hanbit-analyst"),
        node.user("kisa"),
        node.user("root"),
        database_url,
    )
    node.close()


def test_readers_see_the_community_and_nothing_that_names_the_contributor(site: Site) -> None:
    node = site.node
    submitted = report(
        1,
        x_hanbit_case="HANBIT-CASE-77",
        external_references=[{"source_name": "hanbit-soc", "external_id": "HB-1"}],
        **{IDENTIFYING: ["x_hanbit_case", "external_references"]},
    )
    status = node.add_objects(site.hanbit, site.collection, [submitted], anonymous=True)
    assert status.success_count == 1, status.failures
    for reader in (site.kisa, site.admin, CONSOLE):
        bodies = {body["id"]: body for body in site.bodies(reader)}
        shown = bodies[submitted["id"]]
        assert shown["created_by_ref"] == PSEUDONYM
        assert bodies[PSEUDONYM]["name"] == "A member of the us-rok-tech community"
        text_shown = orjson.dumps(list(bodies.values()))
        for secret in (HANBIT.encode(), b"HANBIT", b"HB-1", IDENTIFYING.encode()):
            assert secret not in text_shown
    exported = b"".join(node.export(site.kisa, site.collection, VersionFilter()))
    assert b"HANBIT" not in exported and HANBIT.encode() not in exported
    peer = seoul(node)
    sent = node.read_objects(peer, site.collection, EVERY, limit=100)
    assert node.attested_originators(sent.items) == ["KOR", "KOR"], "only the country leaves"


def seoul(node: Node) -> User:
    node.add_peer(
        PeerRecord(
            "seoul", "https://seoul.example/taxii2/api/", b"", "", "KOR", "us-rok-tech", None, 0
        )
    )
    return node.peer_user(node.peer("seoul"))


def test_the_true_values_are_sealed_at_rest(site: Site) -> None:
    node = site.node
    submitted = report(2, x_hanbit_case="HANBIT-CASE-78", **{IDENTIFYING: ["x_hanbit_case"]})
    node.add_objects(site.hanbit, site.collection, [submitted], anonymous=True)
    engine = create_engine(site.database_url)
    try:
        with engine.connect() as connection:
            [sealed] = connection.execute(text("SELECT sealed FROM sealed_sources")).scalars()
            dumped = b"".join(
                bytes(row[0]) if isinstance(row[0], (bytes, memoryview)) else str(row[0]).encode()
                for table in ("objects", "audit_entries", "audit_about")
                for row in connection.execute(text(f"SELECT * FROM {table}"))
            )
    finally:
        engine.dispose()
    sealed = bytes(sealed)
    assert b"HANBIT" not in sealed and b"hanbit" not in sealed
    assert b"HANBIT-CASE-78" not in dumped and HANBIT.encode() not in dumped
    opened = node._sources.opened(
        [(site.collection, submitted["id"], submitted["modified"], sealed)]
    )
    assert opened == [
        {
            "collection": site.collection,
            "version": submitted["modified"],
            "organization": "KOR.HANBIT",
            "user": "hanbit-analyst",
            "withheld": {
                "created_by_ref": HANBIT,
                "removed": {"x_hanbit_case": "HANBIT-CASE-78"},
            },
        }
    ]
    with pytest.raises(ValueError, match="does not open"):
        node._sources.opened(
            [(site.collection, submitted["id"], "2027-01-01T00:00:00.000Z", sealed)]
        )


def test_the_log_names_the_contributor_by_a_pseudonym_only_it_follows(site: Site) -> None:
    node = site.node
    node.add_objects(site.hanbit, site.collection, [report(3)], anonymous=True)
    node.read_objects(site.kisa, site.collection, VersionFilter(), limit=100)
    node.explain(site.admin, report(3)["id"], "kisa")
    logged = site.audit_text()
    contributions = [
        e
        for e in node.audit_entries(CONSOLE, EntryFilter(), limit=1000)
        if e["action"] in ("objects:write", "objects:read", "policy:explain")
    ]
    assert [e["action"] for e in contributions] == [
        "objects:write",
        "objects:read",
        "policy:explain",
    ]
    write, read, explained = contributions
    pseudonym = write["actor"]["name"]
    assert pseudonym.startswith("anonymous:") and write["actor"]["kind"] == "anonymous"
    assert "status" not in write["detail"]
    assert set(write["objects"]) == {pseudonym}
    assert pseudonym in read["objects"] and pseudonym in explained["objects"]
    after_setup = logged.split(b'"objects:write"', 1)[1]
    assert b"HANBIT" not in after_setup and b"hanbit" not in after_setup
    own = node.audit_entries(site.hanbit, EntryFilter(), limit=1000)
    assert [e["action"] for e in own] == ["objects:write", "objects:read", "policy:explain"]
    theirs = node.audit_entries(site.kisa, EntryFilter(), limit=1000)
    assert all(not e["objects"] for e in theirs)


def test_explain_tells_the_admin_no_contributor_and_the_contributor_its_own(site: Site) -> None:
    node = site.node
    node.add_objects(site.hanbit, site.collection, [report(4)], anonymous=True)
    [for_admin] = node.explain(site.admin, report(4)["id"], "kisa")
    assert for_admin.originator == "an anonymous member of the community"
    assert "HANBIT" not in repr(for_admin)
    [for_owner] = node.explain(site.hanbit, report(4)["id"], "kisa")
    assert for_owner.originator == "KOR.HANBIT"


def test_defaults_and_who_may_be_anonymous(site: Site) -> None:
    node = site.node
    quiet = node.add_collection("Quiet", agreement="us-rok-tech", anonymous_by_default=True)
    node.add_objects(site.hanbit, quiet.id, [report(5)])
    node.add_objects(site.hanbit, quiet.id, [report(6)], anonymous=False)
    authors = {
        body["id"]: body.get("created_by_ref")
        for body in (
            orjson.loads(i.body)
            for i in node.read_objects(site.kisa, quiet.id, EVERY, limit=10).items
        )
    }
    assert authors[report(5)["id"]] == PSEUDONYM and authors[report(6)["id"]] == HANBIT
    with pytest.raises(InvalidInput, match="for members' users"):
        node.add_objects(CONSOLE, site.collection, [report(7)], anonymous=True)
    unsigned = {k: v for k, v in report(8).items() if k != "created_by_ref"}
    assert node.add_objects(CONSOLE, quiet.id, [unsigned]).success_count == 1, "named, as the node"
    node.apply_agreement({**AGREEMENT, "version": 2, "anonymous_by_default": True})
    node.add_objects(site.hanbit, site.collection, [report(9)])
    [ninth] = [b for b in site.bodies(site.kisa) if b["id"] == report(9)["id"]]
    assert ninth["created_by_ref"] == PSEUDONYM


def test_what_cannot_be_made_anonymous_fails_per_object(site: Site) -> None:
    node = site.node
    status = node.add_objects(
        site.hanbit,
        site.collection,
        [report(10), report(11, **{IDENTIFYING: ["name"]})],
        anonymous=True,
    )
    assert status.success_count == 1
    [failure] = status.failures
    assert failure["id"] == report(11)["id"]
    assert "'name' is not an x_ property or external reference" in failure["message"]


def test_an_admin_reveals_the_contributor_for_a_reason_the_contributor_sees(site: Site) -> None:
    node = site.node
    node.add_objects(site.hanbit, site.collection, [report(12)], anonymous=True)
    with pytest.raises(PermissionDenied):
        node.reveal(report(12)["id"], "curious", actor=site.kisa)
    with pytest.raises(InvalidInput, match="needs a reason"):
        node.reveal(report(12)["id"], " ", actor=site.admin)
    with pytest.raises(NotFound, match="no anonymous contribution"):
        node.reveal(report(13)["id"], "not anonymous", actor=site.admin)
    done = node.reveal(report(12)["id"], "court order 2026-17", actor=site.admin)
    assert not done.pending
    [contribution] = done.contributions
    assert contribution["organization"] == "KOR.HANBIT"
    assert contribution["user"] == "hanbit-analyst"
    assert contribution["withheld"]["created_by_ref"] == HANBIT
    [seen] = [
        e
        for e in node.audit_entries(site.hanbit, EntryFilter(), limit=1000)
        if e["action"] == "sources:reveal"
    ]
    assert seen["detail"]["reason"] == "court order 2026-17"
    assert seen["detail"]["admins"] == ["root"] and seen["detail"]["stage"] == "revealed"
    [logged] = [
        e
        for e in node.audit_entries(CONSOLE, EntryFilter(), limit=1000)
        if e["action"] == "sources:reveal" and e["outcome"] == "allowed"
    ]
    assert b"HANBIT" not in orjson.dumps(logged)
    [kept] = node.reveals(actor=site.admin)
    assert (kept.reason, kept.requested_by, kept.confirmed_by) == (
        "court order 2026-17",
        "root",
        "root",
    )
    with pytest.raises(PermissionDenied):
        node.reveals(actor=site.kisa)
    with pytest.raises(Conflict, match="confirmed already"):
        node.confirm_reveal(kept.id, actor=site.admin)


def test_a_two_person_reveal_waits_for_a_second_admin(site: Site) -> None:
    node = site.node
    node.apply_agreement({**AGREEMENT, "version": 2, "reveal_approvals": 2})
    node.add_user("root2", is_admin=True)
    second = node.user("root2")
    node.add_objects(site.hanbit, site.collection, [report(14)], anonymous=True)
    asked = node.reveal(report(14)["id"], "incident 44", actor=site.admin)
    assert asked.pending and not asked.contributions
    [waiting] = node.reveals(actor=second)
    assert (waiting.id, waiting.confirmed_by) == (asked.id, None)
    with pytest.raises(PermissionDenied, match="a second admin"):
        node.confirm_reveal(asked.id, actor=site.admin)
    done = node.confirm_reveal(asked.id, actor=second)
    assert [c["organization"] for c in done.contributions] == ["KOR.HANBIT"]
    with pytest.raises(Conflict):
        node.confirm_reveal(asked.id, actor=second)
    [confirmed] = node.reveals(actor=site.admin)
    assert confirmed.confirmed_by == "root2"
    stages = [
        (e["detail"]["stage"], e["detail"]["admins"])
        for e in node.audit_entries(site.hanbit, EntryFilter(), limit=1000)
        if e["action"] == "sources:reveal"
    ]
    assert stages == [("requested", ["root"]), ("revealed", ["root", "root2"])]
