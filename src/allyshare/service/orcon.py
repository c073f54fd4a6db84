"""ORCON approvals this node signs for its originators, withdraws, and lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from allyshare.audit.entries import AuditEntry, AuditOutcome, ObjectRefs
from allyshare.clock import now_us
from allyshare.community import (
    ORGANIZATION_ID,
)
from allyshare.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from allyshare.orcon.approvals import (
    APPROVAL_TYPE,
    NODE_PREFIX,
    Approval,
    make_approval,
    node_recipient,
    read_approval,
)
from allyshare.policy import (
    WRITER_ONLY,
    object_label,
)
from allyshare.policy.rights import WRITE_ROLES, Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.service.objects import Objects
from allyshare.service.reads import Reads
from allyshare.service.writes import WriteRules, prepare
from allyshare.stix.versions import version_key
from allyshare.storage import (
    NODE_ORIGINATOR,
    NewVersion,
    Store,
    StoredVersion,
    User,
    sender_of,
)
from allyshare.storage.store import Unit


class Orcon:
    """The originators' consent to release ORCON objects further, signed by this node."""

    def __init__(self, store: Store, gate: Gate, objects: Objects, reading: Reads) -> None:
        self._store = store
        self._gate = gate
        self._objects = objects
        self._reading = reading

    def approve_orcon(
        self,
        user: User,
        object_id: str,
        *,
        organization: str | None = None,
        peer: str | None = None,
    ) -> Approval:
        with self._gate.recording_denials(user, Operation.ORCON_APPROVE):
            return self._approve(user, object_id, organization, peer)

    def _approve(
        self, user: User, object_id: str, organization: str | None, peer: str | None
    ) -> Approval:
        """Sign an approval releasing an ORCON object to an organization or a peer node, and
        store it in each collection where the user's organization originated the object.

        Only the originator may approve (the node's operator for what it imported); the
        object is added again after the approval, so readers and peers that paged past it
        while it was hidden from them meet it now.
        """
        if (organization is None) == (peer is None):
            raise InvalidInput("name one recipient: an organization or a peer node")
        if peer is not None:
            record = self._store.peers.get(peer)
            if not record.signing_key:
                raise InvalidInput(
                    f"peer {peer!r} is not an allyshare node (it has no signing key), so it "
                    "could not enforce ORCON: it cannot be approved"
                )
            recipient = node_recipient(record.signing_key)
        else:
            recipient = str(organization)
            if not ORGANIZATION_ID.fullmatch(recipient):
                raise InvalidInput(
                    f"{recipient!r} is not an organization id such as KOR.NIS (COUNTRY.NAME)"
                )
        if object_id.startswith(f"{APPROVAL_TYPE}--"):
            raise InvalidInput("approve the ORCON object itself: its approvals go with it")
        originator, collections = self._originated_by(user, object_id)
        self._check_sole_holder(originator, object_id)
        newest = max(collections.values(), key=lambda item: version_key(item.version))
        newest_object = orjson.loads(newest.body)
        if not object_label(newest_object, self._gate.registry()).orcon:
            raise InvalidInput(f"{object_id} is not marked ORCON: it needs no approval")
        approval = make_approval(
            self._gate.node_key,
            self._gate.signing_key,
            object_id,
            recipient,
            now_us(),
            markings=newest_object.get("object_marking_refs", []),
            originator=self._gate.public_originator(originator, newest.body),
            seal=self._gate.seal(originator),
        )
        with self._store.begin() as unit:
            for collection_id in sorted(collections):
                unit.ingest(
                    collection_id, self._approval_versions(collection_id, approval, originator)
                )
            self._record(user, approval, newest, originator, unit)
        for collection_id in collections:
            self._objects.written(collection_id)
        return Approval.of(approval)

    def revoke_orcon(self, user: User, approval_id: str) -> Approval:
        """Withdraw an approval with a newer, signed version marked ``revoked``. Peers that
        already hold the object keep it; their readers lose what the approval gave them."""
        with self._gate.recording_denials(user, Operation.ORCON_APPROVE):
            return self._revoke(user, approval_id)

    def _revoke(self, user: User, approval_id: str) -> Approval:
        signed = [
            (collection_id, obj, approval)
            for collection_id, item in self._store.versions_everywhere(approval_id)
            if (approval := read_approval(obj := orjson.loads(item.body))) is not None
            and approval.approving_node == self._gate.signing_key
        ]
        if not signed:
            raise NotFound(f"no ORCON approval {approval_id} signed by this node")
        _, newest_object, newest = max(signed, key=lambda entry: entry[2].modified)
        if newest.revoked:
            raise InvalidInput(f"approval {approval_id} is already revoked")
        originator = self._approver(user, newest)
        revocation = make_approval(
            self._gate.node_key,
            self._gate.signing_key,
            newest.object_ref,
            newest.recipient,
            now_us(),
            approval_id=approval_id,
            created=newest_object["created"],
            revoked=True,
            markings=newest_object.get("object_marking_refs", []),
            originator=newest.originator,
            seal=newest.originator_seal,
        )
        held = dict.fromkeys(cid for cid, _, _ in signed)
        with self._store.begin() as unit:
            for collection_id in held:
                versions = self._approval_versions(collection_id, revocation, originator)
                unit.ingest(collection_id, versions)
            self._record(user, revocation, None, originator, unit)
        for collection_id in held:
            self._objects.written(collection_id)
        return Approval.of(revocation)

    def _record(
        self,
        user: User,
        approval: Mapping[str, Any],
        approved: StoredVersion | None,
        originator: str,
        unit: Unit,
    ) -> None:
        given = Approval.of(approval)
        refs = ObjectRefs.of([(given.id, str(approval["modified"]), originator)])
        if approved is not None:
            refs.versions_of(originator).append((given.object_ref, approved.version))
        entry = AuditEntry(
            Operation.ORCON_APPROVE,
            actor_of(user),
            AuditOutcome.ALLOWED,
            objects=refs,
            detail={
                "approval": given.id,
                "object": given.object_ref,
                "recipient": given.recipient,
                "revoked": given.revoked,
            },
        )
        self._gate.record(entry, unit)

    def orcon_approvals(self, user: User | None = None) -> list[tuple[Approval, str | None]]:
        """The approvals in force, each with the node that signed it as this node knows it
        (``this node``, a peer's name, or None for a node it does not know). A member gets
        those this node signed for its organization; an admin, those it may read (an
        approval names an ORCON object, which the markings may hide from an admin too)."""
        names = {p.signing_key: p.name for p in self._store.peers.all() if p.signing_key}
        names[self._gate.signing_key] = "this node"
        approvals = self._gate.releases()[1].approvals.in_force()
        if user is not None and user.is_admin:
            approvals = [a for a in approvals if self._reads(user, a.id)]
        elif user is not None and not user.is_system:
            approvals = [a for a in approvals if self._approves(user, a)]
        return [(approval, names.get(approval.approving_node)) for approval in approvals]

    def _approver(self, user: User, approval: Approval) -> str:
        """The originator the user approves for, if this approval is its own (signed by this
        node for that originator's object), else PermissionDenied."""
        originator, _ = self._originated_by(user, approval.object_ref)
        if (
            approval.approving_node != self._gate.signing_key
            or approval.originator_seal != self._gate.seal(originator)
        ):
            raise PermissionDenied("only the originator that gave an approval may withdraw it")
        return originator

    def _reads(self, user: User, object_id: str) -> bool:
        """Whether some collection shows the user this object, as the read path decides."""
        for collection_id, _ in self._store.versions_everywhere(object_id):
            try:
                if self._reading.sees(user, collection_id, object_id):
                    return True
            except NotFound:
                continue
        return False

    def _approves(self, user: User, approval: Approval) -> bool:
        try:
            self._approver(user, approval)
        except (NotFound, PermissionDenied):
            return False
        return True

    def recipient_name(self, recipient: str) -> str:
        """An approval's recipient for people: a node as its peer name when it is one."""
        if not recipient.startswith(NODE_PREFIX):
            return recipient
        key = recipient.removeprefix(NODE_PREFIX)
        if key == self._gate.signing_key:
            return "this node"
        peer = next((p for p in self._store.peers.all() if p.signing_key == key), None)
        return f"node {peer.name}" if peer else f"node with key {key}"

    def _originated_by(self, user: User, object_id: str) -> tuple[str, dict[str, StoredVersion]]:
        """The originator the user approves for (its organization; the node for its operator)
        and the collections where that originator wrote the object, with the version added
        last there."""
        if user.is_system or (user.is_admin and user.organization_id is None):
            originator = NODE_ORIGINATOR
        elif user.organization_id is not None and user.roles & WRITE_ROLES:
            originator = user.organization_id
        else:
            raise PermissionDenied("only a contributor of the originating organization approves")
        keys = self._store.access_keys()
        found: dict[str, StoredVersion] = {}
        for collection_id, item in self._store.versions_everywhere(object_id):
            if keys[item.label].originator == originator:
                found[collection_id] = item
        if not found:
            raise NotFound(
                f"no object {object_id} originated by {originator or 'this node'}: only the "
                "originator approves ORCON releases"
            )
        return originator, found

    def _check_sole_holder(self, originator: str, object_id: str) -> None:
        """Approvals name an object by id, and a peer knows its originator only as this node
        tells it (often the country alone), so an approval is signed only while no other
        originator holds that id here in a form that can leave: else the approval could
        release (or, after a revocation, release again) the other one's object on a peer. A
        copy set apart for its writer never leaves, so it blocks nobody, and it is never
        released itself; nor do copies peers sent (an echo of the approved object, most
        often). Telling its writer that its copy was set apart says no more than
        `policy explain` does; telling the first holder that its id is reused elsewhere
        tells it what it ought to know."""
        keys = self._store.access_keys()
        held = [keys[item.label] for _, item in self._store.versions_everywhere(object_id)]
        if any(k.originator == originator and WRITER_ONLY in k.marking_refs for k in held):
            raise PermissionDenied(
                f"your copy of {object_id} is set apart for your organization (it reuses an id "
                "another originator holds on this node): it cannot be released further"
            )
        for key in held:
            apart = WRITER_ONLY in key.marking_refs
            written_here = sender_of(key.originator) is None
            if key.originator != originator and not apart and written_here:
                raise PermissionDenied(
                    f"another originator also holds {object_id} on this node: an approval names "
                    "objects by id, so peers could not tell whose object it releases; the node's "
                    "operator can resolve the duplicate id"
                )

    def _approval_versions(
        self, collection_id: str, approval: dict[str, Any], originator: str
    ) -> list[NewVersion]:
        """The approval as a write of the object's originator (checked like any write), so it
        is enforced as the object is: its markings, copied, show it to those who see the
        object, and the approval releases itself with the object."""
        rules = WriteRules(
            self._gate.organization(originator),
            originator,
            self._gate.agreement(self._gate.collection(collection_id)),
            self._gate.registry(),
            operator=True,
        )
        prepared = prepare([approval], rules)
        if prepared.failures:
            raise InvalidInput(prepared.failures[0]["message"])
        return prepared.versions
