"""The store: object versions, collections, users and statuses on SQLite or PostgreSQL.

One class serves both databases through SQLAlchemy Core; the few dialect differences (how a
write transaction takes its lock, how SQLite is tuned) sit in ``_connect_sqlite`` and
``_lock_collection``. The store decides nothing about access: callers pass in what to read.

Writes to one collection are serialised (PostgreSQL: row lock on the collection; SQLite: a
``BEGIN IMMEDIATE`` transaction), so ``date_added`` is strictly increasing in commit order and a
client paging with ``added_after`` never skips a version committed late.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
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
    func,
    insert,
    or_,
    select,
    text,
    true,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from allyshare.audit.entries import AuditEntry
from allyshare.audit.merkle import Frontier
from allyshare.clock import now_us
from allyshare.errors import Conflict, NotFound
from allyshare.observables import NOT_VALUES
from allyshare.stix.types import APPROVAL_TYPE
from allyshare.stix.versions import UNVERSIONED
from allyshare.storage.access import AccessKey, sender_of
from allyshare.storage.audit import AuditLog
from allyshare.storage.ids import id_hash
from allyshare.storage.observables import observable_rows
from allyshare.storage.peers import PeerStore
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
    RevealRecord,
    SessionRecord,
    StatusRecord,
    StoredVersion,
    SubscriptionRecord,
    User,
    VersionFilter,
)
from allyshare.storage.schema import (
    MERGE_ROWS,
    access_keys,
    agreements,
    collection_keys,
    collections,
    contact_requests,
    marking_definitions,
    match_budgets,
    objects,
    observables,
    observables_recent,
    orcon_approvals,
    organizations,
    receipts,
    reveals,
    sealed_sources,
    statuses,
    ui_sessions,
    users,
)
from allyshare.storage.signatures import SignaturesSeen
from allyshare.storage.transactions import Transactions

_MIGRATIONS = Path(__file__).parent / "migrations"
_OBSERVABLE_COLUMNS = (
    "collection_seq, date_added, digest, kind, value, label_seq, low, high, object_id, "
    "version, type"
)
_MERGE_LOCK = 0x616C6C79  # the PostgreSQL advisory lock only index merges take
# SQLite allows 32,766 parameters per statement (3.32 and later).
_LOOKUP_CHUNK = 30_000
# Up to this many access keys a page is a merge of per-key ranges (each adds a range to the
# statement, and its bound parameters count against SQLite's limit); beyond, one walk of the
# date index skips the hidden versions on their index entries.
_MERGED_KEYS = 100
_WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024


class NoAdminLeft(Conflict):
    """A change to users or organizations that would leave no active admin."""


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
        # The bulk insert goes to the driver directly: SQLAlchemy's per-row parameter
        # processing cost more than the database's own work (see bench/).
        marker = "?" if self.is_sqlite else "%s"
        self._insert_sql = (
            "INSERT INTO objects (collection_seq, date_added, id_hash, object_id, version_key, "
            "version, type, spec_version, is_latest, is_first, body, label_seq) VALUES "
            f"({', '.join([marker] * 12)})"
        )
        self._observable_sql = (
            f"INSERT INTO observables_recent ({_OBSERVABLE_COLUMNS}) "
            f"VALUES ({', '.join([marker] * 11)})"
        )
        self.merge_rows = MERGE_ROWS
        self._seal_sql = (
            "INSERT INTO sealed_sources (collection_seq, date_added, sealed) "
            f"VALUES ({marker}, {marker}, {marker})"
        )
        self._upsert = sqlite_insert if self.is_sqlite else postgresql_insert
        self._keys: dict[int, AccessKey] = {}
        self._seqs: dict[AccessKey, int] = {}
        self._keys_lock = threading.Lock()
        self._transactions = Transactions(self._write)
        self.peers = PeerStore(self._read, self._transactions)
        self.signatures_seen = SignaturesSeen(self._write)
        self.audit = AuditLog(self._read, self._transactions, is_sqlite=self.is_sqlite)

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
        # Connections opened before a migration keep the planner statistics they loaded.
        self._read.dispose()
        self._write.dispose()

    # collections

    def create_collection(self, collection: Collection) -> None:
        with self._transactions.begin() as connection:
            connection.execute(
                insert(collections).values(
                    id=collection.id,
                    title=collection.title,
                    description=collection.description,
                    created_at=collection.created_at,
                    last_added=0,
                    agreement_name=collection.agreement_name,
                    category=collection.category,
                    anonymous_by_default=collection.anonymous_by_default,
                )
            )

    def list_collections(self) -> list[Collection]:
        query = _COLLECTION_QUERY.order_by(collections.c.created_at, collections.c.id)
        with self._read.connect() as connection:
            return [Collection(*row) for row in connection.execute(query)]

    def get_collection(self, collection_id: str) -> Collection | None:
        with self._read.connect() as connection:
            row = connection.execute(_COLLECTION_BY_ID, {"id": collection_id}).first()
        return None if row is None else Collection(*row)

    # users and permissions

    def create_user(self, user: User, token_hash: str) -> None:
        self._insert_new(
            users.c.name,
            user.name,
            f"user {user.name!r}",
            insert(users).values(
                name=user.name,
                token_hash=token_hash,
                is_admin=user.is_admin,
                disabled=False,
                created_at=now_us(),
                organization_id=user.organization_id,
                nationality=user.nationality,
                clearance=user.clearance,
                roles=",".join(sorted(user.roles)),
            ),
        )

    def _insert_new(self, key: Any, value: str, what: str, statement: Any) -> None:
        """Run an insert unless a row with this key exists (a clear Conflict, not a DB error)."""
        with self._transactions.begin() as connection:
            if connection.execute(select(key).where(key == value)).first() is not None:
                raise Conflict(f"{what} already exists")
            connection.execute(statement)

    def _update_one(
        self, key: Any, value: str, what: str, *, keep_an_admin: bool = False, **values: Any
    ) -> None:
        """Update one row; with ``keep_an_admin``, refuse (`NoAdminLeft`) a change that leaves
        the node without an active admin, judged inside the same write transaction."""
        with self._transactions.begin() as connection:
            admins_before = self._lock_admins(connection) if keep_an_admin else 0
            result = connection.execute(update(key.table).where(key == value).values(**values))
            if result.rowcount == 0:
                raise NotFound(f"no {what} {value!r}")
            if admins_before and not self._active_admins(connection):
                raise NoAdminLeft(f"no active admin would be left after this change to {what}")

    def _lock_admins(self, connection: Connection) -> int:
        """Lock the admins' rows for the transaction and count the active ones. SQLite writers
        are already serialised (``BEGIN IMMEDIATE``); on PostgreSQL the row locks make two
        concurrent demotions take turns, so the second sees the first and is refused."""
        if not self.is_sqlite:
            connection.execute(select(users.c.name).where(users.c.is_admin).with_for_update())
        return self._active_admins(connection)

    @staticmethod
    def _active_admins(connection: Connection) -> int:
        query = (
            select(func.count())
            .select_from(
                users.outerjoin(organizations, users.c.organization_id == organizations.c.id)
            )
            .where(
                users.c.is_admin,
                ~users.c.disabled,
                ~func.coalesce(organizations.c.disabled, false()),
            )
        )
        return int(connection.execute(query).scalar_one())

    def set_user_disabled(self, name: str, disabled: bool) -> None:
        """Disabling the last active admin is refused (`NoAdminLeft`)."""
        self._update_one(users.c.name, name, "user", keep_an_admin=disabled, disabled=disabled)

    def update_user(self, name: str, **values: Any) -> None:
        """Demoting or disabling the last active admin is refused (`NoAdminLeft`)."""
        self._update_one(users.c.name, name, "user", keep_an_admin=True, **values)

    def set_token_hash(self, name: str, token_hash: str) -> None:
        self._update_one(users.c.name, name, "user", token_hash=token_hash)

    def user_by_token_hash(self, token_hash: str) -> tuple[User, str] | None:
        """The user holding this token hash, with the stored hash for a constant-time check."""
        return self._user_where(_USER_BY_TOKEN_HASH, token_hash)

    def user_by_name(self, name: str) -> tuple[User, str] | None:
        return self._user_where(_USER_BY_NAME, name)

    def _user_where(self, query: Any, key: str) -> tuple[User, str] | None:
        with self._read.connect() as connection:
            row = connection.execute(query, {"key": key}).first()
        return None if row is None else (_user(row), row[-1])

    def list_users(self) -> list[User]:
        with self._read.connect() as connection:
            return [_user(row) for row in connection.execute(_USER_QUERY.order_by(users.c.name))]

    # web UI sessions

    def add_session(self, session: SessionRecord) -> None:
        """Store a new session, and let go of every one that has ended."""
        with self._transactions.begin() as connection:
            connection.execute(delete(ui_sessions).where(ui_sessions.c.expires_at <= now_us()))
            connection.execute(insert(ui_sessions).values(**asdict(session)))

    def session(self, digest: str) -> SessionRecord | None:
        query = select(*ui_sessions.c).where(ui_sessions.c.digest == digest)
        with self._read.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else SessionRecord(*row)

    def end_session(self, digest: str) -> None:
        with self._transactions.begin() as connection:
            connection.execute(delete(ui_sessions).where(ui_sessions.c.digest == digest))

    # organizations and agreements

    def create_organization(self, organization: OrganizationRecord) -> None:
        self._insert_new(
            organizations.c.id,
            organization.id,
            f"organization {organization.id!r}",
            insert(organizations).values(
                id=organization.id,
                name=organization.name,
                country=organization.country,
                kind=organization.kind,
                sectors=",".join(organization.sectors),
                disabled=organization.disabled,
                created_at=now_us(),
            ),
        )

    def list_organizations(self) -> list[OrganizationRecord]:
        return self._organizations(_ORGANIZATIONS)

    def _organizations(
        self, query: Any, parameters: dict[str, str] | None = None
    ) -> list[OrganizationRecord]:
        with self._read.connect() as connection:
            return [
                OrganizationRecord(
                    row[0], row[1], row[2], row[3], tuple(filter(None, row[4].split(","))), row[5]
                )
                for row in connection.execute(query, parameters)
            ]

    def update_organization(self, organization_id: str, **values: Any) -> None:
        """Disabling the organization of the last active admin is refused (`NoAdminLeft`)."""
        cuts_off = bool(values.get("disabled"))
        self._update_one(
            organizations.c.id, organization_id, "organization", keep_an_admin=cuts_off, **values
        )

    def get_organization(self, organization_id: str) -> OrganizationRecord | None:
        found = self._organizations(_ORGANIZATION_BY_ID, {"id": organization_id})
        return found[0] if found else None

    def set_organization_disabled(self, organization_id: str, disabled: bool) -> None:
        self.update_organization(organization_id, disabled=disabled)

    def save_agreement(self, record: AgreementRecord) -> bool:
        """Keep a new version; re-applying the newest unchanged is a no-op (returns False)."""
        with self._transactions.begin() as connection:
            newest = connection.execute(
                select(agreements.c.version, agreements.c.document)
                .where(agreements.c.name == record.name)
                .order_by(agreements.c.version.desc())
                .limit(1)
            ).first()
            if newest is not None:
                if newest[0] == record.version and orjson.loads(newest[1]) == record.document:
                    return False
                if record.version <= newest[0]:
                    raise Conflict(
                        f"agreement {record.name!r} is at version {newest[0]}; "
                        f"a change needs version {newest[0] + 1} or later"
                    )
            connection.execute(
                insert(agreements).values(
                    name=record.name,
                    version=record.version,
                    document=orjson.dumps(record.document),
                    applied_at=record.applied_at,
                )
            )
        return True

    def agreement_newest(self, name: str) -> AgreementRecord | None:
        with self._read.connect() as connection:
            row = connection.execute(_AGREEMENT_NEWEST, {"name": name}).first()
        return None if row is None else AgreementRecord(name, row[0], orjson.loads(row[1]), row[2])

    def agreements_newest(self) -> list[AgreementRecord]:
        """The newest version of every agreement."""
        query = select(
            agreements.c.name, agreements.c.version, agreements.c.document, agreements.c.applied_at
        ).order_by(agreements.c.name, agreements.c.version)
        newest: dict[str, AgreementRecord] = {}
        with self._read.connect() as connection:
            for name, version, document, applied_at in connection.execute(query):
                newest[name] = AgreementRecord(name, version, orjson.loads(document), applied_at)
        return list(newest.values())

    # access keys and marking definitions

    def access_keys(self) -> dict[int, AccessKey]:
        """Every access key by its seq. Keys are never changed or removed, so the cache only
        ever loads the ones added since it last looked (by any process)."""
        with self._keys_lock:
            known = max(self._keys, default=0)
            query = select(
                access_keys.c.seq,
                access_keys.c.originator_id,
                access_keys.c.marking_refs,
                access_keys.c.granular_refs,
            ).where(access_keys.c.seq > known)
            with self._read.connect() as connection:
                for seq, originator, refs, granular in connection.execute(query):
                    key = AccessKey.from_row(originator, refs, granular)
                    self._keys[seq] = key
                    self._seqs[key] = seq
            return dict(self._keys)

    def _key_seqs(self, connection: Connection, keys: Iterable[AccessKey]) -> dict[AccessKey, int]:
        """The seq of each key, adding the keys not seen before (inside a write transaction).

        Keys already committed when `access_keys` last looked are known without a query.
        """
        seqs: dict[AccessKey, int] = {}
        wanted: dict[str, AccessKey] = {}
        for key in keys:
            seq = self._seqs.get(key)
            if seq is None:
                wanted[key.digest] = key
            else:
                seqs[key] = seq
        if not wanted:
            return seqs
        found: dict[str, int] = {}
        lookup = select(access_keys.c.digest, access_keys.c.seq)
        for digest, seq in connection.execute(lookup.where(access_keys.c.digest.in_(list(wanted)))):
            found[digest] = seq
        missing = [key.row() for digest, key in wanted.items() if digest not in found]
        if missing:
            if self.is_sqlite:
                self._insert_keys(connection, missing, found)
            else:
                # In a transaction of their own, committed at once under a table lock, so
                # keys commit in seq order and `access_keys` (which loads only seqs past the
                # newest it knows) never skips one. Holding nothing else while it waits, it
                # cannot deadlock. (SQLite writers are serialised already.)
                with self._write.begin() as own:
                    own.execute(text("LOCK TABLE access_keys IN SHARE ROW EXCLUSIVE MODE"))
                    self._insert_keys(own, missing, found)
        seqs.update((key, found[digest]) for digest, key in wanted.items())
        return seqs

    def _insert_keys(
        self, connection: Connection, rows: list[dict[str, str]], found: dict[str, int]
    ) -> None:
        connection.execute(
            self._upsert(access_keys).on_conflict_do_nothing(index_elements=["digest"]), rows
        )
        lookup = select(access_keys.c.digest, access_keys.c.seq)
        digests = [row["digest"] for row in rows]
        for digest, seq in connection.execute(lookup.where(access_keys.c.digest.in_(digests))):
            found[digest] = seq

    def marking_definition_count(self) -> int:
        with self._read.connect() as connection:
            return int(connection.execute(_MARKING_DEFINITION_COUNT).scalar_one())

    def marking_definitions(self) -> list[bytes]:
        """Every marking definition received, in any collection (two for one id if they differ)."""
        query = select(marking_definitions.c.body).order_by(
            marking_definitions.c.id, marking_definitions.c.digest
        )
        with self._read.connect() as connection:
            return list(connection.execute(query).scalars())

    def orcon_approval_count(self) -> int:
        """How many approval versions were ever stored: they are only added (a deleted
        approval object leaves its record; only a signed revocation withdraws it), so this
        changes exactly when the approvals may have."""
        with self._read.connect() as connection:
            return int(connection.execute(_ORCON_APPROVAL_COUNT).scalar_one())

    def orcon_approval_bodies(self) -> list[bytes]:
        """Every ORCON approval version ever stored, in any collection."""
        query = select(orcon_approvals.c.body).order_by(
            orcon_approvals.c.collection_seq, orcon_approvals.c.date_added
        )
        with self._read.connect() as connection:
            return list(connection.execute(query).scalars())

    def _move_to_end(self, connection: Connection, collection_id: str, object_id: str) -> None:
        """Add the object's versions again at the end of the collection, receipts with them.

        A new ORCON approval can make versions visible to readers (and peers) that paged past
        them while they were hidden; TAXII readers page by ``date_added``, so the object moves
        to where every cursor will meet it, on the approving node and on each that receives
        the approval.
        """
        seq, last_added = self._lock_collection(connection, collection_id)
        moved = (
            connection.execute(
                select(objects.c.date_added)
                .where(*_object_is(seq, object_id))
                .order_by(objects.c.date_added)
            )
            .scalars()
            .all()
        )
        date_added = max(now_us() - 1, last_added)
        for old in moved:
            date_added += 1
            for table in (objects, receipts):
                connection.execute(
                    update(table)
                    .where(table.c.collection_seq == seq, table.c.date_added == old)
                    .values(date_added=date_added)
                )
        if moved:
            connection.execute(
                update(collections).where(collections.c.seq == seq).values(last_added=date_added)
            )

    # object versions

    @contextmanager
    def begin(self) -> Iterator[Unit]:
        """A unit of work: every store write made inside it (through the unit or the store)
        commits in one transaction, or none does."""
        with self._transactions.begin() as connection:
            yield Unit(self, connection)

    def ingest(self, collection_id: str, versions: Sequence[NewVersion]) -> IngestResult:
        """Store new versions in one transaction; existing (id, version) pairs are left alone."""
        with self.begin() as unit:
            return unit.ingest(collection_id, versions)

    def _store_versions(
        self,
        connection: Connection,
        collection_id: str,
        versions: Sequence[NewVersion],
        reuse: IdReuse | None = None,
    ) -> IngestResult:
        """Insert what is new, under the collection's write lock.

        Versions are kept per lineage: the versions of one object id by one originator (a
        peer's later versions join the lineage first recorded for what it sent). An
        unversioned object (no ``modified``/``created``) seen again in its lineage with
        different content is a conflict rather than a silent no-op, since nothing else tells
        the two apart. An id another originator already uses is refused
        (``NOT_ORIGINATOR``) unless ``reuse`` says the writer may not see that object: then
        the version starts a lineage kept apart for its writer (`IdReuse`), so the answer is
        the same as for an unused id.
        """
        seq, last_added = self._lock_collection(connection, collection_id)
        hashes = {v.object_id: id_hash(v.object_id) for v in versions}
        known, lineages = self._known_versions(connection, seq, hashes, reuse)
        outcomes: list[Outcome] = []
        fresh: list[tuple[NewVersion, int]] = []
        pending_bodies: dict[tuple[str, str], bytes] = {}
        previous_edges: dict[str, tuple[str, str]] = {}
        date_added = max(now_us() - 1, last_added)
        stored = Outcome.STORED
        for version in versions:
            object_id, key = version.object_id, version.version_key
            held = lineages.setdefault(object_id, [])
            lineage = _lineage_for(held, version.access.originator)
            if lineage is None:
                if held and (
                    reuse is None or reuse.sees(self._versions_of(connection, seq, object_id))
                ):
                    outcomes.append(Outcome.NOT_ORIGINATOR)
                    continue
                lineage = _Lineage(version.access.originator, apart=bool(held))
                held.append(lineage)
            access = version.access
            if access.originator != lineage.originator:
                access = access._replace(originator=lineage.originator)
            if lineage.apart and reuse is not None:
                access = reuse.set_apart(access)
            if access is not version.access:  # rarely: replacing costs more than the rest
                version = version._replace(access=access)
            if key in lineage.versions:
                outcomes.append(
                    self._repeat_outcome(connection, seq, version, lineage, pending_bodies)
                )
                continue
            keys = known.setdefault(object_id, set())
            if keys and object_id not in previous_edges:
                previous_edges[object_id] = (max(keys), min(keys))
            keys.add(key)
            lineage.versions.add(key)
            date_added += 1
            if key == UNVERSIONED:
                pending_bodies[object_id, lineage.originator] = version.body
            fresh.append((version, date_added))
            outcomes.append(stored)
        if fresh:
            key_seqs = self._key_seqs(connection, {v.access for v, _ in fresh})
            # Every object written to, however many version keys it has (another lineage
            # may hold the same key), so that each displaced edge is retired.
            edges = {
                v.object_id: (max(known[v.object_id]), min(known[v.object_id])) for v, _ in fresh
            }
            rows = [
                (
                    seq,
                    added,
                    hashes[v.object_id],
                    v.object_id,
                    v.version_key,
                    v.version,
                    v.type,
                    v.spec_version,
                    edges[v.object_id][0] == v.version_key,
                    edges[v.object_id][1] == v.version_key,
                    v.body,
                    key_seqs[v.access],
                )
                for v, added in fresh
            ]
            connection.exec_driver_sql(self._insert_sql, rows)
            connection.execute(
                self._upsert(collection_keys).on_conflict_do_nothing(),
                [{"collection_seq": seq, "label_seq": label} for label in set(key_seqs.values())],
            )
            self._keep_marking_definitions(connection, [v for v, _ in fresh])
            found = [
                tuple(row.values())
                for v, added in fresh
                if v.observables
                for row in observable_rows(
                    seq, added, key_seqs[v.access], (v.object_id, v.version, v.type), v.observables
                )
            ]
            if found:
                connection.exec_driver_sql(self._observable_sql, found)
                self._merge_recent(connection)
            approvals = [(v, added) for v, added in fresh if v.type == APPROVAL_TYPE]
            if approvals:
                connection.execute(
                    insert(orcon_approvals),
                    [
                        {"collection_seq": seq, "date_added": added, "body": v.body}
                        for v, added in approvals
                    ],
                )
            self._retire_edges(connection, seq, previous_edges, edges)
            connection.execute(
                update(collections).where(collections.c.seq == seq).values(last_added=date_added)
            )
            for approved in _released_by(v for v, _ in approvals):
                self._move_to_end(connection, collection_id, approved)
        return IngestResult(
            outcomes, [added for _, added in fresh], [v.access.originator for v, _ in fresh]
        )

    def _lock_collection(self, connection: Connection, collection_id: str) -> tuple[int, int]:
        """The collection's ``seq`` and last ``date_added``, holding its write lock."""
        query = select(collections.c.seq, collections.c.last_added).where(
            collections.c.id == collection_id
        )
        if not self.is_sqlite:
            query = query.with_for_update()
        row = connection.execute(query).first()
        if row is None:
            raise NotFound(f"no collection {collection_id}")
        return int(row[0]), int(row[1])

    def _keep_marking_definitions(
        self, connection: Connection, versions: Sequence[NewVersion]
    ) -> None:
        rows = [
            {"id": v.object_id, "digest": hashlib.sha256(v.body).hexdigest(), "body": v.body}
            for v in versions
            if v.type == "marking-definition"
        ]
        if rows:
            connection.execute(
                self._upsert(marking_definitions).on_conflict_do_nothing(
                    index_elements=["id", "digest"]
                ),
                rows,
            )

    def _known_versions(
        self,
        connection: Connection,
        seq: int,
        hashes: dict[str, int],
        reuse: IdReuse | None,
    ) -> tuple[dict[str, set[str]], dict[str, list[_Lineage]]]:
        """The stored version keys of the given objects (a hash match is confirmed by id),
        and each object's lineages: its versions grouped by recorded originator."""
        rows: list[tuple[str, str, int]] = []
        values = list(hashes.values())
        for chunk in _chunks(values, _LOOKUP_CHUNK):
            if self.is_sqlite:
                sql = (
                    "SELECT object_id, version_key, label_seq FROM objects "
                    f"WHERE collection_seq = ? AND id_hash IN ({', '.join('?' * len(chunk))})"
                )
                params: tuple[Any, ...] = (seq, *chunk)
            else:
                sql = (
                    "SELECT object_id, version_key, label_seq FROM objects "
                    "WHERE collection_seq = %s AND id_hash = ANY(%s)"
                )
                params = (seq, list(chunk))
            rows.extend(
                (object_id, key, label)
                for object_id, key, label in connection.exec_driver_sql(sql, params)
                if object_id in hashes
            )
        known: dict[str, set[str]] = {}
        lineages: dict[str, list[_Lineage]] = {}
        if not rows:
            return known, lineages
        keys = self.access_keys()
        by_originator: dict[tuple[str, str], _Lineage] = {}
        for object_id, version_key, label in rows:
            known.setdefault(object_id, set()).add(version_key)
            access = keys[label]
            lineage = by_originator.get((object_id, access.originator))
            if lineage is None:
                lineage = _Lineage(access.originator)
                by_originator[object_id, access.originator] = lineage
                lineages.setdefault(object_id, []).append(lineage)
            lineage.versions.add(version_key)
            lineage.labels.add(label)
            lineage.apart = lineage.apart or (reuse is not None and reuse.is_apart(access))
        return known, lineages

    @staticmethod
    def _versions_of(connection: Connection, seq: int, object_id: str) -> list[StoredVersion]:
        """Every stored version of one object in the collection, bodies included."""
        query = select(
            objects.c.date_added,
            objects.c.object_id,
            objects.c.version,
            objects.c.body,
            objects.c.label_seq,
        ).where(*_object_is(seq, object_id))
        return [StoredVersion(*row) for row in connection.execute(query)]

    @staticmethod
    def _repeat_outcome(
        connection: Connection,
        seq: int,
        version: NewVersion,
        lineage: _Lineage,
        pending_bodies: dict[tuple[str, str], bytes],
    ) -> Outcome:
        if version.version_key != UNVERSIONED:
            return Outcome.DUPLICATE
        stored = pending_bodies.get((version.object_id, lineage.originator))
        if stored is None:
            stored = connection.execute(
                select(objects.c.body).where(
                    *_object_is(seq, version.object_id),
                    objects.c.version_key == UNVERSIONED,
                    objects.c.label_seq.in_(sorted(lineage.labels)),
                )
            ).scalar_one()
        same = orjson.loads(stored) == orjson.loads(version.body)
        return Outcome.DUPLICATE if same else Outcome.CONFLICT

    @staticmethod
    def _retire_edges(
        connection: Connection,
        seq: int,
        previous: dict[str, tuple[str, str]],
        current: dict[str, tuple[str, str]],
    ) -> None:
        """Clear the latest/first flags of stored versions that new ones have displaced."""
        for flag, edge in (("is_latest", 0), ("is_first", 1)):
            params = [
                {"h": id_hash(oid), "o": oid, "k": old[edge]}
                for oid, old in previous.items()
                if current[oid][edge] != old[edge]
            ]
            if params:
                connection.execute(
                    update(objects)
                    .where(
                        objects.c.collection_seq == seq,
                        objects.c.id_hash == bindparam("h"),
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
        visible: frozenset[int] | None = None,
    ) -> Page:
        """Up to ``limit`` versions in ``date_added`` order, strictly after ``after``.

        ``visible``, when given, are the access keys the reader passes: other versions are
        skipped as if absent, and ``last``/``first`` mean the newest/oldest version among
        those the reader passes. For up to ``_MERGED_KEYS`` of the collection's keys the page
        merges one range per key, so its cost does not depend on how much is hidden.
        """
        columns = [
            objects.c.date_added,
            objects.c.object_id,
            objects.c.version,
            objects.c.label_seq,
        ]
        if with_body:
            columns.append(objects.c.body)
        floor = max(x for x in (after, selection.added_after, -1) if x is not None)
        seq = _seq_of(collection_id)
        with self._read.connect() as connection:
            labels: set[int] | None = None
            if (visible is not None or selection.labels is not None) and not selection.object_ids:
                labels = self._labels_in(connection, collection_id)
                for narrowing in (visible, selection.labels):
                    if narrowing is not None:
                        labels &= narrowing
            if labels is not None and len(labels) <= _MERGED_KEYS:
                if not labels:
                    return Page([], False)
                # One date-ordered range per access key, merged: what the reader may not
                # see is never read (bench/restricted.py).
                arms = [
                    select(*columns).where(
                        *_filter_clauses(seq, selection, visible, label=label),
                        objects.c.date_added > floor,
                    )
                    for label in sorted(labels)
                ]
                merged = union_all(*arms)
                query: Any = merged.order_by(merged.selected_columns.date_added)
            else:
                # With ids given, the id index finds a handful of rows; bounding and ordering
                # by an expression stops SQLite from walking the whole collection in date
                # order instead.
                date = objects.c.date_added + 0 if selection.object_ids else objects.c.date_added
                query = (
                    select(*columns)
                    .where(*_filter_clauses(seq, selection, visible), date > floor)
                    .order_by(date)
                )
            rows = connection.execute(query.limit(limit + 1)).all()
        more = len(rows) > limit
        if with_body:
            items = [
                StoredVersion(date, oid, version, body, label)
                for date, oid, version, label, body in rows[:limit]
            ]
        else:
            items = [
                StoredVersion(date, oid, version, b"", label)
                for date, oid, version, label in rows[:limit]
            ]
        return Page(items, more)

    @staticmethod
    def _labels_in(connection: Connection, collection_id: str) -> set[int]:
        """The access keys the collection's versions have used (some perhaps no longer)."""
        query = (
            select(collection_keys.c.label_seq)
            .join(collections, collections.c.seq == collection_keys.c.collection_seq)
            .where(collections.c.id == collection_id)
        )
        return set(connection.execute(query).scalars())

    def newest_with_keys(
        self, collection_id: str, labels: frozenset[int], *, before: int | None, limit: int
    ) -> Page:
        """Up to ``limit`` of the collection's newest versions with these access keys, newest
        first, strictly before ``before``: an originator's latest contributions. One range per
        key, each cut to ``limit`` before they are merged, so a page costs the same however
        much the keys hold."""
        if not labels:
            return Page([], False)
        seq = _seq_of(collection_id)
        columns = [
            objects.c.date_added,
            objects.c.object_id,
            objects.c.version,
            objects.c.body,
            objects.c.label_seq,
        ]
        merged = len(labels) <= _MERGED_KEYS
        arms = []
        for keys in [[label] for label in sorted(labels)] if merged else [sorted(labels)]:
            clauses = [
                objects.c.collection_seq == seq,
                objects.c.label_seq.in_(keys),
                objects.c.is_latest == true(),
            ]
            if before is not None:
                clauses.append(objects.c.date_added < before)
            arms.append(
                select(*columns)
                .where(*clauses)
                .order_by(objects.c.date_added.desc())
                .limit(limit + 1)
                .subquery()
            )
        newest = union_all(*(select(arm) for arm in arms)).subquery()
        query = select(newest).order_by(newest.c.date_added.desc()).limit(limit + 1)
        with self._read.connect() as connection:
            rows = connection.execute(query).all()
        items = [StoredVersion(d, o, v, bytes(b), label) for d, o, v, b, label in rows[:limit]]
        return Page(items, len(rows) > limit)

    def count_latest(self, collection_id: str, labels: frozenset[int]) -> int:
        """How many objects' newest versions carry these access keys (the primary key's
        prefix finds them)."""
        if not labels:
            return 0
        query = select(func.count()).where(
            objects.c.collection_seq == _seq_of(collection_id),
            objects.c.label_seq.in_(sorted(labels)),
            objects.c.is_latest == true(),
        )
        with self._read.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def versions_everywhere(self, object_id: str) -> list[tuple[str, StoredVersion]]:
        """Every stored version of an object, in every collection, with the collection id."""
        query = (
            select(
                collections.c.id,
                objects.c.date_added,
                objects.c.object_id,
                objects.c.version,
                objects.c.body,
                objects.c.label_seq,
            )
            .select_from(objects.join(collections, collections.c.seq == objects.c.collection_seq))
            .where(objects.c.id_hash == id_hash(object_id), objects.c.object_id == object_id)
            .order_by(collections.c.id, objects.c.date_added)
        )
        with self._read.connect() as connection:
            return [(row[0], StoredVersion(*row[1:])) for row in connection.execute(query)]

    def iter_versions(
        self,
        collection_id: str,
        selection: VersionFilter,
        visible: frozenset[int] | None = None,
    ) -> Iterator[StoredVersion]:
        """Every selected version in ``date_added`` order, fetched in keyset batches."""
        after: int | None = None
        while True:
            page = self.read_page(
                collection_id, selection, limit=5000, after=after, visible=visible
            )
            yield from page.items
            if not page.more:
                return
            after = page.items[-1].date_added

    def delete_versions(
        self,
        collection_id: str,
        selection: VersionFilter,
        visible: frozenset[int] | None = None,
    ) -> int:
        """Delete the selected versions and re-derive latest/first flags of what remains."""
        with self._transactions.begin() as connection:
            seq, _ = self._lock_collection(connection, collection_id)
            doomed = connection.execute(
                select(objects.c.date_added, objects.c.object_id).where(
                    *_filter_clauses(seq, selection, visible)
                )
            ).all()
            if not doomed:
                return 0
            for table in (objects, observables, observables_recent, sealed_sources):
                connection.execute(
                    delete(table).where(
                        table.c.collection_seq == seq, table.c.date_added == bindparam("d")
                    ),
                    [{"d": row[0]} for row in doomed],
                )
            _count_removal(connection, seq)
            for object_id in {row[1] for row in doomed}:
                self._reflag(connection, seq, object_id)
        return len(doomed)

    def _merge_recent(self, connection: Connection) -> None:
        """Move the recent index rows into the large table once there are `merge_rows` of
        them (schema: ``observables_recent``), ordered by digest. On PostgreSQL one statement
        moves them, under a lock only merges take (a merge already under way is left to
        finish it); SQLite's writers take turns anyway."""
        held = connection.execute(select(func.count()).select_from(observables_recent))
        if held.scalar_one() < self.merge_rows:
            return
        if self.is_sqlite:
            connection.exec_driver_sql(
                f"INSERT INTO observables ({_OBSERVABLE_COLUMNS}) SELECT {_OBSERVABLE_COLUMNS} "
                "FROM observables_recent ORDER BY digest, collection_seq"
            )
            connection.exec_driver_sql("DELETE FROM observables_recent")
            return
        if not connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _MERGE_LOCK}
        ).scalar():
            return
        connection.exec_driver_sql(
            f"WITH moved AS (DELETE FROM observables_recent RETURNING {_OBSERVABLE_COLUMNS}) "
            f"INSERT INTO observables ({_OBSERVABLE_COLUMNS}) SELECT {_OBSERVABLE_COLUMNS} "
            "FROM moved ORDER BY digest, collection_seq"
        )

    def occurrences(
        self,
        collection_id: str,
        digests: Sequence[int],
        overlapping: Sequence[tuple[str, str, str]] = (),
    ) -> list[Occurrence]:
        """The versions of the collection that mention a value of ``digests``
        (`observable_digest`), or an address range of a kind overlapping (low, high) as
        ``overlapping`` lists them; whoever may see them (the service filters)."""
        if not digests and not overlapping:
            return []
        seq = _seq_of(collection_id)
        # One arm per index and table: the values by their digest, the ranges by their low
        # end (an OR of the two would have the database scan the collection's whole index).
        # The collection is compared as ``collection_seq + 0``, which SQLite's planner cannot
        # answer from the primary key: an equality there would have it read the collection's
        # every row rather than the few the digests name.
        arms = []
        for table in (observables, observables_recent):
            columns = (
                table.c.kind,
                table.c.value,
                table.c.date_added,
                table.c.label_seq,
                table.c.object_id,
                table.c.version,
                table.c.type,
            )
            if digests:
                arms.append(
                    select(*columns).where(
                        table.c.digest.in_(digests), (table.c.collection_seq + 0) == seq
                    )
                )
            arms += [
                select(*columns).where(
                    table.c.kind == kind,
                    table.c.low.is_not(None),
                    table.c.low <= high,
                    table.c.high >= low,
                    table.c.collection_seq == seq,
                )
                for kind, low, high in overlapping
            ]
        query = arms[0] if len(arms) == 1 else union_all(*arms)
        with self._read.connect() as connection:
            return [Occurrence(*row) for row in connection.execute(query)]

    def observable_values(
        self, collection_id: str, labels: frozenset[int]
    ) -> list[tuple[str, str]]:
        """Each (kind, value) the collection's versions under ``labels`` mention, once
        (observables only: not the objects sightings, relationships and reports refer to,
        nor names)."""
        if not labels:
            return []
        seq = _seq_of(collection_id)
        arms = [
            select(table.c.kind, table.c.value).where(
                table.c.collection_seq == seq,
                table.c.label_seq.in_(sorted(labels)),
                table.c.kind.not_in(NOT_VALUES),
            )
            for table in (observables, observables_recent)
        ]
        query = union(*arms)
        with self._read.connect() as connection:
            return [(kind, value) for kind, value in connection.execute(query)]

    def observables_generation(self, collection_id: str) -> tuple[int, int]:
        """What changes whenever the collection's indexed values do: its last addition and
        how many removals it has seen."""
        query = select(collections.c.last_added, collections.c.removals).where(
            collections.c.id == collection_id
        )
        with self._read.connect() as connection:
            last, removals = connection.execute(query).one()
        return int(last), int(removals)

    def collection_generations(self) -> dict[str, tuple[int, int]]:
        """Each collection's last addition and removal count: together they change whenever
        its versions do (a write, a move to the end, a deletion or expiry), so what is
        computed from a collection holds while they stay the same."""
        query = select(collections.c.id, collections.c.last_added, collections.c.removals)
        with self._read.connect() as connection:
            return {
                collection_id: (int(last), int(removals))
                for collection_id, last, removals in connection.execute(query)
            }

    def bodies_at(self, collection_id: str, dates: Sequence[int]) -> dict[int, bytes]:
        """The bodies of the collection's versions added at ``dates``."""
        if not dates:
            return {}
        query = select(objects.c.date_added, objects.c.body).where(
            objects.c.collection_seq == _seq_of(collection_id), objects.c.date_added.in_(dates)
        )
        with self._read.connect() as connection:
            return {int(added): bytes(body) for added, body in connection.execute(query)}

    def sealed_sources(self, object_id: str) -> list[tuple[str, str, bytes]]:
        """(collection id, version, sealed identity) of each anonymous version of the object."""
        query = (
            select(collections.c.id, objects.c.version, sealed_sources.c.sealed)
            .join(objects, objects.c.collection_seq == collections.c.seq)
            .join(
                sealed_sources,
                (sealed_sources.c.collection_seq == objects.c.collection_seq)
                & (sealed_sources.c.date_added == objects.c.date_added),
            )
            .where(objects.c.object_id == object_id)
            .order_by(collections.c.id, objects.c.version_key)
        )
        with self._read.connect() as connection:
            return [(row[0], row[1], bytes(row[2])) for row in connection.execute(query)]

    def contacts_for(self, originator: str) -> list[ContactRecord]:
        """The contact requests sent to an originator organization, newest first."""
        query = (
            select(
                contact_requests.c.id,
                collections.c.id,
                contact_requests.c.originator,
                contact_requests.c.object_ids,
                contact_requests.c.from_organization,
                contact_requests.c.from_user,
                contact_requests.c.message,
                contact_requests.c.created_at,
            )
            .join(collections, collections.c.seq == contact_requests.c.collection_seq)
            .where(contact_requests.c.originator == originator)
            .order_by(contact_requests.c.created_at.desc())
        )
        with self._read.connect() as connection:
            rows = connection.execute(query).all()
        return [ContactRecord(r[0], r[1], r[2], tuple(orjson.loads(r[3])), *r[4:]) for r in rows]

    def add_reveal(self, reveal: RevealRecord) -> None:
        with self._transactions.begin() as connection:
            connection.execute(insert(reveals).values(**asdict(reveal)))

    def reveal(self, reveal_id: str) -> RevealRecord | None:
        with self._read.connect() as connection:
            row = connection.execute(select(reveals).where(reveals.c.id == reveal_id)).first()
        return None if row is None else RevealRecord(*row)

    def reveals(self) -> list[RevealRecord]:
        """Every reveal asked for, newest first."""
        query = select(reveals).order_by(reveals.c.requested_at.desc(), reveals.c.id)
        with self._read.connect() as connection:
            return [RevealRecord(*row) for row in connection.execute(query)]

    def confirm_reveal(self, reveal_id: str, admin: str, at: int) -> bool:
        """Mark the reveal confirmed, unless someone confirmed it first."""
        with self._transactions.begin() as connection:
            done = connection.execute(
                update(reveals)
                .where(reveals.c.id == reveal_id, reveals.c.confirmed_by.is_(None))
                .values(confirmed_by=admin, confirmed_at=at)
            )
        return done.rowcount == 1

    def expire_versions(self, collection_id: str, added_before: int) -> int:
        """Delete the versions added to the collection before ``added_before`` (retention),
        and re-derive latest/first flags of what remains."""
        with self._transactions.begin() as connection:
            seq, _ = self._lock_collection(connection, collection_id)
            expired = objects.c.collection_seq == seq, objects.c.date_added < added_before
            object_ids = (
                connection.execute(select(objects.c.object_id).where(*expired).distinct())
                .scalars()
                .all()
            )
            if not object_ids:
                return 0
            removed = connection.execute(delete(objects).where(*expired)).rowcount
            for table in (observables, observables_recent):
                connection.execute(
                    delete(table).where(
                        table.c.collection_seq == seq, table.c.date_added < added_before
                    )
                )
            connection.execute(
                delete(sealed_sources).where(
                    sealed_sources.c.collection_seq == seq,
                    sealed_sources.c.date_added < added_before,
                )
            )
            for object_id in object_ids:
                self._reflag(connection, seq, object_id)
            if removed:
                _count_removal(connection, seq)
        return int(removed)

    @staticmethod
    def _reflag(connection: Connection, seq: int, object_id: str) -> None:
        where = _object_is(seq, object_id)
        keys = connection.execute(select(objects.c.version_key).where(*where)).scalars().all()
        if not keys:
            return
        latest, first = max(keys), min(keys)
        connection.execute(
            update(objects)
            .where(*where)
            .values(
                is_latest=objects.c.version_key == latest,
                is_first=objects.c.version_key == first,
            )
        )

    # statuses

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


