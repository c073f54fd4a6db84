"""The relational schema, shared by SQLite and PostgreSQL.

Each object version is one row keyed by (collection, id, version key) holding the canonical
JSON as bytes, so reads stream stored bytes without re-serialising. ``date_added`` is an integer
count of microseconds, strictly increasing per collection: TAXII clients page on it, and keyset
pagination needs it unique. ``is_latest``/``is_first`` are kept on write so the default
``match[version]=last`` filter is an indexed predicate, not a per-object subquery.
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
    String,
    Table,
    Text,
)

metadata = MetaData()

collections = Table(
    "collections",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_added", BigInteger, nullable=False),
)

objects = Table(
    "objects",
    metadata,
    Column(
        "collection_id",
        String(64),
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("object_id", String(300), primary_key=True),
    Column("version_key", String(64), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("date_added", BigInteger, nullable=False),
    Column("type", String(250), nullable=False),
    Column("spec_version", String(16), nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("is_first", Boolean, nullable=False),
    Column("body", LargeBinary, nullable=False),
)
Index("objects_by_added", objects.c.collection_id, objects.c.date_added, unique=True)
Index("objects_by_type", objects.c.collection_id, objects.c.type, objects.c.date_added)

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

users = Table(
    "users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("is_admin", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

permissions = Table(
    "permissions",
    metadata,
    Column(
        "user_name", String(200), ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "collection_id",
        String(64),
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("can_read", Boolean, nullable=False),
    Column("can_write", Boolean, nullable=False),
)
