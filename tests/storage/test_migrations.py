"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from allyshare.storage import Store
from allyshare.storage.schema import metadata


def test_migrated_database_matches_declared_schema(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    store.close()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [
            d
            for d in compare_metadata(context, metadata)
            if not (d[0] == "remove_table" and d[1].name == "alembic_version")
        ]
    engine.dispose()
    assert differences == []
