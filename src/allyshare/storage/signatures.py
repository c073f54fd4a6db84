"""Signatures the node has accepted, each remembered until it expires.

The store only remembers identifiers and forgets them when their time is past; which
signatures to remember, under what identifier and for how long is the caller's decision
(:mod:`allyshare.federation.signatures`). Being a table, the memory is shared by every process
serving the same database.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from allyshare.clock import now_us
from allyshare.storage.schema import signatures_seen


class SignaturesSeen:
    def __init__(self, write: Engine) -> None:
        self._write = write

    def remember(self, signature_id: str, until: int) -> bool:
        """Remember ``signature_id`` until ``until`` (microseconds since the epoch); False if
        it is remembered already. Entries whose time is past are forgotten on the way."""
        # SKIP LOCKED (PostgreSQL; SQLite writes one transaction at a time): two processes
        # forgetting the same entries at once neither wait for nor deadlock on each other.
        expired = (
            select(signatures_seen.c.signature_id)
            .where(signatures_seen.c.expires_at < now_us())
            .with_for_update(skip_locked=True)
        )
        try:
            with self._write.begin() as connection:
                connection.execute(
                    delete(signatures_seen).where(signatures_seen.c.signature_id.in_(expired))
                )
                connection.execute(
                    insert(signatures_seen).values(signature_id=signature_id, expires_at=until)
                )
        except IntegrityError:
            return False
        return True
