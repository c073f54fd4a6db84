"""Reading object versions: a page, an export, and what a push sends a peer, each as the
reader may see it through its view, each recorded: which versions went to whom, and what
redaction withheld from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import orjson

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRefs, VersionRef
from allyshare.community import agreement_from_document
from allyshare.config import Settings
from allyshare.errors import AuthenticationFailed
from allyshare.observables import NAME, name_in, normalize_name
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.service.views import View
from allyshare.storage import (
    Page,
    PeerRecord,
    Store,
    StoredVersion,
    SubscriptionRecord,
    User,
    VersionFilter,
    sender_of,
)
from allyshare.storage.observables import observable_digest

EXPORT_BATCH = 10_000
_SCAN_BATCH = 1_000
_NAMES_CHUNK = 500
"""Names, or object ids, per index query: its parameters stay within every database's limit."""


@dataclass
class Shown:
    """Versions as a reader may see them, in order, and what redaction withheld from those
    it cut (by position: few are cut, and a read's entry names thousands)."""

    items: list[StoredVersion] = field(default_factory=list)
    withheld: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def add(self, items: Iterable[StoredVersion], view: View, *, with_body: bool) -> None:
        """Each version the view lets through, as the reader may see it."""
        checked = view.checked
        if with_body and not checked:
            self.items.extend(items)
            return
        for item in items:
            if item.label in checked:
                body = view.body(item)
                if body is None:
                    continue
                # A copy may differ from what is stored and still hold every part of it
                # (a granular marking on a part the object lacks): nothing was withheld.
                if body is not item.body and (cut := _withheld(item.body, body)):
                    self.withheld[len(self.items)] = cut
                item = item._replace(body=body)
            self.items.append(item if with_body else item._replace(body=b""))

    def extend(self, other: Shown) -> None:
        for position, cut in other.withheld.items():
            self.withheld[len(self.items) + position] = cut
        self.items.extend(other.items)

    def first(self, count: int) -> Shown:
        return Shown(
            self.items[:count], {at: cut for at, cut in self.withheld.items() if at < count}
        )

    def only(self, keep: Callable[[StoredVersion], bool]) -> Shown:
        kept = Shown()
        for position, item in enumerate(self.items):
            if keep(item):
                if position in self.withheld:
                    kept.withheld[len(kept.items)] = self.withheld[position]
                kept.items.append(item)
        return kept


def _withheld(stored: bytes, shown: bytes) -> tuple[str, ...]:
    whole, cut = orjson.loads(stored), orjson.loads(shown)
    return tuple(sorted(name for name, value in whole.items() if cut.get(name) != value))


@dataclass(frozen=True)
class Scanned:
    """A page read with a test no index answers: the versions that passed it, whether there
    may be more, and where the next page goes on (past the last version read, which may be
    past the last one shown)."""

    items: list[StoredVersion]
    more: bool
    resume: int | None


@dataclass(frozen=True)
class Outgoing:
    """One page a push sends: the versions, what redaction withheld from each, what the peer
    is told of their originators, and the push cursor after the page."""

    shown: Shown
    attested: list[str]
    up_to: int | None
    more: bool

    @property
    def items(self) -> list[StoredVersion]:
        return self.shown.items


