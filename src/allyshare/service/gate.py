"""The gate: where this node decides who may do what, and records it. It turns a user into
the decision's subject, checks named operations (`allyshare.policy.rights`), applies the
collection-rights rule, builds and caches each reader's view of a collection
(`allyshare.service.views`), knows the inputs every decision needs (the marking registry,
the ORCON approvals in force, the originators' organizations, the agreements) and hands
every decision to the audit sink. The other services ask it; none decides on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Literal, NoReturn

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allyshare.audit.entries import AuditEntry, AuditOutcome
from allyshare.community import (
    ORGANIZATION_ID,
    agreement_from_document,
    identity_of,
)
from allyshare.config import Settings
from allyshare.errors import (
    NotFound,
    PermissionDenied,
)
from allyshare.keys import load_signing_key, public_key_text
from allyshare.orcon.approvals import (
    Approval,
    Approvals,
    node_recipient,
    originator_seal,
    read_approval,
)
from allyshare.policy import (
    Agreement,
    Classification,
    Decision,
    Deny,
    MarkingRegistry,
    Organization,
    Redact,
    Subject,
    Target,
    Tlp,
    apply,
    decide,
)
from allyshare.policy.rights import Operation, administers, collection_rights
from allyshare.service.audit import Audit, actor_of
from allyshare.service.views import (
    Releases,
    View,
    build_view,
    extension_problem,
    matchable_keys,
)
from allyshare.storage import (
    NODE_ORIGINATOR,
    Collection,
    Store,
    User,
    origin_of,
    sender_of,
)
from allyshare.storage.store import Unit

Access = Literal["see", "read", "write"]
VIEWS_KEPT = 512


@dataclass(frozen=True, slots=True)
class CollectionAccess:
    collection: Collection
    can_read: bool
    can_write: bool
    can_curate: bool = False


class Gate:
    """The decisions of one node, over its settings and store."""

    def __init__(self, settings: Settings, store: Store, audit: Audit) -> None:
        self._settings = settings
        self._store = store
        self.audit = audit
        self._registry: tuple[int, MarkingRegistry] | None = None
        self._approvals: tuple[int, Approvals] | None = None
        self._verified: dict[bytes, Approval | None] = {}
        self._views: dict[tuple[Subject, Agreement, int, int], View] = {}

    def collection(self, collection_id: str) -> Collection:
        collection = self._store.get_collection(collection_id)
        if collection is None:
            raise NotFound(f"no collection {collection_id}")
        return collection

    def collections_for(self, user: User) -> list[CollectionAccess]:
        """The collections the user holds some right on (the others it never learns of)."""
        organization = self.member_of(user)
        found = (self.access(user, c, organization) for c in self._store.list_collections())
        return [access for access in found if access.can_read or access.can_write]

    def collection_for(
        self, user: User, collection_id: str, need: Access, action: Operation | None = None
    ) -> CollectionAccess:
        """The collection if the user may ``need`` it; invisible ones are simply not found.

        ``see`` asks only that the user holds some right on it (the collection resource). A
        refusal that names its reason is recorded, as ``action`` (by default the read or
        write ``need`` stands for).
        """
        collection = self._store.get_collection(collection_id)
        if collection is None:
            raise NotFound(f"no collection {collection_id}")
        access = self.access(user, collection, self.member_of(user))
        if not (access.can_read or access.can_write):
            raise NotFound(f"no collection {collection_id}")
        if need == "read" and not access.can_read:
            self.deny(
                user,
                action or Operation.OBJECTS_READ,
                f"no read access to collection {collection_id}",
                collection_id,
            )
        if need == "write" and not access.can_write:
            self.deny(
                user,
                action or Operation.OBJECTS_WRITE,
                f"no write access to collection {collection_id}",
                collection_id,
            )
        return access

    def deny(
        self, user: User, action: Operation, reason: str, collection_id: str | None = None
    ) -> NoReturn:
        """Record the refusal, then refuse."""
        self.record(
            AuditEntry(action, actor_of(user), AuditOutcome.DENIED, collection_id, reason=reason)
        )
        raise PermissionDenied(reason)

    @staticmethod
    def may_explain(user: User, recorded_originator: str) -> bool:
        """``policy explain`` names markings, recipients and members: for admins and the
        object's originator only."""
        return (
            user.is_admin
            or user.is_system
            or user.organization_id == origin_of(recorded_originator)
        )

    def may_read_status(self, user: User, writer: str) -> bool:
        """A status names the versions its request wrote: only that writer reads it (an
        admin's clearance need not cover them). An anonymous write's status names its writer
        by the `Audit.writer_pseudonym`."""
        return (
            user.is_system
            or writer == user.name
            or writer == self.audit.writer_pseudonym(user.name)
        )

    @contextmanager
    def recording_denials(self, user: User, operation: Operation) -> Iterator[None]:
        """Record a refusal raised inside, and let it go on."""
        try:
            yield
        except PermissionDenied as error:
            entry = AuditEntry(operation, actor_of(user), AuditOutcome.DENIED, reason=str(error))
            self.record(entry)
            raise

    def record(self, entry: AuditEntry, unit: Unit | None = None) -> int:
        """Record the entry; returns its number, for later entries to name their versions as
        in it (`Audit.record`)."""
        return self.audit.record([entry], unit)[-1]

    def member_of(self, user: User) -> Organization | None:
        return self.organization(user.organization_id) if user.organization_id else None

    def access(
        self, user: User, collection: Collection, organization: Organization | None
    ) -> CollectionAccess:
        """The user's rights on the collection (`allyshare.policy.rights.collection_rights`)."""
        rights = collection_rights(
            self.agreement(collection),
            organization,
            user.roles,
            is_admin=user.is_admin or user.is_system,
            peer_agreement=user.peer_agreement if user.peer is not None else None,
            local=collection.agreement_name is None,
            category=collection.category,
        )
        return CollectionAccess(collection, rights.can_read, rights.can_write, rights.can_curate)

    def require(self, user: User, operation: Operation) -> None:
        """Refuse (and record) an administrative operation by anyone but an administrator."""
        if not administers(operation, is_admin=user.is_admin or user.is_system):
            self.deny(user, operation, "only node administrators may do this")

    def subject_of(self, user: User) -> Subject:
        """The user as the decision sees it. An admin of no organization is the node's
        operator and acts as the node itself, the originator of what the operator imports."""
        if user.is_system:
            return Subject.system(user.name)
        if user.peer is not None:
            return Subject.node(
                user.name,
                user.nationality or "",
                clearance=Classification.parse(user.clearance),
                node_id=node_recipient(user.peer_key) if user.peer_key else None,
            )
        organization = self.member_of(user)
        if organization is None and user.is_admin:
            organization = self.own_organization
        nationality = user.nationality or (organization.country if organization else "")
        return Subject(
            name=user.name,
            organization=organization,
            nationality=nationality,
            clearance=Classification.parse(user.clearance),
            roles=user.roles,
            is_admin=user.is_admin,
        )

    @property
    def own_organization(self) -> Organization:
        """What the node records as originator of what its operator imports."""
        return Organization(
            f"node:{self._settings.node_name}", self._settings.node_name, self._settings.country
        )

    def organization(self, organization_id: str) -> Organization:
        """The organization an originator names: a member, or for what a peer sent the
        organization it attested (known by the country its id starts with), else the peer
        itself by its country."""
        if organization_id == NODE_ORIGINATOR:
            return self.own_organization
        origin = origin_of(organization_id)
        received = origin != organization_id
        if received and not ORGANIZATION_ID.fullmatch(origin):
            # A peer told only the writer's country: known by it, matching no member.
            return Organization(organization_id, organization_id, origin)
        record = self._store.get_organization(origin)
        if received and record is not None and origin in self.own_organizations():
            # A peer never answers for this node's own organizations (such claims are not
            # taken); what one sent before that organization became ours exempts no member.
            return Organization(organization_id, organization_id, origin.split(".")[0])
        if record is None:
            return Organization(origin, origin, origin.split(".")[0])
        return Organization(
            record.id, record.name, record.country, record.kind, frozenset(record.sectors)
        )

    def agreement(self, collection: Collection) -> Agreement:
        if collection.agreement_name is None:
            return Agreement(
                name="local",
                version=0,
                party_countries=frozenset({self._settings.country}),
                max_classification=Classification.TS,
                tlp_ceiling=Tlp.RED,
            )
        record = self._store.agreement_newest(collection.agreement_name)
        if record is None:
            raise NotFound(f"no agreement {collection.agreement_name!r}")
        return agreement_from_document(record.document)

    def registry(self) -> MarkingRegistry:
        return self.current_registry()[1]

    def current_registry(self) -> tuple[int, MarkingRegistry]:
        """The marking definitions received so far with their generation (their count, since
        definitions are only ever added), read again only when one was added."""
        count = self._store.marking_definition_count()
        cached = self._registry
        if cached is None or cached[0] != count:
            definitions = [orjson.loads(body) for body in self._store.marking_definitions()]
            cached = (count, MarkingRegistry(definitions))
            self._registry = cached
        return cached

    @cached_property
    def signing_key(self) -> str:
        """This node's public signing key: how approvals and peers name it."""
        return public_key_text(self.node_key)

    def originator_node(self, originator_id: str) -> str | None:
        """The signing key of the node that originated what this originator is recorded for:
        this node for its own members, the sending peer for received data."""
        sender = sender_of(originator_id)
        if sender is None:
            return self.signing_key
        try:
            return self._store.peers.get(sender).signing_key
        except NotFound:
            return None

    def releases(self) -> tuple[int, Releases]:
        """The ORCON approvals in force, read again only when one was stored; each version's
        signature is checked once (by content), however often they are read."""
        generation = self._store.orcon_approval_count()
        cached = self._approvals
        if cached is None or cached[0] != generation:
            found = [self._verified_approval(b) for b in self._store.orcon_approval_bodies()]
            cached = (generation, Approvals(a for a in found if a is not None))
            self._approvals = cached
        node_of = cache(self.originator_node)
        # Only approvals need the node's key (nodes made by ``init`` always have one).
        own = self.signing_key if cached[1].named else None
        releases = Releases(cached[1], node_of, self.public_originator, own, self.seal)
        return cached[0], releases

    @cached_property
    def node_key(self) -> Ed25519PrivateKey:
        return load_signing_key(self._settings.data_dir)

    def seal(self, recorded_originator: str) -> str:
        return originator_seal(self.node_key, recorded_originator)

    def _verified_approval(self, body: bytes) -> Approval | None:
        digest = hashlib.sha256(body).digest()
        if digest not in self._verified:
            self._verified[digest] = read_approval(orjson.loads(body))
        return self._verified[digest]

    def decide(self, subject: Subject, target: Target) -> Decision:
        """The decision for one object version, for ``policy explain`` (reads decide through
        the views, `build_view`), with a redaction the views would withhold whole for an
        extension's rules told as the denial it is (`extension_problem`)."""
        decision = decide(subject, target, self.registry())
        if isinstance(decision, Redact):
            copy = apply(decision, target.obj)
            problem = None if copy is None else extension_problem(copy)
            if problem is not None:
                removed = ", ".join(decision.selectors)
                withheld = f"withheld: removing {removed} would leave an invalid object ({problem})"
                return Deny((withheld, *decision.reasons))
        return decision

    def matchable(self, user: User, collection: Collection) -> frozenset[int]:
        """The access keys of versions in the collection the user may match its values
        against, not read (`matchable_keys`)."""
        _, registry = self.current_registry()
        return matchable_keys(
            self.subject_of(user),
            self.agreement(collection),
            registry,
            self._store.access_keys(),
            self.organization,
        )

    def view(self, user: User, collection: Collection) -> View:
        """What the user may see in the collection; judged keys are remembered per subject,
        agreement and registry, so a request only judges the keys added since the last."""
        subject = self.subject_of(user)
        agreement = self.agreement(collection)
        generation, registry = self.current_registry()
        approvals_generation, releases = self.releases()
        cache_key = (subject, agreement, generation, approvals_generation)
        earlier = self._views.get(cache_key)
        keys = self._store.access_keys()
        if earlier is not None and earlier.judged_up_to == max(keys, default=0):
            return earlier
        view = build_view(subject, agreement, registry, keys, self.organization, earlier, releases)
        if len(self._views) >= VIEWS_KEPT:
            self._views.clear()
        self._views[cache_key] = view
        return view

    def public_originator(self, recorded: str, body: bytes) -> str:
        """Who wrote a version, as far as it may be told beyond this node: the organization
        when the version names it as author (``created_by_ref``, which the author rules make
        the writer's own identity), else only its country, so contributions sent without an
        author stay anonymous (source protection); what a peer sent, as that peer told it;
        the node's country for its own imports. The country is what NOFORN is judged by."""
        if sender_of(recorded) is not None:
            return origin_of(recorded)
        if recorded == NODE_ORIGINATOR:
            return self._settings.country
        # Stored bodies are orjson's compact form, so the author appears exactly so.
        author = b'"created_by_ref":"' + identity_of(recorded).encode() + b'"'
        return recorded if author in body else recorded.split(".")[0]

    def own_organizations(self) -> set[str]:
        """The organizations this node answers for: those of its country, and any with a
        user here. Others are registered only so that agreements and markings can name
        them; their own node answers for them."""
        own = {
            o.id for o in self._store.list_organizations() if o.country == self._settings.country
        }
        own.update(
            user.organization_id for user in self._store.list_users() if user.organization_id
        )
        return own

    def no_rights(self, user: User, collection: Collection, agreement: Agreement) -> str:
        """The collection-level reason, which comes before any marking."""
        where = f"collection {collection.title!r}"
        if user.disabled:
            return f"no access: user {user.name} is disabled"
        if user.organization_id is None:
            return f"no access to {where}: user {user.name} belongs to no organization"
        organization = self.organization(user.organization_id)
        if not agreement.has_party(organization):
            return (
                f"no access to {where}: {organization.id} is not a party of agreement "
                f"{agreement.name!r} v{agreement.version}"
            )
        return (
            f"no access to {where}: user {user.name} holds no reader, contributor or curator role"
        )
