"""Rights: the named operations a node decides, which of them only its administrators may
take, and what a user may do with a collection. Pure, like the marking decision: the gate
gives it the user's organization, roles and the collection's agreement.

The gate checks every request as one of these operations; the audit log records each
decision under the operation's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from allyshare.policy.subjects import Agreement, Organization


class Operation(StrEnum):
    """The named actions the gate decides; each entry records one."""

    OBJECTS_READ = "objects:read"
    OBJECTS_WRITE = "objects:write"
    OBJECTS_DELETE = "objects:delete"
    OBJECTS_SEND = "objects:send"
    OBJECTS_RECEIVE = "objects:receive"
    OBJECTS_EXPIRE = "objects:expire"
    OBJECTS_SCRUB = "objects:scrub"
    OBJECTS_MATCH = "objects:match"
    MEMBERS_READ = "members:read"
    COLLECTIONS_WRITE = "collections:write"
    MEMBERS_WRITE = "members:write"
    AGREEMENTS_WRITE = "agreements:write"
    PEERS_READ = "peers:read"
    PEERS_WRITE = "peers:write"
    ORCON_APPROVE = "orcon:approve"
    POLICY_EXPLAIN = "policy:explain"
    SOURCES_REVEAL = "sources:reveal"
    AUDIT_READ = "audit:read"
    AUDIT_VERIFY = "audit:verify"
    AUDIT_COSIGN = "audit:cosign"
    LOGIN_FAILED = "login:failed"
    SESSIONS_OPEN = "sessions:open"
    SESSIONS_CLOSE = "sessions:close"


ADMINISTRATIVE = frozenset(
    {
        Operation.MEMBERS_READ,
        Operation.MEMBERS_WRITE,
        Operation.AGREEMENTS_WRITE,
        Operation.COLLECTIONS_WRITE,
        Operation.PEERS_READ,
        Operation.PEERS_WRITE,
        Operation.AUDIT_VERIFY,
        Operation.OBJECTS_EXPIRE,
        Operation.SOURCES_REVEAL,
    }
)


def administers(action: Operation, *, is_admin: bool) -> bool:
    """Whether a user may take an action that only administrators take: the node's admins
    and its operator's console, nobody else (a role gives no administrative right)."""
    return is_admin or action not in ADMINISTRATIVE


READ_ROLES = frozenset({"reader", "contributor", "curator"})
WRITE_ROLES = frozenset({"contributor", "curator"})


@dataclass(frozen=True, slots=True)
class CollectionRights:
    can_read: bool
    can_write: bool
    can_curate: bool = False


def collection_rights(
    agreement: Agreement,
    organization: Organization | None,
    roles: frozenset[str],
    *,
    is_admin: bool = False,
    peer_agreement: str | None = None,
    local: bool = False,
    category: str | None = None,
) -> CollectionRights:
    """Rights follow from the collection's agreement and the user's roles.

    Admins hold every right. A peer node reads and writes the collections shared under its
    agreement with this node (``peer_agreement``), never a ``local`` one (bound to no
    agreement, kept to the node's own country). Anyone else needs an organization that is a
    party of the agreement; then ``reader`` reads, ``contributor`` also writes, ``curator``
    also deletes. A collection of a ``category`` its agreement no longer covers (a new
    version dropped it) is shared with no one but admins until it does again; one that
    declares none predates categories.
    """
    if is_admin:
        return CollectionRights(True, True, True)
    if not local and category is not None and category not in agreement.categories:
        return CollectionRights(False, False)
    if peer_agreement is not None:
        shares = not local and agreement.name == peer_agreement
        return CollectionRights(can_read=shares, can_write=shares)
    if organization is None or not agreement.has_party(organization):
        return CollectionRights(False, False)
    return CollectionRights(
        can_read=bool(roles & READ_ROLES),
        can_write=bool(roles & WRITE_ROLES),
        can_curate="curator" in roles,
    )
