"""What one audit entry says, and the exact bytes that become its Merkle leaf.

An entry is one decision or change, batched per request: the objects a read returned are one
entry, not one each. The leaf is the entry's canonical JSON (sorted keys, no spaces), so
anyone holding the entry can recompute its leaf hash. Entries name objects by id and version
and never carry object bodies, tokens or secrets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One object version an entry is about, with the organization recorded as its
    originator: what lets an organization see the entries about its own objects."""

    id: str
    version: str
    originator: str
    withheld: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """Keys in sorted order, so the entry's bytes are canonical without sorting them: a
        read's entry names thousands of these."""
        found: dict[str, Any] = {"id": self.id, "originator": self.originator}
        found["version"] = self.version
        if self.withheld:
            found["withheld"] = list(self.withheld)
        return found


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decision or change before it is appended (the log gives it its number and time)."""

    action: str
    actor: Actor
    outcome: AuditOutcome
    collection: str | None = None
    objects: Sequence[ObjectRef] = ()
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
            refs = orjson.dumps([ref.as_json() for ref in self.objects])
            document["objects"] = orjson.Fragment(refs)
        if self.peer is not None:
            document["peer"] = self.peer
        if self.reason is not None:
            document["reason"] = self.reason
        if self.detail:
            document["detail"] = dict(self.detail)
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)

    def originators(self) -> set[str]:
        return {ref.originator for ref in self.objects}
