"""The demo data set and the synthetic benchmark stream are valid, coherent and reproducible.

Both feed everything else (``allyshare demo``, interoperability tests, benchmarks), so an
invalid object or a dangling reference here would show up as a confusing failure elsewhere.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_instance

from allyshare.demo.content import (
    TLP_AMBER_STRICT,
    TLP_MARKING_IDS,
    _timestamp,
    demo_objects,
    synthetic_objects,
)

OPTIONS = ValidationOptions(version="2.1")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TIMESTAMP_PROPERTIES = {
    "created",
    "modified",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "published",
}


@pytest.fixture(scope="module")
def demo() -> list[dict[str, Any]]:
    return demo_objects()


@pytest.fixture(scope="module")
def synthetic() -> list[dict[str, Any]]:
    return list(synthetic_objects(3000))


def references(value: Any, name: str = "") -> Iterator[str]:
    """Every identifier held in a ``*_ref`` or ``*_refs`` property, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from references(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from references(item, name)
    elif isinstance(value, str) and (name.endswith("_ref") or name.endswith("_refs")):
        yield value


def validation_errors(objects: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for obj in objects:
        result = validate_instance(obj, OPTIONS)
        if not result.is_valid:
            problems.extend(f"{obj['id']}: {error}" for error in result.errors)
    return problems


def test_demo_objects_pass_the_oasis_validator(demo: list[dict[str, Any]]) -> None:
    assert validation_errors(demo) == []


def test_synthetic_objects_pass_the_oasis_validator(synthetic: list[dict[str, Any]]) -> None:
    assert validation_errors(synthetic) == []


@pytest.mark.parametrize("source", ["demo", "synthetic"])
def test_indicator_patterns_are_valid_stix_2_1(source: str, request: pytest.FixtureRequest) -> None:
    objects: list[dict[str, Any]] = request.getfixturevalue(source)
    patterns = {obj["pattern"] for obj in objects if obj["type"] == "indicator"}
    assert patterns
    problems = {p: run_validator(p, stix_version="2.1") for p in patterns}
    assert {p: errors for p, errors in problems.items() if errors} == {}


def test_synthetic_patterns_cover_the_common_shapes(synthetic: list[dict[str, Any]]) -> None:
    patterns = [obj["pattern"] for obj in synthetic if obj["type"] == "indicator"]
    for shape in (
        "[ipv4-addr:value = ",
        "[domain-name:value = ",
        "[file:hashes.'SHA-256' = ",
        "[url:value = ",
        " AND ",
        " OR ",
    ):
        assert any(shape in pattern for pattern in patterns), shape


def test_every_demo_reference_resolves(demo: list[dict[str, Any]]) -> None:
    known = {obj["id"] for obj in demo}
    dangling = {
        (obj["id"], ref)
        for obj in demo
        for ref in references(obj)
        if ref not in known and ref not in TLP_MARKING_IDS
    }
    assert dangling == set()


def test_demo_contains_the_tlp_2_0_marking_definitions(demo: list[dict[str, Any]]) -> None:
    markings = {obj["id"]: obj for obj in demo if obj["type"] == "marking-definition"}
    assert set(markings) == TLP_MARKING_IDS
    assert markings[TLP_AMBER_STRICT] == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:AMBER+STRICT",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "amber+strict",
            }
        },
    }
    used = {ref for obj in demo for ref in obj.get("object_marking_refs", [])}
    assert used == TLP_MARKING_IDS


