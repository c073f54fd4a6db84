"""``allyshare views`` from the command line: the views as tables (and JSON) as the named
user sees them, and the pattern alerts written as notes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from allyshare.cli.main import main
from allyshare.config import load_settings
from allyshare.service import Node

from support.economic_views import build_community, green_only


def run(capsys: pytest.CaptureFixture[str], node_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(node_dir)])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


@pytest.fixture
def coercion_collection(node_dir: Path) -> str:
    node = Node.open(load_settings(node_dir))
    try:
        return build_community(node).coercion
    finally:
        node.close()


def test_views_as_tables_and_as_json(
    node_dir: Path, capsys: pytest.CaptureFixture[str], coercion_collection: str
) -> None:
    code, out, err = run(capsys, node_dir, "views", "coercion", "--as", "kisa")
    assert code == 0, err
    assert "export-restriction" in out and "2023-Q3" in out
    assert "suppressed" in out and "USD suppressed" in out
    code, out, err = run(capsys, node_dir, "views", "coercion", "--as", "acme", "--json")
    assert code == 0, err
    assert [total["incidents"] for total in orjson.loads(out)["totals"]] == [3]
    code, out, err = run(capsys, node_dir, "views", "supply-chain", "--as", "kisa")
    assert code == 0, err
    assert "5g-ran: 3 members" in out and "Ericsson" in out and "63.3%" in out
    assert "Nokia" in out and "63.3%" in out.split("Nokia")[0]
    code, out, err = run(capsys, node_dir, "views", "supply-chain", "--json")
    assert code == 0, err
    assert orjson.loads(out)["k"] == 2


def test_alerts_from_the_command_line(
    node_dir: Path, capsys: pytest.CaptureFixture[str], coercion_collection: str
) -> None:
    args = ("views", "alerts", "--collection", coercion_collection, "--as", "acme")
    code, out, err = run(capsys, node_dir, *args)
    assert code == 0, err
    assert out.startswith("note--") and "(written)" in out
    assert out.endswith(
        "CHN applied export-restriction to KOR (2023-07) and USA (2023-09) within 12 months"
    )
    code, out, err = run(capsys, node_dir, "views", "alerts", "--collection", "nowhere")
    assert code != 0 and "nowhere" in err
    code, out, err = run(capsys, node_dir, *args[:-1], "kisa")
    assert code == 0, err
    assert "(already raised)" in out


def test_an_alert_the_node_refuses_fails_the_command(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = Node.open(load_settings(node_dir))
    try:
        collection = green_only(build_community(node))
    finally:
        node.close()
    code, out, err = run(
        capsys, node_dir, "views", "alerts", "--collection", collection, "--as", "acme"
    )
    assert code == 1
    assert "(failed)" in out and "the node refused it" in err and "GREEN" in err


def test_views_of_a_node_without_such_data(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, node_dir, "views", "supply-chain")
    assert code == 0, err
    assert out == "no exposure you may see (k = 1)"
    code, out, err = run(capsys, node_dir, "views", "coercion")
    assert code == 0, err
    assert "Economic coercion" in out and "export-restriction" not in out
