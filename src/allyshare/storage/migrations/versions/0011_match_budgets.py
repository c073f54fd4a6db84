"""Private matching budgets: per organization and collection, the values matched today and
when it last asked.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_budgets",
        sa.Column("organization", sa.String(300), primary_key=True),
        sa.Column("collection_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.Column("last_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("match_budgets")
