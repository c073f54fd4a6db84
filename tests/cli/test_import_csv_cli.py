"""``allyshare import-csv`` in a real process, on SQLite and PostgreSQL: a spreadsheet in,
all or nothing, problems by row and column, and what it stored exported as STIX."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from allyshare.economic import EXPOSURE_TYPE
from allyshare.policy import Tlp

from support.processes import cli

EXPOSURES = (
    "\ufeffcomponent_category,vendor,vendor_country,share,criticality,substitutes,markings\n"
    "5g-ran,Example Networks,CHN,40%,high,Other Radio,\n"
    "semiconductor-wafers,Wafer Co,JPN,0.3,medium,,TLP:AMBER\n"
)
BAD_ROW = "5g-core,Example Networks,CHN,7,high,,\n"


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, str, dict[str, str]]]:
    env = {"ALLYSHARE_DATABASE_URL": database_url}
    data_dir = tmp_path / "node"
    assert cli(data_dir, "init", "--country", "KOR", "--name", "kr", env=env).returncode == 0
    made = cli(data_dir, "collection", "add", "Supply chains", env=env)
    assert made.returncode == 0, made.stderr
    org = cli(data_dir, "org", "add", "Telco", "--country", "KOR", "--kind", "company", env=env)
    assert org.returncode == 0, org.stderr
    user = cli(
        data_dir,
        "user",
        "add",
        "buyer",
        "--org",
        org.stdout.strip(),
        "--role",
        "contributor",
        env=env,
    )
    assert user.returncode == 0, user.stderr
    yield data_dir, made.stdout.strip(), env


def test_a_spreadsheet_is_imported_all_or_nothing(
    node: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    data_dir, collection, env = node
    sheet = tmp_path / "exposures.csv"
    sheet.write_text(EXPOSURES + BAD_ROW, encoding="utf-8")
    args = ("import-csv", "exposures", str(sheet), "--collection", collection, "--as", "buyer")

    refused = cli(data_dir, *args, "--markings", "TLP:GREEN", env=env)
    assert refused.returncode == 2, refused.stderr
    assert refused.stdout.splitlines() == [
        "nothing stored: 1 problem(s), fix them or use --skip-bad",
        "  row 4, column share: 'share' must be more than 0 and at most 1, not 7",
    ]
    assert exported(data_dir, collection, env) == []

    skipped = cli(data_dir, *args, "--markings", "TLP:GREEN", "--skip-bad", env=env)
    assert skipped.returncode == 2, skipped.stderr
    assert skipped.stdout.splitlines()[0] == "stored 5, duplicate 0, rows 2, bad rows 1"

    sheet.write_text(EXPOSURES, encoding="utf-8")
    again = cli(data_dir, *args, "--markings", "TLP:GREEN", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    # the same rows are the objects already held; the vendors are not sent again
    assert again.stdout.splitlines() == ["stored 0, duplicate 2, rows 2, bad rows 0"]

    objects = exported(data_dir, collection, env)
    exposures = {o["vendor_name"]: o for o in objects if o["type"] == EXPOSURE_TYPE}
    assert exposures["Example Networks"]["object_marking_refs"] == [Tlp.GREEN.marking_id]
    assert exposures["Wafer Co"]["object_marking_refs"] == [Tlp.AMBER.marking_id]
    names = sorted(o["name"] for o in objects if o["type"] == "identity")
    assert names == ["Example Networks", "Other Radio", "Wafer Co"]


def test_problems_before_the_node_are_one_line(
    node: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    data_dir, collection, env = node
    missing = cli(
        data_dir,
        "import-csv",
        "incidents",
        str(tmp_path / "none.csv"),
        "--collection",
        collection,
        env=env,
    )
    assert missing.returncode == 1 and missing.stderr.startswith("allyshare: error: ")
    sheet = tmp_path / "exposures.csv"
    sheet.write_text(EXPOSURES, encoding="utf-8")
    wrong = cli(
        data_dir,
        "import-csv",
        "exposures",
        str(sheet),
        "--collection",
        collection,
        "--markings",
        "TLP:PURPLE",
        env=env,
    )
    assert wrong.returncode == 1 and "not a TLP level" in wrong.stderr
    header = cli(
        data_dir, "import-csv", "incidents", str(sheet), "--collection", collection, env=env
    )
    assert header.returncode == 2
    assert "  row 1, column component_category: unknown column" in header.stdout


def test_a_file_that_cannot_be_imported_exits_2(
    node: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    data_dir, collection, env = node
    latin = tmp_path / "latin.csv"
    latin.write_bytes("vendor\nM\xfcller\n".encode("latin-1"))
    empty = tmp_path / "empty.csv"
    empty.write_text(EXPOSURES.splitlines(keepends=True)[0], encoding="utf-8")
    for sheet, problem in ((latin, "not UTF-8 text"), (empty, "the file has a header but no rows")):
        args = ("import-csv", "exposures", str(sheet), "--collection", collection)
        result = cli(data_dir, *args, "--as", "buyer", env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith(f"allyshare: error: {sheet}: {problem}")
        assert result.stdout == ""
    assert exported(data_dir, collection, env) == []


def exported(data_dir: Path, collection: str, env: dict[str, str]) -> list[dict[str, object]]:
    result = cli(data_dir, "export", "--collection", collection, env=env)
    assert result.returncode == 0, result.stderr
    objects: list[dict[str, object]] = json.loads(result.stdout).get("objects", [])
    return objects
