"""The correlation index also holds what each stored sighting is of (`SIGHTING_OF`), so the
sightings of an object are found without reading every sighting.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from allyshare.observables import SIGHTING_OF
from allyshare.storage.observables import observable_rows

revision = "0013"
down_revision = "0012"
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
            "SELECT collection_seq, date_added, label_seq, object_id, version, body "
            "FROM objects WHERE type = 'sighting'"
        )
    )
    while batch := stored.fetchmany(_BATCH):
        rows = []
        for seq, added, label, object_id, version, body in batch:
            of = orjson.loads(body).get("sighting_of_ref")
            if isinstance(of, str):
                version_of = (object_id, version, "sighting")
                rows += observable_rows(seq, added, label, version_of, [(SIGHTING_OF, of)])
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM observables WHERE kind = '{SIGHTING_OF}'"))
