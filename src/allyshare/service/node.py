"""The `Node` façade: the one object TAXII, the management API, federation, the CLI and the
Python API hold. It wires the per-domain services to one gate and one store and hands each
call to the service that owns it; rights are checked there, through the gate, so no transport
reaches the store without the same checks. A collection the user may not read answers
exactly as a missing one does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from allyshare.config import Settings
from allyshare.datadir import create_private_database, make_private_directory, tighten
from allyshare.economic.views import CoercionView, SupplyChainView
from allyshare.errors import NotFound
from allyshare.keys import ensure_node_key
from allyshare.orcon.approvals import Approval
from allyshare.policy import (
    AccessLabel,
    Agreement,
    MarkingRegistry,
    Organization,
    Subject,
    object_label,
    shown_label,
)
from allyshare.policy.rights import Operation
from allyshare.service.audit import Audit, Verification
from allyshare.service.browsing import Browsing, Narrowing, Neighbourhood
from allyshare.service.contributions import Contributed, Contributions
from allyshare.service.correlation import Correlated, Correlation
from allyshare.service.economic import Alert, Alerted, Drawn, EconomicViews
from allyshare.service.explain import Explainer, Explanation
from allyshare.service.gate import Access, CollectionAccess, Gate
from allyshare.service.matching import Matched, Matching, Seeking
from allyshare.service.members import CONSOLE, Members
from allyshare.service.objects import Objects, Received
from allyshare.service.orcon import Orcon
from allyshare.service.peers import Peers
from allyshare.service.reads import Outgoing, Reads, Scanned
from allyshare.service.retention import Expired, Retention
from allyshare.service.sessions import Session, Sessions
from allyshare.service.sightings import Sighted, Sightings
from allyshare.service.sources import Reveal, Sources
from allyshare.service.views import View
from allyshare.service.witnessing import Witnessed, Witnessing
from allyshare.storage import (
    Collection,
    ContactRecord,
    EntryFilter,
    OrganizationRecord,
    Page,
    PeerRecord,
    RevealRecord,
    StatusRecord,
    Store,
    StoredVersion,
    SubscriptionRecord,
    User,
    VersionFilter,
)
from allyshare.storage.audit import LogAlarm, WitnessedCheckpoint


class Node:
    """One allyshare node: settings plus store, with access checked on every operation.

    Administrative methods act for ``actor``: the management API passes the admin who asked;
    left out, the actor is the node's operator at its console (the CLI, the demo).
    """

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self._store = store
        self._audit = Audit(settings, store)
        self._gate = Gate(settings, store, self._audit)
        self._members = Members(settings, store, self._gate)
        self._sources = Sources(settings, store, self._gate)
        self._objects = Objects(settings, store, self._gate, self._sources)
        self._reads = Reads(settings, store, self._gate)
        self._orcon = Orcon(store, self._gate, self._objects, self._reads)
        self._explainer = Explainer(store, self._gate)
        self._peers = Peers(store, self._gate)
        self._witnessing = Witnessing(store, self._audit)
        self._retention = Retention(store, self._gate)
        self._sightings = Sightings(store, self._gate, self._reads)
        self._correlation = Correlation(settings, store, self._gate, self._sightings)
        self._matching = Matching(settings, store, self._gate)
        self._sessions = Sessions(settings, store, self._gate, self._members)
        self._browsing = Browsing(store, self._gate, self._reads)
        self._contributions = Contributions(store, self._gate, self._reads)
        self._economic = EconomicViews(settings, store, self._gate, self._reads, self._objects)

    @classmethod
    def open(cls, settings: Settings) -> Node:
        """Open the node's store, first making its data directory its owner's alone."""
        if not settings.data_dir.exists():
            make_private_directory(settings.data_dir)
        tighten(settings.data_dir)
        ensure_node_key(settings.data_dir)
        create_private_database(settings.effective_database_url)
        store = Store(settings.effective_database_url)
        store.migrate()
        return cls(settings, store)

    def close(self) -> None:
        self._store.close()

    @property
    def write_listeners(self) -> list[Callable[[str], None]]:
        """Called with the collection id after a write stored something (push wakes on it)."""
        return self._objects.write_listeners

    # members

    def authenticate_token(self, token: str) -> User:
        return self._members.authenticate_token(token)

    def authenticate_basic(self, name: str, token: str) -> User:
        return self._members.authenticate_basic(name, token)

    def open_session(self, name: str, token: str) -> Session:
        return self._sessions.open(name, token)

    def session(self, session_id: str) -> Session:
        return self._sessions.find(session_id)

    def close_session(self, session: Session) -> None:
        self._sessions.close(session)

    def withheld_from(
        self, collection_id: str, object_id: str, version: str, *, actor: User
    ) -> dict[str, list[str]]:
        return self._explainer.withheld_from(actor, collection_id, object_id, version)

    def marking_labels(self, objects: Iterable[Mapping[str, Any]]) -> list[AccessLabel]:
        """Each object's label under the marking definitions this node knows: what a page
        says of objects it shows (the objects were read through the gate already)."""
        registry = self._gate.registry()
        return [object_label(obj, registry) for obj in objects]

    def shown_labels(self, objects: Iterable[Mapping[str, Any]]) -> list[AccessLabel]:
        """The labels of everything these copies carry, granular markings too: what the
        banner of a page showing them says."""
        registry = self._gate.registry()
        return [shown_label(obj, registry) for obj in objects]

    def add_user(
        self,
        name: str,
        *,
        is_admin: bool = False,
        organization: str | None = None,
        nationality: str | None = None,
        clearance: str = "U",
        roles: Iterable[str] | None = None,
        actor: User = CONSOLE,
    ) -> str:
        return self._members.add_user(
            actor,
            name,
            is_admin=is_admin,
            organization=organization,
            nationality=nationality,
            clearance=clearance,
            roles=roles,
        )

    def disable_user(self, name: str, *, disabled: bool = True, actor: User = CONSOLE) -> None:
        self._members.disable_user(actor, name, disabled=disabled)

    def change_user(
        self,
        name: str,
        *,
        organization: str | None = None,
        nationality: str | None = None,
        clearance: str | None = None,
        roles: Iterable[str] | None = None,
        disabled: bool | None = None,
        actor: User = CONSOLE,
    ) -> User:
        return self._members.change_user(
            actor,
            name,
            organization=organization,
            nationality=nationality,
            clearance=clearance,
            roles=roles,
            disabled=disabled,
        )

    def users(self, actor: User = CONSOLE) -> list[User]:
        return self._members.users(actor)

    def organizations(self, actor: User = CONSOLE) -> list[OrganizationRecord]:
        return self._members.organizations(actor)

    def change_organization(
        self,
        organization: str,
        *,
        name: str | None = None,
        sectors: Iterable[str] | None = None,
        disabled: bool | None = None,
        actor: User = CONSOLE,
    ) -> OrganizationRecord:
        return self._members.change_organization(
            actor, organization, name=name, sectors=sectors, disabled=disabled
        )

    def add_organization(
        self,
        name: str,
        *,
        country: str,
        kind: str,
        sectors: Iterable[str] = (),
        actor: User = CONSOLE,
    ) -> str:
        return self._members.add_organization(
            actor, name, country=country, kind=kind, sectors=sectors
        )

    def disable_organization(
        self, organization: str, *, disabled: bool = True, actor: User = CONSOLE
    ) -> None:
        self._members.disable_organization(actor, organization, disabled=disabled)

    def apply_agreement(
        self, document: Mapping[str, Any], *, actor: User = CONSOLE
    ) -> tuple[Agreement, bool]:
        return self._members.apply_agreement(actor, document)

    def agreements(self) -> list[Agreement]:
        return self._members.agreements()

    def retention_days(self) -> dict[str, int | None]:
        """How long each agreement keeps what it shares, by name (none: until deleted)."""
        return {agreement.name: agreement.retention_days for agreement in self.agreements()}

    def rotate_token(self, name: str, *, actor: User = CONSOLE) -> str:
        return self._members.rotate_token(actor, name)

    def add_collection(
        self,
        title: str,
        description: str = "",
        *,
        agreement: str | None = None,
        category: str | None = None,
        anonymous_by_default: bool = False,
        actor: User = CONSOLE,
    ) -> Collection:
        return self._members.add_collection(
            actor,
            title,
            description,
            agreement=agreement,
            category=category,
            anonymous_by_default=anonymous_by_default,
        )

    def user(self, name: str) -> User:
        """A member user by name, for the console to act on its behalf."""
        found = self._store.user_by_name(name)
        if found is None:
            raise NotFound(f"no user {name!r}")
        return found[0]

    def record_failed_logins(self, client: str, name: str | None) -> None:
        """A burst of failed logins from ``client`` (for ``name``, with Basic credentials)."""
        self._members.record_failed_logins(client, name)

    # the gate

    def require(self, user: User, operation: Operation) -> None:
        """Refuse (and record) an operation the user may not take at all."""
        self._gate.require(user, operation)

    def collections_for(self, user: User) -> list[CollectionAccess]:
        return self._gate.collections_for(user)

    def collection_for(self, user: User, collection_id: str, need: Access) -> CollectionAccess:
        return self._gate.collection_for(user, collection_id, need)

    def subject_of(self, user: User) -> Subject:
        return self._gate.subject_of(user)

    @property
    def own_organization(self) -> Organization:
        return self._gate.own_organization

    def registry(self) -> MarkingRegistry:
        return self._gate.registry()

    @property
    def signing_key(self) -> str:
        return self._gate.signing_key

    def view(self, user: User, collection: Collection) -> View:
        return self._gate.view(user, collection)

    def public_originator(self, recorded: str, body: bytes) -> str:
        return self._gate.public_originator(recorded, body)

    # objects

    def peer_user(self, peer: PeerRecord) -> User:
        return self._reads.peer_user(peer)

    def attested_originators(self, items: Iterable[StoredVersion]) -> list[str]:
        return self._reads.attested_originators(items)

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
        return self._objects.add_objects(
            user, collection_id, submitted, attested, anonymous=anonymous, atomic=atomic
        )

    def receive(
        self,
        subscription: SubscriptionRecord,
        peer: PeerRecord,
        received: Sequence[object],
        cursor: str | None,
        attested: object = None,
    ) -> Received:
        return self._objects.receive(subscription, peer, received, cursor, attested)

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
        return self._reads.read_objects(
            user,
            collection_id,
            selection,
            limit=limit,
            after=after,
            with_body=with_body,
            detail=detail,
        )

    def read_named(
        self,
        user: User,
        collection_id: str,
        type_: str,
        names: Sequence[str],
        *,
        detail: Mapping[str, object] | None = None,
    ) -> list[StoredVersion]:
        return self._reads.read_named(user, collection_id, type_, names, detail=detail)

    def browse_objects(
        self,
        user: User,
        collection_id: str,
        narrowing: Narrowing,
        *,
        limit: int,
        after: int | None = None,
    ) -> Scanned:
        return self._browsing.objects(user, collection_id, narrowing, limit=limit, after=after)

    def neighbours(self, object_id: str, *, actor: User) -> Neighbourhood:
        return self._browsing.neighbours(actor, object_id)

    def contributions(
        self, user: User, *, anonymous: bool = False, limit: int = 5
    ) -> list[Contributed]:
        """Per collection, the objects the user's organization contributed that the user may
        see: how many, and the newest; those it contributed under its name, or with
        ``anonymous`` those it contributed anonymously (its users alone find them)."""
        return self._contributions.summary(user, anonymous=anonymous, limit=limit)

    def contributed(
        self,
        user: User,
        collection_id: str,
        *,
        anonymous: bool = False,
        before: int | None = None,
        limit: int = 50,
    ) -> Contributed:
        """One collection's objects the user's organization contributed, newest first."""
        return self._contributions.page(
            user, collection_id, anonymous=anonymous, before=before, limit=limit
        )

    def export(self, user: User, collection_id: str, selection: VersionFilter) -> Iterator[bytes]:
        return self._reads.export(user, collection_id, selection)

    def delete_objects(self, user: User, collection_id: str, selection: VersionFilter) -> int:
        return self._objects.delete_objects(user, collection_id, selection)

    def status(self, user: User, status_id: str) -> StatusRecord:
        return self._objects.status(user, status_id)

    def explain(self, asker: User, object_id: str, as_user: str) -> list[Explanation]:
        return self._explainer.explain(asker, object_id, as_user)

    def outgoing(
        self, subscription: SubscriptionRecord, peer: PeerRecord, after: int | None, limit: int
    ) -> Outgoing:
        return self._reads.outgoing(subscription, peer, after, limit)

    def pushed(self, subscription: SubscriptionRecord, peer: PeerRecord, sent: Outgoing) -> None:
        self._reads.pushed(subscription, peer, sent)

    # peers

    def peers(self, actor: User = CONSOLE) -> list[PeerRecord]:
        return self._peers.peers(actor)

    def peer(self, name: str) -> PeerRecord:
        return self._peers.peer(name)

    def subscriptions(
        self, peer_name: str | None = None, *, actor: User = CONSOLE
    ) -> list[SubscriptionRecord]:
        return self._peers.subscriptions(actor, peer_name)

    def peer_collections_to_match(self, *, actor: User) -> list[tuple[str, str, str]]:
        return self._peers.to_match(actor)

    def add_peer(self, record: PeerRecord, *, actor: User = CONSOLE) -> None:
        self._peers.add_peer(actor, record)

    def remove_peer(self, name: str, *, actor: User = CONSOLE) -> None:
        self._peers.remove_peer(actor, name)

    def subscribe(
        self,
        subscription: SubscriptionRecord,
        *,
        actor: User = CONSOLE,
        confirm: Callable[[PeerRecord], None] | None = None,
    ) -> None:
        self._peers.subscribe(actor, subscription, confirm)

    def reveal(self, object_id: str, reason: str, *, actor: User = CONSOLE) -> Reveal:
        return self._sources.reveal(actor, object_id, reason)

    def confirm_reveal(self, reveal_id: str, *, actor: User = CONSOLE) -> Reveal:
        return self._sources.confirm(actor, reveal_id)

    def reveals(self, *, actor: User = CONSOLE) -> list[RevealRecord]:
        return self._sources.reveals(actor)

    def lookup(
        self,
        values: Sequence[str],
        kind: str | None = None,
        *,
        names: bool = False,
        actor: User = CONSOLE,
    ) -> list[Correlated]:
        """The objects the actor may see that mention each value: observable values, or names
        with ``kind="name"``, or both with ``names`` (`Correlation.lookup`)."""
        return self._correlation.lookup(actor, values, kind, names=names)

    def match(
        self,
        collection_id: str,
        values: Sequence[str],
        kind: str | None = None,
        *,
        contact: str | None = None,
        actor: User = CONSOLE,
    ) -> Matched:
        return self._matching.match(actor, collection_id, values, kind, contact)

    def contact_from_peer(
        self,
        peer_user: User,
        collection_id: str,
        sender: tuple[str, str],
        matched: Sequence[tuple[str, str]],
        message: str,
    ) -> None:
        self._matching.contact_from_peer(peer_user, collection_id, sender, matched, message)

    def report_from_peer(
        self, peer_user: User, collection_id: str, organization: str, asked: int, matched: int
    ) -> None:
        self._matching.report_from_peer(peer_user, collection_id, organization, asked, matched)

    def contacts(self, *, actor: User) -> list[ContactRecord]:
        return self._matching.contacts(actor)

    def seek(self, values: Sequence[str], kind: str | None = None, *, actor: User) -> Seeking:
        return self._matching.seek(actor, values, kind)

    def found_at_peer(
        self,
        peer: str,
        collection_id: str,
        seeking: Seeking,
        setup: bytes,
        response: bytes,
        budget: tuple[int, int],
        *,
        actor: User,
    ) -> Matched:
        return self._matching.found_at_peer(
            actor, peer, collection_id, seeking, setup, response, budget
        )

    def answer_match(
        self, peer_user: User, collection_id: str, organization: str, request: bytes
    ) -> tuple[bytes, bytes, int, int]:
        return self._matching.answer_peer(peer_user, collection_id, organization, request)

    def sightings(self, object_id: str, *, actor: User = CONSOLE) -> Sighted:
        return self._sightings.of(actor, object_id)

    # the cross-member views (economic coercion, supply chain)

    def coercion_view(self, *, actor: User = CONSOLE) -> CoercionView:
        return self._economic.coercion(actor).view

    def supply_chain_view(self, *, actor: User = CONSOLE) -> SupplyChainView:
        return self._economic.supply_chain(actor).view

    def drawn_coercion_view(self, *, actor: User = CONSOLE) -> Drawn[CoercionView]:
        """The coercion view with the labels of what it drew on, which a page's banner needs."""
        return self._economic.coercion(actor)

    def drawn_supply_chain_view(self, *, actor: User = CONSOLE) -> Drawn[SupplyChainView]:
        """The supply-chain view with the labels of what it drew on (as `drawn_coercion_view`)."""
        return self._economic.supply_chain(actor)

    def coercion_alerts(self, *, actor: User = CONSOLE) -> list[Alert]:
        """The coercion pattern alerts the actor may see, wherever they were written."""
        return self._economic.alerts(actor)

    def write_coercion_alerts(self, collection_id: str, *, actor: User = CONSOLE) -> Alerted:
        """Write the coercion pattern alerts the actor's view holds into the collection."""
        return self._economic.write_alerts(actor, collection_id)

    def run_retention(self, *, now: int | None = None, actor: User = CONSOLE) -> list[Expired]:
        return self._retention.run(actor, now)

    def sync_failed(self, subscription: SubscriptionRecord, error: str) -> None:
        self._peers.sync_failed(subscription, error)

    def remember_signature(self, signature_id: str, until: int) -> bool:
        """Remember an accepted request signature until it expires; False if seen before."""
        return self._store.signatures_seen.remember(signature_id, until)

    # the audit log

    def audit_entries(
        self, user: User, selection: EntryFilter, *, after: int = -1, limit: int = 1000
    ) -> list[dict[str, Any]]:
        return self._audit.entries(user, selection, after=after, limit=limit)

    def audit_inclusion(self, user: User, entry: int, size: int) -> dict[str, Any]:
        return self._audit.inclusion(user, entry, size)

    def audit_consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        return self._audit.consistency(old_size, new_size)

    def audit_checkpoint(self) -> str:
        return self._audit.checkpoint()

    def audit_cosignatures(self) -> list[dict[str, Any]]:
        return self._audit.cosignatures()

    def audit_verify(self, user: User = CONSOLE) -> Verification:
        self._gate.require(user, Operation.AUDIT_VERIFY)
        return self._audit.verify()

    def accept_cosignature(self, user: User, size: int, signature: str) -> dict[str, Any]:
        """A peer hands back its cosignature of one of this node's checkpoints."""
        if user.peer is None:
            self._gate.deny(user, Operation.AUDIT_COSIGN, "only a peer node cosigns checkpoints")
        return self._witnessing.accept_cosignature(self._peers.peer(user.peer), size, signature)

    def witness(
        self, peer: PeerRecord, note: str, consistency: Callable[[int, int], Sequence[bytes]]
    ) -> Witnessed:
        return self._witnessing.witness(peer, note, consistency)

    def peer_alarms(self) -> dict[str, LogAlarm]:
        """Per peer, the newest sign that its audit log was rewritten or forked."""
        return self._witnessing.alarms()

    def witnessed_checkpoints(self, actor: User = CONSOLE) -> dict[str, WitnessedCheckpoint]:
        """Per peer, the newest checkpoint of its audit log this node witnessed: how far its
        partners' logs are held to (peers' health, for admins)."""
        self._gate.require(actor, Operation.PEERS_READ)
        return self._witnessing.witnessed(peer.name for peer in self._peers.peers(actor))

    # ORCON approvals

    def approve_orcon(
        self,
        user: User,
        object_id: str,
        *,
        organization: str | None = None,
        peer: str | None = None,
    ) -> Approval:
        return self._orcon.approve_orcon(user, object_id, organization=organization, peer=peer)

    def revoke_orcon(self, user: User, approval_id: str) -> Approval:
        return self._orcon.revoke_orcon(user, approval_id)

    def orcon_approvals(self, user: User | None = None) -> list[tuple[Approval, str | None]]:
        return self._orcon.orcon_approvals(user)

    def recipient_name(self, recipient: str) -> str:
        return self._orcon.recipient_name(recipient)
