"""What the store takes and returns: plain records with no HTTP or policy meaning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple, Protocol

from allyshare.storage.access import AccessKey


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    title: str
    description: str
    created_at: int
    agreement_name: str | None = None
    category: str | None = None
    anonymous_by_default: bool = False


@dataclass(frozen=True, slots=True)
class User:
    """A user or API client; ``disabled`` is true when the user or its organization is."""

    name: str
    is_admin: bool
    disabled: bool
    organization_id: str | None = None
    nationality: str | None = None
    clearance: str = "U"
    roles: frozenset[str] = frozenset()
    is_system: bool = False
    """The node's own console work (never stored, never reachable over HTTP)."""
    peer: str | None = None
    """A peer node, known by its request signature (never stored as a user)."""
    peer_agreement: str | None = None
    """The agreement that peer shares under."""
    peer_key: str | None = None
    """That peer's signing key, which ORCON approvals name it by."""


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    id: str
    name: str
    country: str
    kind: str
    sectors: tuple[str, ...]
    disabled: bool


@dataclass(frozen=True, slots=True)
class AgreementRecord:
    """One applied version of an agreement, with the document as the operator wrote it."""

    name: str
    version: int
    document: dict[str, Any]
    applied_at: int


class NewVersion(NamedTuple):
    """One validated object version to store; ``body`` is its canonical JSON. A named tuple,
    as `StoredVersion`: a write makes one per object."""

    object_id: str
    type: str
    spec_version: str
    version: str
    version_key: str
    body: bytes
    access: AccessKey
    observables: frozenset[tuple[str, str]] = frozenset()
    """The (type, normalized value) pairs the correlation index holds for it."""


class IdReuse(Protocol):
    """What a write does with an id that another originator already uses in the collection.

    The service answers, from the writer's view; the store only asks, inside its write
    transaction, so the answer and the write see the same rows.
    """

    def sees(self, existing: Sequence[StoredVersion]) -> bool:
        """Whether the writer may see any of these stored versions of that other object."""
        ...

    def set_apart(self, key: AccessKey) -> AccessKey:
        """The access key of a version kept apart for its writer, who may not see them."""
        ...

    def is_apart(self, key: AccessKey) -> bool:
        """Whether a stored version's key is one `set_apart` made."""
        ...


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    NOT_ORIGINATOR = "not originator"


class Occurrence(NamedTuple):
    """One version mentioning an observable value: the correlation index's row, with what the
    version is."""

    kind: str
    value: str
    date_added: int
    label: int
    object_id: str
    version: str
    type: str


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A member's request to be put in touch with the originator of objects holding values
    it matched privately: for that originator's organization alone to read."""

    id: str
    collection_id: str
    originator: str
    object_ids: tuple[str, ...]
    from_organization: str
    from_user: str
    message: str
    created_at: int


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Per input version, in input order, what the store did with it; and the ``date_added``
    given to each version it stored, with the originator it was recorded under (a peer's
    later version joins the lineage it started, under that lineage's originator)."""

    outcomes: list[Outcome]
    added: list[int] = field(default_factory=list)
    originators: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class VersionFilter:
    """Which versions of which objects a read selects.

    ``versions`` holds ``"last"``, ``"first"``, ``"all"`` and/or version keys; an object
    version is selected when it matches any of them.
    """

    object_ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    spec_versions: tuple[str, ...] = ()
    versions: frozenset[str] = frozenset({"last"})
    added_after: int | None = None
    labels: frozenset[int] | None = None
    """Only versions under these access keys (None: any): a narrowing by marking, applied
    after ``last``/``first`` are settled among the versions the reader passes, so it narrows
    a read and never changes which version of an object it shows."""


class StoredVersion(NamedTuple):
    """One version as read. A named tuple, not a frozen dataclass like the other records: a
    page builds ten thousand of them, and a frozen dataclass's ``__init__`` cost more than
    reading the row (bench/realistic.py)."""

    date_added: int
    object_id: str
    version: str
    body: bytes
    label: int = 0


@dataclass(frozen=True, slots=True)
class Page:
    items: list[StoredVersion]
    more: bool


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A TAXII add-objects status, as kept; ``details`` lists per-object results."""

    id: str
    collection_id: str
    user_name: str
    request_timestamp: int
    total_count: int
    success_count: int
    failure_count: int
    pending_count: int
    successes: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    pendings: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PeerRecord:
    """Another node or TAXII server: where it is, the certificate pinned for it, and what it is
    to the policy (its country, the agreement it shares under)."""

    name: str
    api_root: str
    certificate: bytes
    fingerprint: str
    country: str
    agreement_name: str
    signing_key: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """One peer collection pulled into a local one, and how that has gone."""

    peer_name: str
    remote_collection: str
    local_collection: str
    push: bool
    cursor: str | None = None
    last_success: int | None = None
    last_error: str | None = None
    objects_in: int = 0
    objects_out: int = 0
    push_cursor: int | None = None
    """The local ``date_added`` pushed up to (with ``push``)."""


@dataclass(frozen=True, slots=True)
class RevealRecord:
    """A reveal of an anonymous contributor: asked by one admin, confirmed by another when
    the agreement wants two."""

    id: str
    object_id: str
    reason: str
    requested_by: str
    requested_at: int
    confirmed_by: str | None = None
    confirmed_at: int | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A web UI session, found by the SHA-256 of its id (the id itself is never stored)."""

    digest: str
    user_name: str
    csrf: str
    created_at: int
    expires_at: int
