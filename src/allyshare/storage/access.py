"""The access key of an object version: who the node says wrote it, and which markings it names.

The store keeps one row per distinct key and points each version at it, so the service can
judge a reader against every key once and hand the store the list of keys the reader passes.
The store compares keys as opaque values; what the markings mean is the policy's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

NODE_ORIGINATOR = ""
"""The originator recorded for what the node's operator imports: the node itself."""

PEER_MARK = ".PEER:"


def peer_originator(origin: str, peer_name: str) -> str:
    """The originator recorded for what a peer node sent: the organization that peer attests
    wrote it (or, without one, the peer's country) and the peer. The peer is part of it so
    that nothing a peer sends passes for a local member's writing."""
    return f"{origin}{PEER_MARK}{peer_name}"


def sender_of(originator: str) -> str | None:
    """The peer a version came from, None for a version written on this node."""
    _, mark, peer = originator.rpartition(PEER_MARK)
    return peer if mark else None


def origin_of(originator: str) -> str:
    """The organization (or country) a peer attested, or the originator itself."""
    origin, mark, _ = originator.rpartition(PEER_MARK)
    return origin if mark else originator


class AccessKey(NamedTuple):
    """``marking_refs`` are the object-level refs, ``granular_refs`` the granular ones; both
    sorted, each ref once. A named tuple: every version written makes one, and the store
    hashes and compares them per version (a frozen dataclass does both in Python)."""

    originator: str
    marking_refs: tuple[str, ...]
    granular_refs: tuple[str, ...]

    @property
    def digest(self) -> str:
        text = orjson.dumps([self.originator, self.marking_refs, self.granular_refs])
        return hashlib.sha256(text).hexdigest()

    def row(self) -> dict[str, str]:
        return {
            "digest": self.digest,
            "originator_id": self.originator,
            "marking_refs": orjson.dumps(self.marking_refs).decode(),
            "granular_refs": orjson.dumps(self.granular_refs).decode(),
        }

    @classmethod
    def from_row(cls, originator: str, marking_refs: str, granular_refs: str) -> AccessKey:
        return cls(
            originator, tuple(orjson.loads(marking_refs)), tuple(orjson.loads(granular_refs))
        )


def markings_in(obj: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(object-level refs, granular refs) of a validated object, canonical."""
    refs = obj.get("object_marking_refs") or ()
    marking_refs = tuple(refs) if len(refs) == 1 else tuple(sorted(set(refs)))
    entries = obj.get("granular_markings")
    if not entries:  # most objects: nothing more to sort out
        return marking_refs, ()
    granular = {
        entry["marking_ref"]
        for entry in entries
        if isinstance(entry, Mapping) and isinstance(entry.get("marking_ref"), str)
    }
    return marking_refs, tuple(sorted(granular))
