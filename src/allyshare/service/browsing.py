"""What an analyst browses: a collection's objects narrowed by type, marking, date and text,
and an object's neighbours in the relationship graph. Both are the reader's TAXII read
narrowed, never widened: every version passes the reader's view first.

Each narrowing is served where it is cheap. Type and date are columns of the versions' index;
a marking (TLP colour, classification, a marking definition) is a property of an access key,
so it becomes the set of keys that have it and the store reads only their ranges; text in a
name or a description is in no index, so it is tested on the object as the reader sees it,
within a bounded number of versions per request (`Reads.read_matching`).

The graph's neighbours of an object are what it refers to (its ``*_ref``/``*_refs``) and what
refers to it: relationships, reports (groupings, notes, opinions) and sightings, found by
the correlation index (`REFERS_TO`, `SIGHTING_OF`) in every collection the reader may read.
A neighbour appears only when the reader may see it: one it may not see is left out whole,
id and all, and so is a relationship whose other end it may not see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

from allyshare.audit.entries import ObjectRefs
from allyshare.errors import NotFound
from allyshare.observables import REFERENCES
from allyshare.policy import AccessLabel, Classification, Tlp, label_of
from allyshare.service.audit import derived_read
from allyshare.service.gate import Gate
from allyshare.service.reads import Reads, Scanned
from allyshare.stix.versions import version_key
from allyshare.storage import Collection, Store, StoredVersion, User, VersionFilter
from allyshare.storage.observables import observable_digest

SCAN_BUDGET = 5_000
"""Versions one request of the object list reads at most to test for text in a name or a
description (each is parsed: about a millisecond per hundred)."""
MAX_NEIGHBOURS = 5_000
"""Neighbours one object's graph shows at most (a report of thousands is drawn whole)."""
_CHUNK = 500
_EVERY = frozenset({"all"})
"""Ids asked per query: within every database's limit on parameters."""
_NOT_NEIGHBOURS = frozenset({"object_marking_refs"})
"""References a graph leaves out: markings are shown as chips, not as neighbours."""


@dataclass(frozen=True)
class Narrowing:
    """What the object list is narrowed to; empty fields narrow nothing."""

    types: tuple[str, ...] = ()
    text: str = ""
    tlp: Tlp | None = None
    classification: Classification | None = None
    marking: str = ""
    """A marking definition's id, among the object's ``object_marking_refs``."""
    added_after: int | None = None

    @property
    def by_marking(self) -> bool:
        return self.tlp is not None or self.classification is not None or bool(self.marking)

    def marks(self, refs: tuple[str, ...], label: AccessLabel) -> bool:
        """Whether an object marked with ``refs`` (whose label is ``label``) has the marking
        asked for (no TLP marking counts as CLEAR, as the decision and the chips take it)."""
        if self.marking and self.marking not in refs:
            return False
        if self.tlp is not None and (label.tlp or Tlp.CLEAR) != self.tlp:
            return False
        return self.classification is None or label.classification == self.classification


@dataclass(frozen=True)
class Shown:
    """One object as the reader sees it, and the collection it was read from."""

    collection_id: str
    version: StoredVersion
    obj: dict[str, Any]


@dataclass(frozen=True)
class Edge:
    """``source`` refers to ``target``; ``label`` says how (a relationship's type, or the
    property); ``via`` is the relationship object an edge stands for."""

    source: str
    target: str
    label: str
    via: str | None = None


@dataclass
class Neighbourhood:
    """An object and the neighbours the reader may see, with the edges joining them."""

    center: Shown
    neighbours: dict[str, Shown] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    truncated: bool = False


