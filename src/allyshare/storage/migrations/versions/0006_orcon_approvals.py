"""ORCON approval versions kept aside, so the approvals in force are read without a scan.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orcon_approvals",
        sa.Column("collection_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("date_added", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.execute(
        "INSERT INTO orcon_approvals (collection_seq, date_added, body) "
        "SELECT collection_seq, date_added, body FROM objects "
        "WHERE type = 'x-allyshare-orcon-approval'"
    )


def downgrade() -> None:
    op.drop_table("orcon_approvals")
