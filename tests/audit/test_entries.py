"""An entry's object refs: sealed ones read exactly as they did, and take no more."""

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


def test_a_sealed_entry_is_the_same_entry_and_takes_no_more_refs() -> None:
    def entry(objects: ObjectRefs) -> bytes:
        return AuditEntry(
            "objects:read", Actor("reader", "user"), AuditOutcome.ALLOWED, None, objects
        ).leaf(7, 1_000)

    sealed = refs().seal()
    assert entry(sealed) == entry(refs())
    assert orjson.loads(entry(sealed))["objects"] == {
        "USA.A": [["incident--a", "2026-01-01T00:00:00.000Z"]],
        "USA.B": [["incident--b", "2026-01-02T00:00:00.000Z"]],
    }
    assert sealed.originators() == {"USA.A", "USA.B"} and len(sealed) == 2
    with pytest.raises(ValueError):
        sealed.versions_of("USA.C")
