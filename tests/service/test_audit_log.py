"""The audit log through the service, on SQLite and PostgreSQL: what each path records, what
an organization may see of it, that the database refuses to rewrite it, and that ``verify``
names the entry someone rewrote behind the node's back."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DatabaseError

from allyshare.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from allyshare.audit.notes import ED25519, Checkpoint, Verifier, open_note
from allyshare.config import Settings
from allyshare.errors import InvalidInput, PermissionDenied
from allyshare.keys import load_signing_key, public_key_text
from allyshare.policy import ACS_EXTENSION_ID
from allyshare.service import CONSOLE, Node, Verification
from allyshare.service.witnessing import Witnessed
from allyshare.storage import EntryFilter, PeerRecord, User, VersionFilter

from support.audit import named

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
TLP_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
ALL = EntryFilter()
GUARDED = ("audit_entries", "audit_nodes", "audit_checkpoints", "audit_about")
NOFORN = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--22222222-4444-4444-8444-444444444444",
    "created": "2024-01-01T00:00:00.000Z",
    "extensions": {
        ACS_EXTENSION_ID: {
            "extension_type": "property-extension",
            "control_set": {"classification": "U", "formal_determination": ["NF"]},
        }
    },
}


def indicator(number: int, marking: str = TLP_AMBER, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '10.0.0.{number % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking],
        **extra,
    }


@dataclass
class Site:
    node: Node
    collection: str
    cisa: User
    kisa: User
    nis_reader: User
    admin: User
    data_dir: Path
    database_url: str

    def entries(self, user: User = CONSOLE, selection: EntryFilter = ALL) -> list[dict[str, Any]]:
        return self.node.audit_entries(user, selection, limit=10_000)

    def execute(self, *statements: str) -> None:
        engine = create_engine(self.database_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def without_guards(self, *statements: str) -> None:
        """Rewrite the log as someone with the database's keys would: triggers off first."""
        if self.database_url.startswith("sqlite"):
            drop = [
                f"DROP TRIGGER IF EXISTS {table}_no_{event}"
                for table in GUARDED
                for event in ("update", "delete")
            ]
            self.execute(*drop, *statements)
        else:
            disable = [f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in GUARDED]
            self.execute(*disable, *statements)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, country="USA", checkpoint_entries=5
    )
    node = Node.open(settings)
    cisa_org = node.add_organization("CISA", country="USA", kind="cert")
    kisa_org = node.add_organization("KISA", country="KOR", kind="cert")
    nis_org = node.add_organization("NIS", country="KOR", kind="government")
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection("Shared", agreement="us-rok-tech").id
    node.add_user("cisa", organization=cisa_org, roles=["contributor"])
    node.add_user("kisa", organization=kisa_org, roles=["contributor"])
    node.add_user("nis", organization=nis_org, roles=["reader"])
    node.add_user("root", is_admin=True)
    yield Site(
        node,
        collection,
        node.user("cisa"),
        node.user("kisa"),
        node.user("nis"),
        node.user("root"),
        tmp_path,
        database_url,
    )
    node.close()


def test_writes_reads_and_admin_changes_are_recorded(site: Site) -> None:
    node = site.node
    node.add_objects(site.cisa, site.collection, [indicator(1), indicator(2)])
    node.add_objects(site.kisa, site.collection, [indicator(3)])
    node.read_objects(site.nis_reader, site.collection, VersionFilter(), limit=100)
    entries = site.entries()
    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_action.setdefault(entry["action"], []).append(entry)
    assert [e["detail"]["change"] for e in by_action["members:write"]][:3] == [
        "add organization",
        "add organization",
        "add organization",
    ]
    assert by_action["agreements:write"][0]["detail"] == {
        "change": "apply agreement",
        "agreement": "us-rok-tech",
        "version": 1,
    }
    assert by_action["collections:write"][0]["collection"] == site.collection
    first_write, second_write = by_action["objects:write"]
    assert first_write["actor"] == {"name": "cisa", "kind": "user", "organization": "USA.CISA"}
    assert [o["id"] for o in named(first_write)] == [indicator(1)["id"], indicator(2)["id"]]
    assert {o["originator"] for o in named(first_write)} == {"USA.CISA"}
    assert named(second_write)[0]["originator"] == "KOR.KISA"
    [read] = by_action["objects:read"]
    assert read["actor"]["name"] == "nis" and read["outcome"] == "allowed"
    assert len(named(read)) == 3
    # Entries never hold bodies: the pattern of an indicator appears nowhere.
    assert not any(b"ipv4-addr" in orjson.dumps(entry) for entry in entries)
    assert [entry["seq"] for entry in entries] == list(range(len(entries)))


