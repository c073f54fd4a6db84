"""Correlation: which objects mention a value, across every collection the reader may read,
answered from the observable index through the same view as every read. A lookup asks for
observable values; it asks for names (of threat actors, malware and the other named types,
`allyshare.observables.NAMED_TYPES`) when told to, by the kind ``name`` or, for the search
box, beside the values (``names``).

An occurrence counts for a reader exactly when a read would show it: its version passes the
reader's view, and where a granular marking may withhold part of it, the value (or name) is
still in what the reader would be shown. A value in more objects than ``common_after`` is
reported as common, with its count, and not listed (a value everyone has tells nothing and
costs much). Of the occurrences the reader may not see, nothing is told but, where the
collections' agreements allow aggregates (at least ``aggregate_k`` distinct organizations),
how many organizations hold the value, rounded down to a multiple of k.

Each object listed comes with its sightings, aggregated as `Sightings.of` aggregates them for
this reader (what it may not read of them adds nothing), read together for every object
listed; the lookup's record of the read names the sighting versions counted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from allyshare.audit.entries import ObjectRefs
from allyshare.clock import format_us
from allyshare.config import Settings
from allyshare.errors import InvalidInput
from allyshare.observables import (
    KINDS,
    NAME,
    address_key,
    name_in,
    normalize_name,
    observables_in,
    range_of,
)
from allyshare.observables.lookup import candidates
from allyshare.service.audit import derived_read
from allyshare.service.gate import Gate
from allyshare.service.sightings import Sighted, Sightings
from allyshare.service.views import View
from allyshare.storage import Occurrence, Store, StoredVersion, User
from allyshare.storage.observables import observable_digest

MAX_VALUES = 10_000
_CHUNK = 500
"""Observables asked per index query: a query's parameters stay within every database's
limit (three per address)."""


@dataclass
class Mention:
    """One object that mentions a value, as the reader may see it."""

    object_id: str
    type: str
    collections: set[str] = field(default_factory=set)
    first_added: int = 0
    last_added: int = 0
    sightings: Sighted | None = None
    """None when the reader may see no sighting of it."""

    def add(self, collection: str, date_added: int) -> None:
        self.collections.add(collection)
        self.first_added = min(self.first_added or date_added, date_added)
        self.last_added = max(self.last_added, date_added)

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.object_id,
            "type": self.type,
            "collections": sorted(self.collections),
            "first_added": format_us(self.first_added),
            "last_added": format_us(self.last_added),
        }
        if self.sightings is not None:
            shown["sightings"] = self.sightings.as_json()
        return shown


@dataclass
class Correlated:
    """What the reader learns of one value it asked about."""

    value: str
    observables: list[tuple[str, str]]
    mentions: dict[str, Mention] = field(default_factory=dict)
    common: bool = False
    hidden_holders: set[str] = field(default_factory=set)
    k: int = 0
    versions: list[tuple[str, str, int]] = field(default_factory=list)
    """The versions listed (id, version, access key), for the audit entry."""

    @property
    def count(self) -> int:
        return len(self.mentions)

    @property
    def organizations_not_shown(self) -> int | None:
        """Organizations holding the value where the reader may not see it, rounded down to
        a multiple of k, when at least k of them do; None otherwise."""
        held = len(self.hidden_holders)
        if not self.k or held < self.k:
            return None
        return held - held % self.k

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "value": self.value,
            "observables": [{"type": kind, "value": value} for kind, value in self.observables],
            "count": self.count,
            "common": self.common,
            "objects": []
            if self.common
            else [m.as_json() for _, m in sorted(self.mentions.items())],
        }
        if self.organizations_not_shown is not None:
            found["organizations_not_shown"] = self.organizations_not_shown
        return found


class Correlation:
    def __init__(self, settings: Settings, store: Store, gate: Gate, sightings: Sightings) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._sightings = sightings

    def lookup(
        self, user: User, values: Sequence[str], kind: str | None = None, *, names: bool = False
    ) -> list[Correlated]:
        """For each value, the objects the user may see that mention it (module docstring):
        ``kind`` says what the values are (an observable type, or ``name``: names only);
        ``names`` looks each value up as a name too, in the same reads."""
        if not values:
            raise InvalidInput("name at least one value to look up")
        if len(values) > MAX_VALUES:
            raise InvalidInput(f"at most {MAX_VALUES:,} values per lookup")
        if kind is not None and kind not in KINDS and kind != NAME:
            raise InvalidInput(
                f"unknown observable type {kind!r}; one of: {', '.join(KINDS)}, or {NAME}"
            )
        asked = [Correlated(value, _asked(value, kind, names)) for value in values]
        by_observable: dict[tuple[str, str], list[Correlated]] = {}
        for each in asked:
            for observable in each.observables:
                by_observable.setdefault(observable, []).append(each)
        if not by_observable:
            return asked
        shown = ObjectRefs()
        recorded_as = self._gate.audit.recorded_as
        keys = self._store.access_keys()
        readable = [a.collection for a in self._gate.collections_for(user) if a.can_read]
        asked_observables = list(by_observable)
        for start in range(0, len(asked_observables), _CHUNK):
            chunk = {o: by_observable[o] for o in asked_observables[start : start + _CHUNK]}
            digests = [observable_digest(k, v) for k, v in chunk]
            covering = _envelopes(chunk)
            answered: dict[tuple[str, str], list[Correlated]] = {}
            for collection in readable:
                rows = self._store.occurrences(collection.id, digests, covering)
                if not rows:
                    continue
                view = self._gate.view(user, collection)
                seen = self._seen(view, collection.id, rows)
                k = self._gate.agreement(collection).aggregate_k
                for row, visible in zip(rows, seen, strict=True):
                    observable = (row.kind, row.value)
                    askers = answered.get(observable)
                    if askers is None:
                        askers = answered[observable] = _asking(chunk, observable)
                    for each in askers:
                        if visible:
                            mention = each.mentions.setdefault(
                                row.object_id, Mention(row.object_id, row.type)
                            )
                            mention.add(collection.id, row.date_added)
                            each.versions.append((row.object_id, row.version, row.label))
                        else:
                            each.hidden_holders.add(keys[row.label].originator)
                            each.k = max(each.k, k)
        common_after = self._settings.common_after
        listed: set[tuple[str, str]] = set()
        mentions: dict[str, list[Mention]] = {}
        for each in asked:
            each.common = each.count > common_after
            if each.common:
                continue
            for mention in each.mentions.values():
                mentions.setdefault(mention.object_id, []).append(mention)
            for object_id, version, label in each.versions:
                if (object_id, version) not in listed:
                    listed.add((object_id, version))
                    shown.versions_of(recorded_as(keys[label])).append((object_id, version))
        sighted = self._sightings.of_many(user, mentions.keys(), [c.id for c in readable], shown)
        for object_id, sightings in sighted.items():
            for mention in mentions[object_id]:
                mention.sightings = sightings
        self._record(user, asked, shown)
        return asked

    def _seen(self, view: View, collection_id: str, rows: list[Occurrence]) -> list[bool]:
        """Whether each occurrence is one a read would show this reader."""
        visible, checked = view.visible, view.checked
        passes = [visible is None or row.label in visible for row in rows]
        to_check = [i for i, row in enumerate(rows) if passes[i] and row.label in checked]
        if to_check:
            bodies = self._store.bodies_at(collection_id, [rows[i].date_added for i in to_check])
            for i in to_check:
                row = rows[i]
                stored = StoredVersion(
                    row.date_added, row.object_id, row.version, bodies[row.date_added], row.label
                )
                body = view.body(stored)
                if body is None:
                    passes[i] = False
                elif row.kind == NAME:  # a name withheld is not there to be found
                    passes[i] = name_in(orjson.loads(body)) == row.value
                else:
                    passes[i] = (row.kind, row.value) in observables_in(orjson.loads(body))
        return passes

    def _record(self, user: User, asked: list[Correlated], shown: ObjectRefs) -> None:
        self._gate.record(derived_read(user, shown, {"lookup": len(asked)}))


def _asked(value: str, kind: str | None, names: bool) -> list[tuple[str, str]]:
    """What a value is looked up as: what it may be (`candidates`), and a name if asked."""
    found = candidates(value, kind)
    if names and kind is None:
        name = normalize_name(value)
        if name is not None:
            found.append((NAME, name))
    return found


def _span(observable: tuple[str, str]) -> tuple[str, str, str] | None:
    """The address range an asked address or range falls within, as the index compares it."""
    kind, value = observable
    covered = range_of(kind, value)
    if covered is not None:
        return kind, covered[0], covered[1]
    key = address_key(kind, value)
    return None if key is None else (kind, key, key)


def _envelopes(asked: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Per address type, the lowest and highest address asked: the ranges overlapping it
    are read in one go, and `_asking` keeps those that hold an asked address or range."""
    spans: dict[str, tuple[str, str]] = {}
    for span in map(_span, asked):
        if span is not None:
            kind, low, high = span
            known = spans.get(kind)
            spans[kind] = (
                (low, high) if known is None else (min(known[0], low), max(known[1], high))
            )
    return [(kind, low, high) for kind, (low, high) in sorted(spans.items())]


def _asking(
    by_observable: dict[tuple[str, str], list[Correlated]], observable: tuple[str, str]
) -> list[Correlated]:
    """The asked values an indexed observable answers: the same value, or, for a range, each
    asked address or range inside it."""
    answered = list(by_observable.get(observable, []))
    kind, value = observable
    covered = range_of(kind, value)
    if covered is None:
        return answered
    low, high = covered
    for (asked_kind, asked_value), askers in by_observable.items():
        if asked_kind != kind or asked_value == value:
            continue
        span = _span((asked_kind, asked_value))
        if span is not None and low <= span[1] and span[2] <= high:
            answered.extend(askers)
    return answered
