"""Sightings of an object, aggregated for a reader who may see the object: how many, how often,
when, and in which countries, without naming who sighted it unless the reader may see that.

The rule: only sightings the reader may see count (a sighting it may not read adds nothing,
not even to a count), across every collection it may read, the latest version of each. The
reader's own organization's sightings show as its own. Another organization's sighting names
its sighters (``where_sighted_refs``) only when the reader sees that property whole: not when
the sighting is an anonymous contribution, nor when a granular marking withholds the property
from this reader. Every other sighting counts under "others", with the country of the
organization that shared it. The aggregate is a read, recorded as one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from allyshare.audit.entries import ObjectRefs
from allyshare.errors import NotFound
from allyshare.observables import SIGHTING_OF
from allyshare.policy import ANONYMOUS
from allyshare.service.audit import derived_read
from allyshare.service.gate import Gate
from allyshare.service.reads import Reads
from allyshare.stix.versions import version_key
from allyshare.storage import AccessKey, Store, StoredVersion, User, VersionFilter
from allyshare.storage.observables import observable_digest


@dataclass
class Tally:
    """Sightings counted together: how many objects, the sum of their ``count``s (a sighting
    without one counts once), and the earliest and latest time seen."""

    sightings: int = 0
    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None

    def add(self, body: dict[str, Any]) -> None:
        self.sightings += 1
        count = body.get("count")
        self.count += count if isinstance(count, int) and not isinstance(count, bool) else 1
        first = body.get("first_seen") or body.get("created")
        last = body.get("last_seen") or body.get("first_seen") or body.get("created")
        if isinstance(first, str) and (
            self.first_seen is None or version_key(first) < version_key(self.first_seen)
        ):
            self.first_seen = first
        if isinstance(last, str) and (
            self.last_seen is None or version_key(last) > version_key(self.last_seen)
        ):
            self.last_seen = last

    def as_json(self) -> dict[str, Any]:
        return {
            "sightings": self.sightings,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


@dataclass
class Sighted:
    """The aggregate one reader is shown for one object."""

    object_id: str
    total: Tally = field(default_factory=Tally)
    own: Tally = field(default_factory=Tally)
    named: dict[tuple[str, ...], Tally] = field(default_factory=dict)
    others: Tally = field(default_factory=Tally)
    countries: set[str] = field(default_factory=set)
    other_countries: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {
            "sighting_of_ref": self.object_id,
            **self.total.as_json(),
            "countries": sorted(self.countries),
            "own": self.own.as_json(),
            "sighters": [
                {"where_sighted_refs": list(refs), **tally.as_json()}
                for refs, tally in sorted(self.named.items())
            ],
            "others": {**self.others.as_json(), "countries": sorted(self.other_countries)},
        }


class Sightings:
    def __init__(self, store: Store, gate: Gate, reads: Reads) -> None:
        self._store = store
        self._gate = gate
        self._reads = reads

    def of(self, user: User, object_id: str) -> Sighted:
        """The sightings of ``object_id`` the user may see, aggregated (module docstring).
        An object the user may not see is not found, whether it exists or not."""
        readable = [a.collection for a in self._gate.collections_for(user) if a.can_read]
        if not any(self._reads.sees(user, c.id, object_id) for c in readable):
            raise NotFound(f"no object {object_id} that you may see")
        refs = ObjectRefs()
        found = self._aggregate(user, [c.id for c in readable], [object_id], refs)
        if refs:
            self._gate.record(derived_read(user, refs, {"sightings_of": object_id}))
        return found.get(object_id, Sighted(object_id))

    def of_many(
        self, user: User, object_ids: Collection[str], readable: list[str], refs: ObjectRefs
    ) -> dict[str, Sighted]:
        """The sightings of each object the user may see, aggregated as `of` aggregates them,
        for all of them at once: a lookup lists hundreds of objects. The caller vouches that
        the user may see the objects (a lookup lists no other) and that it may read the
        ``readable`` collections, so neither is checked here, and records the read: the
        sighting versions counted are added to ``refs``. An object with no sighting the
        user may see is left out."""
        if not object_ids:
            return {}
        return self._aggregate(user, readable, object_ids, refs)

    def _aggregate(
        self,
        user: User,
        readable: list[str],
        object_ids: Collection[str],
        refs: ObjectRefs,
    ) -> dict[str, Sighted]:
        """Per object, the sightings of it the user may see, each as its latest version the
        user may see (the first collection's on a tie), counted when it is a sighting of
        that object as the user sees it. The index (`SIGHTING_OF`) names the sightings that
        are of the objects, so only those are read. The versions counted are added to
        ``refs``, for the caller's record of the read."""
        keys = self._store.access_keys()
        wanted = set(object_ids)
        digests = [observable_digest(SIGHTING_OF, object_id) for object_id in wanted]
        counted: dict[str, dict[str, tuple[StoredVersion, dict[str, Any]]]] = {}
        for collection in readable:
            sightings = sorted(
                {
                    row.object_id
                    for start in range(0, len(digests), _CHUNK)
                    for row in self._store.occurrences(collection, digests[start : start + _CHUNK])
                    if row.kind == SIGHTING_OF and row.value in wanted
                }
            )
            for start in range(0, len(sightings), _CHUNK):
                selection = VersionFilter(
                    object_ids=tuple(sightings[start : start + _CHUNK]), types=("sighting",)
                )
                for item in self._reads.seen(user, collection, selection):
                    body = orjson.loads(item.body)
                    of = body.get("sighting_of_ref")
                    if of not in wanted:
                        continue
                    latest = counted.setdefault(of, {})
                    earlier = latest.get(item.object_id)
                    if earlier is None or version_key(earlier[0].version) < version_key(
                        item.version
                    ):
                        latest[item.object_id] = (item, body)
        found: dict[str, Sighted] = {}
        countries: dict[str, str] = {}
        recorded_as = self._gate.audit.recorded_as
        for object_id, latest in counted.items():
            for item, body in latest.values():
                key = keys[item.label]
                if key.originator not in countries:
                    countries[key.originator] = self._gate.organization(key.originator).country
                sighted = found.setdefault(object_id, Sighted(object_id))
                self._count(user, sighted, body, key, countries[key.originator])
                refs.versions_of(recorded_as(key)).append((item.object_id, item.version))
        return found

    def _count(
        self, user: User, sighted: Sighted, body: dict[str, Any], key: AccessKey, country: str
    ) -> None:
        sighted.total.add(body)
        if country:
            sighted.countries.add(country)
        where = body.get("where_sighted_refs")
        if user.organization_id is not None and key.originator == user.organization_id:
            sighted.own.add(body)
        elif ANONYMOUS not in key.marking_refs and isinstance(where, list) and where:
            sighted.named.setdefault(_refs(where), Tally()).add(body)
        else:
            sighted.others.add(body)
            if country:
                sighted.other_countries.add(country)


_CHUNK = 500
"""Ids asked per query: within every database's limit on parameters."""


def _refs(where: Iterable[object]) -> tuple[str, ...]:
    return tuple(sorted({ref for ref in where if isinstance(ref, str)}))
