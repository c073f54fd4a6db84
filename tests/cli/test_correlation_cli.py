"""``allyshare lookup`` and ``allyshare match`` from the command line: values (or, with
``--type name``, names) given or read from a file, as a user may see them or match them."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from allyshare.cli.main import main
from allyshare.policy import ALLYSHARE_EXTENSION_ID

from support.agreements import US_ROK_TECH

INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--5b0e3f52-0000-4000-8000-000000000011",
    "created": "2026-01-01T00:00:00.000Z",
    "modified": "2026-01-01T00:00:00.000Z",
    "pattern": "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'c2.example']",
    "pattern_type": "stix",
    "valid_from": "2026-01-01T00:00:00Z",
}

MALWARE = {
    "type": "malware",
    "spec_version": "2.1",
    "id": "malware--5b0e3f52-0000-4000-8000-000000000012",
    "created": "2026-01-01T00:00:00.000Z",
    "modified": "2026-01-01T00:00:00.000Z",
    "name": "AppleJeus",
    "is_family": True,
}


def run(capsys: pytest.CaptureFixture[str], node_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(node_dir)])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_lookup_from_arguments_and_a_file(
    node_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, collection, _ = run(capsys, node_dir, "collection", "add", "Feed")
    assert code == 0
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(orjson.dumps(INDICATOR))
    assert run(capsys, node_dir, "import", str(bundle), "--collection", collection)[0] == 0
    bundle.write_bytes(orjson.dumps(MALWARE))
    assert run(capsys, node_dir, "import", str(bundle), "--collection", collection)[0] == 0
    code, out, err = run(capsys, node_dir, "lookup", "--type", "name", "appleJEUS", " ")
    assert code == 0, err
    assert out.splitlines()[0] == "appleJEUS (name applejeus): 1 object(s)"
    assert out.splitlines()[1].startswith(f"  {MALWARE['id']} in {collection}, added ")
    assert out.splitlines()[2] == " : not a name"
    code, out, err = run(capsys, node_dir, "lookup", "198.51.100.7", "C2.Example.", "nothing")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "198.51.100.7 (ipv4-addr 198.51.100.7): 1 object(s)"
    assert lines[1].startswith(f"  {INDICATOR['id']} in {collection}, added ")
    assert lines[2] == "C2.Example. (domain-name c2.example): 1 object(s)"
    assert lines[4] == "nothing: not an observable value"
    values = tmp_path / "values.txt"
    values.write_text("# from the incident\n203.0.113.5\n\nc2.example\n")
    code, out, _ = run(capsys, node_dir, "lookup", "--file", str(values), "--json")
    found = [orjson.loads(line) for line in out.splitlines()]
    assert [(f["value"], f["count"]) for f in found] == [("203.0.113.5", 0), ("c2.example", 1)]
    code, _, err = run(capsys, node_dir, "lookup")
    assert code == 1 and "name values" in err
    code, _, err = run(capsys, node_dir, "lookup", "--file", str(tmp_path / "missing.txt"))
    assert code == 1 and "cannot read" in err


def test_lookup_shows_how_often_each_object_was_sighted(
    node_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    agreement = tmp_path / "agreement.toml"
    agreement.write_text(US_ROK_TECH)
    assert run(capsys, node_dir, "agreement", "apply", str(agreement))[0] == 0
    org = run(capsys, node_dir, "org", "add", "KISA", "--country", "KOR", "--kind", "cert")[1]
    run(capsys, node_dir, "user", "add", "kisa", "--org", org, "--role", "contributor")
    collection = run(capsys, node_dir, "collection", "add", "Shared", "--agreement",
                     "us-rok-tech", "--category", "cyber-threat")[1]  # fmt: skip
    sightings = [
        {
            "type": "sighting",
            "spec_version": "2.1",
            "id": f"sighting--5b0e3f52-0000-4000-8000-00000000002{n}",
            "created": "2026-02-01T00:00:00.000Z",
            "modified": "2026-02-01T00:00:00.000Z",
            "sighting_of_ref": INDICATOR["id"],
            "count": count,
            "first_seen": f"2026-0{n}-01T00:00:00Z",
        }
        for n, count in ((2, 3), (3, 4))
    ]
    bundle = tmp_path / "bundle.json"
    unsighted = {**INDICATOR, "id": "indicator--5b0e3f52-0000-4000-8000-000000000012"}
    unsighted["pattern"] = "[domain-name:value = 'quiet.example']"
    bundle.write_bytes(orjson.dumps([INDICATOR, unsighted, *sightings]))
    code, _, err = run(capsys, node_dir, "import", str(bundle), "--collection", collection,
                       "--as", "kisa")  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, node_dir, "lookup", "c2.example", "--as", "kisa")
    assert code == 0, err
    assert out.splitlines()[2] == (
        "    sighted 2 times (count 7) in KOR; own 2; last seen 2026-03-01T00:00:00Z"
    )
    code, out, _ = run(capsys, node_dir, "lookup", "c2.example", "--json", "--as", "kisa")
    [mention] = orjson.loads(out)["objects"]
    assert (mention["sightings"]["sightings"], mention["sightings"]["count"]) == (2, 7)
    # An object no one sighted gets no line for it, nor a sightings entry.
    code, out, _ = run(capsys, node_dir, "lookup", "quiet.example", "--as", "kisa")
    assert len(out.splitlines()) == 2
    code, out, _ = run(capsys, node_dir, "lookup", "quiet.example", "--json", "--as", "kisa")
    assert "sightings" not in orjson.loads(out)["objects"][0]


def test_match_a_file_as_a_member(
    node_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    agreement = tmp_path / "agreement.toml"
    agreement.write_text(US_ROK_TECH)
    assert run(capsys, node_dir, "agreement", "apply", str(agreement))[0] == 0
    for name, country in (("KISA", "KOR"), ("CISA", "USA")):
        code, org, _ = run(capsys, node_dir, "org", "add", name, "--country", country,
                           "--kind", "cert")  # fmt: skip
        assert code == 0
        run(capsys, node_dir, "user", "add", name.lower(), "--org", org, "--role", "contributor")
    code, collection, _ = run(capsys, node_dir, "collection", "add", "Shared", "--agreement",
                              "us-rok-tech", "--category", "cyber-threat")  # fmt: skip
    match_only = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--6c1c1a3e-0000-4000-8000-000000000011",
        "created": "2026-01-01T00:00:00.000Z",
        "name": "match-only",
        "extensions": {
            ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "match_only": True}
        },
    }
    held = {**INDICATOR, "object_marking_refs": [match_only["id"]]}
    bundle = tmp_path / "held.json"
    bundle.write_bytes(orjson.dumps([match_only, held]))
    code, _, err = run(capsys, node_dir, "import", str(bundle), "--collection", collection,
                       "--as", "kisa")  # fmt: skip
    assert code == 0, err
    mine = tmp_path / "mine.txt"
    mine.write_text("198.51.100.7\n203.0.113.1\nc2.example\n")
    code, out, err = run(capsys, node_dir, "match", str(mine), "--collection", collection,
                         "--as", "cisa")  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == ["198.51.100.7", "c2.example"]
    assert err.startswith("2 of 3 values matched; 9,997 left today (resets ")
    code, _, err = run(capsys, node_dir, "match", str(mine), "--collection", collection,
                       "--as", "cisa")  # fmt: skip
    assert code == 1 and "one request per 5 s" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    code, _, err = run(capsys, node_dir, "match", str(empty), "--collection", collection,
                       "--as", "kisa")  # fmt: skip
    assert code == 1 and "at least one value" in err


def test_contacts_from_the_command_line(
    node_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    agreement = tmp_path / "agreement.toml"
    agreement.write_text(US_ROK_TECH)
    run(capsys, node_dir, "agreement", "apply", str(agreement))
    for name, country in (("KISA", "KOR"), ("CISA", "USA")):
        org = run(capsys, node_dir, "org", "add", name, "--country", country, "--kind", "cert")[1]
        run(capsys, node_dir, "user", "add", name.lower(), "--org", org, "--role", "contributor")
    collection = run(capsys, node_dir, "collection", "add", "Shared", "--agreement",
                     "us-rok-tech", "--category", "cyber-threat")[1]  # fmt: skip
    match_only = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--6c1c1a3e-0000-4000-8000-000000000012",
        "created": "2026-01-01T00:00:00.000Z",
        "name": "match-only",
        "extensions": {
            ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "match_only": True}
        },
    }
    bundle = tmp_path / "held.json"
    bundle.write_bytes(
        orjson.dumps([match_only, {**INDICATOR, "object_marking_refs": [match_only["id"]]}])
    )
    run(capsys, node_dir, "import", str(bundle), "--collection", collection, "--as", "kisa")
    mine = tmp_path / "mine.txt"
    mine.write_text("c2.example\n")
    code, out, err = run(capsys, node_dir, "match", str(mine), "--collection", collection,
                         "--as", "cisa", "--contact", "seen here too")  # fmt: skip
    assert (code, out) == (0, "c2.example"), err
    code, out, _ = run(capsys, node_dir, "contacts", "--as", "kisa")
    lines = out.splitlines()
    assert lines[0].endswith(f"USA.CISA (cisa) in {collection}: seen here too")
    assert lines[1] == f"  {INDICATOR['id']}"
    assert run(capsys, node_dir, "contacts", "--as", "cisa")[1] == ""
