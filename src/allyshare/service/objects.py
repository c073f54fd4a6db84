"""Object versions: writes (checked per object, stored with their status in one transaction),
reads through the reader's view, exports, deletes, statuses, and pages received from peers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import orjson

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRef
from allyshare.clock import now_us
from allyshare.community import (
    agreement_from_document,
    identity_of,
)
from allyshare.config import Settings
from allyshare.errors import (
    AuthenticationFailed,
    NotFound,
)
from allyshare.policy.rights import Operation
from allyshare.service.attestation import Attested, received_originators
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.service.views import View
from allyshare.service.writes import ReuseByView, WriteRules, claimed_id, prepare
from allyshare.storage import (
    NODE_ORIGINATOR,
    IngestResult,
    NewVersion,
    Outcome,
    Page,
    PeerRecord,
    StatusRecord,
    Store,
    StoredVersion,
    SubscriptionRecord,
    User,
    VersionFilter,
    peer_originator,
    sender_of,
)

EXPORT_BATCH = 10_000

_OUTCOME_MESSAGES = {
    Outcome.STORED: "stored",
    Outcome.DUPLICATE: "already stored: this version was received before",
    Outcome.CONFLICT: "conflict: an object with this id and no version timestamp is already "
    "stored with different content",
    Outcome.NOT_ORIGINATOR: "only the originator of this object may add versions of it",
}


def _shown(
    items: Iterable[StoredVersion], view: View, *, with_body: bool
) -> Iterator[tuple[StoredVersion, tuple[str, ...]]]:
    """Each version the view lets through, as the reader may see it, with the properties
    redaction took out of it (for the audit entry)."""
    for item in items:
        withheld: tuple[str, ...] = ()
        if item.label in view.checked:
            body = view.body(item)
            if body is None:
                continue
            if body is not item.body:
                withheld = _withheld(item.body, body)
            item = item._replace(body=body)
        yield (item if with_body else item._replace(body=b"")), withheld


def _withheld(stored: bytes, shown: bytes) -> tuple[str, ...]:
    whole, cut = orjson.loads(stored), orjson.loads(shown)
    return tuple(sorted(name for name, value in whole.items() if cut.get(name) != value))


@dataclass(frozen=True)
class Outgoing:
    """One page a push sends: the versions, what redaction withheld from each, what the peer
    is told of their originators, and the push cursor after the page."""

    items: list[StoredVersion]
    withheld: list[tuple[str, ...]]
    attested: list[str]
    up_to: int | None
    more: bool


@dataclass(frozen=True)
class Received:
    """What became of one page pulled from a peer."""

    stored: int
    already_held: int
    refused: list[dict[str, str]]
    notes: list[dict[str, str]] = field(default_factory=list)
    """Objects stored with the peer recorded as their originator, its claim not taken."""


class Objects:
    """The object versions of the node's collections, as each actor may write and read them."""

    def __init__(self, settings: Settings, store: Store, gate: Gate) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self.write_listeners: list[Callable[[str], None]] = []
        """Called with the collection id after a write stored something (push wakes on it)."""

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

    def originated_here(self, items: Iterable[StoredVersion]) -> list[StoredVersion]:
        """The versions whose originator this node recorded (not a peer that sent them)."""
        keys = self._store.access_keys()
        return [item for item in items if sender_of(keys[item.label].originator) is None]

    def attested_originators(self, items: Iterable[StoredVersion]) -> list[str]:
        """What this node tells a peer about who wrote each version (`public_originator`)."""
        keys = self._store.access_keys()
        return [
            self._gate.public_originator(keys[item.label].originator, item.body) for item in items
        ]

    def add_objects(
        self,
        user: User,
        collection_id: str,
        submitted: Sequence[object],
        attested: object = None,
    ) -> StatusRecord:
        """Check every object, store the valid ones in one transaction, record the status.

        The writer's organization is recorded as the originator (for the node's own console
        work, the node); the policy trusts only that, never a claim inside the object. A peer
        node writes what its members wrote: it ``attested`` their organizations beside the
        objects (`received_originators`).
        """
        access = self._gate.collection_for(user, collection_id, "write")
        requested = now_us()
        originator = NODE_ORIGINATOR
        claims: Attested | None = None
        if user.peer is not None:
            country = user.nationality or ""
            originator = peer_originator(country, user.peer)
            claims = self._received_originators(country, user.peer, attested, submitted)
        elif not user.is_system and user.organization_id is not None:
            originator = user.organization_id
        rules = WriteRules(
            self._gate.organization(originator),
            originator,
            self._gate.agreement(access.collection),
            self._gate.registry(),
            # The author rules bind an organization's own members; the node's operator and
            # a peer node write on behalf of others.
            operator=originator == NODE_ORIGINATOR or user.peer is not None,
            members={
                identity_of(record.id): record.id for record in self._store.list_organizations()
            },
        )
        prepared = prepare(submitted, rules, claims.originators if claims else None)
        notes = claims.notes if claims else {}

        def status_of(result: IngestResult) -> StatusRecord:
            successes: list[dict[str, str]] = []
            failures = dict(prepared.failures)
            for position, version, outcome in zip(
                prepared.positions, prepared.versions, result.outcomes, strict=True
            ):
                message = _OUTCOME_MESSAGES[outcome]
                if position in notes:
                    message = f"{message}; {notes[position]}"
                record = {"id": version.object_id, "version": version.version, "message": message}
                if outcome in (Outcome.CONFLICT, Outcome.NOT_ORIGINATOR):
                    failures[position] = record
                else:
                    if position in prepared.warnings:
                        record["message"] += "; warning: " + prepared.warnings[position]
                    successes.append(record)
            return StatusRecord(
                id=str(uuid.uuid4()),
                collection_id=collection_id,
                user_name=user.name,
                request_timestamp=requested,
                total_count=len(submitted),
                success_count=len(successes),
                failure_count=len(failures),
                pending_count=0,
                successes=successes,
                failures=[failures[p] for p in sorted(failures)],
            )

        reuse = ReuseByView(partial(self._gate.view, user, access.collection))
        with self._store.begin() as unit:
            result = unit.ingest(collection_id, prepared.versions, reuse)
            status = status_of(result)
            unit.record_status(status)
            if user.peer is not None:
                unit.record_receipts(collection_id, result.added, user.peer)
            self._gate.record(
                _write_entry(user, collection_id, prepared.versions, result, status), unit
            )
        if status.success_count:
            self.written(collection_id)
        return status

    def receive(
        self,
        subscription: SubscriptionRecord,
        peer: PeerRecord,
        received: Sequence[object],
        cursor: str | None,
        attested: object = None,
    ) -> Received:
        """Store one page pulled from a peer together with the subscription's new cursor.

        Received data is checked as an import is (valid STIX, markings that parse, within the
        local agreement's ceilings); the author rules bind the peer's own members, not this
        node. Its originator, for the policy, is the organization the peer ``attested``,
        recorded with the peer (`received_originators`): the peer answers for its members.
        """
        collection = self._gate.collection(subscription.local_collection)
        originator = peer_originator(peer.country, peer.name)
        claims = self._received_originators(peer.country, peer.name, attested, received)
        rules = WriteRules(
            self._gate.organization(originator),
            originator,
            self._gate.agreement(collection),
            self._gate.registry(),
            operator=True,
        )
        prepared = prepare(received, rules, claims.originators)
        with self._store.begin() as unit:
            result = unit.ingest(collection.id, prepared.versions)
            unit.record_receipts(collection.id, result.added, subscription.peer_name)
            unit.advance(subscription, cursor, len(result.added))
            stored = _stored_refs(prepared.versions, result)
            if stored or prepared.failures:
                entry = AuditEntry(
                    Operation.OBJECTS_RECEIVE,
                    Actor(peer.name, "peer"),
                    AuditOutcome.PARTIAL if prepared.failures else AuditOutcome.ALLOWED,
                    collection.id,
                    stored,
                    peer=peer.name,
                    detail={"refused": len(prepared.failures)},
                )
                self._gate.record(entry, unit)
        return Received(
            stored=len(result.added),
            already_held=len(result.outcomes) - len(result.added),
            refused=[prepared.failures[p] for p in sorted(prepared.failures)],
            notes=[
                {"id": claimed_id(received[p]), "message": claims.notes[p]}
                for p in sorted(claims.notes)
                if p not in prepared.failures
            ],
        )

    def _received_originators(
        self, country: str, peer_name: str, attested: object, submitted: Sequence[object]
    ) -> Attested:
        own = self._gate.own_organizations()
        return received_originators(country, peer_name, attested, submitted, own)

    def read_objects(
        self,
        user: User,
        collection_id: str,
        selection: VersionFilter,
        *,
        limit: int,
        after: int | None = None,
        with_body: bool = True,
    ) -> Page:
        """A page of the versions the user may see, as the user may see them.

        Without bodies it serves the manifest and versions endpoints; versions that may be
        withheld after granular redaction are still read whole, so every endpoint lists the
        same versions.
        """
        items, more = self._page(user, collection_id, selection, limit, after, with_body)
        self._record_read(user, collection_id, items, with_body=with_body)
        return Page([item for item, _ in items], more)

    def _page(
        self,
        user: User,
        collection_id: str,
        selection: VersionFilter,
        limit: int,
        after: int | None,
        with_body: bool,
    ) -> tuple[list[tuple[StoredVersion, tuple[str, ...]]], bool]:
        access = self._gate.collection_for(user, collection_id, "read")
        view = self._gate.view(user, access.collection)
        # A version withheld after redaction must leave no gap: read on until the page is
        # full and one more shown version proves there is a next page.
        items: list[tuple[StoredVersion, tuple[str, ...]]] = []
        cursor, scanning = after, True
        while scanning and len(items) <= limit:
            page = self._store.read_page(
                collection_id,
                selection,
                limit=limit + 1 - len(items),
                after=cursor,
                with_body=with_body or bool(view.checked),
                visible=view.visible,
            )
            items.extend(_shown(page.items, view, with_body=with_body))
            scanning = page.more
            if page.items:
                cursor = page.items[-1].date_added
        return items[:limit], len(items) > limit

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
        ours = [
            (item, withheld)
            for item, withheld in page
            if sender_of(keys[item.label].originator) is None
        ]
        return Outgoing(
            [item for item, _ in ours],
            [withheld for _, withheld in ours],
            self.attested_originators(item for item, _ in ours),
            page[-1][0].date_added if page else after,
            more,
        )

    def pushed(self, subscription: SubscriptionRecord, peer: PeerRecord, sent: Outgoing) -> None:
        """The peer took the page: move the push cursor past it and record what went there,
        in one transaction."""
        with self._store.begin() as unit:
            self._store.peers.pushed(subscription, sent.up_to or 0, len(sent.items))
            if sent.items:
                keys = self._store.access_keys()
                refs = [
                    ObjectRef(item.object_id, item.version, keys[item.label].originator, cut)
                    for item, cut in zip(sent.items, sent.withheld, strict=True)
                ]
                entry = AuditEntry(
                    Operation.OBJECTS_SEND,
                    Actor(self._settings.node_name, "node"),
                    AuditOutcome.PARTIAL if any(sent.withheld) else AuditOutcome.ALLOWED,
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
        return self._exported(user, collection_id, _shown(versions, view, with_body=True))

    def _exported(
        self,
        user: User,
        collection_id: str,
        shown: Iterator[tuple[StoredVersion, tuple[str, ...]]],
    ) -> Iterator[bytes]:
        """The bodies, recorded a batch at a time (one entry per batch, not per export, so a
        large export is not one enormous entry, nor one missing if the export stops early)."""
        batch: list[tuple[StoredVersion, tuple[str, ...]]] = []
        for item in shown:
            batch.append(item)
            if len(batch) == EXPORT_BATCH:
                self._record_read(user, collection_id, batch, with_body=True, export=True)
                batch = []
            yield item[0].body
        self._record_read(user, collection_id, batch, with_body=True, export=True)

    def _record_read(
        self,
        user: User,
        collection_id: str,
        shown: Sequence[tuple[StoredVersion, tuple[str, ...]]],
        *,
        with_body: bool,
        export: bool = False,
    ) -> None:
        """One entry per request: which versions the reader got, and what redaction withheld
        from them. For a peer node the read is egress: the versions went to that node."""
        if not shown:
            return
        keys = self._store.access_keys()
        refs = [
            ObjectRef(item.object_id, item.version, keys[item.label].originator, withheld)
            for item, withheld in shown
        ]
        detail: dict[str, object] = {}
        if not with_body:
            detail["bodies"] = False
        if export:
            detail["export"] = True
        self._gate.record(
            AuditEntry(
                Operation.OBJECTS_SEND if user.peer is not None else Operation.OBJECTS_READ,
                actor_of(user),
                AuditOutcome.PARTIAL if any(w for _, w in shown) else AuditOutcome.ALLOWED,
                collection_id,
                refs,
                peer=user.peer,
                detail=detail,
            )
        )

    def delete_objects(self, user: User, collection_id: str, selection: VersionFilter) -> int:
        """Curators delete the versions they can see; what they cannot see stays, unnamed, and
        so does what an ORCON approval lets them read (the originator's to remove)."""
        access = self._gate.collection_for(user, collection_id, "read", Operation.OBJECTS_DELETE)
        if not access.can_curate:
            self._gate.deny(
                user,
                Operation.OBJECTS_DELETE,
                f"deleting from collection {collection_id} needs the curator role",
                collection_id,
            )
        view = self._gate.view(user, access.collection)
        visible = view.visible
        if visible is not None and view.approvable:
            visible = visible - view.approvable
        with self._store.begin() as unit:
            deleted = self._store.delete_versions(collection_id, selection, visible)
            if deleted == 0:
                raise NotFound("no object with that id and version in this collection")
            detail: dict[str, object] = {"deleted": deleted, "versions": sorted(selection.versions)}
            if selection.object_ids:
                detail["ids"] = list(selection.object_ids)
            entry = AuditEntry(
                Operation.OBJECTS_DELETE,
                actor_of(user),
                AuditOutcome.ALLOWED,
                collection_id,
                detail=detail,
            )
            self._gate.record(entry, unit)
        return deleted

    def status(self, user: User, status_id: str) -> StatusRecord:
        """A status names the versions its request wrote, so only that writer reads it; an
        admin's clearance need not cover them."""
        record = self._store.get_status(status_id)
        if record is None or not self._gate.may_read_status(user, record.user_name):
            raise NotFound(f"no status {status_id}")
        return record

    def written(self, collection_id: str) -> None:
        for listener in self.write_listeners:
            listener(collection_id)


def _stored_refs(versions: Sequence[NewVersion], result: IngestResult) -> list[ObjectRef]:
    return [
        ObjectRef(version.object_id, version.version, version.access.originator)
        for version, outcome in zip(versions, result.outcomes, strict=True)
        if outcome is Outcome.STORED
    ]


def _write_entry(
    user: User,
    collection_id: str,
    versions: Sequence[NewVersion],
    result: IngestResult,
    status: StatusRecord,
) -> AuditEntry:
    """The versions a write stored, and how many of the request's objects it refused."""
    if status.failure_count == 0:
        outcome = AuditOutcome.ALLOWED
    elif status.success_count == 0:
        outcome = AuditOutcome.FAILED
    else:
        outcome = AuditOutcome.PARTIAL
    return AuditEntry(
        Operation.OBJECTS_WRITE,
        actor_of(user),
        outcome,
        collection_id,
        _stored_refs(versions, result),
        peer=user.peer,
        detail={
            "status": status.id,
            "total": status.total_count,
            "failures": status.failure_count,
        },
    )
