"""Why a user sees an object as it does: every stored version, its markings and the reasons."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from allyshare.audit.entries import AuditEntry, AuditOutcome, ObjectRefs
from allyshare.errors import (
    NotFound,
)
from allyshare.policy import (
    ANONYMOUS,
    WRITER_ONLY,
    AccessLabel,
    Deny,
    Redact,
    describe_label,
    explain,
    object_label,
)
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.storage import (
    Store,
    User,
)

ANONYMOUS_CONTRIBUTOR = "an anonymous member of the community"


@dataclass(frozen=True, slots=True)
class Explanation:
    """One stored version of an object, and what one user sees of it and why."""

    collection_id: str
    collection_title: str
    version: str
    originator: str
    markings: str
    sees: bool
    lines: tuple[str, ...]


class Explainer:
    """`policy explain`, for admins and the object's originator."""

    def __init__(self, store: Store, gate: Gate) -> None:
        self._store = store
        self._gate = gate

    def explain(self, asker: User, object_id: str, as_user: str) -> list[Explanation]:
        """Why ``as_user`` sees each stored version of an object as it does.

        The reasons name markings, recipients and members, so only admins and the object's
        originator may ask; to anyone else the object answers as a missing one.
        """
        keys = self._store.access_keys()
        mine = [
            (collection_id, item, keys[item.label].originator)
            for collection_id, item in self._store.versions_everywhere(object_id)
            if self._gate.may_explain(asker, keys[item.label].originator)
        ]
        if not mine:
            raise NotFound(f"no object {object_id}")
        self._gate.record(
            AuditEntry(
                Operation.POLICY_EXPLAIN,
                actor_of(asker),
                AuditOutcome.ALLOWED,
                objects=ObjectRefs.of(
                    (object_id, item.version, self._gate.audit.recorded_as(keys[item.label]))
                    for _, item, _ in mine
                ),
                detail={"as_user": as_user},
            )
        )
        found = self._store.user_by_name(as_user)
        if found is None:
            raise NotFound(f"no user {as_user!r}")
        user = found[0]
        subject = self._gate.subject_of(user)
        registry = self._gate.registry()
        releases = self._gate.releases()[1]
        explained: list[Explanation] = []
        for collection_id, item, originator in mine:
            collection = self._gate.collection(collection_id)
            access = self._gate.access(user, collection, subject.organization)
            agreement = self._gate.agreement(collection)
            obj = orjson.loads(item.body)
            reads = access.can_read and not user.disabled
            lines = [] if reads else [self._gate.no_rights(user, collection, agreement)]
            organization = self._gate.organization(originator)
            apart = WRITER_ONLY in keys[item.label].marking_refs
            target = releases.target(
                subject, obj, originator, organization, agreement, item.body, writer_only=apart
            )
            decision = self._gate.decide(subject, target)
            lines.extend(explain(decision))
            shown_originator = organization.id
            if ANONYMOUS in keys[item.label].marking_refs and asker.organization_id != originator:
                # An anonymous contribution's contributor is told only by an audited reveal.
                shown_originator = ANONYMOUS_CONTRIBUTOR
                lines = [line.replace(organization.id, ANONYMOUS_CONTRIBUTOR) for line in lines]
            explained.append(
                Explanation(
                    collection_id=collection_id,
                    collection_title=collection.title,
                    version=item.version,
                    originator=shown_originator,
                    markings=describe_label(
                        object_label(obj, registry).meet(AccessLabel(writer_only=apart))
                    ),
                    sees=reads and not isinstance(decision, Deny),
                    lines=tuple(lines),
                )
            )
        return explained

    def withheld_from(
        self, user: User, collection_id: str, object_id: str, version: str
    ) -> dict[str, list[str]]:
        """Why parts of a version the user reads are withheld from it, per selector: what
        its own page tells it (not another user's view, which only `explain` answers). A
        version the user may not see is not found; one it sees whole has nothing withheld."""
        self._gate.collection_for(user, collection_id, "read")
        keys = self._store.access_keys()
        stored = [
            item
            for where, item in self._store.versions_everywhere(object_id)
            if where == collection_id and item.version == version
        ]
        if not stored:
            raise NotFound(f"no object {object_id} at version {version}")
        item = stored[0]
        key = keys[item.label]
        collection = self._gate.collection(collection_id)
        subject = self._gate.subject_of(user)
        organization = self._gate.organization(key.originator)
        target = self._gate.releases()[1].target(
            subject,
            orjson.loads(item.body),
            key.originator,
            organization,
            self._gate.agreement(collection),
            item.body,
            writer_only=WRITER_ONLY in key.marking_refs,
        )
        decision = self._gate.decide(subject, target)
        if isinstance(decision, Deny):
            raise NotFound(f"no object {object_id} at version {version}")
        if not isinstance(decision, Redact):
            return {}
        hidden = ANONYMOUS in key.marking_refs and user.organization_id != key.originator
        reasons: dict[str, list[str]] = {selector: [] for selector in decision.selectors}
        for line in decision.reasons:
            selector, _, reason = line.partition(": ")
            if hidden:
                reason = reason.replace(organization.id, ANONYMOUS_CONTRIBUTOR)
            reasons.setdefault(selector, []).append(reason)
        return reasons