class Unit:
    """The writes that commit together (see :meth:`Store.begin`)."""

    def __init__(self, store: Store, connection: Connection) -> None:
        self._store = store
        self.connection = connection

    def ingest(
        self, collection_id: str, versions: Sequence[NewVersion], reuse: IdReuse | None = None
    ) -> IngestResult:
        """Insert what is new; ``reuse`` decides what becomes of ids other originators use
        (`Store._store_versions`)."""
        return self._store._store_versions(self.connection, collection_id, versions, reuse)

    def record_status(self, status: StatusRecord) -> None:
        _insert_status(self.connection, status)

    def record_receipts(self, collection_id: str, added: Sequence[int], peer_name: str) -> None:
        """Which peer sent the versions just added: provenance beside them, not in them."""
        _insert_receipts(self.connection, collection_id, added, peer_name)

    def advance(self, subscription: SubscriptionRecord, cursor: str | None, count: int) -> None:
        """Move a pull subscription's cursor with the page it stored: after a crash either all
        of a page is in with the cursor past it, or none is and the page is fetched again."""
        PeerStore.advance(self.connection, subscription, cursor, count)

    def seal_sources(self, collection_id: str, sealed: Mapping[int, bytes]) -> None:
        """Keep the sealed identities of anonymous versions just added, by ``date_added``."""
        if not sealed:
            return
        seq = self.connection.execute(
            select(collections.c.seq).where(collections.c.id == collection_id)
        ).scalar_one()
        self.connection.exec_driver_sql(
            self._store._seal_sql, [(seq, added, record) for added, record in sealed.items()]
        )

    def match_usage(self, organization: str, collection_id: str) -> tuple[int, int, int] | None:
        """(day, values used that day, last request time) of the organization's matching
        against the collection, if it ever matched; held until the unit ends (PostgreSQL
        locks the row, SQLite the whole database), so two requests cannot both spend it."""
        query = select(match_budgets.c.day, match_budgets.c.used, match_budgets.c.last_at).where(
            match_budgets.c.organization == organization,
            match_budgets.c.collection_seq == _seq_of(collection_id),
        )
        if not self._store.is_sqlite:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def add_contacts(self, contacts: Sequence[ContactRecord]) -> None:
        for contact in contacts:
            seq = self.connection.execute(
                select(collections.c.seq).where(collections.c.id == contact.collection_id)
            ).scalar_one()
            self.connection.execute(
                insert(contact_requests).values(
                    id=contact.id,
                    collection_seq=seq,
                    originator=contact.originator,
                    object_ids=orjson.dumps(list(contact.object_ids)).decode(),
                    from_organization=contact.from_organization,
                    from_user=contact.from_user,
                    message=contact.message,
                    created_at=contact.created_at,
                )
            )

    def charge_match(
        self, organization: str, collection_id: str, day: int, values: int, now: int
    ) -> None:
        """Count ``values`` matched today against the organization's budget, and the time."""
        seq = self.connection.execute(
            select(collections.c.seq).where(collections.c.id == collection_id)
        ).scalar_one()
        where = (match_budgets.c.organization == organization) & (
            match_budgets.c.collection_seq == seq
        )
        row = self.connection.execute(
            select(match_budgets.c.day, match_budgets.c.used).where(where)
        ).first()
        if row is None:
            self.connection.execute(
                insert(match_budgets).values(
                    organization=organization, collection_seq=seq, day=day, used=values,
                    last_at=now,
                )
            )  # fmt: skip
            return
        used = values + (int(row[1]) if int(row[0]) == day else 0)
        self.connection.execute(
            update(match_budgets).where(where).values(day=day, used=used, last_at=now)
        )

    def append_audit(self, entries: Sequence[AuditEntry], key: bytes) -> Frontier:
        return self._store.audit.append(self.connection, entries, key)

    def audit_frontier(self) -> Frontier:
        """The audit tree as committed, appends locked out until the unit ends."""
        return self._store.audit.frontier(self.connection)


