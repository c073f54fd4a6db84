"""What one audit entry says, and the exact bytes that become its Merkle leaf.

An entry is one decision or change, batched per request: the objects a read returned are one
entry, not one each. The leaf is the entry's canonical JSON (sorted keys, no spaces), so
anyone holding the entry can recompute its leaf hash. Entries name objects by id and version
and never carry object bodies, tokens or secrets.

An entry may name its versions as an earlier entry did, plus or minus a change set
(`ObjectRefs.as_in`): a view served again from memory draws on the same 100,000 versions, and
listing them in each request's entry made every request write megabytes. Such a leaf holds
``objects_as_in`` (the earlier entry's number) and, when they are not empty,
``objects_added`` and ``objects_dropped`` in the shape of ``objects``, and no ``objects``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

ENTRY_FORMAT = 1


class AuditOutcome(StrEnum):
    ALLOWED = "allowed"
    PARTIAL = "partial"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a member's user, the node's operator (an admin of no organization, or the
    CLI on the node's own machine), a peer node, or the node itself (background work)."""

    name: str
    kind: str
    organization: str | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.organization is not None:
            found["organization"] = self.organization
        return found


VersionRef = tuple[str, str] | tuple[str, str, list[str]]


class ObjectRefs:
    """The object versions an entry is about, grouped by the organization recorded as their
    originator: what lets an organization see the entries about its own objects. In the entry
    they read ``{originator: [[id, version], [id, version, [withheld property, ...]], ...]}``,
    compact because a read's entry names thousands of versions, and the originator is named
    once however many of its versions there are.

    Refs made by `as_in` name instead the versions an earlier entry names, with those
    ``added`` and without those ``dropped``: the entry stays small however many versions
    that is. The node resolves them when the log is read."""

    __slots__ = ("_about", "_added", "_as_in", "_by_originator", "_dropped")

    def __init__(self) -> None:
        self._by_originator: dict[str, list[VersionRef]] = {}
        self._as_in: int | None = None
        self._about: frozenset[str] = frozenset()
        self._added: ObjectRefs | None = None
        self._dropped: ObjectRefs | None = None

    @classmethod
    def of(cls, refs: Iterable[tuple[str, str, str]]) -> ObjectRefs:
        """From ``(id, version, originator)`` triples, each version whole (none withheld)."""
        found = cls()
        for object_id, version, originator in refs:
            found.versions_of(originator).append((object_id, version))
        return found

    @classmethod
    def as_in(
        cls,
        seq: int,
        originators: Iterable[str],
        added: ObjectRefs | None = None,
        dropped: ObjectRefs | None = None,
    ) -> ObjectRefs:
        """The versions entry ``seq`` names (as resolved, should it refer in turn), less
        those ``dropped`` (matched on id and version) and then those ``added``.

        ``originators`` are those of the versions this resolves to: the log cannot tell
        them without reading entry ``seq``, and each organization finds the entries about
        its objects by them (the originators of ``added`` are counted in anyway)."""
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValueError(f"no audit entry {seq!r} to name versions as in")
        for part in (added, dropped):
            if part is not None and part.refers_to is not None:
                raise ValueError("a change set lists its versions")
        found = cls()
        found._as_in = seq
        found._about = frozenset(originators) | (added.originators() if added else set())
        found._added = added if added else None
        found._dropped = dropped if dropped else None
        return found

    @property
    def refers_to(self) -> int | None:
        """The entry whose versions these refs name (`as_in`), or None when they list
        their versions."""
        return self._as_in

    def versions_of(self, originator: str) -> list[VersionRef]:
        """The list to append this originator's ``(id, version)`` or ``(id, version,
        withheld)`` to: a reader appends to it straight, once per version."""
        if self._as_in is not None:
            raise ValueError("refs named as in an earlier entry change through their change set")
        found = self._by_originator.get(originator)
        if found is None:
            found = self._by_originator[originator] = []
        return found

    def originators(self) -> set[str]:
        if self._as_in is not None:
            return set(self._about)
        return set(self._by_originator)

    def __len__(self) -> int:
        """The versions the entry lists itself: for refs made by `as_in`, those of the
        change set (what they resolve to takes reading the log)."""
        if self._as_in is not None:
            return len(self._added or ()) + len(self._dropped or ())
        return sum(map(len, self._by_originator.values()))

    def __bool__(self) -> bool:
        # Refs made by `as_in` name versions even with no change set.
        return self._as_in is not None or any(self._by_originator.values())

    def as_fragment(self) -> orjson.Fragment:
        """The encoded ``objects`` of listed refs."""
        if self._as_in is not None:
            raise ValueError(f"these refs name the versions of entry {self._as_in}")
        return orjson.Fragment(orjson.dumps(dict(sorted(self._by_originator.items()))))

    def leaf_fields(self, seq: int) -> dict[str, Any]:
        """What the refs add to the leaf of entry ``seq``: ``objects``, or the reference
        and its change set, which must point back (a reference forward could never be
        checked when the entry is appended, nor resolved without cycles)."""
        if self._as_in is None:
            return {"objects": self.as_fragment()}
        if self._as_in >= seq:
            raise ValueError(f"entry {seq} cannot name its versions as in entry {self._as_in}")
        found: dict[str, Any] = {"objects_as_in": self._as_in}
        if self._added:
            found["objects_added"] = self._added.as_fragment()
        if self._dropped:
            found["objects_dropped"] = self._dropped.as_fragment()
        return found


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decision or change before it is appended (the log gives it its number and time)."""

    action: str
    actor: Actor
    outcome: AuditOutcome
    collection: str | None = None
    objects: ObjectRefs = field(default_factory=ObjectRefs)
    peer: str | None = None
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def leaf(self, seq: int, recorded_at: int) -> bytes:
        """The canonical bytes of the entry as the ``seq``-th leaf, recorded at
        ``recorded_at`` (microseconds since the epoch)."""
        document: dict[str, Any] = {
            "format": ENTRY_FORMAT,
            "seq": seq,
            "recorded_at": recorded_at,
            "action": str(self.action),
            "actor": self.actor.as_json(),
            "outcome": str(self.outcome),
        }
        if self.collection is not None:
            document["collection"] = self.collection
        if self.objects:
            document.update(self.objects.leaf_fields(seq))
        if self.peer is not None:
            document["peer"] = self.peer
        if self.reason is not None:
            document["reason"] = self.reason
        if self.detail:
            document["detail"] = dict(self.detail)
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)

    def originators(self) -> set[str]:
        return self.objects.originators()
