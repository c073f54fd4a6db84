"""The correlation index: one row per observable value each stored version mentions, filled
here for what is already stored; and a count of each collection's removals, which with its
last addition tells when its indexed values changed.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from allyshare.observables import observables_in
from allyshare.storage.observables import observable_rows

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("collections") as collections:
        collections.add_column(
            sa.Column("removals", sa.BigInteger, nullable=False, server_default="0")
        )
    table = op.create_table(
        "observables",
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
    assert table is not None
    connection = op.get_bind()
    stored = connection.execute(
        sa.text(
            "SELECT collection_seq, date_added, label_seq, object_id, version, type, body "
            "FROM objects "
            "WHERE type IN ('indicator', 'ipv4-addr', 'ipv6-addr', 'domain-name', 'url', "
            "'email-addr', 'mac-addr', 'autonomous-system', 'file', 'x509-certificate')"
        )
    )
    while batch := stored.fetchmany(_BATCH):
        rows = [
            row
            for seq, added, label, object_id, version, kind, body in batch
            for row in observable_rows(
                seq, added, label, (object_id, version, kind), observables_in(orjson.loads(body))
            )
        ]
        if rows:
            op.bulk_insert(table, rows)
    op.create_index("observables_by_value", "observables", ["digest", "collection_seq"])
    op.create_index(
        "observables_by_range",
        "observables",
        ["kind", "low"],
        sqlite_where=sa.text("low IS NOT NULL"),
        postgresql_where=sa.text("low IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("observables")
    with op.batch_alter_table("collections") as collections:
        collections.drop_column("removals")