@dataclass
class _Lineage:
    """The versions of one object id that one originator wrote, in one collection."""

    originator: str
    apart: bool = False
    """Kept apart for its writer (`IdReuse`): it reused another originator's id."""
    versions: set[str] = field(default_factory=set)
    labels: set[int] = field(default_factory=set)


def _lineage_for(lineages: Sequence[_Lineage], originator: str) -> _Lineage | None:
    """The lineage a new version by this originator joins: its own, or for a peer the one
    that peer started (it keeps the origin first recorded)."""
    sender = sender_of(originator)
    for lineage in lineages:
        if lineage.originator == originator:
            return lineage
    if sender is not None:
        for lineage in lineages:
            if sender_of(lineage.originator) == sender:
                return lineage
    return None


def _connect_sqlite(dbapi_connection: DBAPIConnection) -> None:
    # Autocommit at the driver level so the "begin" hook alone decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        # 16 KiB pages for a new database (an existing one keeps its size): in the objects
        # table (WITHOUT ROWID, a b-tree of whole rows) a row over about 1 KiB spills into
        # overflow pages of a 4 KiB page, and realistic objects often are (reports, SDOs);
        # ingest and reads of realistic data cost about a quarter less (bench/realistic.py).
        "PRAGMA page_size=16384",
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=60000",
        "PRAGMA cache_size=-65536",
        # Read pages through a memory map (SQLite's ceiling, 2 GiB by default): a page costs
        # no read() call and no copy into each connection's cache.
        "PRAGMA mmap_size=2147418112",
    ):
        cursor.execute(pragma)
    # Checkpoint the WAL at 64 MiB whatever the page size (rarer checkpoints, faster ingest).
    page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_BYTES // page_size}")
    cursor.close()


