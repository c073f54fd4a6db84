"""The store: object versions, collections, users and statuses on SQLite or PostgreSQL.

One class serves both databases through SQLAlchemy Core; the few dialect differences (how a
write transaction takes its lock, how SQLite is tuned) sit in ``_connect_sqlite`` and
``_lock_collection``. The store decides nothing about access: callers pass in what to read.

Writes to one collection are serialised (PostgreSQL: row lock on the collection; SQLite: a
``BEGIN IMMEDIATE`` transaction), so ``date_added`` is strictly increasing in commit order and a
client paging with ``added_after`` never skips a version committed late.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    false,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from allyshare.clock import now_us
from allyshare.errors import Conflict, NotFound
from allyshare.stix.versions import UNVERSIONED
from allyshare.storage.records import (
    Collection,
    IngestResult,
    NewVersion,
    Outcome,
    Page,
    Permission,
    StatusRecord,
    StoredVersion,
    User,
    VersionFilter,
)
from allyshare.storage.schema import collections, objects, permissions, statuses, users

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOOKUP_CHUNK = 500


class Store:
    """Storage for one node; create with a SQLAlchemy URL, call :meth:`migrate` once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._read = self._sqlite_engine(url, immediate=False)
            self._write = self._sqlite_engine(url, immediate=True)
        else:
            engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            self._read = self._write = engine

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            _connect_sqlite(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def close(self) -> None:
        self._read.dispose()
        self._write.dispose()

    def migrate(self) -> None:
        """Bring the schema to the newest migration; safe to run on every start."""
        config = AlembicConfig()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._write.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    # collections

    def create_collection(self, collection: Collection) -> None:
        with self._write.begin() as connection:
            connection.execute(
                insert(collections).values(
                    id=collection.id,
                    title=collection.title,
                    description=collection.description,
                    created_at=collection.created_at,
                    last_added=0,
                )
            )

    def list_collections(self) -> list[Collection]:
        query = select(
            collections.c.id,
            collections.c.title,
            collections.c.description,
            collections.c.created_at,
        ).order_by(collections.c.created_at, collections.c.id)
        with self._read.connect() as connection:
            return [Collection(*row) for row in connection.execute(query)]

    def get_collection(self, collection_id: str) -> Collection | None:
        query = select(
            collections.c.id,
            collections.c.title,
            collections.c.description,
            collections.c.created_at,
        ).where(collections.c.id == collection_id)
        with self._read.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else Collection(*row)

    # users and permissions

    def create_user(self, name: str, token_hash: str, *, is_admin: bool) -> None:
        with self._write.begin() as connection:
            exists = connection.execute(select(users.c.name).where(users.c.name == name)).first()
            if exists is not None:
                raise Conflict(f"user {name!r} already exists")
            connection.execute(
                insert(users).values(
                    name=name,
                    token_hash=token_hash,
                    is_admin=is_admin,
                    disabled=False,
                    created_at=now_us(),
                )
            )

    def set_token_hash(self, name: str, token_hash: str) -> None:
        with self._write.begin() as connection:
            result = connection.execute(
                update(users).where(users.c.name == name).values(token_hash=token_hash)
            )
            if result.rowcount == 0:
                raise NotFound(f"no user {name!r}")

    def user_by_token_hash(self, token_hash: str) -> tuple[User, str] | None:
        """The user holding this token hash, with the stored hash for a constant-time check."""
        query = select(users.c.name, users.c.is_admin, users.c.disabled, users.c.token_hash).where(
            users.c.token_hash == token_hash
        )
        with self._read.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (User(row[0], row[1], row[2]), row[3])

    def user_by_name(self, name: str) -> tuple[User, str] | None:
        query = select(users.c.name, users.c.is_admin, users.c.disabled, users.c.token_hash).where(
            users.c.name == name
        )
        with self._read.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (User(row[0], row[1], row[2]), row[3])

    def list_users(self) -> list[User]:
        query = select(users.c.name, users.c.is_admin, users.c.disabled).order_by(users.c.name)
        with self._read.connect() as connection:
            return [User(*row) for row in connection.execute(query)]

    def grant(self, user_name: str, collection_id: str, *, read: bool, write: bool) -> None:
        """Set (not add to) a user's rights on a collection."""
        with self._write.begin() as connection:
            connection.execute(
                delete(permissions).where(
                    permissions.c.user_name == user_name,
                    permissions.c.collection_id == collection_id,
                )
            )
            if read or write:
                connection.execute(
                    insert(permissions).values(
                        user_name=user_name,
                        collection_id=collection_id,
                        can_read=read,
                        can_write=write,
                    )
                )

    def permissions_of(self, user_name: str) -> dict[str, Permission]:
        query = select(
            permissions.c.collection_id, permissions.c.can_read, permissions.c.can_write
        ).where(permissions.c.user_name == user_name)
        with self._read.connect() as connection:
            return {row[0]: Permission(*row) for row in connection.execute(query)}

    # object versions

    def ingest(self, collection_id: str, versions: Sequence[NewVersion]) -> IngestResult:
        """Store new versions in one transaction; existing (id, version) pairs are left alone.

        An unversioned object (no ``modified``/``created``) seen again with different content is
        a conflict rather than a silent no-op, since nothing else tells the two apart.
        """
        with self._write.begin() as connection:
            last_added = self._lock_collection(connection, collection_id)
            known = self._known_versions(connection, collection_id, {v.object_id for v in versions})
            outcomes: list[Outcome] = []
            rows: list[dict[str, Any]] = []
            pending_bodies: dict[str, bytes] = {}
            touched: dict[str, set[str]] = {}
            previous_edges: dict[str, tuple[str, str]] = {}
            date_added = max(now_us() - 1, last_added)
            for version in versions:
                keys = known.setdefault(version.object_id, set())
                if version.version_key in keys:
                    outcomes.append(
                        self._repeat_outcome(connection, collection_id, version, pending_bodies)
                    )
                    continue
                if version.object_id not in previous_edges and keys:
                    previous_edges[version.object_id] = (max(keys), min(keys))
                keys.add(version.version_key)
                touched.setdefault(version.object_id, set()).add(version.version_key)
                date_added += 1
                if version.version_key == UNVERSIONED:
                    pending_bodies[version.object_id] = version.body
                rows.append(
                    {
                        "collection_id": collection_id,
                        "object_id": version.object_id,
                        "version_key": version.version_key,
                        "version": version.version,
                        "date_added": date_added,
                        "type": version.type,
                        "spec_version": version.spec_version,
                        "body": version.body,
                    }
                )
                outcomes.append(Outcome.STORED)
            if rows:
                edges = {oid: (max(known[oid]), min(known[oid])) for oid in touched}
                for row in rows:
                    latest, first = edges[row["object_id"]]
                    row["is_latest"] = row["version_key"] == latest
                    row["is_first"] = row["version_key"] == first
                connection.execute(insert(objects), rows)
                self._retire_edges(connection, collection_id, previous_edges, edges)
                connection.execute(
                    update(collections)
                    .where(collections.c.id == collection_id)
                    .values(last_added=date_added)
                )
        return IngestResult(outcomes)

    def _lock_collection(self, connection: Connection, collection_id: str) -> int:
        query = select(collections.c.last_added).where(collections.c.id == collection_id)
        if not self.is_sqlite:
            query = query.with_for_update()
        last_added = connection.execute(query).scalar_one_or_none()
        if last_added is None:
            raise NotFound(f"no collection {collection_id}")
        return int(last_added)

    @staticmethod
    def _known_versions(
        connection: Connection, collection_id: str, object_ids: Iterable[str]
    ) -> dict[str, set[str]]:
        known: dict[str, set[str]] = {}
        for chunk in _chunks(sorted(object_ids), _LOOKUP_CHUNK):
            query = select(objects.c.object_id, objects.c.version_key).where(
                objects.c.collection_id == collection_id, objects.c.object_id.in_(chunk)
            )
            for object_id, key in connection.execute(query):
                known.setdefault(object_id, set()).add(key)
        return known

    @staticmethod
    def _repeat_outcome(
        connection: Connection,
        collection_id: str,
        version: NewVersion,
        pending_bodies: dict[str, bytes],
    ) -> Outcome:
        if version.version_key != UNVERSIONED:
            return Outcome.DUPLICATE
        stored = pending_bodies.get(version.object_id)
        if stored is None:
            stored = connection.execute(
                select(objects.c.body).where(
                    objects.c.collection_id == collection_id,
                    objects.c.object_id == version.object_id,
                    objects.c.version_key == UNVERSIONED,
                )
            ).scalar_one()
        same = orjson.loads(stored) == orjson.loads(version.body)
        return Outcome.DUPLICATE if same else Outcome.CONFLICT

    @staticmethod
    def _retire_edges(
        connection: Connection,
        collection_id: str,
        previous: dict[str, tuple[str, str]],
        current: dict[str, tuple[str, str]],
    ) -> None:
        """Clear the latest/first flags of stored versions that new ones have displaced."""
        no_longer_latest = [
            {"o": oid, "k": old[0]} for oid, old in previous.items() if current[oid][0] != old[0]
        ]
        no_longer_first = [
            {"o": oid, "k": old[1]} for oid, old in previous.items() if current[oid][1] != old[1]
        ]
        for flag, params in (("is_latest", no_longer_latest), ("is_first", no_longer_first)):
            if params:
                connection.execute(
                    update(objects)
                    .where(
                        objects.c.collection_id == collection_id,
                        objects.c.object_id == bindparam("o"),
                        objects.c.version_key == bindparam("k"),
                    )
                    .values({flag: False}),
                    params,
                )

    def read_page(
        self,
        collection_id: str,
        selection: VersionFilter,
        *,
        limit: int,
        after: int | None = None,
        with_body: bool = True,
    ) -> Page:
        """Up to ``limit`` versions in ``date_added`` order, strictly after ``after``."""
        columns = [objects.c.date_added, objects.c.object_id, objects.c.version]
        if with_body:
            columns.append(objects.c.body)
        query = select(*columns).where(*_filter_clauses(collection_id, selection))
        floor = max(x for x in (after, selection.added_after, -1) if x is not None)
        if floor >= 0:
            query = query.where(objects.c.date_added > floor)
        query = query.order_by(objects.c.date_added).limit(limit + 1)
        with self._read.connect() as connection:
            rows = connection.execute(query).all()
        more = len(rows) > limit
        items = [
            StoredVersion(row[0], row[1], row[2], row[3] if with_body else b"")
            for row in rows[:limit]
        ]
        return Page(items, more)

    def iter_versions(self, collection_id: str, selection: VersionFilter) -> Iterator[bytes]:
        """Every selected version's JSON in ``date_added`` order, fetched in keyset batches."""
        after: int | None = None
        while True:
            page = self.read_page(collection_id, selection, limit=5000, after=after)
            for item in page.items:
                yield item.body
            if not page.more:
                return
            after = page.items[-1].date_added

    def delete_versions(self, collection_id: str, selection: VersionFilter) -> int:
        """Delete the selected versions and re-derive latest/first flags of what remains."""
        with self._write.begin() as connection:
            self._lock_collection(connection, collection_id)
            doomed = connection.execute(
                select(objects.c.object_id, objects.c.version_key).where(
                    *_filter_clauses(collection_id, selection)
                )
            ).all()
            if not doomed:
                return 0
            for object_id, key in doomed:
                connection.execute(
                    delete(objects).where(
                        objects.c.collection_id == collection_id,
                        objects.c.object_id == object_id,
                        objects.c.version_key == key,
                    )
                )
            for object_id in {row[0] for row in doomed}:
                self._reflag(connection, collection_id, object_id)
        return len(doomed)

    @staticmethod
    def _reflag(connection: Connection, collection_id: str, object_id: str) -> None:
        keys = (
            connection.execute(
                select(objects.c.version_key).where(
                    objects.c.collection_id == collection_id, objects.c.object_id == object_id
                )
            )
            .scalars()
            .all()
        )
        if not keys:
            return
        latest, first = max(keys), min(keys)
        where = (objects.c.collection_id == collection_id, objects.c.object_id == object_id)
        connection.execute(
            update(objects)
            .where(*where)
            .values(
                is_latest=objects.c.version_key == latest,
                is_first=objects.c.version_key == first,
            )
        )

    # statuses

    def save_status(self, status: StatusRecord) -> None:
        details = orjson.dumps(
            {
                "successes": status.successes,
                "failures": status.failures,
                "pendings": status.pendings,
            }
        )
        with self._write.begin() as connection:
            connection.execute(
                insert(statuses).values(
                    id=status.id,
                    collection_id=status.collection_id,
                    user_name=status.user_name,
                    request_timestamp=status.request_timestamp,
                    total_count=status.total_count,
                    success_count=status.success_count,
                    failure_count=status.failure_count,
                    pending_count=status.pending_count,
                    details=details,
                )
            )

    def get_status(self, status_id: str) -> StatusRecord | None:
        query = select(
            statuses.c.id,
            statuses.c.collection_id,
            statuses.c.user_name,
            statuses.c.request_timestamp,
            statuses.c.total_count,
            statuses.c.success_count,
            statuses.c.failure_count,
            statuses.c.pending_count,
            statuses.c.details,
        ).where(statuses.c.id == status_id)
        with self._read.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        details = orjson.loads(row[8])
        return StatusRecord(
            *row[:8],
            successes=details["successes"],
            failures=details["failures"],
            pendings=details["pendings"],
        )


def _connect_sqlite(dbapi_connection: DBAPIConnection) -> None:
    # Autocommit at the driver level so the "begin" hook alone decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=60000",
        "PRAGMA cache_size=-65536",
    ):
        cursor.execute(pragma)
    cursor.close()


def _filter_clauses(collection_id: str, selection: VersionFilter) -> list[Any]:
    clauses: list[Any] = [objects.c.collection_id == collection_id]
    if selection.object_ids:
        clauses.append(objects.c.object_id.in_(selection.object_ids))
    if selection.types:
        clauses.append(objects.c.type.in_(selection.types))
    if selection.spec_versions:
        clauses.append(objects.c.spec_version.in_(selection.spec_versions))
    wanted = selection.versions
    if "all" not in wanted:
        alternatives: list[Any] = []
        if "last" in wanted:
            alternatives.append(objects.c.is_latest == true())
        if "first" in wanted:
            alternatives.append(objects.c.is_first == true())
        keys = sorted(wanted - {"last", "first"})
        if keys:
            alternatives.append(objects.c.version_key.in_(keys))
        clauses.append(or_(*alternatives) if alternatives else false())
    return [and_(*clauses)]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
