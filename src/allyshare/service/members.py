"""Members of the node: users and their tokens, organizations, agreements, collections."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome
from allyshare.clock import now_us
from allyshare.community import (
    CATEGORIES,
    KINDS,
    agreement_from_document,
    check_country,
    organization_id,
)
from allyshare.config import Settings
from allyshare.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
)
from allyshare.policy import (
    Agreement,
    Classification,
)
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.storage import (
    AgreementRecord,
    Collection,
    OrganizationRecord,
    Store,
    User,
)
from allyshare.storage.store import NoAdminLeft

TOKEN_BYTES = 32
ROLES = frozenset({"reader", "contributor", "curator", "admin"})
DEFAULT_ROLES = frozenset({"reader"})
# Basic auth splits on the first ":", so a name must not hold one.
USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,200}")
CONSOLE = User(name="system:cli", is_admin=True, disabled=False, is_system=True)
"""The node's operator at its own console: the CLI and the demo act as it."""


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


class Members:
    """Who belongs to the node, and the agreements and collections they share under."""

    def __init__(self, settings: Settings, store: Store, gate: Gate) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate

    def authenticate_token(self, token: str) -> User:
        digest = hash_token(token)
        found = self._store.user_by_token_hash(digest)
        return self._accept(found, digest)

    def authenticate_basic(self, name: str, token: str) -> User:
        found = self._store.user_by_name(name)
        return self._accept(found, hash_token(token))

    def record_failed_logins(self, client: str, name: str | None) -> None:
        detail = {"client": client} | ({"user": name} if name is not None else {})
        entry = AuditEntry(
            Operation.LOGIN_FAILED,
            Actor(name or client, "unknown"),
            AuditOutcome.DENIED,
            reason="too many failed logins",
            detail=detail,
        )
        self._gate.record(entry)

    @staticmethod
    def _accept(found: tuple[User, str] | None, digest: str) -> User:
        stored = found[1] if found else hash_token(new_token())
        matches = hmac.compare_digest(stored.encode(), digest.encode())
        if found is None or not matches or found[0].disabled:
            raise AuthenticationFailed("unknown or disabled credentials")
        return found[0]

    def add_user(
        self,
        actor: User,
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
        self._gate.require(actor, Operation.MEMBERS_WRITE)
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
            known = {o.id: o for o in self._store.list_organizations()}
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
        detail = {"user": name, "organization": organization, "roles": sorted(role_set)}
        with self._change(actor, Operation.MEMBERS_WRITE, "add user", detail):
            self._store.create_user(user, hash_token(token))
        return token

    def disable_user(self, actor: User, name: str, *, disabled: bool = True) -> None:
        """Disabling the node's last active admin is refused (Conflict)."""
        self._gate.require(actor, Operation.MEMBERS_WRITE)
        change = "disable user" if disabled else "enable user"
        try:
            with self._change(actor, Operation.MEMBERS_WRITE, change, {"user": name}):
                self._store.set_user_disabled(name, disabled)
        except NoAdminLeft:
            raise Conflict(_last_admin(f"user {name!r} is", "disabled")) from None

    def change_user(
        self,
        actor: User,
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
        self._gate.require(actor, Operation.MEMBERS_WRITE)
        found = self._store.user_by_name(name)
        if found is None:
            raise NotFound(f"no user {name!r}")
        values: dict[str, Any] = {}
        if organization is not None:
            if organization not in {o.id for o in self._store.list_organizations()}:
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
            detail = {"user": name, "changed": sorted(values)}
            try:
                with self._change(actor, Operation.MEMBERS_WRITE, "change user", detail):
                    self._store.update_user(name, **values)
            except NoAdminLeft:
                raise Conflict(_last_admin(f"user {name!r} is", "demoted or disabled")) from None
        changed = self._store.user_by_name(name)
        assert changed is not None
        return changed[0]

    def users(self, actor: User) -> list[User]:
        self._gate.require(actor, Operation.MEMBERS_READ)
        return self._store.list_users()

    def organizations(self, actor: User) -> list[OrganizationRecord]:
        self._gate.require(actor, Operation.MEMBERS_READ)
        return self._store.list_organizations()

    def change_organization(
        self,
        actor: User,
        organization: str,
        *,
        name: str | None = None,
        sectors: Iterable[str] | None = None,
        disabled: bool | None = None,
    ) -> OrganizationRecord:
        """Rename, re-sector or disable an organization, all or nothing; its id (which
        markings name) never changes. Disabling it cuts off its users at once, and is
        refused (Conflict) when it holds the node's last active admin."""
        self._gate.require(actor, Operation.MEMBERS_WRITE)
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
            detail = {"organization": organization, "changed": sorted(values)}
            try:
                with self._change(actor, Operation.MEMBERS_WRITE, "change organization", detail):
                    self._store.update_organization(organization, **values)
            except NoAdminLeft:
                raise Conflict(
                    _last_admin(f"organization {organization!r} holds", "disabled")
                ) from None
        for record in self._store.list_organizations():
            if record.id == organization:
                return record
        raise NotFound(f"no organization {organization!r}")

    def add_organization(
        self, actor: User, name: str, *, country: str, kind: str, sectors: Iterable[str] = ()
    ) -> str:
        """Register a member organization and return the id its markings use."""
        self._gate.require(actor, Operation.MEMBERS_WRITE)
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
        with self._change(
            actor, Operation.MEMBERS_WRITE, "add organization", {"organization": record.id}
        ):
            self._store.create_organization(record)
        return record.id

    def disable_organization(
        self, actor: User, organization: str, *, disabled: bool = True
    ) -> None:
        """Disabling an organization disables every one of its users at once; refused
        (Conflict) when that would cut off the node's last active admin."""
        self.change_organization(actor, organization, disabled=disabled)

    def apply_agreement(self, actor: User, document: Mapping[str, Any]) -> tuple[Agreement, bool]:
        """Check and keep an agreement version; False when it was already in force unchanged.

        The organizations it names must be registered here: a party this node does not know
        would bind nobody on it, so the name is more likely a mistake than a promise.
        """
        self._gate.require(actor, Operation.AGREEMENTS_WRITE)
        agreement = agreement_from_document(document)
        known = {record.id for record in self._store.list_organizations()}
        unknown = sorted(agreement.party_organizations - known)
        if unknown:
            raise InvalidInput(
                f"agreement refused: parties.organizations names {unknown}, not registered on "
                "this node; register them first (org add NAME --country ISO3 --kind KIND)"
            )
        detail = {"agreement": agreement.name, "version": agreement.version}
        with self._change(actor, Operation.AGREEMENTS_WRITE, "apply agreement", detail):
            changed = self._store.save_agreement(
                AgreementRecord(agreement.name, agreement.version, dict(document), now_us())
            )
        return agreement, changed

    def agreements(self) -> list[Agreement]:
        """The agreements in force: the terms every member shares under, not a secret."""
        return [agreement_from_document(r.document) for r in self._store.agreements_newest()]

    def rotate_token(self, actor: User, name: str) -> str:
        self._gate.require(actor, Operation.MEMBERS_WRITE)
        token = new_token()
        with self._change(actor, Operation.MEMBERS_WRITE, "rotate token", {"user": name}):
            self._store.set_token_hash(name, hash_token(token))
        return token

    def add_collection(
        self,
        actor: User,
        title: str,
        description: str = "",
        *,
        agreement: str | None = None,
        category: str | None = None,
        anonymous_by_default: bool = False,
    ) -> Collection:
        self._gate.require(actor, Operation.COLLECTIONS_WRITE)
        if not title.strip():
            raise InvalidInput("a collection needs a title")
        category = self._category_for(agreement, category)
        collection = Collection(
            str(uuid.uuid4()),
            title,
            description,
            now_us(),
            agreement,
            category,
            anonymous_by_default,
        )
        detail = {
            "title": title,
            "agreement": agreement,
            "category": category,
            "anonymous_by_default": anonymous_by_default,
        }
        with self._change(
            actor, Operation.COLLECTIONS_WRITE, "add collection", detail, collection.id
        ):
            self._store.create_collection(collection)
        return collection

    def _category_for(self, agreement_name: str | None, category: str | None) -> str | None:
        """The category a new collection declares: one its agreement covers (the only one,
        when the agreement lists one and none is named), or any for a national collection."""
        if category is not None and category not in CATEGORIES:
            raise InvalidInput(f"unknown category {category!r}; one of {sorted(CATEGORIES)}")
        if agreement_name is None:
            return category
        agreement = next((a for a in self.agreements() if a.name == agreement_name), None)
        if agreement is None:
            raise NotFound(f"no agreement {agreement_name!r}; apply it first")
        if category is None:
            if len(agreement.categories) != 1:
                raise InvalidInput(
                    f"agreement {agreement_name!r} covers {sorted(agreement.categories)}: "
                    "name the collection's category"
                )
            [category] = agreement.categories
        elif category not in agreement.categories:
            raise InvalidInput(
                f"agreement {agreement_name!r} does not cover {category!r}, only "
                f"{sorted(agreement.categories)}"
            )
        return category

    @contextmanager
    def _change(
        self,
        actor: User,
        action: Operation,
        change: str,
        detail: Mapping[str, Any],
        collection_id: str | None = None,
    ) -> Iterator[None]:
        """Make an administrator's change (its right checked first, before anything about
        the change is looked at or told), recorded in the change's own transaction."""
        entry = AuditEntry(
            action,
            actor_of(actor),
            AuditOutcome.ALLOWED,
            collection_id,
            detail={"change": change} | {k: v for k, v in detail.items() if v is not None},
        )
        with self._store.begin() as unit:
            yield
            self._gate.record(entry, unit)