def test_demo_tells_a_complete_story(demo: list[dict[str, Any]]) -> None:
    counts = Counter(obj["type"] for obj in demo)
    assert 150 <= len(demo) <= 420
    for stix_type in (
        "identity",
        "intrusion-set",
        "threat-actor",
        "malware",
        "attack-pattern",
        "indicator",
        "relationship",
        "sighting",
        "report",
        "vulnerability",
        "location",
        "ipv4-addr",
        "domain-name",
        "file",
    ):
        assert counts[stix_type] > 0, stix_type
    names = {obj.get("name") for obj in demo}
    assert {"Lazarus Group", "Kimsuky", "Andariel", "APT37", "APT41", "APT31"} <= names
    countries = {obj["country"] for obj in demo if obj["type"] == "location"}
    assert countries == {"KR", "US", "KP", "CN"}
    relationship_types = {obj["relationship_type"] for obj in demo if obj["type"] == "relationship"}
    assert {"indicates", "uses", "attributed-to", "targets"} <= relationship_types
    attack_ids = {
        ref["external_id"]
        for obj in demo
        if obj["type"] == "attack-pattern"
        for ref in obj["external_references"]
    }
    assert "T1566.001" in attack_ids


def test_demo_objects_are_created_after_what_they_refer_to(demo: list[dict[str, Any]]) -> None:
    """A sighting, relationship or report cannot predate the objects it is about."""
    created = {obj["id"]: obj["created"] for obj in demo if "created" in obj}
    for obj in demo:
        if obj.get("modified", "") != obj.get("created"):
            continue  # SCOs and markings have no versions; later versions may cite newer objects
        about = {name: value for name, value in obj.items() if name != "created_by_ref"}
        for ref in references(about):
            if ref in created and ref not in TLP_MARKING_IDS:
                assert created[ref] < obj["created"], (obj["id"], ref)


def test_demo_observables_stay_in_reserved_ranges(demo: list[dict[str, Any]]) -> None:
    """Demo values must never match real infrastructure."""
    documentation = ("192.0.2.", "198.51.100.", "203.0.113.")
    for obj in demo:
        if obj["type"] == "ipv4-addr":
            assert obj["value"].startswith(documentation)
        if obj["type"] == "domain-name":
            assert obj["value"].endswith((".example", ".test"))
        if obj["type"] == "indicator":
            for address in re.findall(r"\d+\.\d+\.\d+\.\d+", obj["pattern"]):
                assert address.startswith(documentation), obj["pattern"]


def test_demo_has_several_versions_of_some_objects(demo: list[dict[str, Any]]) -> None:
    versions: dict[str, list[dict[str, Any]]] = {}
    for obj in demo:
        versions.setdefault(obj["id"], []).append(obj)
    multi = {ident: objs for ident, objs in versions.items() if len(objs) > 1}
    assert len(multi) >= 5
    assert any(len(objs) >= 3 for objs in multi.values())
    for objs in multi.values():
        modified = [obj["modified"] for obj in objs]
        assert modified == sorted(set(modified)), "versions are listed oldest first, distinct"
        assert {obj["created"] for obj in objs} == {objs[0]["created"]}


@pytest.mark.parametrize("source", ["demo", "synthetic"])
def test_timestamps_are_rfc3339_with_milliseconds(
    source: str, request: pytest.FixtureRequest
) -> None:
    objects: list[dict[str, Any]] = request.getfixturevalue(source)
    for obj in objects:
        for name in TIMESTAMP_PROPERTIES & obj.keys():
            assert TIMESTAMP.match(obj[name]), (obj["id"], name, obj[name])
        if "modified" in obj:
            assert obj["created"] <= obj["modified"]


@pytest.mark.parametrize("source", ["demo", "synthetic"])
def test_observable_ids_follow_the_specification(
    source: str, request: pytest.FixtureRequest
) -> None:
    """SCO ids are the UUIDv5 the stix2 library derives from the ID contributing properties."""
    classes = {
        "ipv4-addr": stix2.v21.IPv4Address,
        "domain-name": stix2.v21.DomainName,
        "url": stix2.v21.URL,
        "file": stix2.v21.File,
    }
    objects: list[dict[str, Any]] = request.getfixturevalue(source)
    scos = [obj for obj in objects if obj["type"] in classes]
    assert scos
    for obj in scos:
        rebuilt = classes[obj["type"]](**{k: v for k, v in obj.items() if k not in {"id", "type"}})
        assert rebuilt.id == obj["id"]


