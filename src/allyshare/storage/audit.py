"""The audit log as kept: entries appended in the transaction of what they record, the Merkle
tree's complete subtrees as they complete, checkpoints, cosignatures and witnessed peer
checkpoints. Rows are only ever inserted (the schema's triggers refuse the rest).

Appends are serialised (SQLite's write transactions already are; PostgreSQL takes a
transaction-scoped advisory lock), and each starts from the newest leaf in the database, so
any number of processes append to one log without forking it.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    TextClause,
    and_,
    false,
    func,
    insert,
    or_,
    select,
    text,
)

from allyshare.audit.entries import AuditEntry
from allyshare.audit.merkle import Frontier, leaf_hash
from allyshare.clock import now_us
from allyshare.storage.schema import (
    audit_about,
    audit_checkpoints,
    audit_cosignatures,
    audit_entries,
    audit_nodes,
    peer_checkpoints,
    peer_log_alarms,
)
from allyshare.storage.transactions import Transactions

APPEND_LOCK = 0x616C6C79  # the PostgreSQL advisory lock that serialises appends
NEWEST_LEAF = "SELECT idx, hash FROM audit_nodes WHERE level = 0 ORDER BY idx DESC LIMIT 1"
REFERS = b'"objects_as_in":'  # how a leaf naming its versions as in an earlier entry says so
SEQS_PER_QUERY = 500  # entries read by number per query, well within either backend's limits


@dataclass(frozen=True, slots=True)
class StoredEntry:
    seq: int
    recorded_at: int
    body: bytes
    mac: bytes


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which entries to list; ``about`` restricts to entries about that originator's objects,
    ``object_id`` to entries naming that object (``object_originators``, the originators the
    node records for it, narrow the search to entries about their objects)."""

    actor: str | None = None
    about: str | None = None
    object_id: str | None = None
    action: str | None = None
    since: int | None = None
    until: int | None = None
    object_originators: tuple[str, ...] = ()
    about_also: tuple[str, ...] = ()
    """Other names ``about`` goes by in the log: the pseudonym under which its anonymous
    contributions are recorded (only for that organization's own view)."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    signed_at: int
    note: str


@dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    peer_name: str
    size: int
    note: str
    cosignature: str
    witnessed_at: int


@dataclass(frozen=True, slots=True)
class LogAlarm:
    peer_name: str
    raised_at: int
    reason: str
    held: str
    shown: str


def entry_mac(key: bytes, body: bytes) -> bytes:
    return hmac.digest(key, body, "sha256")


class AuditLog:
    def __init__(self, read: Engine, write: Transactions, *, is_sqlite: bool) -> None:
        self._read = read
        self._write = write
        self._is_sqlite = is_sqlite
        self._kept: tuple[Frontier, bytes] | None = None
        self._frontier_lock = threading.Lock()
        # Straight to the driver, as the objects' bulk insert: a read of 10,000 objects is
        # one entry but 10,000 rows of what it is about.
        marker = "?" if is_sqlite else "%s"
        self._insert_entry = (
            "INSERT INTO audit_entries (seq, recorded_at, action, actor, actor_organization, "
            f"body, mac) VALUES ({', '.join([marker] * 7)})"
        )
        self._insert_about = (
            f"INSERT INTO audit_about (seq, originator) VALUES ({marker}, {marker})"
        )
        self._insert_node = (
            f"INSERT INTO audit_nodes (level, idx, hash) VALUES ({marker}, {marker}, {marker})"
        )

    # appending

    def append(self, connection: Connection, entries: Sequence[AuditEntry], key: bytes) -> Frontier:
        """Append the entries inside the caller's transaction; returns the tree's new
        frontier (its size and root)."""
        with self._frontier_lock:
            frontier = self.frontier(connection)
            recorded_at = now_us()
            rows: list[tuple[object, ...]] = []
            about: list[tuple[object, ...]] = []
            nodes: list[tuple[int, int, bytes]] = []
            last = b""
            for entry in entries:
                seq = frontier.size
                body = entry.leaf(seq, recorded_at)
                organization = entry.actor.organization
                mac = entry_mac(key, body)
                rows.append(
                    (seq, recorded_at, str(entry.action), entry.actor.name, organization, body, mac)
                )
                about.extend((seq, originator) for originator in entry.originators())
                last = leaf_hash(body)
                nodes.extend(frontier.append(last))
            if rows:
                connection.exec_driver_sql(self._insert_entry, rows)
                connection.exec_driver_sql(self._insert_node, nodes)
            if about:
                connection.exec_driver_sql(self._insert_about, about)
            if rows:
                self._kept = (frontier, last)
            return Frontier(frontier.size, frontier.hashes)

    def frontier(self, connection: Connection) -> Frontier:
        """The frontier of the tree as committed, taking the append lock for the rest of
        the transaction. It is the one kept in memory when the newest
        leaf is still the one it ends with (another process, or a rolled-back transaction,
        may have changed that), else read from the stored subtrees."""
        if not self._is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": APPEND_LOCK})
        newest = connection.exec_driver_sql(NEWEST_LEAF).first()
        size = 0 if newest is None else newest.idx + 1
        kept = self._kept
        if kept is not None and newest is not None:
            frontier, last = kept
            if frontier.size == size and last == newest.hash:
                return Frontier(frontier.size, frontier.hashes)
        wanted = frontier_positions(size)
        found = {
            (row.level, row.idx): row.hash
            for row in connection.execute(select(audit_nodes).where(_at(wanted)))
        }
        return Frontier(size, [bytes(found[position]) for position in wanted])

    # checkpoints and cosignatures

    def add_checkpoint(self, size: int, note: str) -> None:
        with self._write.begin() as connection:
            if connection.execute(
                select(audit_checkpoints.c.size).where(audit_checkpoints.c.size == size)
            ).first():
                return
            connection.execute(
                insert(audit_checkpoints).values(size=size, signed_at=now_us(), note=note)
            )

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        with self._read.connect() as connection:
            row = connection.execute(
                select(audit_checkpoints).where(audit_checkpoints.c.size == size)
            ).first()
        return None if row is None else StoredCheckpoint(row.size, row.signed_at, row.note)

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._read.connect() as connection:
            return [
                StoredCheckpoint(row.size, row.signed_at, row.note)
                for row in connection.execute(
                    select(audit_checkpoints).order_by(audit_checkpoints.c.size)
                )
            ]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self._read.connect() as connection:
            row = connection.execute(
                select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
            ).first()
        return None if row is None else StoredCheckpoint(row.size, row.signed_at, row.note)

    def add_cosignature(self, size: int, witness: str, signature: str) -> bool:
        with self._write.begin() as connection:
            known = connection.execute(
                select(audit_cosignatures.c.signature).where(
                    audit_cosignatures.c.size == size, audit_cosignatures.c.witness == witness
                )
            ).first()
            if known is not None:
                return False
            connection.execute(
                insert(audit_cosignatures).values(
                    size=size, witness=witness, signature=signature, received_at=now_us()
                )
            )
        return True

    def cosignatures(self) -> list[tuple[int, str, str, int]]:
        with self._read.connect() as connection:
            return [
                (row.size, row.witness, row.signature, row.received_at)
                for row in connection.execute(
                    select(audit_cosignatures).order_by(
                        audit_cosignatures.c.size, audit_cosignatures.c.witness
                    )
                )
            ]

    # peers' logs this node witnesses

    def witnessed(self, peer_name: str) -> WitnessedCheckpoint | None:
        with self._read.connect() as connection:
            row = connection.execute(
                select(peer_checkpoints)
                .where(peer_checkpoints.c.peer_name == peer_name)
                .order_by(peer_checkpoints.c.size.desc())
                .limit(1)
            ).first()
        return None if row is None else WitnessedCheckpoint(*row)

    def witness(self, checkpoint: WitnessedCheckpoint) -> None:
        with self._write.begin() as connection:
            known = connection.execute(
                select(peer_checkpoints.c.size).where(
                    peer_checkpoints.c.peer_name == checkpoint.peer_name,
                    peer_checkpoints.c.size == checkpoint.size,
                )
            ).first()
            if known is None:
                connection.execute(
                    insert(peer_checkpoints).values(
                        peer_name=checkpoint.peer_name,
                        size=checkpoint.size,
                        note=checkpoint.note,
                        cosignature=checkpoint.cosignature,
                        witnessed_at=checkpoint.witnessed_at,
                    )
                )

    def raise_alarm(self, alarm: LogAlarm) -> None:
        with self._write.begin() as connection:
            connection.execute(
                insert(peer_log_alarms).values(
                    peer_name=alarm.peer_name,
                    raised_at=alarm.raised_at,
                    reason=alarm.reason,
                    held=alarm.held,
                    shown=alarm.shown,
                )
            )

    def alarms(self) -> list[LogAlarm]:
        with self._read.connect() as connection:
            return [
                LogAlarm(*row)
                for row in connection.execute(
                    select(peer_log_alarms).order_by(peer_log_alarms.c.raised_at)
                )
            ]

    # reading

    def size(self) -> int:
        with self._read.connect() as connection:
            newest = connection.exec_driver_sql(NEWEST_LEAF).first()
        return 0 if newest is None else newest.idx + 1

    def subtrees(self, positions: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        with self._read.connect() as connection:
            return {
                (row.level, row.idx): bytes(row.hash)
                for row in connection.execute(select(audit_nodes).where(_at(positions)))
            }

    def list(self, selection: EntryFilter, *, after: int = -1, limit: int) -> list[StoredEntry]:
        """Entries matching ``selection``, oldest first, from the one after ``after``."""
        query = select(
            audit_entries.c.seq,
            audit_entries.c.recorded_at,
            audit_entries.c.body,
            audit_entries.c.mac,
        ).where(audit_entries.c.seq > after)
        if selection.actor is not None:
            query = query.where(audit_entries.c.actor == selection.actor)
        if selection.action is not None:
            query = query.where(audit_entries.c.action == selection.action)
        if selection.since is not None:
            query = query.where(audit_entries.c.recorded_at >= selection.since)
        if selection.until is not None:
            query = query.where(audit_entries.c.recorded_at < selection.until)
        # An organization's view keeps to its own objects; an admin's search for one object
        # keeps to the entries about the organizations recorded as its originators.
        originators = (
            [selection.about, *selection.about_also] if selection.about is not None else []
        )
        if selection.object_id is not None:
            originators = originators or list(selection.object_originators)
            query = query.where(self._mentions(selection.object_id))
        if originators:
            query = query.where(
                audit_entries.c.seq.in_(
                    select(audit_about.c.seq).where(audit_about.c.originator.in_(originators))
                )
            )
        query = query.order_by(audit_entries.c.seq).limit(limit)
        with self._read.connect() as connection:
            return [
                StoredEntry(row.seq, row.recorded_at, bytes(row.body), bytes(row.mac))
                for row in connection.execute(query)
            ]

    def bodies(self, seqs: Iterable[int]) -> dict[int, bytes]:
        """The stored entries with these numbers, by number: those that the entries a
        reader is shown name their versions as in."""
        wanted = sorted(set(seqs))
        found: dict[int, bytes] = {}
        with self._read.connect() as connection:
            for start in range(0, len(wanted), SEQS_PER_QUERY):
                chunk = wanted[start : start + SEQS_PER_QUERY]
                query = select(audit_entries.c.seq, audit_entries.c.body).where(
                    audit_entries.c.seq.in_(chunk)
                )
                found.update((row.seq, bytes(row.body)) for row in connection.execute(query))
        return found

    def _mentions(self, object_id: str) -> ColumnElement[bool]:
        """Entries that may name the object: its id opens a ``[id, version]`` in the entry's
        canonical JSON, or the entry names its versions as in an earlier one (the service
        resolves those, and keeps the entry if the object is among them)."""
        named = b"[" + orjson.dumps(object_id) + b","
        return or_(self._holds("named", named), self._holds("refers", REFERS))

    def _holds(self, name: str, needle: bytes) -> ColumnElement[bool] | TextClause:
        if self._is_sqlite:
            return func.instr(audit_entries.c.body, needle) > 0
        return text(f"position(CAST(:{name} AS bytea) in audit_entries.body) > 0").bindparams(
            **{name: needle}
        )

    def scan(self, batch: int = 10_000) -> Iterator[StoredEntry]:
        """Every stored row in ``seq`` order, as stored (gaps and all): what verify reads."""
        after = None
        while True:
            query = select(
                audit_entries.c.seq,
                audit_entries.c.recorded_at,
                audit_entries.c.body,
                audit_entries.c.mac,
            )
            if after is not None:
                query = query.where(audit_entries.c.seq > after)
            with self._read.connect() as connection:
                rows = connection.execute(query.order_by(audit_entries.c.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield StoredEntry(row.seq, row.recorded_at, bytes(row.body), bytes(row.mac))
            after = rows[-1].seq

    def scan_nodes(self, level: int, batch: int = 50_000) -> Iterator[tuple[int, bytes]]:
        after = -1
        while True:
            with self._read.connect() as connection:
                rows = connection.execute(
                    select(audit_nodes.c.idx, audit_nodes.c.hash)
                    .where(audit_nodes.c.level == level, audit_nodes.c.idx > after)
                    .order_by(audit_nodes.c.idx)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield row.idx, bytes(row.hash)
            after = rows[-1].idx


def _at(positions: Sequence[tuple[int, int]]) -> ColumnElement[bool]:
    """The subtrees at these positions, each found through the primary key (a row-value
    ``IN`` list is not, on SQLite: it scans the tree's nodes)."""
    return or_(
        false(),
        *(
            and_(audit_nodes.c.level == level, audit_nodes.c.idx == index)
            for level, index in positions
        ),
    )


def frontier_positions(size: int) -> list[tuple[int, int]]:
    """The (level, index) of the perfect subtrees a tree of ``size`` leaves splits into,
    largest first: one per set bit of the size."""
    positions = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            positions.append((level, start >> level))
            start += 1 << level
    return positions
