"""Entries that name their versions as in an earlier entry, on SQLite and PostgreSQL: each is
shown with the versions it resolves to (cut down to a member's own), the object filter and
what reads the entries find them, an auditor recomputes their leaf without ``objects``, and
``verify`` names a reference that does not point back into the log."""

from __future__ import annotations

import argparse
import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRefs
from allyshare.audit.merkle import leaf_hash, verify_inclusion
from allyshare.audit.notes import ED25519, Checkpoint, Verifier, open_note
from allyshare.cli.audit import describe
from allyshare.config import Settings
from allyshare.keys import load_signing_key
from allyshare.service import CONSOLE, Node
from allyshare.service.audit import derived_read
from allyshare.storage import EntryFilter, User
from allyshare.storage.audit import AuditLog
from allyshare.ui.operations import shown_entry
from allyshare.ui.trail import described

from support.audit import named

CISA, KISA = "USA.CISA", "KOR.KISA"
V1, V2 = "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"
A, B, C = (f"incident--{n:08d}-0000-4000-8000-000000000000" for n in (1, 2, 3))
K1, K2 = (f"incident--{n:08d}-0000-4000-8000-00000000000b" for n in (1, 2))

Version = tuple[str, str, str]  # originator, id, version


@dataclass
class Site:
    node: Node
    cisa: User
    kisa: User
    data_dir: Path
    database_url: str

    def read(self, refs: ObjectRefs) -> int:
        """Record a read by the console that drew on ``refs``, as a view does."""
        return self.node._gate.record(derived_read(CONSOLE, refs, {"view": "test"}))

    def entries(self, user: User = CONSOLE, **asked: Any) -> dict[int, dict[str, Any]]:
        after = asked.pop("after", -1)
        found = self.node.audit_entries(user, EntryFilter(**asked), after=after, limit=10_000)
        return {entry["seq"]: entry for entry in found}


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    try:
        cisa = node.add_organization("CISA", country="USA", kind="cert")
        kisa = node.add_organization("KISA", country="KOR", kind="cert")
        node.add_user("cisa", organization=cisa, roles=["reader"])
        node.add_user("kisa", organization=kisa, roles=["reader"])
        yield Site(node, node.user("cisa"), node.user("kisa"), tmp_path, database_url)
    finally:
        node.close()


def listed(*versions: Version) -> ObjectRefs:
    return ObjectRefs.of((object_id, version, by) for by, object_id, version in versions)


def versions(entry: dict[str, Any]) -> set[Version]:
    found = [(o["originator"], o["id"], o["version"]) for o in named(entry)]
    assert len(found) == len(set(found)), "no version named twice"
    return set(found)


def test_a_chain_of_references_resolves_for_admins_and_members(site: Site) -> None:
    base = site.read(listed((CISA, A, V1), (CISA, B, V1), (KISA, K1, V1)))
    same = site.read(ObjectRefs.as_in(base, [CISA, KISA]))
    changed = site.read(
        ObjectRefs.as_in(
            same,
            [CISA, KISA],
            added=listed((CISA, C, V1), (KISA, K2, V1), (CISA, A, V2)),
            dropped=listed((CISA, A, V1), (KISA, K1, V1)),
        )
    )
    again = site.read(ObjectRefs.as_in(changed, [CISA, KISA]))
    without_kisa = site.read(ObjectRefs.as_in(again, [CISA], dropped=listed((KISA, K2, V1))))
    expected = {
        base: {(CISA, A, V1), (CISA, B, V1), (KISA, K1, V1)},
        same: {(CISA, A, V1), (CISA, B, V1), (KISA, K1, V1)},
        changed: {(CISA, A, V2), (CISA, B, V1), (CISA, C, V1), (KISA, K2, V1)},
        again: {(CISA, A, V2), (CISA, B, V1), (CISA, C, V1), (KISA, K2, V1)},
        without_kisa: {(CISA, A, V2), (CISA, B, V1), (CISA, C, V1)},
    }
    shown = site.entries()
    for seq, wanted in expected.items():
        assert versions(shown[seq]) == wanted, seq
    # The reference keys stay as the leaf holds them.
    assert shown[changed]["objects_as_in"] == same
    assert shown[changed]["objects_added"] == {
        CISA: [[C, V1], [A, V2]],
        KISA: [[K2, V1]],
    }
    assert shown[changed]["objects_dropped"] == {CISA: [[A, V1]], KISA: [[K1, V1]]}

    for member, organization in ((site.cisa, CISA), (site.kisa, KISA)):
        seen = site.entries(member)
        about = {
            seq for seq, wanted in expected.items() if any(v[0] == organization for v in wanted)
        }
        assert about <= set(seen)
        for seq in about:
            entry = seen[seq]
            assert versions(entry) == {v for v in expected[seq] if v[0] == organization}, seq
            for key in ("objects_added", "objects_dropped"):
                assert set(entry.get(key, {})) <= {organization}
    assert without_kisa not in site.entries(site.kisa)


def test_recording_returns_the_numbers_entries_got(site: Site) -> None:
    first = site.read(listed((CISA, A, V1)))
    entries = [
        AuditEntry(
            "objects:read", Actor("console", "operator"), AuditOutcome.ALLOWED, detail={"n": n}
        )
        for n in range(3)
    ]
    numbers = site.node._audit.record(entries)
    assert numbers == range(first + 1, first + 4)
    shown = site.entries()
    assert [shown[seq]["detail"] for seq in numbers] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert site.node._audit.record([]) == range(0)


