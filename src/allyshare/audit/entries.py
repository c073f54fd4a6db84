"""What one audit entry says, and the exact bytes that become its Merkle leaf.

An entry is one decision or change, batched per request: the objects a read returned are one
entry, not one each. The leaf is the entry's canonical JSON (sorted keys, no spaces), so
anyone holding the entry can recompute its leaf hash. Entries name objects by id and version
and never carry object bodies, tokens or secrets.
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
    once however many of its versions there are."""

    __slots__ = ("_by_originator", "_sealed")

    def __init__(self) -> None:
        self._by_originator: dict[str, list[VersionRef]] = {}
        self._sealed: orjson.Fragment | None = None

    @classmethod
    def of(cls, refs: Iterable[tuple[str, str, str]]) -> ObjectRefs:
        """From ``(id, version, originator)`` triples, each version whole (none withheld)."""
        found = cls()
        for object_id, version, originator in refs:
            found.versions_of(originator).append((object_id, version))
        return found

    def versions_of(self, originator: str) -> list[VersionRef]:
        """The list to append this originator's ``(id, version)`` or ``(id, version,
        withheld)`` to: a reader appends to it straight, once per version."""
        if self._sealed is not None:
            raise ValueError("sealed refs are not added to")
        found = self._by_originator.get(originator)
        if found is None:
            found = self._by_originator[originator] = []
        return found

    def originators(self) -> set[str]:
        return set(self._by_originator)

    def __len__(self) -> int:
        return sum(map(len, self._by_originator.values()))

    def as_fragment(self) -> orjson.Fragment:
        if self._sealed is not None:
            return self._sealed
        return orjson.Fragment(orjson.dumps(dict(sorted(self._by_originator.items()))))

    def seal(self) -> ObjectRefs:
        """Encode the refs once, for refs that many entries name (a kept view's names
        every version it drew on in each request's entry); nothing is added after."""
        self._sealed = self.as_fragment()
        return self


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
            document["objects"] = self.objects.as_fragment()
        if self.peer is not None:
            document["peer"] = self.peer
        if self.reason is not None:
            document["reason"] = self.reason
        if self.detail:
            document["detail"] = dict(self.detail)
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)

    def originators(self) -> set[str]:
        return self.objects.originators()
