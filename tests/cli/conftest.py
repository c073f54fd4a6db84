"""A freshly initialised node for CLI tests, on each database backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from allyshare.cli.main import main


@pytest.fixture
def node_dir(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    monkeypatch.setenv("ALLYSHARE_DATABASE_URL", database_url)
    data_dir = tmp_path / "node"
    assert main(["init", "--data-dir", str(data_dir), "--country", "USA", "--name", "us"]) == 0
    capsys.readouterr()
    return data_dir
