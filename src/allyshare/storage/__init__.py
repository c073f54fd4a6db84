"""Storage of object versions, collections, users and statuses; knows nothing of HTTP."""

from allyshare.storage.access import NODE_ORIGINATOR, AccessKey, markings_in
from allyshare.storage.records import (
    AgreementRecord,
    Collection,
    IngestResult,
    NewVersion,
    OrganizationRecord,
    Outcome,
    Page,
    StatusRecord,
    StoredVersion,
    User,
    VersionFilter,
)
from allyshare.storage.store import Store

__all__ = [
    "NODE_ORIGINATOR",
    "AccessKey",
    "AgreementRecord",
    "Collection",
    "IngestResult",
    "NewVersion",
    "OrganizationRecord",
    "Outcome",
    "Page",
    "StatusRecord",
    "Store",
    "StoredVersion",
    "User",
    "VersionFilter",
    "markings_in",
]
