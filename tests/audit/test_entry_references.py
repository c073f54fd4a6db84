"""Refs that name their versions as in an earlier entry: what their leaf holds, who they are
about, and the references a leaf refuses to hold."""

from __future__ import annotations

import orjson
import pytest

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRefs

V1 = "2026-01-01T00:00:00.000Z"
V2 = "2026-01-02T00:00:00.000Z"


def leaf(objects: ObjectRefs, seq: int = 9) -> dict[str, object]:
    entry = AuditEntry("objects:read", Actor("reader", "user"), AuditOutcome.ALLOWED, None, objects)
    found: dict[str, object] = orjson.loads(entry.leaf(seq, 1_000))
    return found


def test_a_reference_without_a_change_set_is_one_key() -> None:
    refs = ObjectRefs.as_in(4, ["USA.A", "USA.B"])
    document = leaf(refs)
    assert document["objects_as_in"] == 4
    assert "objects" not in document and "objects_added" not in document
    assert "objects_dropped" not in document
    assert refs and len(refs) == 0 and refs.refers_to == 4
    assert refs.originators() == {"USA.A", "USA.B"}


def test_a_change_set_is_shaped_like_objects() -> None:
    added = ObjectRefs.of([("incident--c", V2, "KOR.C")])
    dropped = ObjectRefs.of([("incident--a", V1, "USA.A")])
    refs = ObjectRefs.as_in(4, ["USA.B"], added, dropped)
    document = leaf(refs)
    assert document["objects_added"] == {"KOR.C": [["incident--c", V2]]}
    assert document["objects_dropped"] == {"USA.A": [["incident--a", V1]]}
    assert "objects" not in document
    # What was added is about its originators whatever the caller named.
    assert refs.originators() == {"USA.B", "KOR.C"} and len(refs) == 2


def test_empty_change_sets_are_left_out() -> None:
    document = leaf(ObjectRefs.as_in(0, [], ObjectRefs(), ObjectRefs()))
    assert document["objects_as_in"] == 0
    assert not {"objects", "objects_added", "objects_dropped"} & set(document)


def test_a_leaf_refers_only_back() -> None:
    with pytest.raises(ValueError, match="cannot name its versions"):
        leaf(ObjectRefs.as_in(9, []), seq=9)
    with pytest.raises(ValueError, match="cannot name its versions"):
        leaf(ObjectRefs.as_in(12, []), seq=9)
    for seq in (-1, True, "3"):
        with pytest.raises(ValueError, match="no audit entry"):
            ObjectRefs.as_in(seq, [])  # type: ignore[arg-type]


def test_a_reference_is_not_added_to_nor_listed() -> None:
    refs = ObjectRefs.as_in(1, ["USA.A"])
    with pytest.raises(ValueError):
        refs.versions_of("USA.A")
    with pytest.raises(ValueError):
        refs.as_fragment()
    with pytest.raises(ValueError, match="change set"):
        ObjectRefs.as_in(2, [], added=refs)


def test_listed_refs_are_unchanged() -> None:
    refs = ObjectRefs.of([("incident--a", V1, "USA.A")])
    assert refs.refers_to is None and len(refs) == 1
    assert leaf(refs)["objects"] == {"USA.A": [["incident--a", V1]]}
    assert not ObjectRefs() and "objects" not in leaf(ObjectRefs())
