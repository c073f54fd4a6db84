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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import orjson

from allyshare.clock import now_us
from allyshare.community import KINDS, agreement_from_document, organization_id
from allyshare.config import COUNTRY_CODE, Settings
from allyshare.errors import (
    AuthenticationFailed,
    InvalidInput,
    InvalidObject,
    NotFound,
    PermissionDenied,
)
from allyshare.policy import Agreement, Classification
from allyshare.stix.validation import check_object
from allyshare.stix.versions import version_key, version_of
from allyshare.storage import (
    AgreementRecord,
    Collection,
    IngestResult,
    NewVersion,
    OrganizationRecord,
    Outcome,
    Page,
    StatusRecord,
    Store,
    User,
    VersionFilter,
)

Access = Literal["see", "read", "write"]
TOKEN_BYTES = 32
ROLES = frozenset({"reader", "contributor", "curator", "admin"})
# Basic auth splits on the first ":", so a name must not hold one.
USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,200}")
_OUTCOME_MESSAGES = {
    Outcome.STORED: "stored",
    Outcome.DUPLICATE: "already stored: this version was received before",
    Outcome.CONFLICT: "conflict: an object with this id and no version timestamp is already "
    "stored with different content",
}


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


@dataclass(frozen=True, slots=True)
class Prepared:
    """The outcome of checking one submitted object before anything is written."""

    versions: list[NewVersion]
    positions: list[int]
    failures: dict[int, dict[str, str]]


class Node:
    """One allyshare node: settings plus store, with access checked on every operation."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    @classmethod
    def open(cls, settings: Settings) -> Node:
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
        roles: Iterable[str] = (),
    ) -> str:
        """Create a user and return its token; the token is shown once and stored hashed."""
        if not USER_NAME.fullmatch(name):
            raise InvalidInput(
                f"user name {name!r} must be 1-200 letters, digits or . _ @ - (no spaces or ':')"
            )
        role_set = frozenset(roles)
        unknown_roles = sorted(role_set - ROLES)
        if unknown_roles:
            raise InvalidInput(f"unknown roles {unknown_roles}; use {sorted(ROLES)}")
        Classification.parse(clearance)
        if nationality is not None and not COUNTRY_CODE.fullmatch(nationality):
            raise InvalidInput(
                f"nationality must be an ISO 3166-1 alpha-3 code, got {nationality!r}"
            )
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
        self.store.set_user_disabled(name, disabled)

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
        """Disabling an organization disables every one of its users at once."""
        self.store.set_organization_disabled(organization, disabled)

    def apply_agreement(self, document: Mapping[str, Any]) -> tuple[Agreement, bool]:
        """Check and keep an agreement version; False when it was already in force unchanged."""
        agreement = agreement_from_document(document)
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

    def grant(self, user_name: str, collection_id: str, *, read: bool, write: bool) -> None:
        if self.store.user_by_name(user_name) is None:
            raise NotFound(f"no user {user_name!r}")
        self._collection(collection_id)
        self.store.grant(user_name, collection_id, read=read, write=write)

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
        if user.is_admin:
            return [CollectionAccess(c, True, True) for c in self.store.list_collections()]
        rights = self.store.permissions_of(user.name)
        return [
            CollectionAccess(c, rights[c.id].can_read, rights[c.id].can_write)
            for c in self.store.list_collections()
            if c.id in rights
        ]

    def collection_for(self, user: User, collection_id: str, need: Access) -> CollectionAccess:
        """The collection if the user may ``need`` it; invisible ones are simply not found.

        ``see`` asks only that the user holds some right on it (the collection resource).
        """
        collection = self.store.get_collection(collection_id)
        if collection is None:
            raise NotFound(f"no collection {collection_id}")
        if user.is_admin:
            return CollectionAccess(collection, True, True)
        right = self.store.permissions_of(user.name).get(collection_id)
        if right is None:
            raise NotFound(f"no collection {collection_id}")
        if need == "read" and not right.can_read:
            raise PermissionDenied(f"no read access to collection {collection_id}")
        if need == "write" and not right.can_write:
            raise PermissionDenied(f"no write access to collection {collection_id}")
        return CollectionAccess(collection, right.can_read, right.can_write)

    # objects

    def add_objects(
        self, user: User, collection_id: str, submitted: Sequence[object]
    ) -> StatusRecord:
        """Check every object, store the valid ones in one transaction, record the status."""
        self.collection_for(user, collection_id, "write")
        requested = now_us()
        prepared = prepare(submitted)

        def status_of(result: IngestResult) -> StatusRecord:
            successes: list[dict[str, str]] = []
            failures = dict(prepared.failures)
            for position, version, outcome in zip(
                prepared.positions, prepared.versions, result.outcomes, strict=True
            ):
                record = {
                    "id": version.object_id,
                    "version": version.version,
                    "message": _OUTCOME_MESSAGES[outcome],
                }
                if outcome is Outcome.CONFLICT:
                    failures[position] = record
                else:
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

        return self.store.ingest_recorded(collection_id, prepared.versions, status_of)

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
        """A page of versions; without bodies it serves the manifest and versions endpoints."""
        self.collection_for(user, collection_id, "read")
        return self.store.read_page(
            collection_id, selection, limit=limit, after=after, with_body=with_body
        )

    def export(self, user: User, collection_id: str, selection: VersionFilter) -> Iterator[bytes]:
        self.collection_for(user, collection_id, "read")
        return self.store.iter_versions(collection_id, selection)

    def delete_objects(self, user: User, collection_id: str, selection: VersionFilter) -> int:
        if not self.collection_for(user, collection_id, "write").can_read:
            raise PermissionDenied(f"no read access to collection {collection_id}")
        deleted = self.store.delete_versions(collection_id, selection)
        if deleted == 0:
            raise NotFound("no object with that id and version in this collection")
        return deleted

    def status(self, user: User, status_id: str) -> StatusRecord:
        record = self.store.get_status(status_id)
        if record is None or not (user.is_admin or record.user_name == user.name):
            raise NotFound(f"no status {status_id}")
        return record


def prepare(submitted: Sequence[object]) -> Prepared:
    """Validate each object on its own; one bad object never spoils the rest."""
    versions: list[NewVersion] = []
    positions: list[int] = []
    failures: dict[int, dict[str, str]] = {}
    dumps = orjson.dumps
    for position, obj in enumerate(submitted):
        try:
            info = check_object(obj)
        except InvalidObject as exc:
            failures[position] = {
                "id": exc.object_id or "",
                "version": _claimed_version(obj),
                "message": str(exc),
            }
            continue
        checked = cast(dict[str, Any], obj)
        version = version_of(checked)
        versions.append(
            NewVersion(
                object_id=info.id,
                type=info.type,
                spec_version=info.spec_version,
                version=version,
                version_key=version_key(version),
                body=dumps(checked),
            )
        )
        positions.append(position)
    return Prepared(versions, positions, failures)


def _claimed_version(obj: object) -> str:
    if isinstance(obj, dict):
        value = obj.get("modified") or obj.get("created")
        if isinstance(value, str):
            return value
    return ""
