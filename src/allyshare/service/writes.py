"""Checking what a writer sends before anything is written: each object validated (the STIX
rules, and the rules of the economic extensions it uses) and judged by the write rules on its
own (one bad object never spoils the rest, unless the writer asks for all or nothing), and
what becomes of an id another originator already uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, cast

import orjson

from allyshare.economic import check_economic
from allyshare.errors import InvalidObject
from allyshare.observables import indexed_in
from allyshare.orcon.approvals import APPROVAL_TYPE, approval_problems
from allyshare.policy import (
    ANONYMOUS,
    WRITER_ONLY,
    Agreement,
    MarkingRegistry,
    Organization,
    WriteChecker,
)
from allyshare.service.views import View
from allyshare.sources import Scrubbed, Scrubber, anonymize
from allyshare.stix.validation import StixObjectInfo, check_object
from allyshare.stix.versions import version_key, version_of
from allyshare.storage import AccessKey, NewVersion, StoredVersion, markings_in

__all__ = [
    "WITHDRAWN",
    "Prepared",
    "ReuseByView",
    "WriteRules",
    "claimed_id",
    "prepare",
    "unenforced_markings",
]

WITHDRAWN = "not stored: nothing of this request is stored while any of it is refused"
"""An all-or-nothing write's answer for each object that passed, when another did not."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """The outcome of checking one submitted object before anything is written."""

    versions: list[NewVersion]
    positions: list[int]
    failures: dict[int, dict[str, str]]
    warnings: dict[int, str] = field(default_factory=dict)
    """Per position, what the writer should know of an accepted object (`unenforced_markings`)."""
    withheld: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Per position, what anonymity took out of an accepted object (to seal)."""
    scrubbed: dict[int, Scrubbed] = field(default_factory=dict)
    """Per position, the personal data replaced in an accepted object."""

    def withdrawn(self, refused: Mapping[int, dict[str, str]] | None = None) -> Prepared:
        """Nothing to store, for an all-or-nothing write of which something was refused
        (here, or ``refused`` by the store): each object that passed says why it was not
        stored, so the writer sees every problem at once."""
        failures = {**self.failures, **(refused or {})}
        for position, version in zip(self.positions, self.versions, strict=True):
            failures.setdefault(
                position,
                {
                    "id": version.object_id,
                    "version": version.version,
                    "message": WITHDRAWN,
                },
            )
        return Prepared([], [], failures)


@dataclass(frozen=True)
class WriteRules:
    """Who writes into which agreement, and the markings known: what `check_write` needs."""

    writer: Organization
    originator: str
    agreement: Agreement
    registry: MarkingRegistry
    operator: bool = False
    members: Mapping[str, str] = field(default_factory=dict)
    """Each member organization's STIX identity id, to its organization id."""
    contributor: str | None = None
    """For an anonymous contribution, the writer's STIX identity, which no reader is shown."""
    pseudonym: str | None = None
    """For an anonymous contribution, the community identity readers see instead."""
    scrubber: Scrubber | None = None
    """Where the agreement asks for it, what replaces personal data before storage."""

    def with_definitions(self, definitions: Sequence[Mapping[str, Any]]) -> WriteRules:
        """Marking definitions sent in the same request count as known for its objects."""
        if not definitions:
            return self
        known = [*self.registry.definitions(), *definitions]
        return replace(self, registry=MarkingRegistry(known))

    @cached_property
    def _check_write(self) -> WriteChecker:
        return WriteChecker(
            self.writer, self.agreement, self.registry, self.members, operator=self.operator
        )

    def problems(self, obj: Mapping[str, Any]) -> list[str]:
        problems = self._check_write(obj)
        if obj.get("type") == APPROVAL_TYPE:
            problems.extend(approval_problems(obj))
        return problems

    def access_key(self, obj: Mapping[str, Any], originator: str | None = None) -> AccessKey:
        refs, granular = markings_in(obj)
        if self.pseudonym is not None:
            refs = tuple(sorted({*refs, ANONYMOUS}))
        return AccessKey(originator or self.originator, refs, granular)