_COLLECTION_QUERY = select(
    collections.c.id,
    collections.c.title,
    collections.c.description,
    collections.c.created_at,
    collections.c.agreement_name,
    collections.c.category,
    collections.c.anonymous_by_default,
)

# Statements run for every request are built once: building and keying one cost more than
# running it (bench/realistic.py).
_COLLECTION_BY_ID = _COLLECTION_QUERY.where(collections.c.id == bindparam("id"))
_ORGANIZATIONS = select(
    organizations.c.id,
    organizations.c.name,
    organizations.c.country,
    organizations.c.kind,
    organizations.c.sectors,
    organizations.c.disabled,
).order_by(organizations.c.id)
_ORGANIZATION_BY_ID = _ORGANIZATIONS.where(organizations.c.id == bindparam("id"))
_AGREEMENT_NEWEST = (
    select(agreements.c.version, agreements.c.document, agreements.c.applied_at)
    .where(agreements.c.name == bindparam("name"))
    .order_by(agreements.c.version.desc())
    .limit(1)
)
_MARKING_DEFINITION_COUNT = select(func.count()).select_from(marking_definitions)
_ORCON_APPROVAL_COUNT = select(func.count()).select_from(orcon_approvals)

_USER_QUERY = select(
    users.c.name,
    users.c.is_admin,
    users.c.disabled | func.coalesce(organizations.c.disabled, false()),
    users.c.organization_id,
    users.c.nationality,
    users.c.clearance,
    users.c.roles,
    users.c.token_hash,
).select_from(users.outerjoin(organizations, users.c.organization_id == organizations.c.id))
_USER_BY_TOKEN_HASH = _USER_QUERY.where(users.c.token_hash == bindparam("key"))
_USER_BY_NAME = _USER_QUERY.where(users.c.name == bindparam("key"))


