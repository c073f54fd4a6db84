"""Retention: an agreement's ``retention_days`` removes the versions a node has held longer
than that, on every node that holds them (each by its own ``date_added``), in the same
transaction as the audit entry that counts them. Receipts and the audit log are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from allyshare.audit.entries import AuditEntry, AuditOutcome
from allyshare.clock import now_us
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.storage import Store, User

DAY_US = 86_400 * 1_000_000
SCHEDULE = User(name="system:retention", is_admin=True, disabled=False, is_system=True)
"""Who the node's own scheduled runs act as."""


@dataclass(frozen=True, slots=True)
class Expired:
    """What one run removed from one collection: versions added before ``added_before``."""

    collection: str
    agreement: str
    retention_days: int
    added_before: int
    versions: int


class Retention:
    def __init__(self, store: Store, gate: Gate) -> None:
        self._store = store
        self._gate = gate

    def run(self, actor: User, now: int | None = None) -> list[Expired]:
        """Remove what every collection's agreement no longer keeps, as of ``now``
        (microseconds since the epoch; the clock when not given). One audit entry per run
        that removed anything, with the counts per collection."""
        self._gate.require(actor, Operation.OBJECTS_EXPIRE)
        now = now_us() if now is None else now
        found: list[Expired] = []
        with self._store.begin() as unit:
            for collection in self._store.list_collections():
                if collection.agreement_name is None:
                    continue
                days = self._gate.agreement(collection).retention_days
                if days is None:
                    continue
                added_before = now - days * DAY_US
                removed = self._store.expire_versions(collection.id, added_before)
                found.append(
                    Expired(collection.id, collection.agreement_name, days, added_before, removed)
                )
            expired = [e for e in found if e.versions]
            if expired:
                self._gate.record(
                    AuditEntry(
                        Operation.OBJECTS_EXPIRE,
                        actor_of(actor),
                        AuditOutcome.ALLOWED,
                        detail={
                            "as_of": now,
                            "collections": {
                                e.collection: {
                                    "agreement": e.agreement,
                                    "retention_days": e.retention_days,
                                    "versions": e.versions,
                                }
                                for e in expired
                            },
                        },
                    ),
                    unit,
                )
        return found
