"""Private matching on the node: a member's values against the match-only values of a
collection, by private set intersection, on a budget, recorded on both sides.

The node holds the collection's values: for each reader view (the access keys the reader may
match, `Gate.matchable`) it commits them once in a PSI setup, cached until the collection's
indexed values change, since a setup costs far more than answering a request. A member's
values are blinded under a key of their own request; the node answers with its key; the
member's side finds which of its values the set holds. What the member learns is which of its
own values occur there. What the log keeps: on the member's side, how many values it asked and
how many matched; for each organization whose values were matched, an entry it sees, naming
the organization that matched and how many of its values, never which.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from allyshare.audit.entries import AuditEntry, AuditOutcome, ObjectRefs
from allyshare.clock import format_us, now_us
from allyshare.config import Settings
from allyshare.errors import InvalidInput, OverBudget, PermissionDenied
from allyshare.matching import Budget, Holder, Seeker, element
from allyshare.matching.budget import DAY_US
from allyshare.matching.psi import MAX_REQUEST, request_size
from allyshare.observables import KINDS, normalize
from allyshare.observables.lookup import candidates
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.storage import Collection, ContactRecord, Store, User
from allyshare.storage.observables import observable_digest


@dataclass(frozen=True)
class Seeking:
    """A member's side of one request: its values, their set elements (each with the
    value's position), and the blinded request; the key stays in ``seeker``."""

    values: list[str]
    wanted: list[tuple[str, int]]
    seeker: Seeker
    request: bytes

    def values_at(self, found: Sequence[int]) -> list[str]:
        """The member's values at the matched element positions, in the order asked."""
        return [self.values[i] for i in sorted({self.wanted[p][1] for p in found})]


@dataclass(frozen=True)
class Matched:
    """What a member learns from one request."""

    collection: str
    asked: int
    matched: list[str]
    budget_left: int
    budget_resets: int

    def as_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "asked": self.asked,
            "matched": self.matched,
            "budget_left": self.budget_left,
            "budget_resets": format_us(self.budget_resets),
        }


_LONGEST_MESSAGE = 2000


