"""Initial schema: collections, object versions, statuses, users, permissions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_added", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "objects",
        sa.Column("collection_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("date_added", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id_hash", sa.BigInteger, nullable=False),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("version_key", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("spec_version", sa.String(16), nullable=False),
        sa.Column("is_latest", sa.Boolean, nullable=False),
        sa.Column("is_first", sa.Boolean, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_index("objects_by_id", "objects", ["collection_seq", "id_hash"])
    op.create_index("objects_by_type", "objects", ["collection_seq", "type", "date_added"])
    op.create_table(
        "statuses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("collection_id", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("request_timestamp", sa.BigInteger, nullable=False),
        sa.Column("total_count", sa.Integer, nullable=False),
        sa.Column("success_count", sa.Integer, nullable=False),
        sa.Column("failure_count", sa.Integer, nullable=False),
        sa.Column("pending_count", sa.Integer, nullable=False),
        sa.Column("details", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "permissions",
        sa.Column(
            "user_name",
            sa.String(200),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "collection_id",
            sa.String(64),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("can_read", sa.Boolean, nullable=False),
        sa.Column("can_write", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("permissions", "users", "statuses", "objects", "collections"):
        op.drop_table(table)