class Reads:
    """Object versions as each reader may see them."""

    def __init__(self, settings: Settings, store: Store, gate: Gate) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate

    def peer_user(self, peer: PeerRecord) -> User:
        """A peer node as the one asking: cleared to its agreement's highest classification,
        reading and writing only collections of that agreement, judged as egress (``share``)."""
        record = self._store.agreement_newest(peer.agreement_name)
        if record is None:
            raise AuthenticationFailed(f"peer {peer.name!r} shares under a missing agreement")
        agreement = agreement_from_document(record.document)
        return User(
            name=f"peer:{peer.name}",
            is_admin=False,
            disabled=False,
            nationality=peer.country,
            clearance=agreement.max_classification.name,
            roles=frozenset({"reader"}),
            peer=peer.name,
            peer_agreement=peer.agreement_name,
            peer_key=peer.signing_key,
        )

    def attested_originators(self, items: Iterable[StoredVersion]) -> list[str]:
        """What this node tells a peer about who wrote each version (`public_originator`)."""
        keys = self._store.access_keys()
        return [
            self._gate.public_originator(keys[item.label].originator, item.body) for item in items
        ]

    def read_objects(
        self,
        user: User,
        collection_id: str,
        selection: VersionFilter,
        *,
        limit: int,
        after: int | None = None,
        with_body: bool = True,
        detail: Mapping[str, object] | None = None,
    ) -> Page:
        """A page of the versions the user may see, as the user may see them.

        Without bodies it serves the manifest and versions endpoints; versions that may be
        withheld after granular redaction are still read whole, so every endpoint lists the
        same versions. ``detail`` says in the read's entry what the read was for, when it
        served a larger task (an import) rather than showing the versions.
        """
        shown, more = self._page(user, collection_id, selection, limit, after, with_body)
        self._record_read(user, collection_id, shown, with_body=with_body, detail=detail)
        return Page(shown.items, more)

    def read_named(
        self,
        user: User,
        collection_id: str,
        type_: str,
        names: Sequence[str],
        *,
        detail: Mapping[str, object] | None = None,
    ) -> list[StoredVersion]:
        """The latest versions of the collection's objects of ``type_`` the user may see whose
        name is one of ``names`` (whole names, compared as the name index spells them), as
        the user may see them.

        The name index finds the candidates, so the cost follows how many objects bear the
        names, not the collection's size; only the versions returned are recorded, as one
        read, since candidates of other types or the user may not see were never shown."""
        access = self._gate.collection_for(user, collection_id, "read")
        wanted = {name for name in map(normalize_name, names) if name is not None}
        found: list[StoredVersion] = []
        if not wanted:
            return found
        ordered = sorted(wanted)
        candidates: set[str] = set()
        for start in range(0, len(ordered), _NAMES_CHUNK):
            digests = [
                observable_digest(NAME, name) for name in ordered[start : start + _NAMES_CHUNK]
            ]
            rows = self._store.occurrences(collection_id, digests)
            candidates.update(row.object_id for row in rows if row.type == type_)
        view = self._gate.view(user, access.collection)
        shown = Shown()
        ids = sorted(candidates)
        for start in range(0, len(ids), _NAMES_CHUNK):
            selection = VersionFilter(object_ids=tuple(ids[start : start + _NAMES_CHUNK]))
            versions = self._store.iter_versions(collection_id, selection, view.visible)
            shown.add(versions, view, with_body=True)
        named = shown.only(lambda item: name_in(orjson.loads(item.body)) in wanted)
        self._record_read(user, collection_id, named, with_body=True, detail=detail)
        return named.items

    def recorded(self, user: User, collection_id: str, shown: Shown) -> None:
        """Record versions another service read for the user as it shows them."""
        self._record_read(user, collection_id, shown, with_body=True)

    def read_matching(
        self,
        user: User,
        collection_id: str,
        selection: VersionFilter,
        matches: Callable[[dict[str, Any]], bool],
        *,
        limit: int,
        after: int | None,
        budget: int,
    ) -> Scanned:
        """A page of the selected versions the user may see whose shown object ``matches``,
        among at most ``budget`` versions read past ``after``.

        For a test no index answers (text in a name or description): it is asked of the
        object as the user sees it, so a withheld field never matches, and the budget bounds
        each request's work however rare the matches are; the page then ends where the
        reading stopped, and the next page goes on from there.
        """
        access = self._gate.collection_for(user, collection_id, "read")
        view = self._gate.view(user, access.collection)
        shown, cursor, scanned, more = Shown(), after, 0, True
        while len(shown.items) <= limit and scanned < budget:
            page = self._store.read_page(
                collection_id,
                selection,
                limit=min(budget - scanned, _SCAN_BATCH),
                after=cursor,
                visible=view.visible,
            )
            batch = Shown()
            batch.add(page.items, view, with_body=True)
            shown.extend(batch.only(lambda item: matches(orjson.loads(item.body))))
            scanned += len(page.items)
            if page.items:
                cursor = page.items[-1].date_added
            if not page.more:
                more = False
                break
        if len(shown.items) > limit:
            shown = shown.first(limit)
            more, cursor = True, shown.items[-1].date_added
        self._record_read(user, collection_id, shown, with_body=True)
        return Scanned(shown.items, more, cursor)

    def sees(self, user: User, collection_id: str, object_id: str) -> bool:
        """Whether the collection shows the user some version of the object: a check on
        the read path, not a read (nothing leaves, so nothing is recorded). Every version
        counts: the newest may be withheld whole while an older one is shown."""
        selection = VersionFilter(object_ids=(object_id,), versions=frozenset({"all"}))
        return bool(self._page(user, collection_id, selection, 1, None, False)[0].items)

    def seen(self, user: User, collection_id: str, selection: VersionFilter) -> list[StoredVersion]:
        """The selected versions the user may see, as the user may see them: what an
        aggregate is computed from. Not recorded here: the caller records what it shows of
        them."""
        access = self._gate.collection_for(user, collection_id, "read")
        view = self._gate.view(user, access.collection)
        stored = self._store.iter_versions(collection_id, selection, view.visible)
        shown = Shown()
        shown.add(stored, view, with_body=True)
        return shown.items

    def _page(
        self,
        user: User,
        collection_id: str,
        selection: VersionFilter,
        limit: int,
        after: int | None,
        with_body: bool,
    ) -> tuple[Shown, bool]:
        access = self._gate.collection_for(user, collection_id, "read")
        view = self._gate.view(user, access.collection)
        # A version withheld after redaction must leave no gap: read on until the page is
        # full and one more shown version proves there is a next page.
        shown = Shown()
        cursor, scanning = after, True
        while scanning and len(shown.items) <= limit:
            page = self._store.read_page(
                collection_id,
                selection,
                limit=limit + 1 - len(shown.items),
                after=cursor,
                with_body=with_body or bool(view.checked),
                visible=view.visible,
            )
            shown.add(page.items, view, with_body=with_body)
            scanning = page.more
            if page.items:
                cursor = page.items[-1].date_added
        if len(shown.items) > limit:
            return shown.first(limit), True
        return shown, False

    def outgoing(
        self, subscription: SubscriptionRecord, peer: PeerRecord, after: int | None, limit: int
    ) -> Outgoing:
        """A page of what a push would send the peer: read as the peer (its view), cut to
        what this node originated, with what it tells of each version's originator. It is
        recorded once the peer has it (`pushed`), not when read."""
        every = VersionFilter(versions=frozenset({"all"}))
        page, more = self._page(
            self.peer_user(peer), subscription.local_collection, every, limit, after, True
        )
        keys = self._store.access_keys()
        ours = page.only(lambda item: sender_of(keys[item.label].originator) is None)
        return Outgoing(
            ours,
            self.attested_originators(ours.items),
            page.items[-1].date_added if page.items else after,
            more,
        )

    def pushed(self, subscription: SubscriptionRecord, peer: PeerRecord, sent: Outgoing) -> None:
        """The peer took the page: move the push cursor past it and record what went there,
        in one transaction."""
        with self._store.begin() as unit:
            self._store.peers.pushed(subscription, sent.up_to or 0, len(sent.shown.items))
            if sent.shown.items:
                refs, outcome = self._refs(sent.shown)
                entry = AuditEntry(
                    Operation.OBJECTS_SEND,
                    Actor(self._settings.node_name, "node"),
                    outcome,
                    subscription.local_collection,
                    refs,
                    peer=peer.name,
                    detail={"push": True, "remote_collection": subscription.remote_collection},
                )
                self._gate.record(entry, unit)

    def export(self, user: User, collection_id: str, selection: VersionFilter) -> Iterator[bytes]:
        access = self._gate.collection_for(user, collection_id, "read")
        view = self._gate.view(user, access.collection)
        versions = self._store.iter_versions(collection_id, selection, view.visible)
        return self._exported(user, collection_id, versions, view)

    def _exported(
        self, user: User, collection_id: str, versions: Iterator[StoredVersion], view: View
    ) -> Iterator[bytes]:
        """The bodies, recorded a batch at a time, each batch before it leaves (one entry per
        batch, not per export, so a large export is not one enormous entry, nor one missing if
        the export stops early)."""
        while batch := list(islice(versions, EXPORT_BATCH)):
            shown = Shown()
            shown.add(batch, view, with_body=True)
            self._record_read(user, collection_id, shown, with_body=True, export=True)
            for item in shown.items:
                yield item.body

    def _refs(self, shown: Shown) -> tuple[ObjectRefs, AuditOutcome]:
        """What an entry says of the versions, and whether redaction withheld anything
        (partial) or not. A read names thousands of versions: each access key's originator
        is looked up once, not once per version."""
        keys = self._store.access_keys()
        recorded_as = self._gate.audit.recorded_as
        refs = ObjectRefs()
        by_label: dict[int, list[VersionRef]] = {}

        def versions_of(label: int) -> list[VersionRef]:
            found = by_label[label] = refs.versions_of(recorded_as(keys[label]))
            return found

        found = by_label.get
        withheld = shown.withheld
        if not withheld:
            for item in shown.items:
                versions = found(item.label) or versions_of(item.label)
                versions.append((item.object_id, item.version))
            return refs, AuditOutcome.ALLOWED
        for position, item in enumerate(shown.items):
            versions = found(item.label) or versions_of(item.label)
            cut = withheld.get(position)
            if cut:
                versions.append((item.object_id, item.version, list(cut)))
            else:
                versions.append((item.object_id, item.version))
        return refs, AuditOutcome.PARTIAL

    def _record_read(
        self,
        user: User,
        collection_id: str,
        shown: Shown,
        *,
        with_body: bool,
        export: bool = False,
        detail: Mapping[str, object] | None = None,
    ) -> None:
        """One entry per request: which versions the reader got, and what redaction withheld
        from them. For a peer node the read is egress: the versions went to that node."""
        if not shown.items:
            return
        refs, outcome = self._refs(shown)
        said: dict[str, object] = dict(detail or {})
        if not with_body:
            said["bodies"] = False
        if export:
            said["export"] = True
        self._gate.record(
            AuditEntry(
                Operation.OBJECTS_SEND if user.peer is not None else Operation.OBJECTS_READ,
                actor_of(user),
                outcome,
                collection_id,
                refs,
                peer=user.peer,
                detail=said,
            )
        )
