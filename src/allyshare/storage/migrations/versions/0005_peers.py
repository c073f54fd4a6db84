"""Peers, the peer collections pulled into local ones, and where received versions came from.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("api_root", sa.Text, nullable=False),
        sa.Column("certificate", sa.LargeBinary, nullable=False),
        sa.Column("fingerprint", sa.String(95), nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("agreement_name", sa.String(100), nullable=False),
        sa.Column("signing_key", sa.String(100), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column(
            "peer_name",
            sa.String(100),
            sa.ForeignKey("peers.name", name="subscriptions_peer", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("remote_collection", sa.String(200), primary_key=True),
        sa.Column("local_collection", sa.String(64), nullable=False),
        sa.Column("push", sa.Boolean, nullable=False),
        sa.Column("cursor", sa.Text, nullable=True),
        sa.Column("last_success", sa.BigInteger, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("objects_in", sa.BigInteger, nullable=False),
        sa.Column("objects_out", sa.BigInteger, nullable=False),
        sa.Column("push_cursor", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "receipts",
        sa.Column("collection_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("date_added", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("peer_name", sa.String(100), nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receipts")
    op.drop_table("subscriptions")
    op.drop_table("peers")
