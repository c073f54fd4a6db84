"""A small table beside the correlation index that takes each ingest's rows, moved into the
large one in batches ordered by digest (schema: ``observables_recent``).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_COLUMNS = (
    "collection_seq, date_added, digest, kind, value, label_seq, low, high, object_id, "
    "version, type"
)


def upgrade() -> None:
    op.create_table(
        "observables_recent",
        sa.Column("collection_seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("date_added", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("digest", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("label_seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("low", sa.String(32), nullable=True),
        sa.Column("high", sa.String(32), nullable=True),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.PrimaryKeyConstraint("collection_seq", "date_added", "digest"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "observables_recent_by_value", "observables_recent", ["digest", "collection_seq"]
    )
    op.create_index(
        "observables_recent_by_range",
        "observables_recent",
        ["kind", "low"],
        sqlite_where=sa.text("low IS NOT NULL"),
        postgresql_where=sa.text("low IS NOT NULL"),
    )


def downgrade() -> None:
    op.execute(
        sa.text(f"INSERT INTO observables ({_COLUMNS}) SELECT {_COLUMNS} FROM observables_recent")
    )
    op.drop_table("observables_recent")
