"""Access keys per object version, known marking definitions; per-user grants removed.

Collection rights now follow from a collection's agreement and the user's roles, so the
``permissions`` table goes. Versions stored before this revision are given the access key of
their own markings with the node itself as originator (``""``), which is what they were:
written by the node's operator.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import hashlib

import orjson
import sqlalchemy as sa
from alembic import op

from allyshare.storage.access import AccessKey, markings_in

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    access_keys = op.create_table(
        "access_keys",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("originator_id", sa.String(200), nullable=False),
        sa.Column("marking_refs", sa.Text, nullable=False),
        sa.Column("granular_refs", sa.Text, nullable=False),
    )
    op.create_table(
        "marking_definitions",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    with op.batch_alter_table("objects") as objects:
        objects.add_column(sa.Column("label_seq", sa.Integer, nullable=False, server_default="0"))
    op.create_index(
        "objects_by_date_label",
        "objects",
        ["collection_seq", "date_added", "label_seq", "is_latest"],
    )
    op.drop_table("permissions")
    _backfill(access_keys)


def _backfill(access_keys: sa.Table) -> None:
    """Give every stored version its access key (a no-op on a new node)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT collection_seq, date_added, type, body FROM objects"))
    seqs: dict[str, int] = {}
    definitions: set[tuple[str, str]] = set()
    for collection_seq, date_added, object_type, body in rows.all():
        obj = orjson.loads(body)
        key = AccessKey("", *markings_in(obj))
        if key.digest not in seqs:
            seqs[key.digest] = bind.execute(
                access_keys.insert().values(**key.row()).returning(access_keys.c.seq)
            ).scalar_one()
        bind.execute(
            sa.text(
                "UPDATE objects SET label_seq = :label "
                "WHERE collection_seq = :seq AND date_added = :added"
            ),
            {"label": seqs[key.digest], "seq": collection_seq, "added": date_added},
        )
        definition = (obj["id"], hashlib.sha256(body).hexdigest())
        if object_type == "marking-definition" and definition not in definitions:
            definitions.add(definition)
            bind.execute(
                sa.text(
                    "INSERT INTO marking_definitions (id, digest, body) "
                    "VALUES (:id, :digest, :body)"
                ),
                {"id": definition[0], "digest": definition[1], "body": body},
            )


def downgrade() -> None:
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
    op.drop_index("objects_by_date_label", "objects")
    with op.batch_alter_table("objects") as objects:
        objects.drop_column("label_seq")
    op.drop_table("marking_definitions")
    op.drop_table("access_keys")