def test_an_entry_referred_to_is_read_once_from_outside_the_page(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = site.read(listed((CISA, A, V1), (KISA, K1, V1)))
    chained = site.read(ObjectRefs.as_in(base, [CISA, KISA], added=listed((CISA, B, V1))))
    referring = [site.read(ObjectRefs.as_in(base, [CISA, KISA])) for _ in range(20)]
    last = site.read(ObjectRefs.as_in(chained, [CISA, KISA], dropped=listed((KISA, K1, V1))))
    asked: list[set[int]] = []
    bodies = AuditLog.bodies

    def counted(log: AuditLog, seqs: Iterable[int]) -> dict[int, bytes]:
        asked.append(set(seqs))
        return bodies(log, asked[-1])

    monkeypatch.setattr(AuditLog, "bodies", counted)
    shown = site.entries(after=chained)
    assert asked == [{base, chained}]
    for seq in referring:
        assert versions(shown[seq]) == {(CISA, A, V1), (KISA, K1, V1)}
    assert versions(shown[last]) == {(CISA, A, V1), (CISA, B, V1)}

    # A page holding only the last entry goes back along its chain, one step a round.
    asked.clear()
    [entry] = site.node.audit_entries(site.cisa, EntryFilter(), after=last - 1, limit=1)
    assert asked == [{chained}, {base}]
    assert versions(entry) == {(CISA, A, V1), (CISA, B, V1)}


def test_the_object_filter_and_what_reads_entries_find_a_referring_entry(site: Site) -> None:
    base = site.read(listed((CISA, A, V1), (KISA, K1, V1)))
    same = site.read(ObjectRefs.as_in(base, [CISA, KISA]))
    gone = site.read(ObjectRefs.as_in(same, [KISA], dropped=listed((CISA, A, V1))))
    added = site.read(ObjectRefs.as_in(gone, [CISA, KISA], added=listed((CISA, C, V1))))
    assert set(site.entries(object_id=A)) == {base, same}
    assert set(site.entries(object_id=C)) == {added}
    assert set(site.entries(site.cisa, object_id=A)) == {base, same}
    assert set(site.entries(site.kisa, object_id=A)) == set()
    assert set(site.entries(site.kisa, object_id=K1)) == {base, same, gone, added}

    entry = site.entries(object_id=A)[same]
    [line] = described([entry], {}, A)
    assert line.objects == [(A, V1)]
    assert shown_entry(entry).versions == 2
    said = describe(entry, argparse.Namespace(object_id=A))
    assert f"{A} {V1}" in said and "more" not in said


def test_an_auditor_recomputes_a_referring_leaf_without_objects(site: Site) -> None:
    base = site.read(listed((CISA, A, V1), (KISA, K1, V1)))
    same = site.read(ObjectRefs.as_in(base, [CISA, KISA]))
    changed = site.read(
        ObjectRefs.as_in(same, [CISA], added=listed((CISA, B, V1)), dropped=listed((KISA, K1, V1)))
    )
    note = site.node.audit_checkpoint()
    key = load_signing_key(site.data_dir).public_key().public_bytes_raw()
    checkpoint = Checkpoint.parse(
        open_note(note, [Verifier("allyshare/allyshare", ED25519, key)]).text
    )
    shown = site.entries()
    for seq in (base, same, changed):
        entry = dict(shown[seq])
        if "objects_as_in" in entry:
            del entry["objects"]
        leaf = leaf_hash(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))
        proof = site.node.audit_inclusion(CONSOLE, seq, checkpoint.size)
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        hashes = [base64.b64decode(h) for h in proof["proof"]]
        assert verify_inclusion(leaf, seq, checkpoint.size, hashes, checkpoint.root_hash)
    assert site.node.audit_verify().ok


class Forward(ObjectRefs):
    """Refs whose leaf points at a later entry, as a node with a bug would write them."""

    __slots__ = ()

    def leaf_fields(self, seq: int) -> dict[str, Any]:
        return {"objects_as_in": seq + 3}


def test_verify_names_a_reference_forward(site: Site) -> None:
    site.read(listed((CISA, A, V1)))
    forward = site.read(Forward.as_in(0, [CISA]))
    report = site.node.audit_verify()
    assert report.first_bad_entry == forward
    assert report.problems == [
        f"entry {forward}: names its versions as in {forward + 3}, not an earlier entry of the log"
    ]
    # Read, it names no versions rather than failing the page.
    assert "objects" not in site.entries()[forward]
    assert site.entries(site.cisa)[forward]["objects"] == {}


def test_verify_names_a_reference_to_a_deleted_entry(site: Site) -> None:
    base = site.read(listed((CISA, A, V1)))
    referring = site.read(ObjectRefs.as_in(base, [CISA]))
    site.node.audit_checkpoint()
    _delete_entry(site.database_url, base)
    report = site.node.audit_verify()
    assert f"entry {base}: missing (the next stored entry is {base + 1})" in report.problems
    assert (
        f"entry {referring}: names its versions as in {base}, not an earlier entry of the log"
        in report.problems
    )
    assert "objects" not in site.entries()[referring]


def _delete_entry(database_url: str, seq: int) -> None:
    """Delete an entry as someone with the database's keys would: its guard off first."""
    if database_url.startswith("sqlite"):
        statements = ["DROP TRIGGER IF EXISTS audit_entries_no_delete"]
    else:
        statements = ["ALTER TABLE audit_entries DISABLE TRIGGER USER"]
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in [*statements, f"DELETE FROM audit_entries WHERE seq = {seq}"]:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
