"""The relational schema, shared by SQLite and PostgreSQL.

Each object version is one row holding its canonical JSON as bytes, so reads stream stored
bytes without re-serialising. ``date_added`` is an integer count of microseconds, strictly
increasing per collection: TAXII clients page on it, and keyset pagination needs it unique
per collection. ``is_latest``/``is_first`` are kept on write so
the default ``match[version]=last`` filter is a plain predicate, not a per-object subquery.

Indexes are kept narrow because their size sets the write speed: collections are referenced by
a small integer ``seq``, and objects are found by a 64-bit hash of their id (``id_hash``)
rather than by the id text. The store writes under a per-collection lock and checks for an
existing (id, version key) before inserting, which is what keeps versions unique.

Every version points at an ``access_keys`` row: the organization the node recorded as its
originator plus the marking refs it carries (object-level and granular). Objects share a
handful of these, so a reader's rights are evaluated once per key and pushed into SQL. On
SQLite the versions are stored clustered by (collection, key, date_added) (a ``WITHOUT ROWID``
table), and a reader's page is a date-ordered merge of the ranges of the keys it passes: what
it may see is read contiguously, and what it may not see is never touched, however much of it
there is. ``collection_keys`` lists the keys a collection has used, so the merge has one range
per key actually present. ``date_added`` stays unique per collection (``objects_by_date``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

collections = Table(
    "collections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_added", BigInteger, nullable=False),
    Column("agreement_name", String(100), nullable=True),
    Column("category", String(40), nullable=True),
    Column("anonymous_by_default", Boolean, nullable=False, server_default=false()),
    # Counts removals of versions (deletes, retention): with last_added, what changes
    # whenever the collection's indexed values do (a private matching setup's key).
    Column("removals", BigInteger, nullable=False, server_default="0"),
)

objects = Table(
    "objects",
    metadata,
    Column("collection_seq", Integer, nullable=False, autoincrement=False),
    Column("date_added", BigInteger, nullable=False, autoincrement=False),
    Column("id_hash", BigInteger, nullable=False),
    Column("object_id", String(300), nullable=False),
    Column("version_key", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("type", String(250), nullable=False),
    Column("spec_version", String(16), nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("is_first", Boolean, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("label_seq", Integer, nullable=False, autoincrement=False),
    PrimaryKeyConstraint("collection_seq", "label_seq", "date_added"),
    sqlite_with_rowid=False,
)
Index("objects_by_date", objects.c.collection_seq, objects.c.date_added, unique=True)
Index("objects_by_id", objects.c.collection_seq, objects.c.id_hash)
Index(
    "objects_by_type",
    objects.c.collection_seq,
    objects.c.label_seq,
    objects.c.type,
    objects.c.date_added,
)

collection_keys = Table(
    "collection_keys",
    metadata,
    Column("collection_seq", Integer, primary_key=True, autoincrement=False),
    Column("label_seq", Integer, primary_key=True, autoincrement=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("originator_id", String(200), nullable=False),
    Column("marking_refs", Text, nullable=False),
    Column("granular_refs", Text, nullable=False),
)

marking_definitions = Table(
    "marking_definitions",
    metadata,
    Column("id", String(300), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("body", LargeBinary, nullable=False),
)

orcon_approvals = Table(
    "orcon_approvals",
    metadata,
    Column("collection_seq", Integer, primary_key=True, autoincrement=False),
    Column("date_added", BigInteger, primary_key=True, autoincrement=False),
    Column("body", LargeBinary, nullable=False),
)
"""The ORCON approval versions among the objects, kept aside (like marking definitions) so the
approvals in force are read without scanning the objects. A record, never deleted: deleting
an approval object from a collection does not withdraw it, only a signed revocation does."""

statuses = Table(
    "statuses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("collection_id", String(64), nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("request_timestamp", BigInteger, nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("success_count", Integer, nullable=False),
    Column("failure_count", Integer, nullable=False),
    Column("pending_count", Integer, nullable=False),
    Column("details", LargeBinary, nullable=False),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", String(3), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("sectors", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

agreements = Table(
    "agreements",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("document", LargeBinary, nullable=False),
    Column("applied_at", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("is_admin", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column(
        "organization_id",
        String(200),
        ForeignKey("organizations.id", name="users_organization"),
        nullable=True,
    ),
    Column("nationality", String(3), nullable=True),
    Column("clearance", String(2), nullable=False, server_default="U"),
    Column("roles", Text, nullable=False, server_default=""),
)

peers = Table(
    "peers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("api_root", Text, nullable=False),
    Column("certificate", LargeBinary, nullable=False),
    Column("fingerprint", String(95), nullable=False),
    Column("country", String(3), nullable=False),
    Column("agreement_name", String(100), nullable=False),
    Column("signing_key", String(100), nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "peer_name",
        String(100),
        ForeignKey("peers.name", name="subscriptions_peer", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("remote_collection", String(200), primary_key=True),
    Column("local_collection", String(64), nullable=False),
    Column("push", Boolean, nullable=False),
    Column("cursor", Text, nullable=True),
    Column("last_success", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("objects_in", BigInteger, nullable=False),
    Column("objects_out", BigInteger, nullable=False),
    Column("push_cursor", BigInteger, nullable=True),
)

# Which peer sent a version, and when: provenance kept beside the version, not in it.
receipts = Table(
    "receipts",
    metadata,
    Column("collection_seq", Integer, primary_key=True, autoincrement=False),
    Column("date_added", BigInteger, primary_key=True, autoincrement=False),
    Column("peer_name", String(100), nullable=False),
    Column("received_at", BigInteger, nullable=False),
)

# The true identity behind each anonymous contribution, sealed (allyshare.sources.sealing),
# beside its version.
sealed_sources = Table(
    "sealed_sources",
    metadata,
    Column("collection_seq", Integer, primary_key=True, autoincrement=False),
    Column("date_added", BigInteger, primary_key=True, autoincrement=False),
    Column("sealed", LargeBinary, nullable=False),
)

# The correlation index: one row per observable value a version mentions (allyshare.observables),
# with the version's access key, so that a lookup is filtered by the reader's view as a read
# is. ``digest`` is the narrow key of (kind, value); an address range also has its lowest and
# highest address (32 hexadecimal digits each), so that an address finds the ranges holding it.
#
# In two tables of the same shape: ``observables_recent`` takes each ingest's rows and stays
# small, so their inserts by digest touch few pages; once it holds `MERGE_ROWS` rows, they
# move to ``observables`` in one insert ordered by digest, which writes each page of the large
# digest index once per merge rather than once per ingest. A lookup reads both.


def _observable_table(name: str) -> Table:
    table = Table(
        name,
        metadata,
        Column("collection_seq", Integer, nullable=False, autoincrement=False),
        Column("date_added", BigInteger, nullable=False, autoincrement=False),
        Column("digest", BigInteger, nullable=False),
        Column("kind", String(32), nullable=False),
        Column("value", Text, nullable=False),
        Column("label_seq", Integer, nullable=False, autoincrement=False),
        Column("low", String(32), nullable=True),
        Column("high", String(32), nullable=True),
        Column("object_id", String(300), nullable=False),
        Column("version", Text, nullable=False),
        Column("type", String(250), nullable=False),
        # Clustered by version, so that an ingest appends and a removal deletes a range.
        PrimaryKeyConstraint("collection_seq", "date_added", "digest"),
        sqlite_with_rowid=False,
    )
    Index(f"{name}_by_value", table.c.digest, table.c.collection_seq)
    Index(
        f"{name}_by_range",
        table.c.kind,
        table.c.low,
        sqlite_where=table.c.low.is_not(None),
        postgresql_where=table.c.low.is_not(None),
    )
    return table


observables = _observable_table("observables")
observables_recent = _observable_table("observables_recent")
MERGE_ROWS = 20_000

# What each organization has matched against each collection today, and when it last asked
# (allyshare.matching.budget): kept in the database so that a restart resets nothing.
match_budgets = Table(
    "match_budgets",
    metadata,
    Column("organization", String(300), primary_key=True),
    Column("collection_seq", Integer, primary_key=True, autoincrement=False),
    Column("day", Integer, nullable=False),
    Column("used", Integer, nullable=False),
    Column("last_at", BigInteger, nullable=False),
)

# Contact requests after a private match, each for one originator organization to read.
contact_requests = Table(
    "contact_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("collection_seq", Integer, nullable=False, autoincrement=False),
    Column("originator", String(300), nullable=False, index=True),
    Column("object_ids", Text, nullable=False),
    Column("from_organization", String(300), nullable=False),
    Column("from_user", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Reveals of anonymous contributors asked for, each waiting for a second admin when the
# agreement wants two (allyshare.service.sources).
reveals = Table(
    "reveals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("object_id", String(300), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", BigInteger, nullable=False),
    Column("confirmed_by", String(200), nullable=True),
    Column("confirmed_at", BigInteger, nullable=True),
)

# Signatures a node accepted, each kept until it expires, so a copy is refused by every
# process serving this database (see allyshare.storage.signatures).
signatures_seen = Table(
    "signatures_seen",
    metadata,
    Column("signature_id", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
)
Index("signatures_seen_by_expiry", signatures_seen.c.expires_at)

# The audit log: append-only (triggers refuse updates and deletes, see migration 0008).
# ``seq`` is the entry's leaf index in the log's Merkle tree; ``body`` is the leaf itself
# (`allyshare.audit.entries`); ``mac`` is keyed by the node key, so a row written by anything
# but the node is told apart by ``audit verify``.
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("action", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_organization", String(200), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("mac", LargeBinary, nullable=False),
)
Index("audit_entries_by_time", audit_entries.c.recorded_at)
Index("audit_entries_by_actor", audit_entries.c.actor, audit_entries.c.seq)

# Whose objects each entry is about: one row per entry and originator (not per object: a read
# of 10,000 objects is one entry and, mostly, a few rows), for the view an organization has of
# the entries about its own objects; an object's trail is found among them by its id.
audit_about = Table(
    "audit_about",
    metadata,
    Column("seq", BigInteger, nullable=False, autoincrement=False),
    Column("originator", String(200), nullable=False),
)
Index("audit_about_by_originator", audit_about.c.originator, audit_about.c.seq)

# Every complete subtree of the log's Merkle tree as it completes (level 0 = leaf hashes):
# proofs are a few lookups, not a recomputation.
audit_nodes = Table(
    "audit_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

# Checkpoints this node signed of its own log (C2SP signed notes), and the cosignatures its
# peers gave them.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("signed_at", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
)
audit_cosignatures = Table(
    "audit_cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(100), primary_key=True),
    Column("signature", Text, nullable=False),
    Column("received_at", BigInteger, nullable=False),
)

# The checkpoints of peers' logs this node witnessed (with the cosignature it gave), and
# what it found when a peer showed one inconsistent with an earlier one.
peer_checkpoints = Table(
    "peer_checkpoints",
    metadata,
    Column("peer_name", String(100), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("cosignature", Text, nullable=False),
    Column("witnessed_at", BigInteger, nullable=False),
)
peer_log_alarms = Table(
    "peer_log_alarms",
    metadata,
    Column("peer_name", String(100), primary_key=True),
    Column("raised_at", BigInteger, primary_key=True, autoincrement=False),
    Column("reason", Text, nullable=False),
    Column("held", Text, nullable=False),
    Column("shown", Text, nullable=False),
)


# Web UI sessions (allyshare.service.sessions): only the SHA-256 of each session's id is kept,
# so a copy of the database opens no session; ``csrf`` is the token its forms carry.
ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)
