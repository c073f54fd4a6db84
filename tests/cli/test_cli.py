"""The ``allyshare`` command: set-up, users, import and export, and its error messages."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from allyshare.cli.main import main
from allyshare.errors import InvalidObject
from allyshare.stix.reading import read_objects
from allyshare.stix.upgrade import upgrade_object
from allyshare.stix.validation import check_object
from allyshare.stix.versions import version_of

from support.processes import cli


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def new_collection(capsys: pytest.CaptureFixture[str], node_dir: Path) -> str:
    code, out, _ = run(capsys, "collection", "add", "Imports", "--data-dir", str(node_dir))
    assert code == 0
    return out.strip()


def test_init_creates_config_database_keys_and_private_token(node_dir: Path) -> None:
    for name in ("allyshare.toml", "node.key", "admin.token"):
        assert (node_dir / name).is_file()
    for secret in ("node.key", "admin.token"):
        assert stat.S_IMODE((node_dir / secret).stat().st_mode) == 0o600
    assert 'country = "USA"' in (node_dir / "allyshare.toml").read_text()


def test_errors_are_one_line_and_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], node_dir: Path
) -> None:
    code, _, err = run(capsys, "collection", "add", "X", "--data-dir", str(tmp_path / "none"))
    assert code == 1 and err.count("\n") == 1 and "allyshare init" in err
    code, _, err = run(
        capsys, "init", "--data-dir", str(node_dir), "--country", "USA", "--name", "again"
    )
    assert code == 1 and "already" in err
    code, _, err = run(
        capsys, "init", "--data-dir", str(tmp_path / "bad"), "--country", "usa", "--name", "x"
    )
    assert code == 1 and "ISO 3166" in err
    code, _, err = run(
        capsys,
        "import",
        str(tmp_path / "missing.json"),
        "--collection",
        "nope",
        "--data-dir",
        str(node_dir),
    )
    assert code == 1 and err.startswith("allyshare: error:") and "Traceback" not in err


def test_user_add_prints_a_working_token(
    capsys: pytest.CaptureFixture[str], node_dir: Path
) -> None:
    code, out, _ = run(
        capsys, "user", "add", "alice", "--role", "reader", "--data-dir", str(node_dir)
    )
    assert code == 0 and len(out.strip()) >= 40
    code, _, err = run(
        capsys, "user", "add", "bob", "--org", "USA.NOBODY", "--data-dir", str(node_dir)
    )
    assert code == 1 and "no organization" in err
    code, _, err = run(capsys, "user", "add", "eve:il", "--data-dir", str(node_dir))
    assert code == 1 and "user name" in err


def test_import_reports_rejections_with_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], node_dir: Path
) -> None:
    collection = new_collection(capsys, node_dir)
    good = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--6b616fc1-1505-48e3-8b2c-0d19337bff38",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "ROKRAT",
        "is_family": True,
    }
    bad = {**good, "id": "malware--not-a-uuid"}
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(o) for o in (good, bad, good)))
    code, out, _ = run(
        capsys,
        "import",
        str(source),
        "--collection",
        collection,
        "--quiet",
        "--data-dir",
        str(node_dir),
    )
    assert code == 2
    assert "stored 1, duplicate 1, rejected 1" in out
    assert "rejected x1:" in out and "malware--not-a-uuid" in out


def test_import_counts_objects_stored_with_a_warning_and_lists_the_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], node_dir: Path
) -> None:
    collection = new_collection(capsys, node_dir)
    unknown = "marking-definition--0f0a9e5c-7d4a-4cf6-a1ad-98a37d3d4e4b"
    marked = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--6b616fc1-1505-48e3-8b2c-0d19337bff38",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "ROKRAT",
        "is_family": True,
        "object_marking_refs": [unknown],
    }
    source = tmp_path / "marked.json"
    source.write_bytes(orjson.dumps(marked))
    args = ("import", str(source), "--collection", collection, "--quiet")
    code, out, _ = run(capsys, *args, "--data-dir", str(node_dir))
    assert code == 0
    assert out.splitlines() == [
        "stored 1, duplicate 0, rejected 0, skipped 0",
        f"  warning x1: {unknown} is not known to this node, so only your organization and "
        "node admins can see it until its definition arrives",
    ]
    code, out, _ = run(capsys, *args, "--data-dir", str(node_dir))
    assert out.splitlines()[0] == "stored 0, duplicate 1, rejected 0, skipped 0"


def test_import_skips_files_that_are_not_stix_and_imports_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], node_dir: Path, shared_data: Path
) -> None:
    """A directory as it comes: ATT&CK's index.json and a MISP event beside STIX bundles."""
    mixed = tmp_path / "mixed"
    (mixed / "attack").mkdir(parents=True)
    (mixed / "misp").mkdir()
    for name in ("index.json", "sample_3.3.0_stix-detection-strategy.json"):
        shutil.copy(shared_data / "attack" / name, mixed / "attack" / name)
    event = "winnti-gaming-supply-chain.misp_event.json"
    shutil.copy(shared_data / "misp" / "eset" / event, mixed / "misp" / event)
    stix = "test_event1_stix21.json"
    shutil.copy(shared_data / "misp" / "misp-stix-tests" / stix, mixed / "misp" / stix)
    lines = tmp_path / "broken.jsonl"
    good = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--6b616fc1-1505-48e3-8b2c-0d19337bff38",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "ROKRAT",
        "is_family": True,
    }
    lines.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(good) + b"\n{not json\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    collection = new_collection(capsys, node_dir)
    bundles = [
        mixed / "attack" / "sample_3.3.0_stix-detection-strategy.json",
        mixed / "misp" / stix,
    ]
    expected = {key: obj for bundle in bundles for key, obj in expected_objects(bundle).items()}
    invalid = sum(1 for bundle in bundles for _ in read_objects(bundle)) - len(expected)

    args = [str(mixed), str(lines), str(empty), "--collection", collection, "--quiet"]
    code, out, err = run(capsys, "import", *args, "--data-dir", str(node_dir))
    assert code == 2 and "Traceback" not in err
    summary, *details = out.splitlines()
    assert summary == f"stored {len(expected) + 1}, duplicate 1, rejected {invalid}, skipped 4"
    skipped = [line for line in details if line.startswith("  skipped ")]
    broken = skipped.pop(2)
    assert skipped == [
        f"  skipped {mixed / 'attack' / 'index.json'}: a JSON object that is neither a STIX "
        "bundle nor a STIX object (no string 'type', no 'objects' list)",
        f"  skipped {mixed / 'misp' / event}: a JSON object that is neither a STIX bundle nor "
        "a STIX object (no string 'type', no 'objects' list)",
        f"  skipped {empty}: no *.json or *.jsonl files in this directory",
    ]
    assert broken.startswith(f"  skipped {lines}: line 3 column 2: not valid JSON: ")
    assert broken.endswith("; what came before it is imported")
    exported = tmp_path / "out.json"
    export = ["export", "--collection", collection, "--all-versions", "-o", str(exported)]
    assert run(capsys, *export, "--data-dir", str(node_dir))[0] == 0
    stored = {obj["id"] for obj in orjson.loads(exported.read_bytes())["objects"]}
    assert stored == {object_id for object_id, _ in expected} | {good["id"]}