class Matching:
    def __init__(self, settings: Settings, store: Store, gate: Gate) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._holders: dict[tuple[str, frozenset[int]], tuple[tuple[int, int], Holder]] = {}
        self._lock = threading.Lock()

    def match(
        self,
        user: User,
        collection_id: str,
        values: Sequence[str],
        kind: str | None = None,
        contact: str | None = None,
    ) -> Matched:
        """Which of ``values`` the collection's match-only data holds (module docstring);
        with a ``contact`` message, sent to the originators of the objects holding the
        values matched (`contacts`), which the member does not learn."""
        access = self._gate.collection_for(user, collection_id, "read", Operation.OBJECTS_MATCH)
        if contact is not None and not 0 < len(contact.strip()) <= _LONGEST_MESSAGE:
            raise InvalidInput(f"a contact message is 1 to {_LONGEST_MESSAGE:,} characters")
        seeking = self.seek(user, values, kind)
        agreement = self._gate.agreement(access.collection)
        left, resets = self._charge(
            user, user.organization_id or "", collection_id, len(values), agreement.match_budget
        )
        holder = self._holder(user, access.collection)
        found = seeking.seeker.matched(holder.setup, holder.answer(seeking.request))
        matched = seeking.values_at(found)
        elements = [seeking.wanted[p][0] for p in found]
        self._record(user, collection_id, len(values), elements)
        if contact is not None and elements:
            sender = (user.organization_id or "", user.name)
            self._contact(user, access.collection, elements, contact, sender)
        return Matched(collection_id, len(values), matched, left, resets)

    def contacts(self, user: User) -> list[ContactRecord]:
        """The contact requests sent to the user's organization."""
        if user.organization_id is None or user.peer is not None:
            raise PermissionDenied("contact requests are for the originating organization")
        return self._store.contacts_for(user.organization_id)

    def contact_from_peer(
        self,
        peer_user: User,
        collection_id: str,
        sender: tuple[str, str],
        matched: Sequence[tuple[str, str]],
        message: str,
    ) -> None:
        """A contact request a peer's member sends after matching here: to the originators
        of the objects that hold the values it says matched, among what this node would
        send that peer. The answer is the same whether any does, so it tells nothing."""
        if peer_user.peer is None:
            raise PermissionDenied("only a peer node sends its members' contact requests")
        access = self._gate.collection_for(
            peer_user, collection_id, "read", Operation.OBJECTS_MATCH
        )
        if not 0 < len(message.strip()) <= _LONGEST_MESSAGE:
            raise InvalidInput(f"a contact message is 1 to {_LONGEST_MESSAGE:,} characters")
        if len(matched) > MAX_REQUEST:
            raise InvalidInput(f"at most {MAX_REQUEST:,} values per contact request")
        elements = [
            element(kind, value)
            for kind, written in matched
            for value in [normalize(kind, written)]
            if value is not None
        ]
        organization, user = sender
        if elements:
            self._contact(
                peer_user,
                access.collection,
                elements,
                message,
                (organization, f"{user}@{peer_user.peer}"),
            )

    def _contact(
        self,
        user: User,
        collection: Collection,
        elements: Sequence[str],
        message: str,
        sender: tuple[str, str],
    ) -> None:
        """A contact request from ``sender`` (organization, user) to each originator whose
        objects the user may match hold matched values, naming those objects, for that
        originator alone; recorded as an entry about them."""
        labels = self._gate.matchable(user, collection)
        keys = self._store.access_keys()
        digests = [observable_digest(*each.split("\x00", 1)) for each in elements]
        recorded_as = self._gate.audit.recorded_as
        objects: dict[tuple[str, str], set[str]] = {}
        for row in self._store.occurrences(collection.id, digests):
            if row.label in labels:
                key = keys[row.label]
                objects.setdefault((key.originator, recorded_as(key)), set()).add(row.object_id)
        now = now_us()
        sent = [
            (
                ContactRecord(
                    str(uuid.uuid4()),
                    collection.id,
                    originator,
                    tuple(sorted(ids)),
                    *sender,
                    message,
                    now,
                ),
                logged_as,
            )
            for (originator, logged_as), ids in sorted(objects.items())
        ]
        with self._store.begin() as unit:
            unit.add_contacts([contact for contact, _ in sent])
            for contact, logged_as in sent:
                about = ObjectRefs()
                about.versions_of(logged_as)
                self._gate.record(
                    AuditEntry(
                        Operation.OBJECTS_MATCH,
                        actor_of(user),
                        AuditOutcome.ALLOWED,
                        collection.id,
                        about,
                        detail={"contact": contact.id, "objects": len(contact.object_ids)},
                    ),
                    unit,
                )

    def seek(self, user: User, values: Sequence[str], kind: str | None = None) -> Seeking:
        """A member's side of a request: its values, blinded under a key of this request."""
        if user.organization_id is None or user.peer is not None:
            raise PermissionDenied(
                "private matching is for members' users, who match their organization's values"
            )
        wanted = self._elements(values, kind)
        seeker = Seeker([each for each, _ in wanted])
        return Seeking(list(values), wanted, seeker, seeker.request())

    def found_at_peer(
        self,
        user: User,
        peer: str,
        collection_id: str,
        seeking: Seeking,
        setup: bytes,
        response: bytes,
        budget: tuple[int, int],
    ) -> Matched:
        """What a peer's answer tells the member, recorded on this node (the values asked
        and matched are counted, never named)."""
        try:
            found = seeking.seeker.matched(setup, response)
        except Exception as exc:  # the library's parser rejects what is not its messages
            raise InvalidInput(f"peer {peer} answered with what is not a PSI answer") from exc
        matched = seeking.values_at(found)
        self._gate.record(
            AuditEntry(
                Operation.OBJECTS_MATCH,
                actor_of(user),
                AuditOutcome.ALLOWED,
                peer=peer,
                detail={
                    "remote_collection": collection_id,
                    "asked": len(seeking.values),
                    "matched": len(matched),
                },
            )
        )
        return Matched(collection_id, len(seeking.values), matched, *budget)

    def answer_peer(
        self, peer_user: User, collection_id: str, organization: str, request: bytes
    ) -> tuple[bytes, bytes, int, int]:
        """The holder's side of a peer member's request: (setup, response, budget left,
        when it resets). The peer answers for its member (``organization``), whose budget
        here is its own; what it may match is what this node would send the peer."""
        if peer_user.peer is None:
            raise PermissionDenied("only a peer node asks on behalf of its members")
        access = self._gate.collection_for(
            peer_user, collection_id, "read", Operation.OBJECTS_MATCH
        )
        try:
            asked = request_size(request)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        agreement = self._gate.agreement(access.collection)
        who = f"{peer_user.peer}/{organization}"
        left, resets = self._charge(peer_user, who, collection_id, asked, agreement.match_budget)
        holder = self._holder(peer_user, access.collection)
        response = holder.answer(request)
        self._record_for_originators(
            peer_user, access.collection, {"organization": organization, "asked": asked}
        )
        return holder.setup, response, left, resets

    def report_from_peer(
        self, peer_user: User, collection_id: str, organization: str, asked: int, matched: int
    ) -> None:
        """How many of its member's values matched here, as the peer reports it: PSI tells
        the holder no count (the member's side finds the intersection), so the peer node,
        bound by the agreement, reports it. Recorded for the originators whose values the
        peer may match, as the request was; the count is over all of them together, and
        which values matched nobody here learns."""
        if peer_user.peer is None:
            raise PermissionDenied("only a peer node reports its members' matches")
        access = self._gate.collection_for(
            peer_user, collection_id, "read", Operation.OBJECTS_MATCH
        )
        if not 0 <= matched <= asked <= MAX_REQUEST:
            raise InvalidInput(
                f"a match report counts 0 <= matched <= asked <= {MAX_REQUEST:,} values"
            )
        detail = {"organization": organization, "asked": asked, "matched": matched}
        self._record_for_originators(peer_user, access.collection, detail)

    def _record_for_originators(
        self, peer_user: User, collection: Collection, detail: dict[str, Any]
    ) -> None:
        """A peer's match, recorded for each organization whose values it may match there."""
        about = ObjectRefs()
        for originator in self._originators_in(peer_user, collection):
            about.versions_of(originator)
        self._gate.record(
            AuditEntry(
                Operation.OBJECTS_MATCH,
                actor_of(peer_user),
                AuditOutcome.ALLOWED,
                collection.id,
                about,
                peer=peer_user.peer,
                detail=detail,
            )
        )

    def _charge(
        self, user: User, organization: str, collection_id: str, asked: int, per_day: int
    ) -> tuple[int, int]:
        """Spend ``asked`` of the organization's budget against the collection, or refuse
        (recorded) saying when to come back; (values left today, when the day ends)."""
        budget = Budget(per_day, self._settings.match_interval * 1_000_000)
        now = now_us()
        day = Budget.day_of(now)
        with self._store.begin() as unit:
            usage = unit.match_usage(organization, collection_id)
            used = usage[1] if usage is not None and usage[0] == day else 0
            refusal = budget.refusal(asked, used, usage[2] if usage else None, now)
            if refusal is None:
                unit.charge_match(organization, collection_id, day, asked, now)
        if refusal is not None:
            self._gate.record(
                AuditEntry(
                    Operation.OBJECTS_MATCH,
                    actor_of(user),
                    AuditOutcome.DENIED,
                    collection_id,
                    peer=user.peer,
                    reason=refusal.reason,
                    detail={"asked": asked},
                )
            )
            raise OverBudget(
                f"{refusal.reason}; try again after {format_us(refusal.retry_at)}",
                refusal.retry_at,
            )
        return per_day - used - asked, (day + 1) * DAY_US

    def _originators_in(self, user: User, collection: Collection) -> set[str]:
        """The organizations, as the log names them, whose values the user may match."""
        keys = self._store.access_keys()
        recorded_as = self._gate.audit.recorded_as
        return {recorded_as(keys[label]) for label in self._gate.matchable(user, collection)}

    def _elements(self, values: Sequence[str], kind: str | None) -> list[tuple[str, int]]:
        """Each value's set elements, with the value's position (a hash may be of a file
        or a certificate: both are asked)."""
        if not values:
            raise InvalidInput("name at least one value to match")
        if kind is not None and kind not in KINDS:
            raise InvalidInput(f"unknown observable type {kind!r}; one of: {', '.join(KINDS)}")
        wanted = [
            (element(k, v), position)
            for position, value in enumerate(values)
            for k, v in candidates(value, kind)
        ]
        if len(wanted) > MAX_REQUEST:
            raise InvalidInput(f"at most {MAX_REQUEST:,} values per request")
        return wanted

    def _holder(self, user: User, collection: Collection) -> Holder:
        """The setup over the values this reader may match, built once per change of them."""
        labels = self._gate.matchable(user, collection)
        generation = self._store.observables_generation(collection.id)
        key = (collection.id, labels)
        with self._lock:
            cached = self._holders.get(key)
            if cached is not None and cached[0] == generation:
                return cached[1]
            values = self._store.observable_values(collection.id, labels)
            holder = Holder.of([element(kind, value) for kind, value in values])
            self._holders[key] = (generation, holder)
            return holder

    def _record(self, user: User, collection_id: str, asked: int, matched: Sequence[str]) -> None:
        """The matcher's entry, and one per organization whose values matched, naming the
        matcher and how many of its values; which values, neither says."""
        entries = [
            AuditEntry(
                Operation.OBJECTS_MATCH,
                actor_of(user),
                AuditOutcome.ALLOWED,
                collection_id,
                detail={"asked": asked, "matched": len(matched)},
            )
        ]
        for originator, count in sorted(self._holders_of(user, collection_id, matched).items()):
            about = ObjectRefs()
            about.versions_of(originator)
            entries.append(
                AuditEntry(
                    Operation.OBJECTS_MATCH,
                    actor_of(user),
                    AuditOutcome.ALLOWED,
                    collection_id,
                    about,
                    detail={"asked": asked, "matched_of_yours": count},
                )
            )
        for entry in entries:
            self._gate.record(entry)

    def _holders_of(self, user: User, collection_id: str, matched: Sequence[str]) -> Counter[str]:
        """How many of the matched values each originator (as the log names it) holds in
        what the user matched against."""
        if not matched:
            return Counter()
        collection = self._gate.collection(collection_id)
        labels = self._gate.matchable(user, collection)
        digests = [observable_digest(*each.split("\x00", 1)) for each in matched]
        keys = self._store.access_keys()
        recorded_as = self._gate.audit.recorded_as
        held: dict[str, set[tuple[str, str]]] = {}
        for row in self._store.occurrences(collection_id, digests):
            if row.label in labels:
                held.setdefault(recorded_as(keys[row.label]), set()).add((row.kind, row.value))
        return Counter({originator: len(values) for originator, values in held.items()})
