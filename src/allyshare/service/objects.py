"""Object versions: writes (checked per object, stored with their status in one transaction),
reads through the reader's view, exports, deletes, statuses, and pages received from peers.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRefs
from allyshare.clock import now_us
from allyshare.community import (
    identity_of,
)
from allyshare.config import Settings
from allyshare.errors import (
    NotFound,
)
from allyshare.policy import ANONYMOUS
from allyshare.policy.rights import Operation
from allyshare.service.attestation import Attested, received_originators
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.service.sources import Sources
from allyshare.service.writes import Prepared, ReuseByView, WriteRules, claimed_id, prepare
from allyshare.storage import (
    NODE_ORIGINATOR,
    IngestResult,
    NewVersion,
    Outcome,
    PeerRecord,
    StatusRecord,
    Store,
    SubscriptionRecord,
    User,
    VersionFilter,
    peer_originator,
)
from allyshare.storage.store import Unit

_OUTCOME_MESSAGES = {
    Outcome.STORED: "stored",
    Outcome.DUPLICATE: "already stored: this version was received before",
    Outcome.CONFLICT: "conflict: an object with this id and no version timestamp is already "
    "stored with different content",
    Outcome.NOT_ORIGINATOR: "only the originator of this object may add versions of it",
}

_REFUSED = (Outcome.CONFLICT, Outcome.NOT_ORIGINATOR)
"""What the store refuses of a version that passed every check (the id's lineage)."""


def _refused_by_store(prepared: Prepared, result: IngestResult) -> dict[int, dict[str, str]]:
    return {
        position: {
            "id": version.object_id,
            "version": version.version,
            "message": _OUTCOME_MESSAGES[outcome],
        }
        for position, version, outcome in zip(
            prepared.positions, prepared.versions, result.outcomes, strict=True
        )
        if outcome in _REFUSED
    }


class _Withdraw(Exception):
    """An atomic write the store refused part of, per position: roll all of it back."""

    def __init__(self, failures: dict[int, dict[str, str]]) -> None:
        super().__init__("atomic write refused")
        self.failures = failures


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

    def __init__(self, settings: Settings, store: Store, gate: Gate, sources: Sources) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._sources = sources
        self.write_listeners: list[Callable[[str], None]] = []
        """Called with the collection id after a write stored something (push wakes on it)."""

    def add_objects(
        self,
        user: User,
        collection_id: str,
        submitted: Sequence[object],
        attested: object = None,
        *,
        anonymous: bool | None = None,
        atomic: bool = False,
    ) -> StatusRecord:
        """Check every object, store the valid ones in one transaction, record the status.

        ``atomic`` stores nothing unless every object can be stored: a spreadsheet imported
        by halves would leave its writer to work out which rows are in.

        The writer's organization is recorded as the originator (for the node's own console
        work, the node); the policy trusts only that, never a claim inside the object. A peer
        node writes what its members wrote: it ``attested`` their organizations beside the
        objects (`received_originators`). An ``anonymous`` contribution (or one to a
        collection or agreement anonymous by default) names the community instead of the
        writer to every reader, and the node keeps who it was sealed (`Sources`).
        """
        access = self._gate.collection_for(user, collection_id, "write")
        agreement = self._gate.agreement(access.collection)
        anonymously = self._sources.anonymous(user, access.collection, agreement, anonymous)
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
            agreement,
            self._gate.registry(),
            # The author rules bind an organization's own members; the node's operator and
            # a peer node write on behalf of others.
            operator=originator == NODE_ORIGINATOR or user.peer is not None,
            members={
                identity_of(record.id): record.id for record in self._store.list_organizations()
            },
            contributor=self._sources.contributor_of(user) if anonymously else None,
            pseudonym=self._sources.pseudonym_of(access.collection) if anonymously else None,
            scrubber=self._sources.scrubber(agreement),
        )
        prepared = prepare(submitted, rules, claims.originators if claims else None)
        if atomic and prepared.failures:
            prepared = prepared.withdrawn()
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
                if outcome in _REFUSED:
                    failures[position] = record
                else:
                    if position in prepared.scrubbed:
                        record["message"] += (
                            "; personal data replaced in " + prepared.scrubbed[position].summary()
                        )
                    if position in prepared.warnings:
                        record["message"] += "; warning: " + prepared.warnings[position]
                    successes.append(record)
            return StatusRecord(
                id=str(uuid.uuid4()),
                collection_id=collection_id,
                user_name=(
                    self._gate.audit.writer_pseudonym(user.name) if anonymously else user.name
                ),
                request_timestamp=requested,
                total_count=len(submitted),
                success_count=len(successes),
                failure_count=len(failures),
                pending_count=0,
                successes=successes,
                failures=[failures[p] for p in sorted(failures)],
            )

        reuse = ReuseByView(partial(self._gate.view, user, access.collection))
        while True:
            try:
                with self._store.begin() as unit:
                    if anonymously and prepared.versions:
                        community = self._sources.community_version(access.collection)
                        unit.ingest(collection_id, [community])
                    result = unit.ingest(collection_id, prepared.versions, reuse)
                    refused = _refused_by_store(prepared, result) if atomic else None
                    if refused:
                        raise _Withdraw(refused)
                    status = status_of(result)
                    unit.record_status(status)
                    if user.peer is not None:
                        unit.record_receipts(collection_id, result.added, user.peer)
                    if anonymously:
                        self._sources.seal(unit, user, collection_id, prepared, result)
                    entry = self._write_entry(
                        user, collection_id, prepared.versions, result, status
                    )
                    self._gate.record(entry, unit)
                    if prepared.scrubbed:
                        self._record_scrub(entry.actor, collection_id, prepared, result, unit)
                break
            except _Withdraw as refused:  # rolled back: record the refusal alone
                prepared = prepared.withdrawn(refused.failures)
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
        agreement = self._gate.agreement(collection)
        rules = WriteRules(
            self._gate.organization(originator),
            originator,
            agreement,
            self._gate.registry(),
            operator=True,
            scrubber=self._sources.scrubber(agreement),
        )
        prepared = prepare(received, rules, claims.originators)
        with self._store.begin() as unit:
            result = unit.ingest(collection.id, prepared.versions)
            unit.record_receipts(collection.id, result.added, subscription.peer_name)
            unit.advance(subscription, cursor, len(result.added))
            stored = self._stored_refs(prepared.versions, result)
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
                if prepared.scrubbed:
                    self._record_scrub(entry.actor, collection.id, prepared, result, unit)
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

    def _stored_refs(self, versions: Sequence[NewVersion], result: IngestResult) -> ObjectRefs:
        """The versions stored, under the originator each was recorded with (an anonymous
        contribution under its organization's pseudonym)."""
        stored = [
            v
            for v, outcome in zip(versions, result.outcomes, strict=True)
            if outcome is Outcome.STORED
        ]
        recorded_as = self._gate.audit.recorded_as
        return ObjectRefs.of(
            (
                version.object_id,
                version.version,
                recorded_as(version.access._replace(originator=originator)),
            )
            for version, originator in zip(stored, result.originators, strict=True)
        )

    def _record_scrub(
        self,
        actor: Actor,
        collection_id: str,
        prepared: Prepared,
        result: IngestResult,
        unit: Unit,
    ) -> None:
        """What scrubbing replaced in the versions a write stored: per field and kind, how
        many versions (never a value), beside the write's own entry."""
        scrubbed = [
            (version, prepared.scrubbed[position])
            for position, version, outcome in zip(
                prepared.positions, prepared.versions, result.outcomes, strict=True
            )
            if outcome is Outcome.STORED and position in prepared.scrubbed
        ]
        if not scrubbed:
            return
        fields: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        for _, found in scrubbed:
            fields.update(found.found.keys())
            kinds.update({kind for found_kinds in found.found.values() for kind in found_kinds})
        recorded_as = self._gate.audit.recorded_as
        entry = AuditEntry(
            Operation.OBJECTS_SCRUB,
            actor,
            AuditOutcome.ALLOWED,
            collection_id,
            ObjectRefs.of(
                (version.object_id, version.version, recorded_as(version.access))
                for version, _ in scrubbed
            ),
            detail={"fields": dict(sorted(fields.items())), "kinds": dict(sorted(kinds.items()))},
        )
        self._gate.record(entry, unit)

    def _write_entry(
        self,
        user: User,
        collection_id: str,
        versions: Sequence[NewVersion],
        result: IngestResult,
        status: StatusRecord,
    ) -> AuditEntry:
        """The versions a write stored, and how many of the request's objects it refused.
        An anonymous write's actor is its organization's pseudonym, not the user."""
        if status.failure_count == 0:
            outcome = AuditOutcome.ALLOWED
        elif status.success_count == 0:
            outcome = AuditOutcome.FAILED
        else:
            outcome = AuditOutcome.PARTIAL
        actor = actor_of(user)
        detail: dict[str, object] = {"status": status.id}
        if any(ANONYMOUS in version.access.marking_refs for version in versions):
            # Neither the user nor the status (which names it) is told.
            pseudonym = self._gate.audit.pseudonym(user.organization_id or "")
            actor, detail = Actor(pseudonym, "anonymous", pseudonym), {}
        detail.update(total=status.total_count, failures=status.failure_count)
        return AuditEntry(
            Operation.OBJECTS_WRITE,
            actor,
            outcome,
            collection_id,
            self._stored_refs(versions, result),
            peer=user.peer,
            detail=detail,
        )
