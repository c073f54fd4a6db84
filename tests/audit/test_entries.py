"""An entry's listed object refs: grouped by originator in the leaf, in order, and refs that
name their versions as in an earlier entry change only through their change set."""

from __future__ import annotations

import orjson
import pytest

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRefs


def refs() -> ObjectRefs:
    return ObjectRefs.of(
        [
            ("incident--b", "2026-01-02T00:00:00.000Z", "USA.B"),
            ("incident--a", "2026-01-01T00:00:00.000Z", "USA.A"),
        ]
    )


def entry(objects: ObjectRefs) -> bytes:
    return AuditEntry(
        "objects:read", Actor("reader", "user"), AuditOutcome.ALLOWED, None, objects
    ).leaf(7, 1_000)


def test_listed_refs_are_grouped_by_originator_in_order() -> None:
    listed = refs()
    assert b'"objects":{"USA.A":[["incident--a"' in entry(listed)
    assert orjson.loads(entry(listed))["objects"] == {
        "USA.A": [["incident--a", "2026-01-01T00:00:00.000Z"]],
        "USA.B": [["incident--b", "2026-01-02T00:00:00.000Z"]],
    }
    assert listed.originators() == {"USA.A", "USA.B"} and len(listed) == 2


def test_refs_named_as_in_an_earlier_entry_take_no_versions_straight() -> None:
    referring = ObjectRefs.as_in(3, ["USA.A"])
    with pytest.raises(ValueError):
        referring.versions_of("USA.C")
    with pytest.raises(ValueError):
        referring.as_fragment()
