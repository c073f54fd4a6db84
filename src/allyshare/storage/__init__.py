"""Storage of object versions, collections, users and statuses; knows nothing of HTTP."""

from allyshare.storage.access import (
    NODE_ORIGINATOR,
    AccessKey,
    markings_in,
    origin_of,
    peer_originator,
    sender_of,
)
from allyshare.storage.audit import EntryFilter
from allyshare.storage.records import (
    AgreementRecord,
    Collection,
    ContactRecord,
    IdReuse,
    IngestResult,
    NewVersion,
    Occurrence,
    OrganizationRecord,
    Outcome,
    Page,
    PeerRecord,
    RevealRecord,
    StatusRecord,
    StoredVersion,
    SubscriptionRecord,
    User,
    VersionFilter,
)
from allyshare.storage.store import Store

__all__ = [
    "NODE_ORIGINATOR",
    "AccessKey",
    "AgreementRecord",
    "Collection",
    "ContactRecord",
    "EntryFilter",
    "IdReuse",
    "IngestResult",
    "NewVersion",
    "Occurrence",
    "OrganizationRecord",
    "Outcome",
    "Page",
    "PeerRecord",
    "RevealRecord",
    "StatusRecord",
    "Store",
    "StoredVersion",
    "SubscriptionRecord",
    "User",
    "VersionFilter",
    "markings_in",
    "origin_of",
    "peer_originator",
    "sender_of",
]
