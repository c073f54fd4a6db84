"""A node's data directory on disk is its owner's alone: made so, and put right at start."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from allyshare.cli.main import main
from allyshare.config import load_settings
from allyshare.service import Node

from support.processes import cli


@pytest.fixture(autouse=True)
def usual_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The common umask (022), under which files are made world-readable unless told not."""
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    before = os.umask(0o022)
    yield
    os.umask(before)


def modes(data_dir: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.rglob("*"):
        found[str(path.relative_to(data_dir))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def new_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    data_dir = tmp_path / "node"
    assert main(["init", "--data-dir", str(data_dir), "--country", "USA", "--name", "us"]) == 0
    capsys.readouterr()
    return data_dir


def test_a_new_node_is_made_for_its_owner_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = new_node(tmp_path, capsys)
    node = Node.open(load_settings(data_dir))
    try:
        node.add_collection("Local")
        node.add_user("kim")
        assert [user.name for user in node.users()] == ["admin", "kim"]
        # While the node is open, SQLite keeps its write-ahead log and shared memory files.
        found = modes(data_dir)
    finally:
        node.close()
    assert {"allyshare.db", "allyshare.db-wal", "allyshare.db-shm"} <= set(found)
    assert {"allyshare.toml", "node.key", "node.crt", "tls.key", "admin.token"} <= set(found)
    assert found.pop(".") == 0o700
    assert found == dict.fromkeys(found, 0o600)


def test_a_loose_node_is_put_right_at_start_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = new_node(tmp_path, capsys)
    # As a node made before these rules, or by hand, would be.
    data_dir.chmod(0o755)
    for name in ("allyshare.db", "allyshare.toml", "node.crt", "admin.token"):
        (data_dir / name).chmod(0o644)
    (data_dir / "peer-credentials").mkdir(mode=0o755)
    (data_dir / "peer-credentials" / "medallion.json").write_text("{}")
    (data_dir / "peer-credentials" / "medallion.json").chmod(0o664)
    before = modes(data_dir)

    listed = cli(data_dir, "user", "list")
    assert listed.returncode == 0, listed.stderr
    assert modes(data_dir) == {
        name: 0o700 if name in (".", "peer-credentials") else 0o600 for name in before
    }
    [line] = listed.stderr.splitlines()
    assert f"data directory {data_dir} was readable by others; now only its owner's: " in line
    for change in (
        ". 0755 -> 0700",
        "allyshare.db 0644 -> 0600",
        "admin.token 0644 -> 0600",
        "peer-credentials 0755 -> 0700",
        "peer-credentials/medallion.json 0664 -> 0600",
    ):
        assert change in line
    assert "node.key" not in line  # it was right already

    again = cli(data_dir, "user", "list")
    assert again.returncode == 0 and again.stderr == ""
