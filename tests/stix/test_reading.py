"""Reading STIX files: every shape, every STIX file of the shared data, and the errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allyshare.errors import InvalidInput
from allyshare.stix.reading import SourceObject, read_objects, stix_files

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# Data files that SOURCES.md lists without a STIX object count, because they hold no STIX:
# MISP event / search JSON, the ATT&CK collection index and medallion's whole server state.
NOT_STIX_OUTSIDE_MISP = {"attack/index.json", "taxii/medallion/default_data.json"}


def _inventory() -> dict[str, int | None]:
    """SOURCES.md's inventory: data file -> number of STIX objects (None: not STIX)."""
    if not SHARED_DATA.is_dir():
        return {}
    inventory: dict[str, int | None] = {}
    for line in (SHARED_DATA / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        count = cells[4].replace(",", "")
        inventory[cells[0].strip("`")] = int(count) if count.isdigit() else None
    return inventory


INVENTORY = _inventory()
STIX_FILES = sorted(name for name, count in INVENTORY.items() if count is not None)
OTHER_FILES = sorted(name for name, count in INVENTORY.items() if count is None)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _objects(path: Path) -> list[object]:
    return [source.obj for source in read_objects(path)]


def test_inventory_lists_every_data_file(shared_data: Path) -> None:
    on_disk = {
        path.relative_to(shared_data).as_posix()
        for path in shared_data.rglob("*")
        if path.is_file() and path.parts[len(shared_data.parts)] != "LICENSES"
    } - {"SOURCES.md"}
    assert on_disk == set(INVENTORY)
    assert len(STIX_FILES) == 118
    for name in OTHER_FILES:
        assert name in NOT_STIX_OUTSIDE_MISP or name.startswith("misp/"), name


@pytest.mark.parametrize("name", STIX_FILES)
def test_shared_stix_file_reads_with_the_listed_object_count(name: str) -> None:
    sources = list(read_objects(SHARED_DATA / name))
    assert len(sources) == INVENTORY[name]
    assert all(isinstance(source.obj, dict) and "type" in source.obj for source in sources)


@pytest.mark.parametrize("name", OTHER_FILES)
def test_shared_non_stix_file_is_refused_naming_it(name: str) -> None:
    with pytest.raises(InvalidInput, match="neither a STIX bundle nor a STIX object") as caught:
        list(read_objects(SHARED_DATA / name))
    assert name in str(caught.value)


def test_json_lines_file_streams_370_objects(shared_data: Path) -> None:
    sources = read_objects(shared_data / "vendor-reports/sekoia/2021-11-10-apt31-stix2.jsonl")
    first = next(sources)
    assert isinstance(first, SourceObject)
    rest = list(sources)
    assert 1 + len(rest) == 370
    assert {source.bundle_spec_version for source in rest} == {None}


def test_stix20_bundle_passes_its_spec_version_with_every_object(shared_data: Path) -> None:
    sources = list(read_objects(shared_data / "vendor-reports/talos/lazarus-three-rats.json"))
    assert len(sources) == 105
    assert {source.bundle_spec_version for source in sources} == {"2.0"}


def test_bundle_without_type_is_a_bundle(shared_data: Path) -> None:
    path = "oasis/cti-stix-common-objects/extension-definition-specifications/tlp-2.0/examples"
    objects = _objects(shared_data / path / "using-tlp2.0-green.json")
    assert [obj["type"] for obj in objects if isinstance(obj, dict)] == [
        "identity",
        "threat-actor",
        "relationship",
    ]


def test_directory_reads_every_file_below_it_in_path_order(shared_data: Path) -> None:
    store = shared_data / "oasis/cti-python-stix2/v20/stix2_data"
    files = stix_files(store)
    assert len(files) == 30
    assert files == sorted(files)
    assert files[0].relative_to(store).parts[0] == "attack-pattern"
    expected = [source for file in files for source in read_objects(file)]
    assert list(read_objects(store)) == expected
    assert {source.bundle_spec_version for source in expected} == {"2.0", None}


def test_directory_walk_skips_hidden_and_other_files_and_ignores_suffix_case(
    tmp_path: Path,
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "b" / "two.JSONL", '{"type": "x", "n": 2}\n{"type": "x", "n": 3}\n')
    _write(tmp_path / "a.json", '{"type": "x", "n": 1}')
    _write(tmp_path / ".git" / "hidden.json", '{"type": "x", "n": 9}')
    _write(tmp_path / ".hidden.json", '{"type": "x", "n": 9}')
    _write(tmp_path / "notes.txt", "not read")
    assert [obj["n"] for obj in _objects(tmp_path) if isinstance(obj, dict)] == [1, 2, 3]


def test_directory_without_stix_files_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "notes.txt", "nothing")
    with pytest.raises(InvalidInput, match=r"no \*\.json or \*\.jsonl files"):
        list(read_objects(tmp_path))