def test_refusals_that_name_a_reason_are_recorded(site: Site) -> None:
    with pytest.raises(PermissionDenied):
        site.node.add_objects(site.nis_reader, site.collection, [indicator(4)])
    with pytest.raises(PermissionDenied):
        site.node.add_user("mallory", actor=site.cisa)
    denials = [e for e in site.entries() if e["outcome"] == "denied"]
    assert [(e["action"], e["actor"]["name"]) for e in denials] == [
        ("objects:write", "nis"),
        ("members:write", "cisa"),
    ]
    assert "no write access" in denials[0]["reason"]


def test_an_organization_sees_only_the_entries_about_its_own_objects(site: Site) -> None:
    node = site.node
    node.add_objects(site.cisa, site.collection, [indicator(1)])
    node.add_objects(site.kisa, site.collection, [indicator(2)])
    node.read_objects(site.nis_reader, site.collection, VersionFilter(), limit=100)
    seen = site.entries(site.cisa)
    assert seen, "CISA sees who wrote and read its indicator"
    for entry in seen:
        assert named(entry) and {o["originator"] for o in named(entry)} == {"USA.CISA"}
    assert {(e["action"], e["actor"]["name"]) for e in seen} == {
        ("objects:write", "cisa"),
        ("objects:read", "nis"),
    }
    with pytest.raises(PermissionDenied):
        site.entries(site.cisa, EntryFilter(about="KOR.KISA"))
    with pytest.raises(PermissionDenied):
        site.entries(User(name="nobody", is_admin=False, disabled=False))


def test_redactions_name_the_withheld_fields(site: Site) -> None:
    node = site.node
    node.add_objects(CONSOLE, site.collection, [NOFORN])
    marked = indicator(
        5,
        description="a detail for Americans only",
        granular_markings=[{"marking_ref": NOFORN["id"], "selectors": ["description"]}],
    )
    node.add_objects(site.cisa, site.collection, [marked])
    node.read_objects(site.nis_reader, site.collection, VersionFilter(), limit=100)
    [read] = [e for e in site.entries() if e["action"] == "objects:read"]
    [shown] = [o for o in named(read) if o["id"] == marked["id"]]
    assert read["outcome"] == "partial"
    assert shown["withheld"] == ["description", "granular_markings"]


def test_checkpoints_are_signed_and_proofs_verify(site: Site) -> None:
    node = site.node
    for number in range(12):
        node.add_objects(site.cisa, site.collection, [indicator(number)])
    note = node.audit_checkpoint()
    key = load_signing_key(site.data_dir).public_key().public_bytes_raw()
    checkpoint = Checkpoint.parse(
        open_note(note, [Verifier("allyshare/allyshare", ED25519, key)]).text
    )
    entries = site.entries()
    assert checkpoint.size == len(entries)
    for index in (0, 3, checkpoint.size - 1):
        proof = node.audit_inclusion(CONSOLE, index, checkpoint.size)
        leaf = leaf_hash(orjson.dumps(entries[index], option=orjson.OPT_SORT_KEYS))
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        hashes = [base64.b64decode(h) for h in proof["proof"]]
        assert verify_inclusion(leaf, index, checkpoint.size, hashes, checkpoint.root_hash)
    # The node signed checkpoints along the way (every 5 entries): each is consistent with
    # the newest.
    assert node.audit_verify().checkpoints >= 3
    earlier = Checkpoint.parse(
        open_note(
            site.node._store.audit.checkpoints()[0].note,
            [Verifier("allyshare/allyshare", ED25519, key)],
        ).text
    )
    proof = node.audit_consistency(earlier.size, checkpoint.size)["proof"]
    assert verify_consistency(
        earlier.size,
        checkpoint.size,
        [base64.b64decode(h) for h in proof],
        earlier.root_hash,
        checkpoint.root_hash,
    )


