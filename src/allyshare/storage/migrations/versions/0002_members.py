"""Members and agreements: organizations, user attributes, versioned agreements, bindings.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sectors", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "agreements",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("document", sa.LargeBinary, nullable=False),
        sa.Column("applied_at", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("users") as users:
        users.add_column(
            sa.Column(
                "organization_id",
                sa.String(200),
                sa.ForeignKey("organizations.id", name="users_organization"),
                nullable=True,
            )
        )
        users.add_column(sa.Column("nationality", sa.String(3), nullable=True))
        users.add_column(sa.Column("clearance", sa.String(2), nullable=False, server_default="U"))
        users.add_column(sa.Column("roles", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("collections") as collections:
        collections.add_column(sa.Column("agreement_name", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("collections") as collections:
        collections.drop_column("agreement_name")
    with op.batch_alter_table("users") as users:
        for column in ("roles", "clearance", "nationality", "organization_id"):
            users.drop_column(column)
    op.drop_table("agreements")
    op.drop_table("organizations")