def prepare(
    submitted: Sequence[object], rules: WriteRules, originators: Sequence[str] | None = None
) -> Prepared:
    """Validate and policy-check each object on its own; one bad object never spoils the rest.

    ``originators`` (one per object) record another originator per object than the rules'.
    """
    checked: list[tuple[int, StixObjectInfo, dict[str, Any]]] = []
    failures: dict[int, dict[str, str]] = {}
    vocabulary: dict[int, list[str]] = {}
    for position, obj in enumerate(submitted):
        try:
            info = check_object(obj)
            notes = check_economic(cast(dict[str, Any], obj))
            checked.append((position, info, cast(dict[str, Any], obj)))
            if notes:
                vocabulary[position] = notes
        except InvalidObject as exc:
            failures[position] = {
                "id": exc.object_id or claimed_id(obj),
                "version": _claimed_version(obj),
                "message": str(exc),
            }
    rules = rules.with_definitions(
        [obj for _, info, obj in checked if info.type == "marking-definition"]
    )
    versions: list[NewVersion] = []
    positions: list[int] = []
    warnings: dict[int, str] = {}
    withheld: dict[int, dict[str, Any]] = {}
    scrubbed: dict[int, Scrubbed] = {}
    scrubber = rules.scrubber.with_names_from(submitted) if rules.scrubber else None
    dumps = orjson.dumps
    for position, info, obj in checked:
        version = version_of(obj)
        try:
            body = dumps(obj)
        except TypeError as exc:  # an integer beyond 64 bits, which JSON allows
            message = f"cannot be stored: {exc} (numbers must fit in 64 bits)"
            failures[position] = {"id": info.id, "version": version, "message": message}
            continue
        problems = rules.problems(obj)
        if problems:
            failures[position] = {
                "id": info.id,
                "version": version,
                "message": "refused by policy: " + "; ".join(problems),
            }
            continue
        if scrubber is not None:
            found = scrubber.scrub(obj)
            if found is not None:
                obj, scrubbed[position] = found.public, found
                body = dumps(obj)
        if rules.contributor is not None and rules.pseudonym is not None:
            try:
                if info.type == APPROVAL_TYPE:
                    raise InvalidObject(info.id, None, "an ORCON approval cannot be anonymous")
                anonymized = anonymize(obj, rules.contributor, rules.pseudonym)
            except InvalidObject as exc:
                failures[position] = {"id": info.id, "version": version, "message": str(exc)}
                continue
            obj, withheld[position] = anonymized.public, anonymized.withheld
            body = dumps(obj)
        versions.append(
            NewVersion(
                object_id=info.id,
                type=info.type,
                spec_version=info.spec_version,
                version=version,
                version_key=version_key(version),
                body=body,
                access=rules.access_key(obj, originators[position] if originators else None),
                observables=frozenset(indexed_in(obj)),
            )
        )
        positions.append(position)
        unenforced = unenforced_markings(obj, rules.registry)
        notes = vocabulary.get(position, []) + ([unenforced] if unenforced else [])
        if notes:
            warnings[position] = "; ".join(notes)
    return Prepared(versions, positions, failures, warnings, withheld, scrubbed)


def unenforced_markings(obj: Mapping[str, Any], registry: MarkingRegistry) -> str | None:
    """What to tell the writer of an accepted object whose markings this node cannot enforce
    (no definition of it known, or one it cannot read): such an object, or field, is stored
    fail-closed, visible to the originator's organization and node admins only (DESIGN
    section 3), which the writer would otherwise learn only when nobody else sees it."""
    refs = obj.get("object_marking_refs")
    whole = {ref for ref in refs if isinstance(ref, str)} if isinstance(refs, list) else set()
    granular = obj.get("granular_markings")
    fields = {
        entry["marking_ref"]
        for entry in (granular if isinstance(granular, list) else ())
        if isinstance(entry, Mapping) and isinstance(entry.get("marking_ref"), str)
    }
    notes = []
    for ref in sorted(whole | fields):
        if registry.label(ref) is not None:
            continue
        seen = "it" if ref in whole else "the fields it marks"
        reasons = registry.reasons(ref)
        if reasons == _NO_DEFINITION:
            notes.append(
                f"{ref} is not known to this node, so only your organization and node admins "
                f"can see {seen} until its definition arrives"
            )
        else:
            notes.append(
                f"{ref} cannot be enforced by this node ({'; '.join(reasons)}), so only your "
                f"organization and node admins can see {seen}"
            )
    return "; ".join(notes) or None


_NO_DEFINITION = MarkingRegistry().reasons("marking-definition--unknown")


_LONGEST_ID = 250 + len("--") + 36  # the longest type name, then a UUID


def claimed_id(obj: object) -> str:
    """The id an object was sent with, even a malformed one, so its sender can find it; cut
    to the length of the longest valid id."""
    value = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(value, str):
        return ""
    return value if len(value) <= _LONGEST_ID else value[: _LONGEST_ID - 3] + "..."


def _claimed_version(obj: object) -> str:
    if isinstance(obj, dict):
        value = obj.get("modified") or obj.get("created")
        if isinstance(value, str):
            return value
    return ""


@dataclass(frozen=True)
class ReuseByView:
    """What becomes of an id another originator already uses, from the writer's view.

    A writer that may see some version of that object is told that only its originator adds
    versions. One that may not see it must not learn that it exists (ids travel in
    ``object_refs``): its version is stored as for an unused id, with the same answer, but
    kept apart for the writer's organization (`WRITER_ONLY`), so it neither passes itself
    off as a version of the other object nor shows that object to its writer. The view is
    built only when such an id comes up, which most writes never meet.
    """

    view_of_writer: Callable[[], View]

    def sees(self, existing: Sequence[StoredVersion]) -> bool:
        view = self.view_of_writer()
        return any(
            (view.visible is None or item.label in view.visible) and view.body(item) is not None
            for item in existing
        )

    def set_apart(self, key: AccessKey) -> AccessKey:
        return key._replace(marking_refs=tuple(sorted({*key.marking_refs, WRITER_ONLY})))

    def is_apart(self, key: AccessKey) -> bool:
        return WRITER_ONLY in key.marking_refs