def test_the_database_refuses_to_rewrite_the_log(site: Site) -> None:
    site.node.add_objects(site.cisa, site.collection, [indicator(1)])
    site.node.audit_checkpoint()
    for statement in (
        "UPDATE audit_entries SET actor = 'someone' WHERE seq = 0",
        "DELETE FROM audit_entries WHERE seq = 0",
        "DELETE FROM audit_nodes",
        "UPDATE audit_checkpoints SET note = ''",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            site.execute(statement)
    assert site.node.audit_verify().ok


def _tampered(site: Site, *statements: str) -> Verification:
    for number in range(8):
        site.node.add_objects(site.cisa, site.collection, [indicator(number)])
    site.node.audit_checkpoint()
    assert site.node.audit_verify().ok
    site.without_guards(*statements)
    return site.node.audit_verify()


def test_verify_names_a_changed_entry(site: Site) -> None:
    body = (
        "CAST('{\"seq\":7}' AS BLOB)"
        if site.database_url.startswith("sqlite")
        else ("convert_to('{\"seq\":7}', 'UTF8')")
    )
    report = _tampered(site, f"UPDATE audit_entries SET body = {body} WHERE seq = 7")
    assert not report.ok and report.first_bad_entry == 7
    assert any("entry 7: changed" in problem for problem in report.problems)


def test_verify_names_a_deleted_entry(site: Site) -> None:
    report = _tampered(site, "DELETE FROM audit_entries WHERE seq = 6")
    assert not report.ok and report.first_bad_entry == 6
    assert any("entry 6: missing" in problem for problem in report.problems)


def test_verify_names_reordered_entries(site: Site) -> None:
    report = _tampered(
        site,
        "UPDATE audit_entries SET seq = -1 WHERE seq = 4",
        "UPDATE audit_entries SET seq = 4 WHERE seq = 5",
        "UPDATE audit_entries SET seq = 5 WHERE seq = -1",
    )
    assert not report.ok and report.first_bad_entry == 4


def test_verify_names_an_inserted_entry(site: Site) -> None:
    """A row copied in as the next entry: a copy, out of its place."""
    report = _tampered(
        site,
        "INSERT INTO audit_entries (seq, recorded_at, action, actor, actor_organization, body, "
        "mac) SELECT (SELECT MAX(seq) + 1 FROM audit_entries), recorded_at, action, actor, "
        "actor_organization, body, mac FROM audit_entries WHERE seq = 3",
    )
    size = report.entries
    assert not report.ok and report.first_bad_entry == size - 1
    assert any(f"entry {size - 1}: holds entry 3" in problem for problem in report.problems)


def test_verify_notices_history_cut_off_after_a_checkpoint(site: Site) -> None:
    report = _tampered(site, "DELETE FROM audit_entries WHERE seq >= 10")
    assert not report.ok and report.first_bad_entry == 10
    assert any("the log holds only 10 entries" in problem for problem in report.problems)


def test_a_witness_cosigns_growth_and_flags_a_rewrite(site: Site, tmp_path: Path) -> None:
    origin = site.node
    witness = Node.open(Settings(data_dir=tmp_path / "witness", country="KOR"))
    try:
        usa_key = public_key_text(load_signing_key(site.data_dir))
        kor_key = public_key_text(load_signing_key(tmp_path / "witness"))
        usa = PeerRecord("usa", "https://usa.invalid/taxii2/api/", b"", "", "USA", "x", usa_key, 0)
        origin.add_peer(
            PeerRecord("kor", "https://kor.invalid/taxii2/api/", b"", "", "KOR", "x", kor_key, 0)
        )
        kor = User(name="peer:kor", is_admin=False, disabled=False, peer="kor")

        def consistency(old: int, new: int) -> list[bytes]:
            return [base64.b64decode(h) for h in origin.audit_consistency(old, new)["proof"]]

        def witnessed() -> Witnessed:
            found = witness.witness(usa, origin.audit_checkpoint(), consistency)
            if found.cosignature is not None:
                origin.accept_cosignature(kor, found.size, found.cosignature)
            return found

        first = witnessed()
        origin.add_objects(site.cisa, site.collection, [indicator(1)])
        grown = witnessed()
        assert grown.problem is None and grown.size > first.size
        assert [c["size"] for c in origin.audit_cosignatures()] == [first.size, grown.size]
        report = origin.audit_verify()
        assert report.ok and report.cosignatures == 2
        with pytest.raises(InvalidInput):
            origin.accept_cosignature(kor, grown.size, str(first.cosignature))

        site.without_guards(*(f"DELETE FROM {table}" for table in GUARDED))
        for number in range(2, 2 + grown.size):
            origin.add_objects(site.cisa, site.collection, [indicator(number)])
        rewritten = witnessed()
        assert rewritten.cosignature is None
        assert rewritten.problem is not None and "rewritten" in rewritten.problem
        assert witness.peer_alarms()["usa"].reason == rewritten.problem
    finally:
        witness.close()
