"""Signatures accepted from peers, kept until they expire, so a replayed write is refused.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signatures_seen",
        sa.Column("signature_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("signatures_seen_by_expiry", "signatures_seen", ["expires_at"])


def downgrade() -> None:
    op.drop_table("signatures_seen")
