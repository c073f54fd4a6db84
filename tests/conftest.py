"""Shared fixtures: every storage and API test runs on SQLite and on a real PostgreSQL.

PostgreSQL is the server ``ALLYSHARE_TEST_DATABASE_URL`` names, else a throwaway one started
from the ``pgserver`` wheel. Each test worker gets its own database, and each test a clean
schema in it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BACKENDS = ["sqlite", "postgresql"]


def _psycopg_url(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server URL (admin database) for this worker's lifetime."""
    configured = os.environ.get("ALLYSHARE_TEST_DATABASE_URL")
    if configured:
        yield _psycopg_url(configured)
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="allyshare-pg-") as directory:
        server = pgserver.get_server(directory, cleanup_mode="stop")
        try:
            yield _psycopg_url(server.get_uri())
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def postgres_worker_url(postgres_server_url: str, worker_id: str) -> Iterator[str]:
    """This worker's own database on the server."""
    name = f"allyshare_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with an empty schema, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'allyshare.db'}"
    url: str = request.getfixturevalue("postgres_worker_url")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA
