"""``allyshare sightings`` from the command line: the aggregate as the named user sees it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import orjson
import pytest

from allyshare.cli.main import main
from allyshare.config import load_settings
from allyshare.service import Node

from support.agreements import US_ROK_TECH

INDICATOR = "indicator--5b0e3f52-0000-4000-8000-000000000001"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def run(capsys: pytest.CaptureFixture[str], node_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(node_dir)])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_sightings_as_a_member_and_of_an_object_it_may_not_see(
    node_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    node = Node.open(load_settings(node_dir))
    try:
        cisa = node.add_organization("CISA", country="USA", kind="cert")
        acme = node.add_organization("ACME", country="USA", kind="company")
        node.apply_agreement(tomllib.loads(US_ROK_TECH))
        collection = node.add_collection("Shared", agreement="us-rok-tech", category="cyber-threat")
        node.add_user("cisa", organization=cisa, roles=["contributor"])
        node.add_user("acme", organization=acme, roles=["contributor"])
    finally:
        node.close()
    stamp = {
        "spec_version": "2.1",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "object_marking_refs": [GREEN],
    }
    indicator = {
        "type": "indicator",
        "id": INDICATOR,
        "pattern_type": "stix",
        "pattern": "[domain-name:value = 'c2.example']",
        "valid_from": "2026-01-01T00:00:00Z",
        **stamp,
    }
    seen = {
        "type": "sighting",
        "id": "sighting--5b0e3f52-0000-4000-8000-000000000002",
        "sighting_of_ref": INDICATOR,
        "count": 3,
        "first_seen": "2026-01-05T00:00:00Z",
        **stamp,
    }
    for name, obj in (("cisa", indicator), ("acme", seen)):
        bundle = tmp_path / f"{name}.json"
        bundle.write_bytes(
            orjson.dumps({"type": "bundle", "id": "bundle--" + INDICATOR[11:], "objects": [obj]})
        )
        code, _, err = run(
            capsys, node_dir, "import", str(bundle), "--collection", collection.id, "--as", name
        )
        assert code == 0, err
    code, out, err = run(capsys, node_dir, "sightings", INDICATOR, "--as", "cisa")
    assert code == 0, err
    assert out.splitlines() == [
        f"sightings of {INDICATOR}: 1 sighting(s), count 3, seen 2026-01-05T00:00:00Z to "
        "2026-01-05T00:00:00Z; countries USA",
        "  your organization: none",
        "  others: 1 sighting(s), count 3, seen 2026-01-05T00:00:00Z to "
        "2026-01-05T00:00:00Z (from USA)",
    ]
    code, out, _ = run(capsys, node_dir, "sightings", INDICATOR, "--as", "acme")
    assert "your organization: 1 sighting(s), count 3" in out
    code, _, err = run(capsys, node_dir, "sightings", INDICATOR.replace("01", "09"))
    assert code == 1 and "no object" in err
