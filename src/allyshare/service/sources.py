"""Source protection on the node: who may contribute anonymously and under which community
pseudonym, the sealing of what anonymity took out of each version (beside the version, in
the write's own transaction), and the reveal: the only way to tell it again, for admins,
with a reason, confirmed by a second admin within a day where the agreement wants two, and
recorded so that the contributor's organization sees it was revealed and why."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import orjson

from allyshare.audit.entries import AuditEntry, AuditOutcome, ObjectRefs
from allyshare.clock import now_us
from allyshare.community import identity_of
from allyshare.community.countries import alpha_2
from allyshare.config import Settings
from allyshare.errors import Conflict, InvalidInput, NotFound
from allyshare.keys import derived_key
from allyshare.policy import Agreement
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.service.writes import Prepared
from allyshare.sources import (
    SEALING_PURPOSE,
    Scrubber,
    Sealer,
    community_identity,
    community_identity_id,
)
from allyshare.stix.versions import version_key, version_of
from allyshare.storage import (
    NODE_ORIGINATOR,
    AccessKey,
    Collection,
    IngestResult,
    NewVersion,
    Outcome,
    RevealRecord,
    Store,
    User,
)
from allyshare.storage.store import Unit

CONFIRM_WITHIN_US = 24 * 3600 * 1_000_000


@dataclass(frozen=True)
class Reveal:
    """What a reveal answered: the contributor of each anonymous version, or, while a second
    admin has yet to confirm, the reveal waiting (``pending``)."""

    id: str
    object_id: str
    pending: bool
    contributions: list[dict[str, Any]]


class Sources:
    def __init__(self, settings: Settings, store: Store, gate: Gate) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate

    @cached_property
    def _sealer(self) -> Sealer:
        return Sealer(derived_key(self._gate.audit.node_key, SEALING_PURPOSE))

    def community(self, collection: Collection) -> str:
        """The community a collection's anonymous contributors are members of: its
        agreement's, or for a national collection the node's country."""
        return collection.agreement_name or f"{self._settings.country.lower()}-national"

    def anonymous(
        self, user: User, collection: Collection, agreement: Agreement, asked: bool | None
    ) -> bool:
        """Whether a write is anonymous: as the contributor asked, else the collection's or
        agreement's default. Anonymity is for members' users: the node's operator and a peer
        node write for others, and a peer's members are anonymous as far as their own node
        makes them."""
        default = collection.anonymous_by_default or agreement.anonymous_by_default
        anonymous = default if asked is None else asked
        if anonymous and (user.peer is not None or user.is_system or not user.organization_id):
            if asked:
                raise InvalidInput(
                    "anonymous contribution is for members' users, who write for their "
                    "organization; the node's operator and peer nodes write for others"
                )
            return False
        return anonymous

    def scrubber(self, agreement: Agreement) -> Scrubber | None:
        """What replaces personal data in writes under the agreement, if it asks for that;
        phone numbers in the national formats of the node's country and the parties'."""
        if not agreement.scrub_pii:
            return None
        countries = [self._settings.country, *sorted(agreement.party_countries)]
        return Scrubber(region for region in map(alpha_2, countries) if region is not None)

    def pseudonym_of(self, collection: Collection) -> str:
        return community_identity_id(self.community(collection))

    def contributor_of(self, user: User) -> str:
        return identity_of(user.organization_id or "")

    def community_version(self, collection: Collection) -> NewVersion:
        """The community identity as a version the node itself writes, visible to every
        reader of the collection, so a pseudonymous ``created_by_ref`` resolves."""
        identity = community_identity(self.community(collection))
        version = version_of(identity)
        return NewVersion(
            object_id=identity["id"],
            type="identity",
            spec_version="2.1",
            version=version,
            version_key=version_key(version),
            body=orjson.dumps(identity),
            access=AccessKey(NODE_ORIGINATOR, (), ()),
        )

    def seal(
        self,
        unit: Unit,
        user: User,
        collection_id: str,
        prepared: Prepared,
        result: IngestResult,
    ) -> None:
        """Seal, beside each anonymous version stored, who contributed it and what was
        taken out of it; bound to the version's place, so a record moved does not open."""
        sealed: dict[int, bytes] = {}
        stored = iter(result.added)
        for position, version, outcome in zip(
            prepared.positions, prepared.versions, result.outcomes, strict=True
        ):
            if outcome is not Outcome.STORED:
                continue
            date_added = next(stored)
            if position not in prepared.withheld:
                continue
            record: dict[str, Any] = {
                "organization": user.organization_id,
                "user": user.name,
                "withheld": prepared.withheld[position],
            }
            place = _place(collection_id, version.object_id, version.version)
            sealed[date_added] = self._sealer.seal(orjson.dumps(record), place)
        unit.seal_sources(collection_id, sealed)

    def opened(self, sealed: Sequence[tuple[str, str, str, bytes]]) -> list[dict[str, Any]]:
        """Each sealed record opened: (collection, object, version, sealed) to its record."""
        return [
            {
                "collection": collection_id,
                "version": version,
                **orjson.loads(self._sealer.open(blob, _place(collection_id, object_id, version))),
            }
            for collection_id, object_id, version, blob in sealed
        ]

    # reveal

    def reveal(self, actor: User, object_id: str, reason: str) -> Reveal:
        """Tell who contributed each anonymous version of the object, for a reason; where a
        collection holding it is under an agreement that wants two admins, the reveal waits
        for a second admin's `confirm` instead."""
        self._gate.require(actor, Operation.SOURCES_REVEAL)
        if not reason.strip():
            raise InvalidInput("a reveal needs a reason, recorded for the contributor to see")
        sealed = self._sealed(object_id)
        reveal = RevealRecord(str(uuid.uuid4()), object_id, reason, actor.name, now_us())
        if self._approvals_needed(sealed) > 1:
            self._store.add_reveal(reveal)
            self._record(actor, reveal, sealed, "requested", self._opened(object_id, sealed))
            return Reveal(reveal.id, object_id, True, [])
        # One admin suffices: the reveal is kept as done by the admin who asked.
        self._store.add_reveal(replace(reveal, confirmed_by=actor.name, confirmed_at=now_us()))
        return self._revealed(actor, reveal, sealed)

    def confirm(self, actor: User, reveal_id: str) -> Reveal:
        """The second admin's confirmation, within a day of the request."""
        self._gate.require(actor, Operation.SOURCES_REVEAL)
        reveal = self._store.reveal(reveal_id)
        if reveal is None:
            raise NotFound(f"no reveal {reveal_id}")
        if reveal.confirmed_by is not None:
            raise Conflict(f"reveal {reveal_id} was confirmed already, by {reveal.confirmed_by}")
        if reveal.requested_by == actor.name:
            self._gate.deny(actor, Operation.SOURCES_REVEAL, "a second admin must confirm a reveal")
        if now_us() - reveal.requested_at > CONFIRM_WITHIN_US:
            raise Conflict(f"reveal {reveal_id} was asked more than 24 hours ago; ask again")
        sealed = self._sealed(reveal.object_id)
        if not self._store.confirm_reveal(reveal_id, actor.name, now_us()):
            raise Conflict(f"reveal {reveal_id} was confirmed already")
        return self._revealed(actor, reveal, sealed)

    def reveals(self, actor: User) -> list[RevealRecord]:
        """The reveals asked for, newest first: what admins confirm and account for. They
        name objects, reasons and admins, never a contributor."""
        self._gate.require(actor, Operation.SOURCES_REVEAL)
        return self._store.reveals()

    def _sealed(self, object_id: str) -> list[tuple[str, str, bytes]]:
        sealed = self._store.sealed_sources(object_id)
        if not sealed:
            raise NotFound(f"no anonymous contribution {object_id} on this node")
        return sealed

    def _opened(
        self, object_id: str, sealed: Sequence[tuple[str, str, bytes]]
    ) -> list[dict[str, Any]]:
        return self.opened([(c, object_id, version, blob) for c, version, blob in sealed])

    def _approvals_needed(self, sealed: Sequence[tuple[str, str, bytes]]) -> int:
        collections = {collection_id for collection_id, _, _ in sealed}
        return max(
            self._gate.agreement(self._gate.collection(c)).reveal_approvals for c in collections
        )

    def _revealed(
        self, actor: User, reveal: RevealRecord, sealed: Sequence[tuple[str, str, bytes]]
    ) -> Reveal:
        opened = self._opened(reveal.object_id, sealed)
        self._record(actor, reveal, sealed, "revealed", opened)
        return Reveal(reveal.id, reveal.object_id, False, opened)

    def _record(
        self,
        actor: User,
        reveal: RevealRecord,
        sealed: Sequence[tuple[str, str, bytes]],
        stage: str,
        opened: Sequence[dict[str, Any]],
    ) -> None:
        """The reveal as the log keeps it: the reason and the admins, about the versions
        under their contributor's pseudonym (so its organization sees it), never the
        contributor's name (other admins read the log)."""
        pseudonyms = {
            record["version"]: self._gate.audit.pseudonym(record["organization"])
            for record in opened
        }
        refs = ObjectRefs.of(
            (reveal.object_id, version, pseudonyms[version]) for _, version, _ in sealed
        )
        admins = [reveal.requested_by]
        if actor.name != reveal.requested_by:
            admins.append(actor.name)
        self._gate.record(
            AuditEntry(
                Operation.SOURCES_REVEAL,
                actor_of(actor),
                AuditOutcome.ALLOWED,
                objects=refs,
                detail={
                    "reveal": reveal.id,
                    "stage": stage,
                    "reason": reveal.reason,
                    "admins": admins,
                },
            )
        )


def _place(collection_id: str, object_id: str, version: str) -> bytes:
    return f"{collection_id}\n{object_id}\n{version}".encode()
