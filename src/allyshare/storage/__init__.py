"""Storage of object versions, collections, users and statuses; knows nothing of HTTP."""

from allyshare.storage.records import (
    AgreementRecord,
    Collection,
    IngestResult,
    NewVersion,
    OrganizationRecord,
    Outcome,
    Page,
    Permission,
    StatusRecord,
    StoredVersion,
    User,
    VersionFilter,
)
from allyshare.storage.store import Store

__all__ = [
    "AgreementRecord",
    "Collection",
    "IngestResult",
    "NewVersion",
    "OrganizationRecord",
    "Outcome",
    "Page",
    "Permission",
    "StatusRecord",
    "Store",
    "StoredVersion",
    "User",
    "VersionFilter",
]
