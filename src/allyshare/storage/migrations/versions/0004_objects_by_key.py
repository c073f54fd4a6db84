"""Object versions clustered by (collection, access key, date_added); keys per collection.

A reader who may see a tenth of a collection used to walk the date index past the nine tenths
it may not see and fetch its rows scattered across the table. Keyed by access key first, what
a reader may see lies in a few contiguous ranges that a page merges in date order. The table
is rebuilt (SQLite cannot change a primary key in place), in key order.

On SQLite the planner is also given fixed statistics for ``objects`` (the shape of a large
collection, as the SQLite documentation suggests for stable plans): without any, it prefers a
scan of the primary key's collection prefix to the id index for a lookup by id that the index
does not cover, which turns every write into a scan of the collection.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# sqlite_stat1 rows: (index, "rows, then rows per distinct prefix of its columns"), for a
# collection of a million versions under ten access keys and twenty object types.
OBJECT_STATISTICS = (
    ("objects", "1000000 1000000 100000 1"),
    ("objects_by_date", "1000000 1000000 1"),
    ("objects_by_id", "1000000 1000000 2"),
    ("objects_by_type", "1000000 1000000 100000 5000 1"),
)
COLUMNS = (
    "collection_seq, date_added, id_hash, object_id, version_key, version, type, "
    "spec_version, is_latest, is_first, body, label_seq"
)


def _object_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("collection_seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("date_added", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("id_hash", sa.BigInteger, nullable=False),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("version_key", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("spec_version", sa.String(16), nullable=False),
        sa.Column("is_latest", sa.Boolean, nullable=False),
        sa.Column("is_first", sa.Boolean, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("label_seq", sa.Integer, nullable=False, autoincrement=False),
    ]


def upgrade() -> None:
    op.create_table(
        "objects_next",
        *_object_columns(),
        sa.PrimaryKeyConstraint("collection_seq", "label_seq", "date_added"),
        sqlite_with_rowid=False,
    )
    op.execute(
        f"INSERT INTO objects_next ({COLUMNS}) SELECT {COLUMNS} FROM objects "
        "ORDER BY collection_seq, label_seq, date_added"
    )
    op.drop_table("objects")
    op.rename_table("objects_next", "objects")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE objects RENAME CONSTRAINT objects_next_pkey TO objects_pkey")
    op.create_index("objects_by_date", "objects", ["collection_seq", "date_added"], unique=True)
    op.create_index("objects_by_id", "objects", ["collection_seq", "id_hash"])
    op.create_index(
        "objects_by_type", "objects", ["collection_seq", "label_seq", "type", "date_added"]
    )
    op.create_table(
        "collection_keys",
        sa.Column("collection_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label_seq", sa.Integer, primary_key=True, autoincrement=False),
    )
    op.execute(
        "INSERT INTO collection_keys (collection_seq, label_seq) "
        "SELECT DISTINCT collection_seq, label_seq FROM objects"
    )
    if op.get_bind().dialect.name == "sqlite":
        _fix_statistics()


def _fix_statistics() -> None:
    """Analysing the (tiny) key table creates ``sqlite_stat1``; the rows for ``objects`` are
    then the fixed ones, loaded by every connection opened after this."""
    op.execute("ANALYZE collection_keys")
    op.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'objects'")
    for index, stat in OBJECT_STATISTICS:
        op.execute(
            sa.text(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('objects', :idx, :stat)"
            ).bindparams(idx=index, stat=stat)
        )
    op.execute("ANALYZE sqlite_schema")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DELETE FROM sqlite_stat1 WHERE tbl IN ('objects', 'collection_keys')")
    op.drop_table("collection_keys")
    op.create_table(
        "objects_previous",
        *_object_columns()[:-1],
        sa.Column("label_seq", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("collection_seq", "date_added"),
    )
    op.execute(
        f"INSERT INTO objects_previous ({COLUMNS}) SELECT {COLUMNS} FROM objects "
        "ORDER BY collection_seq, date_added"
    )
    op.drop_table("objects")
    op.rename_table("objects_previous", "objects")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE objects RENAME CONSTRAINT objects_previous_pkey TO objects_pkey")
    op.create_index("objects_by_id", "objects", ["collection_seq", "id_hash"])
    op.create_index("objects_by_type", "objects", ["collection_seq", "type", "date_added"])
    op.create_index(
        "objects_by_date_label",
        "objects",
        ["collection_seq", "date_added", "label_seq", "is_latest"],
    )
