"""The cross-member views of economic coercion and supply-chain exposure, and the pattern
alert, over what one reader may see (`allyshare.economic.views` computes them).

What a view draws on: across every collection the reader may read, the latest version of
each incident and exposure the reader may see, as it sees it (a field withheld from it is
absent, so it counts for nothing), each with the organization the node records as its
originator (an anonymous contribution counts for the organization that made it, which no
reader learns from a count). An object in several collections counts once. k is the largest
``aggregate_k`` of the agreements of the collections the objects came from, so each
agreement's k holds for what it shares. A view is a read, recorded as one entry naming
every version it drew on.

Each answer is kept per reader (as the decision sees it) and view, with what it was
computed from: the readable collections, the gate's view of each (`Gate.view` keeps one
object while the subject, agreement, marking registry, approvals and access keys stay the
same, and builds another when any changes) and each collection's data generation
(`Store.collection_generations`, which any write, move, deletion or expiry changes). A
request whose inputs are all the same is answered from it, and still recorded as the read
it is; any change recomputes. The generations are read before the versions, so an answer
is never kept under a generation older than the data it saw. Recomputing, each stored row a
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
alerts again writes nothing new until an incident changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

from allyshare.audit.entries import ObjectRefs
from allyshare.config import Settings
from allyshare.economic import EXPOSURE_TYPE
from allyshare.economic.alerts import PATTERN_LABEL, Pattern, patterns
from allyshare.economic.views import (
    CoercionView,
    Contribution,
    Exposure,
    Incident,
    SupplyChainView,
    coercion_view_of,
    exposure_of,
    incident_of,
    supply_chain_view_of,
)
from allyshare.policy import (
    ANONYMOUS,
    TLP_MARKING_IDS,
    WRITER_ONLY,
    AccessLabel,
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
Answer = TypeVar("Answer", CoercionView, SupplyChainView)
Countable = TypeVar("Countable", Incident, Exposure)
_Row = tuple[str, int]
"""A stored row: its collection and ``date_added``."""


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


@dataclass(frozen=True)
class Alerted:
    """The alerts written (as notes), and the write's status (None when none was found)."""

    notes: list[dict[str, object]]
    status: StatusRecord | None


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
        return (
            self.collections == other.collections
            and self.generations == other.generations
            and all(a is b for a, b in zip(self.views, other.views, strict=True))
        )


@dataclass(frozen=True)
class _Kept:
    inputs: _Inputs
    refs: ObjectRefs
    answer: CoercionView | SupplyChainView
    labels: tuple[AccessLabel, ...]


class EconomicViews:
    def __init__(
        self, settings: Settings, store: Store, gate: Gate, reads: Reads, objects: Objects
    ) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._reads = reads
        self._objects = objects
        self._kept: dict[tuple[str, Subject], _Kept] = {}
        self._incidents: dict[_Row, tuple[Incident | None, AccessLabel]] = {}
        self._exposures: dict[_Row, tuple[Exposure | None, AccessLabel]] = {}

    def coercion(self, user: User) -> Drawn[CoercionView]:
        def compute(basis: Basis) -> tuple[CoercionView, tuple[AccessLabel, ...]]:
            incidents, labels = self._reduced(basis, incident_of, self._incidents)
            return coercion_view_of(incidents, basis.k), labels

        return self._answer(user, "coercion", COERCION_TYPES, compute, CoercionView)

    def supply_chain(self, user: User) -> Drawn[SupplyChainView]:
        def compute(basis: Basis) -> tuple[SupplyChainView, tuple[AccessLabel, ...]]:
            exposures, labels = self._reduced(basis, exposure_of, self._exposures)
            return supply_chain_view_of(exposures, basis.k), labels

        return self._answer(user, "supply-chain", SUPPLY_CHAIN_TYPES, compute, SupplyChainView)

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

    def _reduced(
        self,
        basis: Basis,
        reduce: Callable[[Contribution], Countable | None],
        kept: dict[_Row, tuple[Countable | None, AccessLabel]],
    ) -> tuple[list[Countable], tuple[AccessLabel, ...]]:
        """What the views count of each object (module docstring: rows seen whole are
        reduced once), and the distinct labels of all the objects carry as the reader sees
        them (granular markings too: a page showing the view is marked with them)."""
        found: list[Countable] = []
        labels: set[AccessLabel] = set()
        registry = self._gate.registry()
        if len(kept) >= REDUCTIONS_KEPT:
            kept.clear()
        for seen in basis.found.values():
            row = seen.row
            if row is not None and row in kept:
                reduced, label = kept[row]
            else:
                obj = orjson.loads(seen.item.body)
                reduced = reduce(Contribution(obj, origin_of(seen.key.originator)))
                label = shown_label(obj, registry)
                if row is not None:
                    kept[row] = (reduced, label)
            labels.add(label)
            if reduced is not None:
                found.append(reduced)
        return found, tuple(labels)

    def _answer(
        self,
        user: User,
        name: str,
        types: tuple[str, ...],
        compute: Callable[[Basis], tuple[Answer, tuple[AccessLabel, ...]]],
        kind: type[Answer],
    ) -> Drawn[Answer]:
        """The view, kept while its inputs stay the same (module docstring); recorded
        either way, naming the versions it drew on."""
        readable = self._readable(user)
        generations = self._store.collection_generations()
        inputs = _Inputs(
            tuple(c.id for c in readable),
            tuple(self._gate.view(user, c) for c in readable),
            tuple(generations.get(c.id) for c in readable),
        )
        slot = (name, self._gate.subject_of(user))
        kept = self._kept.get(slot)
        if kept is not None and kept.inputs.same_as(inputs) and isinstance(kept.answer, kind):
            self._gate.record(derived_read(user, kept.refs, {"view": name}))
            return Drawn(kept.answer, kept.labels)
        basis = self._basis(user, types, readable)
        refs = self._refs_of(basis).seal()
        self._gate.record(derived_read(user, refs, {"view": name}))
        answer, labels = compute(basis)
        if len(self._kept) >= ANSWERS_KEPT:
            self._kept.clear()
        self._kept[slot] = _Kept(inputs, refs, answer, labels)
        return Drawn(answer, labels)

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
        notes: list[dict[str, object]] = [
            pattern.note(self._modified(pattern, eligible), self._markings(pattern, eligible))
            for pattern in found
        ]
        if not notes:
            return Alerted([], None)
        return Alerted(notes, self._objects.add_objects(user, collection_id, notes))

    def _readable(self, user: User) -> list[Collection]:
        return [a.collection for a in self._gate.collections_for(user) if a.can_read]

    def _basis(self, user: User, types: tuple[str, ...], readable: Sequence[Collection]) -> Basis:
        basis = Basis()
        keys = self._store.access_keys()
        for collection in readable:
            k = self._gate.agreement(collection).aggregate_k
            # Whether a row is seen whole: its key was judged (a key added since could be
            # judged otherwise by the view the read used) and is not redacted for the reader.
            view = self._gate.view(user, collection)
            checked, judged = view.checked, view.judged_up_to
            for item in self._reads.seen(user, collection.id, VersionFilter(types=types)):
                earlier = basis.found.get(item.object_id)
                if earlier is None or version_key(earlier.item.version) < version_key(item.version):
                    whole = item.label <= judged and item.label not in checked
                    row = (collection.id, item.date_added) if whole else None
                    basis.found[item.object_id] = _Seen(item, keys[item.label], row)
                basis.k = max(basis.k, k)
        return basis

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