def _user(row: Any) -> User:
    """A user row; a disabled organization disables its users at once."""
    return User(
        name=row[0],
        is_admin=row[1],
        disabled=bool(row[2]),
        organization_id=row[3],
        nationality=row[4],
        clearance=row[5],
        roles=frozenset(filter(None, row[6].split(","))),
    )


def _released_by(approvals: Iterable[NewVersion]) -> set[str]:
    """The objects that new, unrevoked approvals name (their signatures are the service's
    business: storage only keeps every reader's view consistent)."""
    released = set()
    for version in approvals:
        obj = orjson.loads(version.body)
        if obj.get("revoked") is not True and isinstance(obj.get("object_ref"), str):
            released.add(obj["object_ref"])
    return released


def _insert_receipts(
    connection: Connection, collection_id: str, added: Sequence[int], peer_name: str
) -> None:
    if not added:
        return
    seq = connection.execute(
        select(collections.c.seq).where(collections.c.id == collection_id)
    ).scalar_one()
    received_at = now_us()
    connection.execute(
        insert(receipts),
        [
            {
                "collection_seq": seq,
                "date_added": date_added,
                "peer_name": peer_name,
                "received_at": received_at,
            }
            for date_added in added
        ],
    )


def _insert_status(connection: Connection, status: StatusRecord) -> None:
    details = {
        "successes": status.successes,
        "failures": status.failures,
        "pendings": status.pendings,
    }
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
            details=orjson.dumps(details),
        )
    )


