"""The node's peers as kept: pins, subscriptions and their sync state. Federation decides
what to pin and talks to the peers; this is where its changes are checked and recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from allyshare.audit.entries import AuditEntry, AuditOutcome
from allyshare.errors import Conflict, InvalidInput, NotFound
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.storage import PeerRecord, Store, SubscriptionRecord, User
from allyshare.storage.store import Unit


class Peers:
    def __init__(self, store: Store, gate: Gate) -> None:
        self._store = store
        self._gate = gate

    def peers(self, actor: User) -> list[PeerRecord]:
        self._gate.require(actor, Operation.PEERS_READ)
        return self._store.peers.all()

    def peer(self, name: str) -> PeerRecord:
        """A peer by name, for the node's own federation work (no actor: nothing leaves)."""
        return self._store.peers.get(name)

    def subscriptions(self, actor: User, peer_name: str | None = None) -> list[SubscriptionRecord]:
        self._gate.require(actor, Operation.PEERS_READ)
        return self._store.peers.subscriptions(peer_name)

    def add_peer(self, actor: User, record: PeerRecord) -> None:
        """Keep a pinned peer; one pin per node, told apart by key and certificate."""
        self._gate.require(actor, Operation.PEERS_WRITE)
        for other in self._store.peers.all():
            if other.name == record.name:
                continue
            if record.signing_key is not None and other.signing_key == record.signing_key:
                raise Conflict(f"that node is already pinned as peer {other.name!r}")
            if record.certificate and other.certificate == record.certificate:
                raise Conflict(f"that certificate is already pinned as peer {other.name!r}")
        detail = {
            "change": "add peer",
            "country": record.country,
            "agreement": record.agreement_name,
            "fingerprint": record.fingerprint,
        }
        with self._store.begin() as unit:
            self._store.peers.add(record)
            self._record(actor, record.name, detail, unit)

    def remove_peer(self, actor: User, name: str) -> None:
        self._gate.require(actor, Operation.PEERS_WRITE)
        with self._store.begin() as unit:
            self._store.peers.remove(name)
            self._record(actor, name, {"change": "remove peer"}, unit)

    def subscribe(
        self,
        actor: User,
        subscription: SubscriptionRecord,
        confirm: Callable[[PeerRecord], None] | None = None,
    ) -> None:
        """Keep a subscription to a peer's collection, into a local collection bound to the
        agreement the peer shares under (data keeps its agreement), once ``confirm`` (asking
        the peer) has not refused it."""
        self._gate.require(actor, Operation.PEERS_WRITE)
        peer = self._store.peers.get(subscription.peer_name)
        local = self._store.get_collection(subscription.local_collection)
        if local is None:
            raise NotFound(f"no collection {subscription.local_collection}")
        if local.agreement_name != peer.agreement_name:
            raise InvalidInput(
                f"collection {local.id} is bound to {local.agreement_name or 'no agreement'}, "
                f"peer {peer.name!r} shares under {peer.agreement_name}: data keeps its agreement"
            )
        covered = self._gate.agreement(local).categories
        if local.category is not None and local.category not in covered:
            raise InvalidInput(
                f"collection {local.id} holds {local.category}, which agreement "
                f"{peer.agreement_name} does not cover ({', '.join(sorted(covered))})"
            )
        if confirm is not None:
            confirm(peer)
        detail = {
            "change": "subscribe",
            "remote_collection": subscription.remote_collection,
            "push": subscription.push,
        }
        with self._store.begin() as unit:
            self._store.peers.subscribe(subscription)
            self._record(actor, peer.name, detail, unit, subscription.local_collection)

    def to_match(self, actor: User) -> list[tuple[str, str, str]]:
        """(peer, its collection, the local collection it syncs into) for each peer
        collection the member may match its values against: one pulled into a collection
        the member may read, from a peer that answers private matching (an allyshare node,
        which signs). Subscriptions are an admin's to read; these few facts a member needs
        to name where to match, as the match request itself names them."""
        readable = {a.collection.id for a in self._gate.collections_for(actor) if a.can_read}
        signing = {peer.name for peer in self._store.peers.all() if peer.signing_key}
        return [
            (s.peer_name, s.remote_collection, s.local_collection)
            for s in self._store.peers.subscriptions()
            if s.local_collection in readable and s.peer_name in signing
        ]

    def sync_failed(self, subscription: SubscriptionRecord, error: str) -> None:
        self._store.peers.record_failure(subscription, error)

    def _record(
        self,
        actor: User,
        peer: str,
        detail: Mapping[str, object],
        unit: Unit,
        collection_id: str | None = None,
    ) -> None:
        entry = AuditEntry(
            Operation.PEERS_WRITE,
            actor_of(actor),
            AuditOutcome.ALLOWED,
            collection_id,
            peer=peer,
            detail=detail,
        )
        self._gate.record(entry, unit)
