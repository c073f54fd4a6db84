"""Contact requests a member sends the originators of what it matched privately.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("collection_seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("originator", sa.String(300), nullable=False),
        sa.Column("object_ids", sa.Text, nullable=False),
        sa.Column("from_organization", sa.String(300), nullable=False),
        sa.Column("from_user", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_contact_requests_originator", "contact_requests", ["originator"])


def downgrade() -> None:
    op.drop_table("contact_requests")
