"""The audit log: entries, what they are about, the Merkle tree's nodes, signed checkpoints,
cosignatures, and the peers' checkpoints this node witnessed.

The log's tables (and the cosignatures given and received) refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL) by trigger, so not even a bug in the node can rewrite its history;
only someone who drops the triggers can, and ``audit verify`` finds what they changed.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY = (
    "audit_entries",
    "audit_about",
    "audit_nodes",
    "audit_checkpoints",
    "audit_cosignatures",
    "peer_checkpoints",
)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_organization", sa.String(200), nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("mac", sa.LargeBinary, nullable=False),
    )
    op.create_index("audit_entries_by_time", "audit_entries", ["recorded_at"])
    op.create_index("audit_entries_by_actor", "audit_entries", ["actor", "seq"])
    op.create_table(
        "audit_about",
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("originator", sa.String(200), nullable=False),
    )
    op.create_index("audit_about_by_originator", "audit_about", ["originator", "seq"])
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("signed_at", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_cosignatures",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(100), primary_key=True),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "peer_checkpoints",
        sa.Column("peer_name", sa.String(100), primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("cosignature", sa.Text, nullable=False),
        sa.Column("witnessed_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "peer_log_alarms",
        sa.Column("peer_name", sa.String(100), primary_key=True),
        sa.Column("raised_at", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("held", sa.Text, nullable=False),
        sa.Column("shown", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION allyshare_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION allyshare_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION allyshare_append_only()"
        )


def downgrade() -> None:
    for table in ("peer_log_alarms", *APPEND_ONLY):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION allyshare_append_only()")
