"""An organization's audit trail in words: one line per entry of the log, as an originator
reads it (who read its objects, where they went, who matched against them), and which of
the node's partners have witnessed the entry.

Pure: it reads entries as `allyshare.service.Node.audit_entries` gives them (an
organization's view: ``objects`` holds only its own groups) and the cosignatures partners
gave the node's checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from allyshare.clock import format_us

__all__ = ["Line", "described", "witnessed_up_to"]


@dataclass(frozen=True)
class Line:
    """One entry as the trail shows it."""

    seq: int
    when: str
    action: str
    who: str
    said: str
    outcome: str
    peer: str | None
    objects: list[tuple[str, str]]
    withheld: list[str]
    witnesses: list[str]


def who_acted(actor: Mapping[str, Any]) -> str:
    """The actor as the log records it: a user with its organization (whose id starts with
    its country), a peer node, the node's operator or the node itself."""
    kind = actor.get("kind")
    name = str(actor.get("name", ""))
    if kind == "peer":
        return f"peer node {name}"
    if kind == "node":
        return f"this node ({name})"
    if kind == "operator":
        return f"the node's operator ({name})"
    organization = actor.get("organization")
    return f"{name} ({organization})" if organization else name


def _counted(count: int, one: str) -> str:
    return f"{count} {one}" if count == 1 else f"{count} {one}s"


def _said(entry: Mapping[str, Any], who: str, versions: int) -> str:
    """What the entry records, in a sentence."""
    action = entry.get("action")
    detail: Mapping[str, Any] = entry.get("detail", {})
    peer = entry.get("peer")
    these = _counted(versions, "version")
    if action == "objects:send":
        if detail.get("push"):
            return f"this node pushed {these} to peer node {peer}"
        return f"peer node {peer} pulled {these}: they went to that node"
    if action == "objects:read":
        if detail.get("export"):
            return f"{who} exported {these}"
        if detail.get("bodies") is False:
            return f"{who} listed {these}"
        return f"{who} read {these}"
    if action == "objects:match":
        organization = detail.get("organization")
        if "matched_of_yours" in detail:
            return (
                f"{who} matched {detail['matched_of_yours']} of {detail['asked']} values "
                "against yours"
            )
        if organization and "matched" in detail:
            return (
                f"{organization}, through peer node {peer}, matched {detail['matched']} of "
                f"{detail['asked']} values against what it may match here"
            )
        if organization:
            return (
                f"{organization}, through peer node {peer}, asked to match {detail['asked']} values"
            )
        if "contact" in detail:
            return f"{who} asked to get in touch about {_counted(detail['objects'], 'object')}"
        return f"{who} matched values"
    if action == "orcon:approve":
        verb = "withdrew the approval of" if detail.get("revoked") else "approved"
        return f"{who} {verb} {detail.get('object')} for {detail.get('recipient')}"
    if action == "sources:reveal":
        return f"{who}: reveal {detail.get('stage')}, reason: {detail.get('reason')}"
    if action == "objects:write":
        return f"{who} wrote {these}"
    if action == "objects:receive":
        return f"received {these} from peer node {peer}"
    if action == "objects:expire":
        return f"retention removed {these}"
    return f"{action} by {who}"


def witnessed_up_to(cosignatures: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per partner node, the size of the largest checkpoint of this node's log it cosigned:
    every entry numbered below it is one the partner would see rewritten."""
    found: dict[str, int] = {}
    for cosignature in cosignatures:
        witness = str(cosignature["witness"])
        found[witness] = max(found.get(witness, 0), int(cosignature["size"]))
    return found


def described(
    entries: Sequence[Mapping[str, Any]],
    witnessed: Mapping[str, int],
    object_id: str | None = None,
) -> list[Line]:
    """Each entry as a line; for one object's trail, only that object's versions."""
    lines = []
    for entry in entries:
        refs = [ref for group in entry.get("objects", {}).values() for ref in group]
        if object_id is not None:
            refs = [ref for ref in refs if ref[0] == object_id]
        who = who_acted(entry.get("actor", {}))
        lines.append(
            Line(
                seq=int(entry["seq"]),
                when=format_us(int(entry["recorded_at"])),
                action=str(entry.get("action")),
                who=who,
                said=_said(entry, who, len(refs)),
                outcome=str(entry.get("outcome")),
                peer=entry.get("peer"),
                objects=[(str(ref[0]), str(ref[1])) for ref in refs],
                withheld=sorted({name for ref in refs if len(ref) > 2 for name in ref[2]}),
                witnesses=sorted(w for w, size in witnessed.items() if size > entry["seq"]),
            )
        )
    return lines