def test_json_lines_error_names_file_and_line_after_earlier_lines_were_yielded(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "broken.jsonl",
        '{"type": "indicator", "n": 1}\n\n{"type": "indicator", "n": 2}\n{"type": oops}\n',
    )
    sources = read_objects(path)
    assert [source.obj for source in itertools.islice(sources, 2)] == [
        {"type": "indicator", "n": 1},
        {"type": "indicator", "n": 2},
    ]
    with pytest.raises(InvalidInput) as caught:
        next(sources)
    message = str(caught.value)
    assert str(path) in message
    assert "line 4 column" in message
    assert "\n" not in message


def test_malformed_json_document_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.json", '{\n  "type": "bundle",\n  "objects": [,]\n}\n')
    with pytest.raises(InvalidInput, match="line 3 column") as caught:
        list(read_objects(path))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("", "empty file"),
        ("  \n\n", "empty file"),
        ('"just a string"', "is a string"),
        ("42", "is a number"),
        ("null", "is a null"),
        ('{"Event": {"info": "MISP"}}', "neither a STIX bundle nor a STIX object"),
        ('{"type": 7}', "neither a STIX bundle nor a STIX object"),
        ('{"type": "bundle", "objects": {"a": 1}}', "'objects' is not a list"),
        ('{"type": "bundle", "spec_version": 2.0, "objects": []}', "'spec_version' is not"),
        ("\xff", "not valid JSON"),
    ],
)
def test_other_shapes_are_refused_with_a_one_line_cause(
    tmp_path: Path, text: str, cause: str
) -> None:
    path = _write(tmp_path / "input.json", text)
    with pytest.raises(InvalidInput, match=cause) as caught:
        list(read_objects(path))
    assert str(caught.value).startswith(f"{path}: ")


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"type": "identity", "name": "Soci\xe9t\xe9"}')
    with pytest.raises(InvalidInput, match="not valid JSON"):
        list(read_objects(path))


def test_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(InvalidInput, match="cannot read") as caught:
        list(read_objects(path))
    assert str(path) in str(caught.value)


def test_array_items_that_are_not_objects_are_passed_on_for_the_caller_to_reject(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "array.json", '[{"type": "x"}, 5, "s", null]')
    assert _objects(path) == [{"type": "x"}, 5, "s", None]


def test_json_lines_details(tmp_path: Path) -> None:
    bundle = {"type": "bundle", "spec_version": "2.0", "objects": [{"type": "a"}, {"type": "b"}]}
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + orjson.dumps({"type": "first"})
        + b"\r\n   \r\n"
        + orjson.dumps(bundle)
        + b"\r\n[1, 2]\n"
    )
    assert list(read_objects(path)) == [
        SourceObject({"type": "first"}, None),
        SourceObject({"type": "a"}, "2.0"),
        SourceObject({"type": "b"}, "2.0"),
        SourceObject([1, 2], None),
    ]


def test_single_object_on_one_line_or_pretty_printed(tmp_path: Path) -> None:
    obj = {"type": "campaign", "id": "campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}
    one_line = tmp_path / "one.json"
    one_line.write_bytes(orjson.dumps(obj) + b"\n\n")
    pretty = tmp_path / "pretty.json"
    pretty.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2))
    assert list(read_objects(one_line)) == [SourceObject(obj, None)]
    assert list(read_objects(pretty)) == [SourceObject(obj, None)]


def test_json_lines_with_any_suffix_and_bundle_shapes_with_jsonl_suffix(tmp_path: Path) -> None:
    lines = _write(tmp_path / "export.json", '{"type": "a"}\n{"type": "b"}\n')
    bundle = _write(tmp_path / "bundle.jsonl", '{\n"type": "bundle",\n"objects": [{"type": "a"}]}')
    assert _objects(lines) == [{"type": "a"}, {"type": "b"}]
    assert _objects(bundle) == [{"type": "a"}]


_OBJECTS = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["indicator", "x-custom", "ipv4-addr"])},
        optional={
            "name": st.text(),
            "n": st.integers(min_value=-(2**63), max_value=2**63 - 1),
            "tags": st.lists(st.text(max_size=5), max_size=3),
        },
    ),
    min_size=1,
    max_size=5,
)


@given(objects=_OBJECTS, shape=st.sampled_from(["bundle", "array", "jsonl", "pretty-bundle"]))
def test_every_shape_reads_back_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, objects: list[dict[str, object]], shape: str
) -> None:
    path = tmp_path_factory.getbasetemp() / "roundtrip.json"
    bundle = {"type": "bundle", "id": "bundle--2b4b0ae4-7d0b-4b0b-9c0f-0e8a2f2e6a1b"}
    if shape == "bundle":
        path.write_bytes(orjson.dumps({**bundle, "objects": objects}))
    elif shape == "pretty-bundle":
        data = {**bundle, "spec_version": "2.0", "objects": objects}
        path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    elif shape == "array":
        path.write_bytes(orjson.dumps(objects))
    else:
        path.write_bytes(b"\n".join(orjson.dumps(obj) for obj in objects))
    expected_version = "2.0" if shape == "pretty-bundle" else None
    assert list(read_objects(path)) == [SourceObject(obj, expected_version) for obj in objects]
