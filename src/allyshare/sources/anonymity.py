"""Anonymous contribution: what a contributor's object looks like once its identity is taken
out, and what was taken out (for sealing).

Readers still see that a member of the community wrote it: ``created_by_ref`` names the
community's pseudonymous identity, one per agreement, the same on every node (derived from the
agreement's name), and a sighting's ``where_sighted_refs`` name it alone. The contributor
lists, in ``x_allyshare_identifying``, its own ``x_`` properties and external references that
would name it (``x_acme_case``, ``external_references`` or ``external_references.[1]``); they
are taken out too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allyshare.errors import InvalidObject

IDENTIFYING = "x_allyshare_identifying"
"""The property in which a contributor lists what else would name it."""

_COMMUNITY_NAMESPACE = uuid.UUID("5cb9612c-ae6e-45ae-a74f-b6bc46f3c0b3")
_EPOCH = "2026-01-01T00:00:00.000Z"
_REFERENCES = "external_references"


def community_identity_id(community: str) -> str:
    return f"identity--{uuid.uuid5(_COMMUNITY_NAMESPACE, community)}"


def community_identity(community: str) -> dict[str, Any]:
    """The identity every anonymous contribution to the community is credited to."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": community_identity_id(community),
        "created": _EPOCH,
        "modified": _EPOCH,
        "name": f"A member of the {community} community",
        "identity_class": "group",
        "description": "Stands for the contributor of an anonymous contribution. The node it "
        "was contributed to keeps who it was, sealed, and tells it only through an audited "
        "reveal.",
    }


@dataclass(frozen=True)
class Anonymized:
    public: dict[str, Any]
    """The object as stored and shown to every reader."""
    withheld: dict[str, Any]
    """What was taken out of it, by property (or selector, for what the contributor listed)."""


def anonymize(obj: Mapping[str, Any], contributor: str, pseudonym: str) -> Anonymized:
    """The object with the ``contributor`` identity's traces replaced by ``pseudonym``;
    `InvalidObject` when it cannot be made anonymous as asked."""
    object_id = str(obj.get("id"))
    if obj.get("type") == "identity" and object_id == contributor:
        raise InvalidObject(
            object_id, None, "an anonymous contribution cannot carry its contributor's identity"
        )
    public = dict(obj)
    withheld: dict[str, Any] = {}
    if "created" in obj:  # an SDO, SRO or other common object; SCOs have no author
        withheld["created_by_ref"] = obj.get("created_by_ref")
        public["created_by_ref"] = pseudonym
    if obj.get("type") == "sighting" and "where_sighted_refs" in obj:
        withheld["where_sighted_refs"] = obj["where_sighted_refs"]
        public["where_sighted_refs"] = [pseudonym]
    listed = public.pop(IDENTIFYING, None)
    if listed is not None:
        removed = _take_out(public, object_id, listed)
        withheld["removed"] = removed
        _check_markings(public, object_id, removed)
    return Anonymized(public, withheld)


def _take_out(public: dict[str, Any], object_id: str, listed: object) -> dict[str, Any]:
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        raise InvalidObject(object_id, IDENTIFYING, "must be a list of property selectors")
    removed: dict[str, Any] = {}
    references: set[int] = set()
    for selector in listed:
        name, _, index = selector.partition(".")
        whole = name.startswith("x_") or name == _REFERENCES
        if whole and not index and name in public:
            removed[selector] = public[name]
        elif name == _REFERENCES and name in public and _is_index(index, len(public[name])):
            references.add(int(index[1:-1]))
            removed[selector] = public[name][int(index[1:-1])]
        else:
            raise InvalidObject(
                object_id,
                IDENTIFYING,
                f"{selector!r} is not an x_ property or external reference of this object",
            )
    for selector in removed:
        name = selector.partition(".")[0]
        if "." not in selector:
            public.pop(name, None)
    if references and _REFERENCES in public:
        kept = [ref for i, ref in enumerate(public[_REFERENCES]) if i not in references]
        if kept:
            public[_REFERENCES] = kept
        else:
            del public[_REFERENCES]
    return removed


def _is_index(text: str, length: int) -> bool:
    return (
        text.startswith("[")
        and text.endswith("]")
        and text[1:-1].isdigit()
        and int(text[1:-1]) < length
    )


def _check_markings(public: Mapping[str, Any], object_id: str, removed: Mapping[str, Any]) -> None:
    """A granular marking may not select what was taken out: its selector would dangle."""
    names = {selector.partition(".")[0] for selector in removed}
    for marking in public.get("granular_markings", ()):
        for selector in marking.get("selectors", ()):
            if str(selector).partition(".")[0] in names:
                raise InvalidObject(
                    object_id,
                    IDENTIFYING,
                    f"takes out {selector.partition('.')[0]!r}, which a granular marking "
                    "selects: leave it in, or mark the object as a whole",
                )
