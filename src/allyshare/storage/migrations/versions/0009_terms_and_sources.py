"""Agreement terms and source protection: each collection declares the category of what it
holds and whether contributions to it are anonymous by default; the true identity behind
each anonymous contribution is kept sealed beside its version; a reveal two admins must agree
on waits for the second.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collections") as batch:
        batch.add_column(sa.Column("category", sa.String(40), nullable=True))
        batch.add_column(
            sa.Column("anonymous_by_default", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "sealed_sources",
        sa.Column("collection_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("date_added", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "reveals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.BigInteger, nullable=False),
        sa.Column("confirmed_by", sa.String(200), nullable=True),
        sa.Column("confirmed_at", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("reveals")
    op.drop_table("sealed_sources")
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("anonymous_by_default")
        batch.drop_column("category")