def _count_removal(connection: Connection, seq: int) -> None:
    connection.execute(
        update(collections)
        .where(collections.c.seq == seq)
        .values(removals=collections.c.removals + 1)
    )


def _seq_of(collection_id: str) -> Any:
    return select(collections.c.seq).where(collections.c.id == collection_id).scalar_subquery()


def _object_is(seq: int, object_id: str) -> tuple[Any, ...]:
    return (
        objects.c.collection_seq == seq,
        objects.c.id_hash == id_hash(object_id),
        objects.c.object_id == object_id,
    )


def _filter_clauses(
    seq: Any,
    selection: VersionFilter,
    visible: frozenset[int] | None = None,
    *,
    label: int | None = None,
) -> list[Any]:
    """The selection's conditions; ``label`` narrows them to one of the ``visible`` keys."""
    clauses: list[Any] = [objects.c.collection_seq == seq]
    if selection.object_ids:
        clauses.append(objects.c.id_hash.in_([id_hash(i) for i in selection.object_ids]))
        clauses.append(objects.c.object_id.in_(selection.object_ids))
    if selection.types:
        clauses.append(objects.c.type.in_(selection.types))
    if selection.spec_versions:
        clauses.append(objects.c.spec_version.in_(selection.spec_versions))
    if label is not None:
        clauses.append(objects.c.label_seq == label)
    else:
        if visible is not None:
            clauses.append(objects.c.label_seq.in_(sorted(visible)))
        if selection.labels is not None:
            clauses.append(objects.c.label_seq.in_(sorted(selection.labels)))
    wanted = selection.versions
    if "all" not in wanted:
        alternatives: list[Any] = []
        if "last" in wanted:
            alternatives.append(_edge(objects.c.is_latest, visible, newer=True))
        if "first" in wanted:
            alternatives.append(_edge(objects.c.is_first, visible, newer=False))
        keys = sorted(wanted - {"last", "first"})
        if keys:
            alternatives.append(objects.c.version_key.in_(keys))
        clauses.append(or_(*alternatives) if alternatives else false())
    return [and_(*clauses)]


def _edge(flag: Any, visible: frozenset[int] | None, *, newer: bool) -> Any:
    """The newest (oldest) version among those the reader passes.

    Most versions are their object's only one, so the flag settles them from the index; only
    a version the flag does not mark asks whether a newer (older) version the reader passes
    exists.
    """
    if visible is None:
        return flag == true()
    other = objects.alias("other")
    beyond = (
        other.c.version_key > objects.c.version_key
        if newer
        else other.c.version_key < objects.c.version_key
    )
    hidden_edge = ~(
        select(other.c.date_added)
        .where(
            other.c.collection_seq == objects.c.collection_seq,
            other.c.id_hash == objects.c.id_hash,
            other.c.object_id == objects.c.object_id,
            beyond,
            other.c.label_seq.in_(sorted(visible)),
        )
        .exists()
    )
    return or_(flag == true(), hidden_edge)


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
