"""What a writer may store in a collection bound to an agreement (checked before ingest).

A write is refused (each problem a sentence, empty list = accepted) when:

- a marking it uses (object-level or granular) is classified above the agreement's
  ``max_classification``;
- a marking's TLP is above the agreement's ``tlp_ceiling`` (the ceiling holds for RED too);
- the object (or a granular marking) is TLP:RED and its markings name no recipients: RED
  is "named recipients only" (DESIGN section 3), so RED without them is unreadable to all
  but the originator and almost always a mistake;
- a marking definition it uses, or the marking definition being written, does not parse
  (`check_marking_definition`). A marking the node has *no* definition for is not a write
  error: it is stored and fail-closed where it is read;
- ``created_by_ref`` names the identity of another member organization (``members`` maps
  each member's STIX identity id to its organization id): nobody writes in another member's
  name. An author who is not a member (a vendor's report, MITRE ATT&CK, a CERT's advisory)
  is accepted: re-sharing third-party intelligence is most of what sharing communities do,
  and the originator the policy uses is the writer's organization whoever the author is.

The node's operator importing a feed (``operator``) is recorded as the node itself, whoever
authored the content: the author and RED-recipient rules, which protect members from their
own mistakes and from each other, do not apply to it; the agreement's ceilings and the
parse checks do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from allyshare.policy.levels import Tlp
from allyshare.policy.markings import (
    AccessLabel,
    MarkingRegistry,
    check_marking_definition,
    label_of,
)
from allyshare.policy.subjects import Agreement, Organization

__all__ = ["WriteChecker", "check_write"]


def _marking_refs(obj: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(object-level refs, granular refs), skipping anything not a string."""
    refs = obj.get("object_marking_refs", [])
    object_refs = [ref for ref in refs if isinstance(ref, str)] if isinstance(refs, list) else []
    granular: list[str] = []
    entries = obj.get("granular_markings", [])
    if isinstance(entries, list):
        granular = [
            entry["marking_ref"]
            for entry in entries
            if isinstance(entry, Mapping) and isinstance(entry.get("marking_ref"), str)
        ]
    return object_refs, granular


def _red_without_recipients(label: AccessLabel) -> bool:
    return label.tlp == Tlp.RED and not label.recipients


def check_write(
    obj: Mapping[str, Any],
    writer: Organization,
    agreement: Agreement,
    registry: MarkingRegistry,
    members: Mapping[str, str],
    *,
    operator: bool = False,
) -> list[str]:
    """The problems that stop this writer storing this object under this agreement."""
    return WriteChecker(writer, agreement, registry, members, operator=operator)(obj)


class WriteChecker:
    """`check_write` for the objects of one request: one writer, agreement and registry.

    The problems an object's markings cause depend only on which markings it names, and an
    envelope of a thousand objects names a few dozen sets of them: each set is judged once.
    """

    def __init__(
        self,
        writer: Organization,
        agreement: Agreement,
        registry: MarkingRegistry,
        members: Mapping[str, str],
        *,
        operator: bool = False,
    ) -> None:
        self.writer = writer
        self.agreement = agreement
        self.registry = registry
        self.members = members
        self.operator = operator
        self._by_markings: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}

    def __call__(self, obj: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        if obj.get("type") == "marking-definition":
            problems.extend(
                f"this marking definition does not parse: {problem}"
                for problem in check_marking_definition(obj)
            )
        object_refs, granular_refs = _marking_refs(obj)
        markings = (tuple(object_refs), tuple(granular_refs))
        found = self._by_markings.get(markings)
        if found is None:
            found = self._by_markings[markings] = self._marking_problems(*markings)
        problems.extend(found)
        if self.operator:
            return problems
        author = obj.get("created_by_ref")
        member = self.members.get(author) if isinstance(author, str) else None
        if member is not None and member != self.writer.id:
            problems.append(
                f"created_by_ref {author} is the identity of member {member}: "
                f"{self.writer.id} may not write in another member's name"
            )
        return problems

    def _marking_problems(
        self, object_refs: tuple[str, ...], granular_refs: tuple[str, ...]
    ) -> list[str]:
        agreement, registry = self.agreement, self.registry
        problems: list[str] = []
        for ref in dict.fromkeys([*object_refs, *granular_refs]):
            for problem in registry.parse_problems(ref):
                problems.append(f"marking {ref} does not parse: {problem}")
            label = registry.label(ref)
            if label is None:
                continue
            if label.classification > agreement.max_classification:
                problems.append(
                    f"marking {ref}: classification {label.classification.name} is above "
                    f"{agreement.max_classification.name}, the highest agreement "
                    f"{agreement.name!r} allows"
                )
            if label.tlp is not None and label.tlp > agreement.tlp_ceiling:
                problems.append(
                    f"marking {ref}: {label.tlp.label} is above {agreement.tlp_ceiling.label}, "
                    f"the TLP ceiling of agreement {agreement.name!r}"
                )
        if self.operator:
            return problems
        if _red_without_recipients(label_of(object_refs, registry)):
            problems.append(
                "TLP:RED needs named recipients: add an allyshare marking with recipients"
            )
        for ref in dict.fromkeys(granular_refs):
            if _red_without_recipients(label_of([ref], registry)):
                problems.append(
                    f"granular marking {ref} is TLP:RED without named recipients; "
                    "a granular RED marking must carry its own recipients"
                )
        return problems
