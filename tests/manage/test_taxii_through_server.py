"""The whole TAXII endpoint suite again, served by ``create_server_app`` instead of the TAXII app
alone: mounting the management API beside it must not change a single TAXII answer.

The suite's own tests and ``world`` fixture are taken as they are, so this stays in step with
them; only the app the fixture builds is swapped.
"""

from __future__ import annotations

import pytest

import taxii.test_endpoints as suite
from allyshare.server import create_server_app


@pytest.fixture(autouse=True)
def served_by_the_composed_app(monkeypatch: pytest.MonkeyPatch) -> None:
    # Autouse fixtures are set up before the ones a test asks for, so ``world`` sees this.
    monkeypatch.setattr(suite, "create_app", create_server_app)


world = suite.world
globals().update({name: test for name, test in vars(suite).items() if name.startswith("test_")})


def test_the_suite_really_runs_on_the_composed_app(world: suite.World) -> None:
    assert world.client.get("/openapi.json").status_code == 200
    assert world.client.get("/api/v1/me", headers=world.headers("reader")).status_code == 200
