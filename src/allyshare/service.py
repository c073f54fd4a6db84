"""The node's operations: the one path to storage for TAXII, the CLI and the Python API.

Every caller acts as a :class:`~allyshare.storage.User`; rights are checked here, so no
transport can reach the store without the same checks. A collection the user may not read
answers exactly as a missing one does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, partial
from typing import Any, Literal, cast

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allyshare.clock import now_us
from allyshare.community import (
    KINDS,
    ORGANIZATION_ID,
    agreement_from_document,
    check_country,
    identity_of,
    organization_id,
)
from allyshare.config import COUNTRY_CODE, Settings
from allyshare.datadir import create_private_database, tighten
from allyshare.enforcement import Releases, View, build_view
from allyshare.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    InvalidObject,
    NotFound,
    PermissionDenied,
)
from allyshare.keys import load_signing_key, public_key_text
from allyshare.orcon.approvals import (
    APPROVAL_TYPE,
    NODE_PREFIX,
    Approval,
    Approvals,
    approval_problems,
    make_approval,
    node_recipient,
    originator_seal,
    read_approval,
)
from allyshare.policy import (
    WRITER_ONLY,
    AccessLabel,
    Agreement,
    Classification,
    Deny,
    MarkingRegistry,
    Organization,
    Subject,
    Tlp,
    WriteChecker,
    decide,
    describe_label,
    explain,
    object_label,
)
from allyshare.stix.validation import StixObjectInfo, check_object
from allyshare.stix.versions import version_key, version_of
from allyshare.storage import (
    NODE_ORIGINATOR,
    AccessKey,
    AgreementRecord,
    Collection,
    IngestResult,
    NewVersion,
    OrganizationRecord,
    Outcome,
    Page,
    PeerRecord,
    StatusRecord,
    Store,
    StoredVersion,
    SubscriptionRecord,
    User,
    VersionFilter,
    markings_in,
    origin_of,
    peer_originator,
    sender_of,
)
from allyshare.storage.store import NoAdminLeft

Access = Literal["see", "read", "write"]
TOKEN_BYTES = 32
ROLES = frozenset({"reader", "contributor", "curator", "admin"})
DEFAULT_ROLES = frozenset({"reader"})
# Basic auth splits on the first ":", so a name must not hold one.
USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,200}")
_OUTCOME_MESSAGES = {
    Outcome.STORED: "stored",
    Outcome.DUPLICATE: "already stored: this version was received before",
    Outcome.CONFLICT: "conflict: an object with this id and no version timestamp is already "
    "stored with different content",
    Outcome.NOT_ORIGINATOR: "only the originator of this object may add versions of it",
}


def _last_admin(who: str, change: str) -> str:
    return (
        f"{who} the node's last active admin: it cannot be {change}, or nobody could "
        "administer the node; make another user admin first"
    )


def hash_token(token: str) -> str:
    """Tokens are random and long, so one SHA-256 pass is enough to keep them useless at rest."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True, slots=True)
class CollectionAccess:
    collection: Collection
    can_read: bool
    can_write: bool
    can_curate: bool = False


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


@dataclass(frozen=True, slots=True)
class Prepared:
    """The outcome of checking one submitted object before anything is written."""

    versions: list[NewVersion]
    positions: list[int]
    failures: dict[int, dict[str, str]]
    warnings: dict[int, str] = field(default_factory=dict)
    """Per position, what the writer should know of an accepted object (`unenforced_markings`)."""


class Node:
    """One allyshare node: settings plus store, with access checked on every operation."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._registry: tuple[int, MarkingRegistry] | None = None
        self._approvals: tuple[int, Approvals] | None = None
        self._verified: dict[bytes, Approval | None] = {}
        self._views: dict[tuple[Subject, Agreement, int, int], View] = {}
        self.write_listeners: list[Callable[[str], None]] = []
        """Called with the collection id after a write stored something (push wakes on it)."""

    @classmethod
    def open(cls, settings: Settings) -> Node:
        """Open the node's store, first making its data directory its owner's alone."""
        tighten(settings.data_dir)
        create_private_database(settings.effective_database_url)
        store = Store(settings.effective_database_url)
        store.migrate()
        return cls(settings, store)

    def close(self) -> None:
        self.store.close()

    # authentication

    def authenticate_token(self, token: str) -> User:
        digest = hash_token(token)
        found = self.store.user_by_token_hash(digest)
        return self._accept(found, digest)

    def authenticate_basic(self, name: str, token: str) -> User:
        found = self.store.user_by_name(name)
        return self._accept(found, hash_token(token))

    @staticmethod
    def _accept(found: tuple[User, str] | None, digest: str) -> User:
        stored = found[1] if found else hash_token(new_token())
        matches = hmac.compare_digest(stored.encode(), digest.encode())
        if found is None or not matches or found[0].disabled:
            raise AuthenticationFailed("unknown or disabled credentials")
        return found[0]

    # administration

    def add_user(
        self,
        name: str,
        *,
        is_admin: bool = False,
        organization: str | None = None,
        nationality: str | None = None,
        clearance: str = "U",
        roles: Iterable[str] | None = None,
    ) -> str:
        """Create a user and return its token; the token is shown once and stored hashed.

        Without ``roles`` a user reads (`DEFAULT_ROLES`), so a new member sees its
        collections; an admin (``is_admin``) holds every right without any role.
        """
        if not USER_NAME.fullmatch(name):
            raise InvalidInput(
                f"user name {name!r} must be 1-200 letters, digits or . _ @ - (no spaces or ':')"
            )
        if roles is None:
            roles = () if is_admin else DEFAULT_ROLES
        role_set = frozenset(roles)
        unknown_roles = sorted(role_set - ROLES)
        if unknown_roles:
            raise InvalidInput(f"unknown roles {unknown_roles}; use {sorted(ROLES)}")
        Classification.parse(clearance)
        if nationality is not None:
            check_country(nationality, "nationality")
        if organization is not None:
            known = {o.id: o for o in self.store.list_organizations()}
            if organization not in known:
                raise NotFound(f"no organization {organization!r}")
            if nationality is None:
                nationality = known[organization].country
        token = new_token()
        user = User(
            name=name,
            is_admin=is_admin or "admin" in role_set,
            disabled=False,
            organization_id=organization,
            nationality=nationality,
            clearance=clearance,
            roles=role_set,
        )
        self.store.create_user(user, hash_token(token))
        return token

    def disable_user(self, name: str, *, disabled: bool = True) -> None:
        """Disabling the node's last active admin is refused (Conflict)."""
        try:
            self.store.set_user_disabled(name, disabled)
        except NoAdminLeft:
            raise Conflict(_last_admin(f"user {name!r} is", "disabled")) from None

    def change_user(
        self,
        name: str,
        *,
        organization: str | None = None,
        nationality: str | None = None,
        clearance: str | None = None,
        roles: Iterable[str] | None = None,
        disabled: bool | None = None,
    ) -> User:
        """Change what is given and leave the rest, all or nothing; the change holds from the
        next request. Demoting or disabling the node's last active admin is refused
        (Conflict), so the node always keeps someone who can administer it."""
        found = self.store.user_by_name(name)
        if found is None:
            raise NotFound(f"no user {name!r}")
        values: dict[str, Any] = {}
        if organization is not None:
            if organization not in {o.id for o in self.store.list_organizations()}:
                raise NotFound(f"no organization {organization!r}")
            values["organization_id"] = organization
        if nationality is not None:
            values["nationality"] = check_country(nationality, "nationality")
        if clearance is not None:
            Classification.parse(clearance)
            values["clearance"] = clearance
        if roles is not None:
            role_set = frozenset(roles)
            unknown_roles = sorted(role_set - ROLES)
            if unknown_roles:
                raise InvalidInput(f"unknown roles {unknown_roles}; use {sorted(ROLES)}")
            values["roles"] = ",".join(sorted(role_set))
            values["is_admin"] = "admin" in role_set
        if disabled is not None:
            values["disabled"] = disabled
        if values:
            try:
                self.store.update_user(name, **values)
            except NoAdminLeft:
                raise Conflict(_last_admin(f"user {name!r} is", "demoted or disabled")) from None
        changed = self.store.user_by_name(name)
        assert changed is not None
        return changed[0]

    def users(self) -> list[User]:
        return self.store.list_users()

    def organizations(self) -> list[OrganizationRecord]:
        return self.store.list_organizations()

    def change_organization(
        self,
        organization: str,
        *,
        name: str | None = None,
        sectors: Iterable[str] | None = None,
        disabled: bool | None = None,
    ) -> OrganizationRecord:
        """Rename, re-sector or disable an organization, all or nothing; its id (which
        markings name) never changes. Disabling it cuts off its users at once, and is
        refused (Conflict) when it holds the node's last active admin."""
        values: dict[str, Any] = {}
        if name is not None:
            if not name.strip():
                raise InvalidInput("an organization needs a name")
            values["name"] = name
        if sectors is not None:
            values["sectors"] = ",".join(sorted(set(sectors)))
        if disabled is not None:
            values["disabled"] = disabled
        if values:
            try:
                self.store.update_organization(organization, **values)
            except NoAdminLeft:
                raise Conflict(
                    _last_admin(f"organization {organization!r} holds", "disabled")
                ) from None
        for record in self.store.list_organizations():
            if record.id == organization:
                return record
        raise NotFound(f"no organization {organization!r}")

    def add_organization(
        self, name: str, *, country: str, kind: str, sectors: Iterable[str] = ()
    ) -> str:
        """Register a member organization and return the id its markings use."""
        if kind not in KINDS:
            raise InvalidInput(f"organization kind {kind!r}: use one of {sorted(KINDS)}")
        record = OrganizationRecord(
            id=organization_id(name, country),
            name=name,
            country=country,
            kind=kind,
            sectors=tuple(sorted(set(sectors))),
            disabled=False,
        )
        self.store.create_organization(record)
        return record.id

    def disable_organization(self, organization: str, *, disabled: bool = True) -> None:
        """Disabling an organization disables every one of its users at once; refused
        (Conflict) when that would cut off the node's last active admin."""
        self.change_organization(organization, disabled=disabled)

    def apply_agreement(self, document: Mapping[str, Any]) -> tuple[Agreement, bool]:
        """Check and keep an agreement version; False when it was already in force unchanged.

        The organizations it names must be registered here: a party this node does not know
        would bind nobody on it, so the name is more likely a mistake than a promise.
        """
        agreement = agreement_from_document(document)
        known = {record.id for record in self.store.list_organizations()}
        unknown = sorted(agreement.party_organizations - known)
        if unknown:
            raise InvalidInput(
                f"agreement refused: parties.organizations names {unknown}, not registered on "
                "this node; register them first (org add NAME --country ISO3 --kind KIND)"
            )
        changed = self.store.save_agreement(
            AgreementRecord(agreement.name, agreement.version, dict(document), now_us())
        )
        return agreement, changed

    def agreements(self) -> list[Agreement]:
        return [agreement_from_document(r.document) for r in self.store.agreements_newest()]

    def rotate_token(self, name: str) -> str:
        token = new_token()
        self.store.set_token_hash(name, hash_token(token))
        return token

    def add_collection(
        self, title: str, description: str = "", *, agreement: str | None = None
    ) -> Collection:
        if not title.strip():
            raise InvalidInput("a collection needs a title")
        if agreement is not None and agreement not in {a.name for a in self.agreements()}:
            raise NotFound(f"no agreement {agreement!r}; apply it first")
        collection = Collection(str(uuid.uuid4()), title, description, now_us(), agreement)
        self.store.create_collection(collection)
        return collection

    def _collection(self, collection_id: str) -> Collection:
        collection = self.store.get_collection(collection_id)
        if collection is None:
            raise NotFound(f"no collection {collection_id}")
        return collection

    # collections as a user sees them

    def collections_for(self, user: User) -> list[CollectionAccess]:
        """The collections the user holds some right on (the others it never learns of)."""
        organization = self._member_of(user)
        found = (self._access(user, c, organization) for c in self.store.list_collections())
        return [access for access in found if access.can_read or access.can_write]

    def collection_for(self, user: User, collection_id: str, need: Access) -> CollectionAccess:
        """The collection if the user may ``need`` it; invisible ones are simply not found.

        ``see`` asks only that the user holds some right on it (the collection resource).
        """
        collection = self.store.get_collection(collection_id)
        if collection is None:
            raise NotFound(f"no collection {collection_id}")
        access = self._access(user, collection, self._member_of(user))
        if not (access.can_read or access.can_write):
            raise NotFound(f"no collection {collection_id}")
        if need == "read" and not access.can_read:
            raise PermissionDenied(f"no read access to collection {collection_id}")
        if need == "write" and not access.can_write:
            raise PermissionDenied(f"no write access to collection {collection_id}")
        return access

    def originated_here(self, items: Iterable[StoredVersion]) -> list[StoredVersion]:
        """The versions whose originator this node recorded (not a peer that sent them)."""
        keys = self.store.access_keys()
        return [item for item in items if sender_of(keys[item.label].originator) is None]

    def attested_originators(self, items: Iterable[StoredVersion]) -> list[str]:
        """What this node tells a peer about who wrote each version (`public_originator`)."""
        keys = self.store.access_keys()
        return [self.public_originator(keys[item.label].originator, item.body) for item in items]

    def public_originator(self, recorded: str, body: bytes) -> str:
        """Who wrote a version, as far as it may be told beyond this node: the organization
        when the version names it as author (``created_by_ref``, which the author rules make
        the writer's own identity), else only its country, so contributions sent without an
        author stay anonymous (source protection); what a peer sent, as that peer told it;
        the node's country for its own imports. The country is what NOFORN is judged by."""
        if sender_of(recorded) is not None:
            return origin_of(recorded)
        if recorded == NODE_ORIGINATOR:
            return self.settings.country
        # Stored bodies are orjson's compact form, so the author appears exactly so.
        author = b'"created_by_ref":"' + identity_of(recorded).encode() + b'"'
        return recorded if author in body else recorded.split(".")[0]

    def peer_user(self, peer: PeerRecord) -> User:
        """A peer node as the one asking: cleared to its agreement's highest classification,
        reading and writing only collections of that agreement, judged as egress (``share``)."""
        record = self.store.agreement_newest(peer.agreement_name)
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

    def _member_of(self, user: User) -> Organization | None:
        return self._organization(user.organization_id) if user.organization_id else None

    def _access(
        self, user: User, collection: Collection, organization: Organization | None
    ) -> CollectionAccess:
        """Rights follow from the collection's agreement and the user's roles.

        Admins hold every right. Anyone else needs an organization that is a party of the
        agreement; then ``reader`` reads, ``contributor`` also writes, ``curator`` also
        deletes. A collection bound to no agreement is local to the node's own country.
        """
        if user.is_admin or user.is_system:
            return CollectionAccess(collection, True, True, True)
        if user.peer is not None:
            shares = collection.agreement_name == user.peer_agreement
            return CollectionAccess(collection, can_read=shares, can_write=shares, can_curate=False)
        if organization is None or not self._agreement(collection).has_party(organization):
            return CollectionAccess(collection, False, False, False)
        return CollectionAccess(
            collection,
            can_read=bool(user.roles & _READ_ROLES),
            can_write=bool(user.roles & _WRITE_ROLES),
            can_curate="curator" in user.roles,
        )

    # the inputs of the access decision

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
        organization = self._member_of(user)
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
            f"node:{self.settings.node_name}", self.settings.node_name, self.settings.country
        )

    def _organization(self, organization_id: str) -> Organization:
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
        record = self.store.get_organization(origin)
        if received and record is not None and origin in self._own_organizations():
            # A peer never answers for this node's own organizations (such claims are not
            # taken); what one sent before that organization became ours exempts no member.
            return Organization(organization_id, organization_id, origin.split(".")[0])
        if record is None:
            return Organization(origin, origin, origin.split(".")[0])
        return Organization(
            record.id, record.name, record.country, record.kind, frozenset(record.sectors)
        )

    def _agreement(self, collection: Collection) -> Agreement:
        if collection.agreement_name is None:
            return Agreement(
                name="local",
                version=0,
                party_countries=frozenset({self.settings.country}),
                max_classification=Classification.TS,
                tlp_ceiling=Tlp.RED,
            )
        record = self.store.agreement_newest(collection.agreement_name)
        if record is None:
            raise NotFound(f"no agreement {collection.agreement_name!r}")
        return agreement_from_document(record.document)

    def registry(self) -> MarkingRegistry:
        return self._current_registry()[1]

    def _current_registry(self) -> tuple[int, MarkingRegistry]:
        """The marking definitions received so far with their generation (their count, since
        definitions are only ever added), read again only when one was added."""
        count = self.store.marking_definition_count()
        cached = self._registry
        if cached is None or cached[0] != count:
            definitions = [orjson.loads(body) for body in self.store.marking_definitions()]
            cached = (count, MarkingRegistry(definitions))
            self._registry = cached
        return cached

    @cached_property
    def signing_key(self) -> str:
        """This node's public signing key: how approvals and peers name it."""
        return public_key_text(self._node_key)

    def _originator_node(self, originator_id: str) -> str | None:
        """The signing key of the node that originated what this originator is recorded for:
        this node for its own members, the sending peer for received data."""
        sender = sender_of(originator_id)
        if sender is None:
            return self.signing_key
        try:
            return self.store.peers.get(sender).signing_key
        except NotFound:
            return None

    def _releases(self) -> tuple[int, Releases]:
        """The ORCON approvals in force, read again only when one was stored; each version's
        signature is checked once (by content), however often they are read."""
        generation = self.store.orcon_approval_count()
        cached = self._approvals
        if cached is None or cached[0] != generation:
            found = [self._verified_approval(b) for b in self.store.orcon_approval_bodies()]
            cached = (generation, Approvals(a for a in found if a is not None))
            self._approvals = cached
        node_of = cache(self._originator_node)
        # Only approvals need the node's key (nodes made by ``init`` always have one).
        own = self.signing_key if cached[1].named else None
        releases = Releases(cached[1], node_of, self.public_originator, own, self._seal)
        return cached[0], releases

    @cached_property
    def _node_key(self) -> Ed25519PrivateKey:
        return load_signing_key(self.settings.data_dir)

    def _seal(self, recorded_originator: str) -> str:
        return originator_seal(self._node_key, recorded_originator)

    def _verified_approval(self, body: bytes) -> Approval | None:
        digest = hashlib.sha256(body).digest()
        if digest not in self._verified:
            self._verified[digest] = read_approval(orjson.loads(body))
        return self._verified[digest]

    def view(self, user: User, collection: Collection) -> View:
        """What the user may see in the collection; judged keys are remembered per subject,
        agreement and registry, so a request only judges the keys added since the last."""
        subject = self.subject_of(user)
        agreement = self._agreement(collection)
        generation, registry = self._current_registry()
        approvals_generation, releases = self._releases()
        cache_key = (subject, agreement, generation, approvals_generation)
        earlier = self._views.get(cache_key)
        keys = self.store.access_keys()
        if earlier is not None and earlier.judged_up_to == max(keys, default=0):
            return earlier
        view = build_view(subject, agreement, registry, keys, self._organization, earlier, releases)
        if len(self._views) >= _VIEWS_KEPT:
            self._views.clear()
        self._views[cache_key] = view
        return view

    # objects

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
        access = self.collection_for(user, collection_id, "write")
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
            self._organization(originator),
            originator,
            self._agreement(access.collection),
            self.registry(),
            # The author rules bind an organization's own members; the node's operator and
            # a peer node write on behalf of others.
            operator=originator == NODE_ORIGINATOR or user.peer is not None,
            members={identity_of(record.id): record.id for record in self.organizations()},
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

        status = self.store.ingest_recorded(
            collection_id,
            prepared.versions,
            status_of,
            received_from=user.peer,
            reuse=ReuseByView(partial(self.view, user, access.collection)),
        )
        if status.success_count:
            self._written(collection_id)
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
        collection = self._collection(subscription.local_collection)
        originator = peer_originator(peer.country, peer.name)
        claims = self._received_originators(peer.country, peer.name, attested, received)
        rules = WriteRules(
            self._organization(originator),
            originator,
            self._agreement(collection),
            self.registry(),
            operator=True,
        )
        prepared = prepare(received, rules, claims.originators)
        result = self.store.ingest_pulled(collection.id, prepared.versions, subscription, cursor)
        return Received(
            stored=len(result.added),
            already_held=len(result.outcomes) - len(result.added),
            refused=[prepared.failures[p] for p in sorted(prepared.failures)],
            notes=[
                {"id": _claimed_id(received[p]), "message": claims.notes[p]}
                for p in sorted(claims.notes)
                if p not in prepared.failures
            ],
        )

    def _received_originators(
        self, country: str, peer_name: str, attested: object, submitted: Sequence[object]
    ) -> Attested:
        own = self._own_organizations()
        return received_originators(country, peer_name, attested, submitted, own)

    def _own_organizations(self) -> set[str]:
        """The organizations this node answers for: those of its country, and any with a
        user here. Others are registered only so that agreements and markings can name
        them; their own node answers for them."""
        own = {o.id for o in self.store.list_organizations() if o.country == self.settings.country}
        own.update(user.organization_id for user in self.users() if user.organization_id)
        return own

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
        access = self.collection_for(user, collection_id, "read")
        view = self.view(user, access.collection)
        # A version withheld after redaction must leave no gap: read on until the page is
        # full and one more shown version proves there is a next page.
        items: list[StoredVersion] = []
        cursor, scanning = after, True
        while scanning and len(items) <= limit:
            page = self.store.read_page(
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
        return Page(items[:limit], len(items) > limit)

    def export(self, user: User, collection_id: str, selection: VersionFilter) -> Iterator[bytes]:
        access = self.collection_for(user, collection_id, "read")
        view = self.view(user, access.collection)
        versions = self.store.iter_versions(collection_id, selection, view.visible)
        return (item.body for item in _shown(versions, view, with_body=True))

    def delete_objects(self, user: User, collection_id: str, selection: VersionFilter) -> int:
        """Curators delete the versions they can see; what they cannot see stays, unnamed, and
        so does what an ORCON approval lets them read (the originator's to remove)."""
        access = self.collection_for(user, collection_id, "read")
        if not access.can_curate:
            raise PermissionDenied(
                f"deleting from collection {collection_id} needs the curator role"
            )
        view = self.view(user, access.collection)
        visible = view.visible
        if visible is not None and view.approvable:
            visible = visible - view.approvable
        deleted = self.store.delete_versions(collection_id, selection, visible)
        if deleted == 0:
            raise NotFound("no object with that id and version in this collection")
        return deleted

    def explain(self, asker: User, object_id: str, as_user: str) -> list[Explanation]:
        """Why ``as_user`` sees each stored version of an object as it does.

        The reasons name markings, recipients and members, so only admins and the object's
        originator may ask; to anyone else the object answers as a missing one.
        """
        keys = self.store.access_keys()
        mine = [
            (collection_id, item, keys[item.label].originator)
            for collection_id, item in self.store.versions_everywhere(object_id)
            if asker.is_admin
            or asker.is_system
            or asker.organization_id == origin_of(keys[item.label].originator)
        ]
        if not mine:
            raise NotFound(f"no object {object_id}")
        found = self.store.user_by_name(as_user)
        if found is None:
            raise NotFound(f"no user {as_user!r}")
        user = found[0]
        subject = self.subject_of(user)
        registry = self.registry()
        releases = self._releases()[1]
        explained: list[Explanation] = []
        for collection_id, item, originator in mine:
            collection = self._collection(collection_id)
            access = self._access(user, collection, subject.organization)
            agreement = self._agreement(collection)
            obj = orjson.loads(item.body)
            reads = access.can_read and not user.disabled
            lines = [] if reads else [self._no_rights(user, collection, agreement)]
            organization = self._organization(originator)
            apart = WRITER_ONLY in keys[item.label].marking_refs
            target = releases.target(
                subject, obj, originator, organization, agreement, item.body, writer_only=apart
            )
            decision = decide(subject, target, registry)
            lines.extend(explain(decision))
            explained.append(
                Explanation(
                    collection_id=collection_id,
                    collection_title=collection.title,
                    version=item.version,
                    originator=organization.id,
                    markings=describe_label(
                        object_label(obj, registry).meet(AccessLabel(writer_only=apart))
                    ),
                    sees=reads and not isinstance(decision, Deny),
                    lines=tuple(lines),
                )
            )
        return explained

    # ORCON approvals

    def approve_orcon(
        self,
        user: User,
        object_id: str,
        *,
        organization: str | None = None,
        peer: str | None = None,
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
            record = self.store.peers.get(peer)
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
        if not object_label(newest_object, self.registry()).orcon:
            raise InvalidInput(f"{object_id} is not marked ORCON: it needs no approval")
        approval = make_approval(
            self._node_key,
            self.signing_key,
            object_id,
            recipient,
            now_us(),
            markings=newest_object.get("object_marking_refs", []),
            originator=self.public_originator(originator, newest.body),
            seal=self._seal(originator),
        )
        self.store.ingest_everywhere(
            {cid: self._approval_versions(cid, approval, originator) for cid in collections}
        )
        for collection_id in collections:
            self._written(collection_id)
        return Approval.of(approval)

    def revoke_orcon(self, user: User, approval_id: str) -> Approval:
        """Withdraw an approval with a newer, signed version marked ``revoked``. Peers that
        already hold the object keep it; their readers lose what the approval gave them."""
        signed = [
            (collection_id, obj, approval)
            for collection_id, item in self.store.versions_everywhere(approval_id)
            if (approval := read_approval(obj := orjson.loads(item.body))) is not None
            and approval.approving_node == self.signing_key
        ]
        if not signed:
            raise NotFound(f"no ORCON approval {approval_id} signed by this node")
        _, newest_object, newest = max(signed, key=lambda entry: entry[2].modified)
        if newest.revoked:
            raise InvalidInput(f"approval {approval_id} is already revoked")
        originator = self._approver(user, newest)
        revocation = make_approval(
            self._node_key,
            self.signing_key,
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
        for collection_id in dict.fromkeys(cid for cid, _, _ in signed):
            versions = self._approval_versions(collection_id, revocation, originator)
            self.store.ingest(collection_id, versions)
            self._written(collection_id)
        return Approval.of(revocation)

    def orcon_approvals(self, user: User | None = None) -> list[tuple[Approval, str | None]]:
        """The approvals in force, each with the node that signed it as this node knows it
        (``this node``, a peer's name, or None for a node it does not know). A member gets
        those this node signed for its organization; an admin, those it may read (an
        approval names an ORCON object, which the markings may hide from an admin too)."""
        names = {p.signing_key: p.name for p in self.store.peers.all() if p.signing_key}
        names[self.signing_key] = "this node"
        approvals = self._releases()[1].approvals.in_force()
        if user is not None and user.is_admin:
            approvals = [a for a in approvals if self._reads(user, a.id)]
        elif user is not None and not user.is_system:
            approvals = [a for a in approvals if self._approves(user, a)]
        return [(approval, names.get(approval.approving_node)) for approval in approvals]

    def _approver(self, user: User, approval: Approval) -> str:
        """The originator the user approves for, if this approval is its own (signed by this
        node for that originator's object), else PermissionDenied."""
        originator, _ = self._originated_by(user, approval.object_ref)
        if approval.approving_node != self.signing_key or approval.originator_seal != self._seal(
            originator
        ):
            raise PermissionDenied("only the originator that gave an approval may withdraw it")
        return originator

    def _reads(self, user: User, object_id: str) -> bool:
        """Whether some collection shows the user this object, as the read path decides."""
        for collection_id, _ in self.store.versions_everywhere(object_id):
            try:
                found = self.read_objects(
                    user, collection_id, VersionFilter(object_ids=(object_id,)), limit=1
                )
            except NotFound:
                continue
            if found.items:
                return True
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
        if key == self.signing_key:
            return "this node"
        peer = next((p for p in self.store.peers.all() if p.signing_key == key), None)
        return f"node {peer.name}" if peer else f"node with key {key}"

    def _originated_by(self, user: User, object_id: str) -> tuple[str, dict[str, StoredVersion]]:
        """The originator the user approves for (its organization; the node for its operator)
        and the collections where that originator wrote the object, with the version added
        last there."""
        if user.is_system or (user.is_admin and user.organization_id is None):
            originator = NODE_ORIGINATOR
        elif user.organization_id is not None and user.roles & _WRITE_ROLES:
            originator = user.organization_id
        else:
            raise PermissionDenied("only a contributor of the originating organization approves")
        keys = self.store.access_keys()
        found: dict[str, StoredVersion] = {}
        for collection_id, item in self.store.versions_everywhere(object_id):
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
        keys = self.store.access_keys()
        held = [keys[item.label] for _, item in self.store.versions_everywhere(object_id)]
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
            self._organization(originator),
            originator,
            self._agreement(self._collection(collection_id)),
            self.registry(),
            operator=True,
        )
        prepared = prepare([approval], rules)
        if prepared.failures:
            raise InvalidInput(prepared.failures[0]["message"])
        return prepared.versions

    def _written(self, collection_id: str) -> None:
        for listener in self.write_listeners:
            listener(collection_id)

    def _no_rights(self, user: User, collection: Collection, agreement: Agreement) -> str:
        """The collection-level reason, which comes before any marking."""
        where = f"collection {collection.title!r}"
        if user.disabled:
            return f"no access: user {user.name} is disabled"
        if user.organization_id is None:
            return f"no access to {where}: user {user.name} belongs to no organization"
        organization = self._organization(user.organization_id)
        if not agreement.has_party(organization):
            return (
                f"no access to {where}: {organization.id} is not a party of agreement "
                f"{agreement.name!r} v{agreement.version}"
            )
        return (
            f"no access to {where}: user {user.name} holds no reader, contributor or curator role"
        )

    def status(self, user: User, status_id: str) -> StatusRecord:
        """A status names the versions its request wrote, so only that writer reads it; an
        admin's clearance need not cover them."""
        record = self.store.get_status(status_id)
        if record is None or not (user.is_system or record.user_name == user.name):
            raise NotFound(f"no status {status_id}")
        return record


_VIEWS_KEPT = 512
_READ_ROLES = frozenset({"reader", "contributor", "curator"})
_WRITE_ROLES = frozenset({"contributor", "curator"})


def _shown(
    items: Iterable[StoredVersion], view: View, *, with_body: bool
) -> Iterator[StoredVersion]:
    for item in items:
        if item.label in view.checked:
            body = view.body(item)
            if body is None:
                continue
            item = item._replace(body=body)
        yield item if with_body else item._replace(body=b"")


ATTESTED_ORIGINATORS = "x_allyshare_originators"
"""The envelope property in which a node tells a peer node who wrote each object it sends."""


@dataclass(frozen=True)
class Attested:
    """Who a peer says wrote what it sent: the originator to record per object, and for each
    object whose claim was not taken, why (told back to the peer in the status)."""

    originators: list[str]
    notes: dict[int, str]


def received_originators(
    country: str,
    peer_name: str,
    attested: object,
    submitted: Sequence[object],
    local_organizations: Container[str],
) -> Attested:
    """The originator to record for each object a peer sent, always with the peer.

    A peer answers only for its own members, and only as far as its node tells peers who
    wrote what (`Node.public_originator`). A claim (`ATTESTED_ORIGINATORS`, one entry per
    object) naming an organization is taken when that organization is of the peer's
    country, is not one of this node's own (`Node._own_organizations`), and is the object's
    author (``created_by_ref``); otherwise only the organization's country is recorded, so
    nothing is credited to an organization the peer cannot answer for, while NOFORN is still
    judged by the writer's country. A claim naming only a country is taken: misstating it
    could only loosen the peer's own data, which its node controls anyway. Without a usable
    claim, the peer's country is recorded.
    """
    fallback = peer_originator(country, peer_name)
    if not isinstance(attested, list) or len(attested) != len(submitted):
        return Attested([fallback] * len(submitted), {})
    originators: list[str] = []
    notes: dict[int, str] = {}
    for position, (claim, obj) in enumerate(zip(attested, submitted, strict=True)):
        if isinstance(claim, str) and COUNTRY_CODE.match(claim):
            originators.append(peer_originator(claim, peer_name))
        elif isinstance(claim, str) and ORGANIZATION_ID.fullmatch(claim):
            refused = _organization_claim_problem(claim, obj, country, local_organizations)
            if refused is None:
                originators.append(peer_originator(claim, peer_name))
            else:
                claimed_country = claim.split(".")[0]
                originators.append(peer_originator(claimed_country, peer_name))
                notes[position] = (
                    f"attested originator {claim} not taken ({refused}); recorded as written "
                    f"in {claimed_country}"
                )
        else:
            originators.append(fallback)
            if claim is not None:
                notes[position] = (
                    f"attested originator {str(claim)[:80]!r} is neither a country nor an "
                    f"organization id; recorded as {country}'s"
                )
    return Attested(originators, notes)


def _organization_claim_problem(
    claim: str, obj: object, country: str, local_organizations: Container[str]
) -> str | None:
    """Why a peer may not credit this object to this organization, or None when it may."""
    if claim in local_organizations:
        return "one of this node's own organizations, which a peer does not answer for"
    if claim.split(".")[0] != country:
        return f"not an organization of {country}, the peer's country"
    author = obj.get("created_by_ref") if isinstance(obj, dict) else None
    if author != identity_of(claim):
        return "the object does not name it as author (created_by_ref)"
    return None


@dataclass(frozen=True)
class ReuseByView:
    """What becomes of an id another originator already uses, from the writer's view.

    A writer that may see some version of that object is told that only its originator adds
    versions. One that may not see it must not learn that it exists (ids travel in
    ``object_refs``): its version is stored as for an unused id, with the same answer, but
    kept apart for the writer's organization (`WRITER_ONLY`), so it neither passes itself
    off as a version of the other object nor shows that object to its writer. The view is
    built only when such an id comes up, which most writes never meet.
    """

    view_of_writer: Callable[[], View]

    def sees(self, existing: Sequence[StoredVersion]) -> bool:
        view = self.view_of_writer()
        return any(
            (view.visible is None or item.label in view.visible) and view.body(item) is not None
            for item in existing
        )

    def set_apart(self, key: AccessKey) -> AccessKey:
        return key._replace(marking_refs=tuple(sorted({*key.marking_refs, WRITER_ONLY})))

    def is_apart(self, key: AccessKey) -> bool:
        return WRITER_ONLY in key.marking_refs


@dataclass(frozen=True)
class Received:
    """What became of one page pulled from a peer."""

    stored: int
    already_held: int
    refused: list[dict[str, str]]
    notes: list[dict[str, str]] = field(default_factory=list)
    """Objects stored with the peer recorded as their originator, its claim not taken."""


@dataclass(frozen=True)
class WriteRules:
    """Who writes into which agreement, and the markings known: what `check_write` needs."""

    writer: Organization
    originator: str
    agreement: Agreement
    registry: MarkingRegistry
    operator: bool = False
    members: Mapping[str, str] = field(default_factory=dict)
    """Each member organization's STIX identity id, to its organization id."""

    def with_definitions(self, definitions: Sequence[Mapping[str, Any]]) -> WriteRules:
        """Marking definitions sent in the same request count as known for its objects."""
        if not definitions:
            return self
        known = [*self.registry.definitions(), *definitions]
        return replace(self, registry=MarkingRegistry(known))

    @cached_property
    def _check_write(self) -> WriteChecker:
        return WriteChecker(
            self.writer, self.agreement, self.registry, self.members, operator=self.operator
        )

    def problems(self, obj: Mapping[str, Any]) -> list[str]:
        problems = self._check_write(obj)
        if obj.get("type") == APPROVAL_TYPE:
            problems.extend(approval_problems(obj))
        return problems

    def access_key(self, obj: Mapping[str, Any], originator: str | None = None) -> AccessKey:
        return AccessKey(originator or self.originator, *markings_in(obj))


def prepare(
    submitted: Sequence[object], rules: WriteRules, originators: Sequence[str] | None = None
) -> Prepared:
    """Validate and policy-check each object on its own; one bad object never spoils the rest.

    ``originators`` (one per object) record another originator per object than the rules'.
    """
    checked: list[tuple[int, StixObjectInfo, dict[str, Any]]] = []
    failures: dict[int, dict[str, str]] = {}
    for position, obj in enumerate(submitted):
        try:
            checked.append((position, check_object(obj), cast(dict[str, Any], obj)))
        except InvalidObject as exc:
            failures[position] = {
                "id": exc.object_id or _claimed_id(obj),
                "version": _claimed_version(obj),
                "message": str(exc),
            }
    rules = rules.with_definitions(
        [obj for _, info, obj in checked if info.type == "marking-definition"]
    )
    versions: list[NewVersion] = []
    positions: list[int] = []
    warnings: dict[int, str] = {}
    dumps = orjson.dumps
    for position, info, obj in checked:
        version = version_of(obj)
        try:
            body = dumps(obj)
        except TypeError as exc:  # an integer beyond 64 bits, which JSON allows
            message = f"cannot be stored: {exc} (numbers must fit in 64 bits)"
            failures[position] = {"id": info.id, "version": version, "message": message}
            continue
        problems = rules.problems(obj)
        if problems:
            failures[position] = {
                "id": info.id,
                "version": version,
                "message": "refused by policy: " + "; ".join(problems),
            }
            continue
        versions.append(
            NewVersion(
                object_id=info.id,
                type=info.type,
                spec_version=info.spec_version,
                version=version,
                version_key=version_key(version),
                body=body,
                access=rules.access_key(obj, originators[position] if originators else None),
            )
        )
        positions.append(position)
        unenforced = unenforced_markings(obj, rules.registry)
        if unenforced:
            warnings[position] = unenforced
    return Prepared(versions, positions, failures, warnings)


def unenforced_markings(obj: Mapping[str, Any], registry: MarkingRegistry) -> str | None:
    """What to tell the writer of an accepted object whose markings this node cannot enforce
    (no definition of it known, or one it cannot read): such an object, or field, is stored
    fail-closed, visible to the originator's organization and node admins only (DESIGN
    section 3), which the writer would otherwise learn only when nobody else sees it."""
    refs = obj.get("object_marking_refs")
    whole = {ref for ref in refs if isinstance(ref, str)} if isinstance(refs, list) else set()
    granular = obj.get("granular_markings")
    fields = {
        entry["marking_ref"]
        for entry in (granular if isinstance(granular, list) else ())
        if isinstance(entry, Mapping) and isinstance(entry.get("marking_ref"), str)
    }
    notes = []
    for ref in sorted(whole | fields):
        if registry.label(ref) is not None:
            continue
        seen = "it" if ref in whole else "the fields it marks"
        reasons = registry.reasons(ref)
        if reasons == _NO_DEFINITION:
            notes.append(
                f"{ref} is not known to this node, so only your organization and node admins "
                f"can see {seen} until its definition arrives"
            )
        else:
            notes.append(
                f"{ref} cannot be enforced by this node ({'; '.join(reasons)}), so only your "
                f"organization and node admins can see {seen}"
            )
    return "; ".join(notes) or None


_NO_DEFINITION = MarkingRegistry().reasons("marking-definition--unknown")


_LONGEST_ID = 250 + len("--") + 36  # the longest type name, then a UUID


def _claimed_id(obj: object) -> str:
    """The id an object was sent with, even a malformed one, so its sender can find it; cut
    to the length of the longest valid id."""
    value = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(value, str):
        return ""
    return value if len(value) <= _LONGEST_ID else value[: _LONGEST_ID - 3] + "..."


def _claimed_version(obj: object) -> str:
    if isinstance(obj, dict):
        value = obj.get("modified") or obj.get("created")
        if isinstance(value, str):
            return value
    return ""
