"""The correlation index also holds the name of each stored object of a named type (`NAME`,
`NAMED_TYPES`: threat actors, malware, campaigns...), normalized, so the search box finds
objects by name.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from allyshare.observables import NAME, NAMED_TYPES, name_in
from allyshare.storage.observables import observable_rows

revision = "0017"
down_revision = "0016"
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
            "FROM objects WHERE type IN :types"
        ).bindparams(sa.bindparam("types", sorted(NAMED_TYPES), expanding=True))
    )
    while batch := stored.fetchmany(_BATCH):
        rows = []
        for seq, added, label, object_id, version, kind, body in batch:
            name = name_in(orjson.loads(body))
            if name is not None:
                version_of = (object_id, version, kind)
                rows += observable_rows(seq, added, label, version_of, [(NAME, name)])
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    # From both tables: rows ingested since still wait in the small one, and the upgrade
    # would otherwise index their names twice.
    for table in ("observables", "observables_recent"):
        op.execute(sa.text(f"DELETE FROM {table} WHERE kind = '{NAME}'"))