class Browsing:
    def __init__(self, store: Store, gate: Gate, reads: Reads) -> None:
        self._store = store
        self._gate = gate
        self._reads = reads

    def objects(
        self,
        user: User,
        collection_id: str,
        narrowing: Narrowing,
        *,
        limit: int,
        after: int | None = None,
    ) -> Scanned:
        """A page of the collection's objects the user may see, narrowed (module docstring);
        ``resume`` is the ``after`` of the next page."""
        selection = VersionFilter(
            types=narrowing.types,
            added_after=narrowing.added_after,
            labels=self._keys_marked(narrowing),
        )
        words = narrowing.text.casefold()
        if not words:
            page = self._reads.read_objects(
                user, collection_id, selection, limit=limit, after=after
            )
            resume = page.items[-1].date_added if page.items else None
            return Scanned(page.items, page.more, resume)

        def says(obj: dict[str, Any]) -> bool:
            return any(
                isinstance(value, str) and words in value.casefold()
                for value in (obj.get("name"), obj.get("description"))
            )

        return self._reads.read_matching(
            user, collection_id, selection, says, limit=limit, after=after, budget=SCAN_BUDGET
        )

    def _keys_marked(self, narrowing: Narrowing) -> frozenset[int] | None:
        """The access keys whose object-level label has the marking asked for (None: any)."""
        if not narrowing.by_marking:
            return None
        label = cache(lambda refs: label_of(refs, self._gate.registry()))
        return frozenset(
            seq
            for seq, key in self._store.access_keys().items()
            if narrowing.marks(key.marking_refs, label(key.marking_refs))
        )

    def neighbours(self, user: User, object_id: str) -> Neighbourhood:
        """The object and its neighbours as the user may see them (module docstring); the
        versions shown are recorded as one read."""
        collections = [a.collection for a in self._gate.collections_for(user) if a.can_read]
        readable = [collection.id for collection in collections]
        found = self._find(user, readable, [object_id])
        if object_id not in found:
            raise NotFound(f"no object {object_id} that you may see")
        center = found[object_id]
        drawn = Neighbourhood(center)
        wanted: list[Edge] = [
            Edge(object_id, ref, name)
            for name, refs in _references(center.obj)
            for ref in refs
            if ref != object_id
        ]
        referrers, drawn.truncated = self._referrers(user, collections, object_id)
        found.update(self._find(user, readable, sorted(referrers - found.keys())))
        relationships: list[Shown] = []
        for referrer in sorted(referrers & found.keys()):
            shown = found[referrer]
            # A granular marking may withhold the reference itself from this reader.
            said = {ref for _, refs in _references(shown.obj) for ref in refs}
            if object_id not in said:
                continue
            if shown.obj.get("type") == "relationship":
                relationships.append(shown)
                continue
            wanted += [
                Edge(referrer, object_id, name)
                for name, refs in _references(shown.obj)
                if object_id in refs
            ]
        for relationship in relationships:
            source, target = relationship.obj.get("source_ref"), relationship.obj.get("target_ref")
            if isinstance(source, str) and isinstance(target, str):
                kind = str(relationship.obj.get("relationship_type", "related-to"))
                wanted.append(Edge(source, target, kind, relationship.version.object_id))
        ends = {end for edge in wanted for end in (edge.source, edge.target)} - {object_id}
        found.update(self._find(user, readable, sorted(ends - found.keys())))
        # Cut among the neighbours the reader may see: a cut before would tell it how many
        # there are that it may not see.
        seen_ends = sorted(ends & found.keys())
        if len(seen_ends) > MAX_NEIGHBOURS:
            seen_ends = seen_ends[:MAX_NEIGHBOURS]
            drawn.truncated = True
        drawable = {*seen_ends, object_id}
        for edge in wanted:
            if edge.source in drawable and edge.target in drawable:
                drawn.edges.append(edge)
                for end in (edge.source, edge.target):
                    if end != object_id:
                        drawn.neighbours[end] = found[end]
        vias = [found[edge.via] for edge in drawn.edges if edge.via is not None]
        self._record(user, [center, *drawn.neighbours.values(), *vias], object_id)
        return drawn

    def _referrers(
        self, user: User, collections: Sequence[Collection], object_id: str
    ) -> tuple[set[str], bool]:
        """The objects the index says refer to the object, under access keys the reader
        passes (the index rows carry them, so what it may not see is never read); at most
        `MAX_NEIGHBOURS` of them, the most recently added, so a much-cited object costs a
        bounded read, and whether that cut any. Whether the reader sees each one whole is
        for `_find` to say."""
        digests = [observable_digest(kind, object_id) for kind in REFERENCES]
        found: dict[str, int] = {}
        for collection in collections:
            visible = self._gate.view(user, collection).visible
            for row in self._store.occurrences(collection.id, digests):
                if row.kind not in REFERENCES or row.value != object_id:
                    continue
                if visible is not None and row.label not in visible:
                    continue
                found[row.object_id] = max(found.get(row.object_id, 0), row.date_added)
        newest = sorted(found, key=found.__getitem__, reverse=True)
        return set(newest[:MAX_NEIGHBOURS]), len(newest) > MAX_NEIGHBOURS

    def _find(
        self, user: User, readable: Sequence[str], object_ids: Sequence[str]
    ) -> dict[str, Shown]:
        """Each object the user may see, as its latest version the user may see in the first
        collection that shows it (every version is read: TAXII's "last" is none at all when
        the newest is withheld whole, while an older one may be seen)."""
        found: dict[str, Shown] = {}
        for collection_id in readable:
            missing = [object_id for object_id in object_ids if object_id not in found]
            newest: dict[str, StoredVersion] = {}
            for start in range(0, len(missing), _CHUNK):
                selection = VersionFilter(
                    object_ids=tuple(missing[start : start + _CHUNK]), versions=_EVERY
                )
                for item in self._reads.seen(user, collection_id, selection):
                    held = newest.get(item.object_id)
                    if held is None or version_key(item.version) > version_key(held.version):
                        newest[item.object_id] = item
            for object_id, item in newest.items():
                found[object_id] = Shown(collection_id, item, orjson.loads(item.body))
        return found

    def _record(self, user: User, shown: Iterable[Shown], object_id: str) -> None:
        keys = self._store.access_keys()
        recorded_as = self._gate.audit.recorded_as
        refs = ObjectRefs()
        listed: set[tuple[str, str]] = set()
        for each in shown:
            version = (each.version.object_id, each.version.version)
            if version not in listed:
                listed.add(version)
                refs.versions_of(recorded_as(keys[each.version.label])).append(version)
        self._gate.record(derived_read(user, refs, {"neighbours": object_id}))


def _references(obj: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each top-level reference property of an object with the ids it names, labelled in
    words (``object_refs`` as "object", ``sighting_of_ref`` as "sighting of")."""
    found = []
    for name, value in obj.items():
        if name in _NOT_NEIGHBOURS or not name.endswith(("_ref", "_refs")):
            continue
        refs = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        ids = [ref for ref in refs if isinstance(ref, str)]
        if ids:
            words = name.removesuffix("_refs").removesuffix("_ref").replace("_", " ")
            found.append((words, ids))
    return found
