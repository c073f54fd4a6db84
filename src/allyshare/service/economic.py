"""The cross-member views of economic coercion and supply-chain exposure, and the pattern
alert, over what one reader may see (`allyshare.economic.views` computes them).

What a view draws on: across every collection the reader may read, the latest version of
each incident and exposure the reader may see, as it sees it (a field withheld from it is
absent, so it counts for nothing), each with the organization the node records as its
originator (an anonymous contribution counts for the organization that made it, which no
reader learns from a count). An object in several collections counts once. k is the largest
``aggregate_k`` of the agreements of the collections the objects came from, so each
agreement's k holds for what it shares. A view is a read, recorded as one entry per request
naming every version it drew on: the first in full, later ones as in an earlier entry
(`ObjectRefs.as_in`) with the versions changed since, so a repeated request over 100,000
versions appends a small entry, not megabytes.

Each answer is kept per reader (as the decision sees it) and view, with what it was
computed from: the readable collections, the gate's view of each (`Gate.view` keeps one
object while the subject, agreement, marking registry, approvals and access keys stay the
same, and builds another when any changes) and each collection's data generation
(`Store.collection_generations`, which any write, move, deletion or expiry changes). A
request whose inputs are all the same is answered from it, and still recorded as the read
it is. When the only change is versions added to the collections (their removal counts, the
collections and the gate's views the same), the answer follows: the versions added since
its generations are read, each replaces what the answer held of its object when newer, and
the tally (`CoercionTally`, `SupplyChainTally`) computes again only the cells they touch;
reading a version again changes nothing, so one read between a generation and the versions
is counted once. Any other change computes afresh, and so does a version from a
collection of a larger k. The generations are read before the versions, so an answer
is never kept under a generation older than the data it saw. Computing afresh, each stored row a
reader sees whole (nothing withheld from it) is reduced to what the views count once, and
kept by its collection and ``date_added``, which no other row ever has: a row's body never
changes, so neither does its reduction, whoever reads it. A row the reader sees redacted is
reduced from what it sees, each time.

The alert is written into a collection the writer may write, from the incidents it may see
in the collections of that collection's agreement, whose parties are the countries a
pattern counts, and whose k the incidents behind a pattern must reach. The note must not be
readable by anyone who could not read the incidents it names, so it carries every marking
of theirs (object-level and granular), and TLP:AMBER at least. Restrictions the policy
lifts for an object's own originator (nationality, NOFORN, ORCON) would be lifted for the
note's writer instead, so incidents of another organization carrying them are left out of
the writer's alerts. A note's ``modified`` is its incidents' newest version, so writing the
alerts again writes nothing new until an incident changes; a grown pattern is a new version
of its note, keeping the first version's ``created``.

Each note has an outcome. A note another organization already wrote into the collection, and
the writer sees, is that alert already raised: the node would refuse the writer a version of
another's object, and the alert is there for the parties either way, so it is not written.
So is the writer's own note unchanged. Whatever the node refuses of the rest is a failure,
with the node's message: its status alone would leave a caller believing the alert raised.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, Protocol, TypeVar

import orjson

from allyshare.audit.entries import ObjectRefs
from allyshare.config import Settings
from allyshare.economic import EXPOSURE_TYPE
from allyshare.economic.alerts import PATTERN_LABEL, Pattern, patterns
from allyshare.economic.views import (
    CoercionTally,
    CoercionView,
    Contribution,
    Exposure,
    Incident,
    SupplyChainTally,
    SupplyChainView,
    exposure_of,
    incident_of,
)
from allyshare.policy import (
    ANONYMOUS,
    TLP_MARKING_IDS,
    WRITER_ONLY,
    AccessLabel,
    MarkingRegistry,
    Subject,
    Tlp,
    label_of,
    shown_label,
)
from allyshare.service.audit import derived_read
from allyshare.service.gate import Gate
from allyshare.service.objects import Objects
from allyshare.service.reads import Reads
from allyshare.service.views import View
from allyshare.stix.versions import version_key
from allyshare.storage import (
    NODE_ORIGINATOR,
    AccessKey,
    Collection,
    StatusRecord,
    Store,
    StoredVersion,
    User,
    VersionFilter,
    origin_of,
)

COERCION_TYPES = ("incident",)
SUPPLY_CHAIN_TYPES = (EXPOSURE_TYPE,)
NOTE_TYPES = ("note",)
_NOT_ACCESS = {ANONYMOUS, WRITER_ONLY}
"""Refs of an access key that are no marking a note could carry."""
ANSWERS_KEPT = 256
REDUCTIONS_KEPT = 1_000_000
CHANGES_KEPT = 1_000
"""Versions a kept answer's entries name as changed since the entry naming every version,
before an entry names every version again (or an eighth of them, when more)."""
Answer = TypeVar("Answer", CoercionView, SupplyChainView)
Answer_co = TypeVar("Answer_co", CoercionView, SupplyChainView, covariant=True)
_Row = tuple[str, int]
"""A stored row: its collection and ``date_added``."""


class Tally(Protocol[Answer_co]):
    """A view kept as what it counts comes and goes (`allyshare.economic.views`)."""

    def add(self, item: Any, /) -> None: ...
    def remove(self, item: Any, /) -> None: ...
    def view(self) -> Answer_co: ...


def _take_one(counter: Counter[Any], key: object) -> None:
    if counter[key] <= 1:
        del counter[key]
    else:
        counter[key] -= 1


@dataclass
class _Seen:
    """The latest version of an object the reader may see, its access key, and the row it
    is when the reader sees it whole (None when redacted for it)."""

    item: StoredVersion
    key: AccessKey
    row: _Row | None = None


@dataclass
class Basis:
    """What one view draws on: the objects as the reader sees them, their access keys, k."""

    found: dict[str, _Seen] = field(default_factory=dict)
    k: int = 1

    def contributions(self) -> list[Contribution]:
        return [
            Contribution(orjson.loads(seen.item.body), origin_of(seen.key.originator))
            for seen in self.found.values()
        ]


AlertOutcome = Literal["written", "already raised", "failed"]


@dataclass(frozen=True)
class NoteOutcome:
    """What became of one pattern's note (module docstring): the note written, the one
    already raised as the writer sees it, or the one the node refused and its message."""

    note: dict[str, Any]
    outcome: AlertOutcome
    message: str | None = None


@dataclass(frozen=True)
class Alerted:
    """Each pattern's note and its outcome, and the write's status (None when nothing was
    to be written)."""

    outcomes: list[NoteOutcome]
    status: StatusRecord | None

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [outcome.note for outcome in self.outcomes]

    @property
    def failed(self) -> list[NoteOutcome]:
        return [outcome for outcome in self.outcomes if outcome.outcome == "failed"]


@dataclass(frozen=True)
class Drawn(Generic[Answer]):
    """A view and the distinct labels of all it drew on, as the reader sees it: every figure
    comes from those objects, so a page showing the view carries their markings in its
    banner."""

    view: Answer
    labels: tuple[AccessLabel, ...]


@dataclass(frozen=True)
class Alert:
    """A pattern alert the reader may see, and the collection it was read from (its page)."""

    collection_id: str
    note: dict[str, Any]


@dataclass(frozen=True)
class _Inputs:
    """What an answer was computed from (module docstring). The views are compared by
    identity: the gate hands out the same object exactly while nothing it judged changed."""

    collections: tuple[str, ...]
    views: tuple[View, ...]
    generations: tuple[tuple[int, int] | None, ...]

    def same_as(self, other: _Inputs) -> bool:
        return self.generations == other.generations and self.followed_by(other)

    def followed_by(self, later: _Inputs) -> bool:
        """Whether ``later`` differs only by versions added since: the same collections,
        judged the same, none of their versions removed."""
        return (
            self.collections == later.collections
            and all(a is b for a, b in zip(self.views, later.views, strict=True))
            and all(
                a is not None and b is not None and a[1] == b[1] and a[0] <= b[0]
                for a, b in zip(self.generations, later.generations, strict=True)
            )
        )


@dataclass(frozen=True, slots=True)
class _Held:
    """What one object adds to a kept answer: its version as seen, what the view counts of
    it, its label as the reader sees it, and the originator its audit refs name."""

    seen: _Seen
    counted: Incident | Exposure | None
    label: AccessLabel
    recorded_as: str


class _Trail:
    """The audit refs of a kept answer. The first entry names every version; each later one
    names them as in it (`ObjectRefs.as_in`), with the versions added and dropped since,
    until those grow past an eighth of it and an entry names every version again."""

    def __init__(self, base: int, size: int, originators: Counter[str]) -> None:
        self.base = base
        self.last = base
        self.size = size
        self.originators = originators
        self.added: dict[str, tuple[str, str]] = {}
        self.dropped: dict[tuple[str, str], str] = {}

    def replace(self, earlier: _Held | None, later: _Held) -> None:
        if earlier is not None:
            object_id, version = earlier.seen.item.object_id, earlier.seen.item.version
            if self.added.get(object_id) == (earlier.recorded_as, version):
                del self.added[object_id]
            else:
                self.dropped[(object_id, version)] = earlier.recorded_as
            _take_one(self.originators, earlier.recorded_as)
        item = later.seen.item
        self.added[item.object_id] = (later.recorded_as, item.version)
        self.originators[later.recorded_as] += 1

    @property
    def grown(self) -> bool:
        return len(self.added) + len(self.dropped) > max(CHANGES_KEPT, self.size // 8)

    def refs(self) -> ObjectRefs:
        added = ObjectRefs.of((i, v, o) for i, (o, v) in self.added.items())
        dropped = ObjectRefs.of((i, v, o) for (i, v), o in self.dropped.items())
        return ObjectRefs.as_in(self.base, sorted(self.originators), added, dropped)


@dataclass
class _Kept(Generic[Answer]):
    """A kept answer (module docstring): the tally of what it holds, per object."""

    inputs: _Inputs
    k: int
    tally: Tally[Answer]
    held: dict[str, _Held]
    labels: Counter[AccessLabel]
    trail: _Trail | None = None

    def replace(self, held: _Held) -> None:
        item = held.seen.item
        earlier = self.held.get(item.object_id)
        if earlier is not None:
            if earlier.counted is not None:
                self.tally.remove(earlier.counted)
            _take_one(self.labels, earlier.label)
        self.held[item.object_id] = held
        if held.counted is not None:
            self.tally.add(held.counted)
        self.labels[held.label] += 1
        if self.trail is not None:
            self.trail.replace(earlier, held)

    def drawn(self) -> Drawn[Answer]:
        return Drawn(self.tally.view(), tuple(self.labels))


class EconomicViews:
    def __init__(
        self, settings: Settings, store: Store, gate: Gate, reads: Reads, objects: Objects
    ) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._reads = reads
        self._objects = objects
        self._kept: dict[tuple[str, Subject], _Kept[Any]] = {}
        # A kept answer changes in place when it follows added versions: one request at a
        # time answers (each takes milliseconds once an answer is kept).
        self._answering = threading.Lock()
        self._reductions: dict[_Row, tuple[Incident | Exposure | None, AccessLabel]] = {}

    def coercion(self, user: User) -> Drawn[CoercionView]:
        return self._answer(user, "coercion", COERCION_TYPES, incident_of, CoercionTally)

    def supply_chain(self, user: User) -> Drawn[SupplyChainView]:
        return self._answer(user, "supply-chain", SUPPLY_CHAIN_TYPES, exposure_of, SupplyChainTally)

    def alerts(self, user: User) -> list[Alert]:
        """The pattern alerts (notes labelled so) the user may see in any collection it may
        read, the latest version of each, the newest pattern first; recorded as one read."""
        found: dict[str, tuple[str, _Seen]] = {}
        keys = self._store.access_keys()
        for collection in self._readable(user):
            for item in self._reads.seen(user, collection.id, VersionFilter(types=NOTE_TYPES)):
                earlier = found.get(item.object_id)
                if earlier is not None and version_key(item.version) <= version_key(
                    earlier[1].item.version
                ):
                    continue
                if PATTERN_LABEL in orjson.loads(item.body).get("labels", []):
                    found[item.object_id] = (collection.id, _Seen(item, keys[item.label]))
        basis = Basis({object_id: seen for object_id, (_, seen) in found.items()})
        self._record(user, basis, "pattern-alerts")
        alerts = [
            Alert(collection_id, orjson.loads(seen.item.body))
            for collection_id, seen in found.values()
        ]
        return sorted(alerts, key=lambda alert: str(alert.note.get("created", "")), reverse=True)

    def _answer(
        self,
        user: User,
        name: str,
        types: tuple[str, ...],
        reduce: Callable[[Contribution], Incident | Exposure | None],
        new_tally: Callable[[int], Tally[Answer]],
    ) -> Drawn[Answer]:
        """The view, kept while its inputs stay the same and followed as versions are
        added (module docstring); recorded either way, naming the versions it drew on."""
        with self._answering:
            readable = self._readable(user)
            generations = self._store.collection_generations()
            inputs = _Inputs(
                tuple(c.id for c in readable),
                tuple(self._gate.view(user, c) for c in readable),
                tuple(generations.get(c.id) for c in readable),
            )
            slot = (name, self._gate.subject_of(user))
            kept: _Kept[Answer] | None = self._kept.get(slot)
            if kept is not None and kept.inputs.same_as(inputs):
                self._record_kept(user, name, kept, changed=False)
                return kept.drawn()
            if not (
                kept is not None
                and kept.inputs.followed_by(inputs)
                and self._follow(user, types, readable, kept, inputs, reduce)
            ):
                kept = self._fresh(user, types, readable, inputs, reduce, new_tally)
                if len(self._kept) >= ANSWERS_KEPT:
                    self._kept.clear()
                self._kept[slot] = kept
            self._record_kept(user, name, kept, changed=True)
            kept.inputs = inputs
            return kept.drawn()

    def _fresh(
        self,
        user: User,
        types: tuple[str, ...],
        readable: Sequence[Collection],
        inputs: _Inputs,
        reduce: Callable[[Contribution], Incident | Exposure | None],
        new_tally: Callable[[int], Tally[Answer]],
    ) -> _Kept[Answer]:
        """An answer computed from every version the reader may see (rows seen whole are
        reduced once, module docstring)."""
        basis = self._basis(user, types, readable)
        kept = _Kept(inputs, basis.k, new_tally(basis.k), {}, Counter())
        if len(self._reductions) >= REDUCTIONS_KEPT:
            self._reductions.clear()
        registry = self._gate.registry()
        for seen in basis.found.values():
            kept.replace(self._held(seen, reduce, registry))
        return kept

    def _follow(
        self,
        user: User,
        types: tuple[str, ...],
        readable: Sequence[Collection],
        kept: _Kept[Answer],
        inputs: _Inputs,
        reduce: Callable[[Contribution], Incident | Exposure | None],
    ) -> bool:
        """Add to the kept answer the versions added since it was computed; False (and
        nothing changed) when they would change its k: it is computed afresh."""
        basis = Basis()
        for collection, before, now in zip(
            readable, kept.inputs.generations, inputs.generations, strict=True
        ):
            if now is not None and before != now:
                since = None if before is None else before[0]
                self._gather(user, types, collection, basis, since)
        if max(kept.k, basis.k) != kept.k:
            return False
        registry = self._gate.registry()
        for seen in basis.found.values():
            earlier = kept.held.get(seen.item.object_id)
            if earlier is None or version_key(earlier.seen.item.version) < version_key(
                seen.item.version
            ):
                kept.replace(self._held(seen, reduce, registry))
        return True

    def _held(
        self,
        seen: _Seen,
        reduce: Callable[[Contribution], Incident | Exposure | None],
        registry: MarkingRegistry,
    ) -> _Held:
        row = seen.row
        found = self._reductions.get(row) if row is not None else None
        if found is None:
            obj = orjson.loads(seen.item.body)
            found = (
                reduce(Contribution(obj, origin_of(seen.key.originator))),
                shown_label(obj, registry),
            )
            if row is not None:
                self._reductions[row] = found
        return _Held(seen, found[0], found[1], self._gate.audit.recorded_as(seen.key))

    def _record_kept(self, user: User, name: str, kept: _Kept[Any], *, changed: bool) -> None:
        """One entry per request (module docstring): the first names every version, a
        repeat names them as in the last entry that named any, a change as in the one that
        named every version, with what changed since."""
        trail = kept.trail
        detail = {"view": name}
        if trail is not None and not changed:
            refs = ObjectRefs.as_in(trail.last, sorted(trail.originators))
            self._gate.record(derived_read(user, refs, detail))
        elif trail is not None and not trail.grown:
            trail.last = self._gate.record(derived_read(user, trail.refs(), detail))
        else:
            refs = ObjectRefs.of(
                (h.seen.item.object_id, h.seen.item.version, h.recorded_as)
                for h in kept.held.values()
            )
            base = self._gate.record(derived_read(user, refs, detail))
            originators = Counter(h.recorded_as for h in kept.held.values())
            kept.trail = _Trail(base, len(kept.held), originators)

    def write_alerts(self, user: User, collection_id: str) -> Alerted:
        """Write the pattern alerts into the collection (module docstring)."""
        access = self._gate.collection_for(user, collection_id, "write")
        agreement = self._gate.agreement(access.collection)
        under = [
            c for c in self._readable(user) if c.agreement_name == access.collection.agreement_name
        ]
        basis = self._basis(user, COERCION_TYPES, under)
        self._record(user, basis, "coercion-alerts")
        parties = set(agreement.party_countries) | {
            self._gate.organization(o).country for o in agreement.party_organizations
        }
        eligible = {
            object_id: seen
            for object_id, seen in basis.found.items()
            if self._may_alert(user, seen.key)
        }
        found = patterns(
            Basis(eligible).contributions(),
            parties,
            agreement.aggregate_k,
            self._settings.views_pattern_window_months,
        )
        held = self._held_notes(user, access.can_read, collection_id, found)
        mine = (
            user.organization_id
            if not user.is_system and user.organization_id is not None
            else NODE_ORIGINATOR
        )
        outcomes: dict[str, NoteOutcome] = {}
        to_write: list[dict[str, Any]] = []
        for pattern in found:
            note_id = pattern.note_id(collection_id)
            note = pattern.note(
                collection_id,
                self._modified(pattern, eligible),
                self._markings(pattern, eligible),
            )
            seen = held.get(note_id)
            if seen is not None:
                earlier: dict[str, Any] = orjson.loads(seen.item.body)
                following = (
                    _next_version({**note, "created": earlier["created"]}, earlier)
                    if seen.key.originator == mine
                    else None
                )
                if following is None:
                    outcomes[note_id] = NoteOutcome(earlier, "already raised")
                    continue
                note = following
            outcomes[note_id] = NoteOutcome(note, "written")
            to_write.append(note)
        status = self._objects.add_objects(user, collection_id, to_write) if to_write else None
        for failure in [] if status is None else status.failures:
            refused = outcomes[failure["id"]]
            outcomes[failure["id"]] = NoteOutcome(refused.note, "failed", failure["message"])
        return Alerted(list(outcomes.values()), status)

    def _held_notes(
        self, user: User, can_read: bool, collection_id: str, found: Sequence[Pattern]
    ) -> dict[str, _Seen]:
        """The latest version the user sees of each pattern's note in the collection (a
        writer who may not read the collection sees none); recorded as the read it is, since
        an alert already raised is answered as the writer sees it."""
        if not can_read or not found:
            return {}
        keys = self._store.access_keys()
        ids = tuple(pattern.note_id(collection_id) for pattern in found)
        selection = VersionFilter(object_ids=ids, types=NOTE_TYPES)
        held = {
            item.object_id: _Seen(item, keys[item.label])
            for item in self._reads.seen(user, collection_id, selection)
        }
        if held:
            self._record(user, Basis(held), "coercion-alerts-held")
        return held

    def _readable(self, user: User) -> list[Collection]:
        return [a.collection for a in self._gate.collections_for(user) if a.can_read]

    def _basis(self, user: User, types: tuple[str, ...], readable: Sequence[Collection]) -> Basis:
        basis = Basis()
        for collection in readable:
            self._gather(user, types, collection, basis)
        return basis

    def _gather(
        self,
        user: User,
        types: tuple[str, ...],
        collection: Collection,
        basis: Basis,
        added_after: int | None = None,
    ) -> None:
        """Add to the basis the latest version of each object of the collection the user
        may see (of those added after ``added_after``)."""
        keys = self._store.access_keys()
        k = self._gate.agreement(collection).aggregate_k
        # Whether a row is seen whole: its key was judged (a key added since could be
        # judged otherwise by the view the read used) and is not redacted for the reader.
        view = self._gate.view(user, collection)
        checked, judged = view.checked, view.judged_up_to
        selection = VersionFilter(types=types, added_after=added_after)
        for item in self._reads.seen(user, collection.id, selection):
            earlier = basis.found.get(item.object_id)
            if earlier is None or version_key(earlier.item.version) < version_key(item.version):
                whole = item.label <= judged and item.label not in checked
                row = (collection.id, item.date_added) if whole else None
                basis.found[item.object_id] = _Seen(item, keys[item.label], row)
            basis.k = max(basis.k, k)

    def _record(self, user: User, basis: Basis, view: str) -> None:
        """One entry per request, naming every version the view drew on."""
        self._gate.record(derived_read(user, self._refs_of(basis), {"view": view}))

    def _refs_of(self, basis: Basis) -> ObjectRefs:
        refs = ObjectRefs()
        recorded_as = self._gate.audit.recorded_as
        for seen in basis.found.values():
            refs.versions_of(recorded_as(seen.key)).append((seen.item.object_id, seen.item.version))
        return refs

    def _may_alert(self, user: User, key: AccessKey) -> bool:
        """Whether a note by the user may name the incident (module docstring)."""
        if key.originator == user.organization_id:
            # Written here by the user's own organization (what a peer attests for it is not
            # its own to the policy either).
            return True
        label = label_of(self._refs(key), self._gate.registry())
        return not (label.noforn or label.orcon or label.nationalities is not None)

    @staticmethod
    def _modified(pattern: Pattern, seen: dict[str, _Seen]) -> str:
        """The newest of the pattern's start and its incidents' versions: the note changes
        when they do, and writing it again unchanged writes the same version."""
        versions = [pattern.created, *(seen[i.id].item.version for i in pattern.incidents)]
        return max(versions, key=version_key)

    def _markings(self, pattern: Pattern, seen: dict[str, _Seen]) -> list[str]:
        """Every marking of the incidents, with one TLP: the strictest of theirs, at least
        AMBER (the policy judges the strictest anyway; one TLP reads as what it is)."""
        refs = sorted({ref for i in pattern.incidents for ref in self._refs(seen[i.id].key)})
        top = max([Tlp.AMBER, *(TLP_MARKING_IDS[r] for r in refs if r in TLP_MARKING_IDS)])
        refs = [r for r in refs if r not in TLP_MARKING_IDS or TLP_MARKING_IDS[r] == top]
        tlp = label_of(refs, self._gate.registry()).tlp
        if tlp is None or tlp < top:
            refs.append(top.marking_id)
        return refs

    @staticmethod
    def _refs(key: AccessKey) -> list[str]:
        return [r for r in (*key.marking_refs, *key.granular_refs) if r not in _NOT_ACCESS]


def _next_version(note: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any] | None:
    """The note as the next version of the writer's ``earlier`` one, or None when it says
    the same and is no newer (nothing to write). A note saying something else is written
    as newer than ``earlier`` even when its incidents' versions are not (one left the
    pattern): an older version would not be the one its readers see. Only what the note
    sets is compared: the node may add to what it stores (an anonymous writer's fields)."""
    if version_key(note["modified"]) > version_key(earlier["modified"]):
        return note
    if all(earlier.get(key) == value for key, value in note.items() if key != "modified"):
        return None
    after = datetime.fromisoformat(earlier["modified"]) + timedelta(milliseconds=1)
    modified = after.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**note, "modified": modified}
