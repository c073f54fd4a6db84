"""Peers and subscriptions as kept; the sync state of a subscription changes only with the
objects it describes (see :meth:`allyshare.storage.store.Unit.advance`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from allyshare.clock import now_us, parse_us
from allyshare.errors import Conflict, InvalidInput, NotFound
from allyshare.storage.records import PeerRecord, SubscriptionRecord
from allyshare.storage.schema import peers, subscriptions
from allyshare.storage.transactions import Transactions


class PeerStore:
    def __init__(self, read: Engine, write: Transactions) -> None:
        self._read = read
        self._write = write

    def add(self, peer: PeerRecord) -> None:
        try:
            with self._write.begin() as connection:
                connection.execute(insert(peers).values(**asdict(peer)))
        except IntegrityError:
            raise Conflict(f"peer {peer.name!r} already exists") from None

    def get(self, name: str) -> PeerRecord:
        with self._read.connect() as connection:
            row = connection.execute(select(peers).where(peers.c.name == name)).first()
        if row is None:
            raise NotFound(f"no peer {name!r}")
        return _peer(row)

    def all(self) -> list[PeerRecord]:
        with self._read.connect() as connection:
            return [_peer(row) for row in connection.execute(select(peers).order_by(peers.c.name))]

    def remove(self, name: str) -> None:
        """The peer and its subscriptions; what was received from it stays, with its receipts."""
        with self._write.begin() as connection:
            connection.execute(delete(subscriptions).where(subscriptions.c.peer_name == name))
            if connection.execute(delete(peers).where(peers.c.name == name)).rowcount == 0:
                raise NotFound(f"no peer {name!r}")

    def subscribe(self, subscription: SubscriptionRecord) -> None:
        self.get(subscription.peer_name)
        try:
            with self._write.begin() as connection:
                connection.execute(insert(subscriptions).values(**asdict(subscription)))
        except IntegrityError:
            raise Conflict(
                f"peer {subscription.peer_name!r} collection {subscription.remote_collection} "
                "is already subscribed"
            ) from None

    def subscriptions(self, peer_name: str | None = None) -> list[SubscriptionRecord]:
        query = select(subscriptions).order_by(
            subscriptions.c.peer_name, subscriptions.c.remote_collection
        )
        if peer_name is not None:
            query = query.where(subscriptions.c.peer_name == peer_name)
        with self._read.connect() as connection:
            return [SubscriptionRecord(**row._mapping) for row in connection.execute(query)]

    def record_failure(self, subscription: SubscriptionRecord, error: str) -> None:
        with self._write.begin() as connection:
            connection.execute(
                update(subscriptions).where(*_is(subscription)).values(last_error=error[:2000])
            )

    def pushed(self, subscription: SubscriptionRecord, up_to: int, count: int) -> None:
        """The peer acknowledged local versions up to ``up_to``. The cursor never moves back:
        a push round of the CLI and one of the server may overlap."""
        with self._write.begin() as connection:
            held = _current(connection, subscription, subscriptions.c.push_cursor)
            connection.execute(
                update(subscriptions)
                .where(*_is(subscription))
                .values(
                    push_cursor=max(up_to, held or 0),
                    last_success=now_us(),
                    last_error=None,
                    objects_out=subscriptions.c.objects_out + count,
                )
            )

    @staticmethod
    def advance(
        connection: Connection, subscription: SubscriptionRecord, cursor: str | None, count: int
    ) -> None:
        """Move the cursor on inside the caller's transaction (the one storing the objects).

        It never moves back: a sync from the command line and the serving node's own may
        pull the same subscription at once, and the one that read less must not win.
        """
        held = _current(connection, subscription, subscriptions.c.cursor)
        if cursor is None or (held is not None and _instant(held) > _instant(cursor)):
            cursor = held
        connection.execute(
            update(subscriptions)
            .where(*_is(subscription))
            .values(
                cursor=cursor,
                last_success=now_us(),
                last_error=None,
                objects_in=subscriptions.c.objects_in + count,
            )
        )


def _current(connection: Connection, subscription: SubscriptionRecord, column: Any) -> Any:
    """The stored value, locked for the rest of the transaction (PostgreSQL; SQLite writes
    one transaction at a time)."""
    query = select(column).where(*_is(subscription)).with_for_update()
    return connection.execute(query).scalar_one_or_none()


def _instant(cursor: str) -> tuple[int, str]:
    """A cursor's order: its time when it is a timestamp (peers write them at different
    precisions), else its text."""
    try:
        return parse_us(cursor), cursor
    except InvalidInput:
        return -1, cursor


def _is(subscription: SubscriptionRecord) -> tuple[Any, ...]:
    return (
        subscriptions.c.peer_name == subscription.peer_name,
        subscriptions.c.remote_collection == subscription.remote_collection,
    )


def _peer(row: Any) -> PeerRecord:
    return PeerRecord(**row._mapping)
