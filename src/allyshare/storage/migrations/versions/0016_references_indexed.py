"""The correlation index also holds the objects each stored relationship joins and each report,
grouping, note or opinion is about (`REFERS_TO`), so the relationship graph finds what refers
to an object without reading every relationship.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from allyshare.observables import REFERS_TO, referred_to
from allyshare.storage.observables import observable_rows

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    table = sa.table(
        "observables",
        *(
            sa.column(name)
            for name in (
                "collection_seq", "date_added", "digest", "kind", "value", "label_seq", "low",
                "high", "object_id", "version", "type",
            )
        ),
    )  # fmt: skip
    connection = op.get_bind()
    stored = connection.execute(
        sa.text(
            "SELECT collection_seq, date_added, label_seq, object_id, version, type, body "
            "FROM objects WHERE type IN ('relationship', 'report', 'grouping', 'note', 'opinion')"
        )
    )
    while batch := stored.fetchmany(_BATCH):
        rows = []
        for seq, added, label, object_id, version, kind, body in batch:
            refs = [(REFERS_TO, ref) for ref in referred_to(orjson.loads(body))]
            rows += observable_rows(seq, added, label, (object_id, version, kind), refs)
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    # From both tables (0014 added the small one): rows ingested since may still wait there,
    # and the upgrade would otherwise index them twice.
    for table in ("observables", "observables_recent"):
        op.execute(sa.text(f"DELETE FROM {table} WHERE kind = '{REFERS_TO}'"))