def expected_objects(path: Path) -> dict[tuple[str, str], Any]:
    """What a faithful import then export must give back: each acceptable version once."""
    expected: dict[tuple[str, str], Any] = {}
    for obj, bundle_version in read_objects(path):
        if not isinstance(obj, dict):
            continue
        try:
            upgraded = upgrade_object(obj, bundle_version)
            info = check_object(upgraded)
        except InvalidObject:
            continue
        expected.setdefault((info.id, version_of(upgraded)), upgraded)
    return expected


def stix_sources(shared_data: Path) -> list[Path]:
    """Every STIX file in the shared data; each FileSystemStore tree counts as one source."""
    stores = sorted(shared_data.glob("oasis/cti-python-stix2/*/stix2_data"))
    files = [
        path
        for path in sorted(shared_data.rglob("*.json*"))
        if path.name not in {"index.json", "default_data.json"}
        and not any(store in path.parents for store in stores)
        and ("misp" not in path.parts or "_stix2" in path.name)
    ]
    return stores + files


def test_every_shared_bundle_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], node_dir: Path, shared_data: Path
) -> None:
    sources = stix_sources(shared_data)
    assert len(sources) > 40
    for number, path in enumerate(sources):
        expected = expected_objects(path)
        collection = new_collection(capsys, node_dir)
        run(
            capsys,
            "import",
            str(path),
            "--collection",
            collection,
            "--quiet",
            "--data-dir",
            str(node_dir),
        )
        out = tmp_path / f"export-{number}.json"
        code, _, err = run(
            capsys,
            "export",
            "--collection",
            collection,
            "--all-versions",
            "-o",
            str(out),
            "--data-dir",
            str(node_dir),
        )
        assert code == 0, err
        bundle = orjson.loads(out.read_bytes())
        assert bundle["type"] == "bundle"
        exported = {(o["id"], version_of(o)): o for o in bundle["objects"]}
        assert exported == expected, path


def test_cli_runs_as_a_real_process(tmp_path: Path, database_url: str) -> None:
    env = {"ALLYSHARE_DATABASE_URL": database_url}
    data_dir = tmp_path / "proc"
    made = cli(data_dir, "init", "--country", "KOR", "--name", "kr", env=env)
    assert made.returncode == 0, made.stderr
    failed = cli(data_dir, "export", "--collection", "missing", env=env)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [failed.stderr.strip()]