def test_demo_is_deterministic_per_seed() -> None:
    assert demo_objects() == demo_objects()
    assert demo_objects(seed=7) == demo_objects(seed=7)
    first, other = demo_objects(seed=0), demo_objects(seed=1)
    own_ids = {obj["id"] for obj in first if "modified" in obj}  # not TLP, not SCOs
    assert own_ids.isdisjoint(obj["id"] for obj in other)


def test_synthetic_is_deterministic_per_seed() -> None:
    assert list(synthetic_objects(2000, seed=3)) == list(synthetic_objects(2000, seed=3))
    assert list(synthetic_objects(50, seed=3)) != list(synthetic_objects(50, seed=4))


def test_synthetic_yields_exactly_count_objects() -> None:
    for count in (0, 1, 5, 13, 1000):
        assert sum(1 for _ in synthetic_objects(count)) == count


@pytest.mark.parametrize("share", [0.4, 0.2, 0.75])
def test_synthetic_indicator_share(share: float) -> None:
    objects = synthetic_objects(10_000, seed=11, indicator_share=share)
    indicators = sum(1 for obj in objects if obj["type"] == "indicator")
    assert abs(indicators / 10_000 - share) <= 0.02


def test_synthetic_default_indicator_share_is_forty_percent() -> None:
    indicators = sum(1 for obj in synthetic_objects(10_000) if obj["type"] == "indicator")
    assert 0.38 <= indicators / 10_000 <= 0.42


def test_synthetic_versions_are_about_five_percent_and_nothing_else_repeats() -> None:
    seen: set[str] = set()
    keys: set[tuple[str, str]] = set()
    versions = 0
    for obj in synthetic_objects(20_000, seed=5):
        if obj["id"] in seen and "modified" in obj:
            versions += 1
        elif obj["id"] in seen:
            pytest.fail(f"unversioned object {obj['id']} repeated")
        seen.add(obj["id"])
        if "modified" in obj:
            key = (obj["id"], obj["modified"])
            assert key not in keys, "(id, modified) identifies one version"
            keys.add(key)
    assert 0.04 <= versions / 20_000 <= 0.06


def test_synthetic_versions_keep_created_and_move_modified_forward() -> None:
    latest: dict[str, dict[str, Any]] = {}
    for obj in synthetic_objects(10_000, seed=9):
        previous = latest.get(obj["id"])
        if previous is not None and "modified" in obj:
            assert obj["created"] == previous["created"]
            assert obj["modified"] > previous["modified"]
            assert not previous.get("revoked"), "a revoked object gets no new version"
        latest[obj["id"]] = obj


def test_synthetic_references_point_at_earlier_objects(synthetic: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for obj in synthetic:
        for ref in references(obj):
            assert ref in seen or ref in TLP_MARKING_IDS, (obj["id"], ref)
        seen.add(obj["id"])


def test_synthetic_mix_is_realistic(synthetic: list[dict[str, Any]]) -> None:
    counts = Counter(obj["type"] for obj in synthetic)
    for stix_type in (
        "relationship",
        "sighting",
        "malware",
        "intrusion-set",
        "identity",
        "attack-pattern",
        "report",
        "note",
        "ipv4-addr",
        "domain-name",
        "file",
    ):
        assert counts[stix_type] > 0, stix_type
    assert counts["relationship"] > counts["malware"]
    for obj in synthetic:
        assert obj.get("object_marking_refs"), obj["id"]


def test_synthetic_is_lazy() -> None:
    """A huge count costs nothing until consumed: the stream never materialises."""
    stream = synthetic_objects(10**12)
    assert len(list(islice(stream, 100))) == 100


@pytest.mark.parametrize(("count", "share"), [(-1, 0.4), (10, -0.1), (10, 1.5)])
def test_synthetic_rejects_bad_arguments(count: int, share: float) -> None:
    with pytest.raises(ValueError):
        synthetic_objects(count, indicator_share=share)


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_timestamp_formatting_matches_datetime(ms: int) -> None:
    expected = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert _timestamp(ms) == f"{expected}.{ms % 1000:03d}Z"
