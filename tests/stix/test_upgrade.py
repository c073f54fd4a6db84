"""Upgrading STIX 2.0 to 2.1: each rule, and every STIX 2.0 object of the shared data."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stix2.v21 import Directory, DomainName, EmailAddress, EmailMessage, File
from stix2validator import ValidationOptions, validate_instance

from allyshare.errors import InvalidInput, InvalidObject
from allyshare.stix.reading import read_objects, stix_files
from allyshare.stix.upgrade import upgrade_object

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NOT_STIX_OUTSIDE_MISP = {"attack/index.json", "taxii/medallion/default_data.json"}

# Every STIX 2.0 object of the shared data: the Unit 42 playbooks, the Talos bundles,
# misp-stix's *_stix20.json, python-stix2's v20 store (and the one 2.0 bundle in its v21
# store), cti-stix-visualization's test.json, and the 9 objects of MITRE's ATT&CK 3.3.0
# sample that lack spec_version. Counted with repeats (the playbooks share many objects).
EXPECTED_UPGRADED = 1112
# Objects of the shared data that upgrade_object must refuse, id -> part of the reason. None
# must: the only STIX 2.0 schema errors in this data are misp-stix's UUIDv5 relationship ids,
# which are valid in STIX 2.1 (see MISP_UUID5_IDS).
EXPECTED_REJECTIONS: dict[str, str] = {}
MISP_UUID5_IDS = {
    "relationship--faf4cb4e-3279-5ea5-90e6-2c522549f0ca",
    "relationship--2ec8b484-7f14-59a2-a7bc-419393273e6b",
    "relationship--825fa50f-6220-5f84-9eb2-f0c739854e92",
    "relationship--0a936557-847e-5016-ad92-c772d85cd447",
    "relationship--84a09ac4-d222-57f1-9fab-f36595b47888",
    "relationship--74f723bb-92e6-5f35-9041-324978af36e2",
}

OPTIONS_21 = ValidationOptions(version="2.1")
INDICATOR_ID = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
OBSERVED_ID = "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"
IDENTITY_ID = "identity--311b2d2d-f010-4473-83ec-1edf84858f4c"


def _errors(obj: dict[str, Any]) -> list[str]:
    return [str(error) for error in validate_instance(obj, OPTIONS_21).errors]


def _indicator(**extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": INDICATOR_ID,
        "created": "2017-01-01T00:00:00Z",
        "modified": "2017-01-01T00:00:00.5Z",
        "labels": ["malicious-activity"],
        "pattern": "[ipv4-addr:value = '198.51.100.1']",
        "valid_from": "2017-01-01T00:00:00Z",
        **extra,
    }


def _observed(objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "observed-data",
        "id": OBSERVED_ID,
        "created": "2017-01-01T00:00:00.000Z",
        "modified": "2017-01-01T00:00:00.000Z",
        "first_observed": "2017-01-01T00:00:00Z",
        "last_observed": "2017-01-01T00:00:00Z",
        "number_observed": 1,
        "objects": objects,
    }


def _is_listed_non_stix(name: str) -> bool:
    return name in NOT_STIX_OUTSIDE_MISP or (name.startswith("misp/") and "_stix2" not in name)


def test_every_stix20_object_of_the_shared_data_upgrades_to_valid_stix21(
    shared_data: Path,
) -> None:
    upgraded: dict[bytes, dict[str, Any]] = {}
    upgraded_count = 0
    rejected: dict[str, str] = {}
    per_file: dict[str, int] = {}
    for path in stix_files(shared_data):
        name = path.relative_to(shared_data).as_posix()
        try:
            sources = list(read_objects(path))
        except InvalidInput:
            assert _is_listed_non_stix(name), name
            continue
        for obj, bundle_spec_version in sources:
            assert isinstance(obj, dict)
            before = orjson.dumps(obj)
            try:
                result = upgrade_object(obj, bundle_spec_version)
            except InvalidObject as exc:
                rejected[str(exc.object_id)] = exc.reason
                continue
            assert orjson.dumps(obj) == before, "the input object was modified"
            if result is not obj:
                upgraded_count += 1
                per_file[name] = per_file.get(name, 0) + 1
                upgraded[orjson.dumps(result, option=orjson.OPT_SORT_KEYS)] = result

    assert set(rejected) == set(EXPECTED_REJECTIONS)
    for object_id, reason in EXPECTED_REJECTIONS.items():
        assert reason in rejected[object_id]
    assert upgraded_count == EXPECTED_UPGRADED
    assert per_file["vendor-reports/unit42/moldypisces.json"] == 599
    assert per_file["attack/sample_3.3.0_stix-detection-strategy.json"] == 9
    assert {obj["id"] for obj in upgraded.values()} >= MISP_UUID5_IDS

    failures = {obj["id"]: errors for obj in upgraded.values() if (errors := _errors(obj))}
    assert failures == {}


def test_spec_version_less_malware_of_the_medallion_data_upgrades(shared_data: Path) -> None:
    server = orjson.loads((shared_data / "taxii/medallion/default_data.json").read_bytes())
    objects = [
        obj
        for api_root in server.values()
        if isinstance(api_root, dict)
        for collection in api_root.get("collections", [])
        for obj in collection.get("objects", [])
    ]
    assert len(objects) == 8
    upgraded = [upgrade_object(obj, None) for obj in objects]
    changed = [new for new, old in zip(upgraded, objects, strict=True) if new is not old]
    assert [obj["type"] for obj in changed] == ["malware"]
    assert changed[0]["is_family"] is True
    assert _errors(changed[0]) == []


def test_stix21_objects_come_back_as_the_same_dict() -> None:
    indicator = _indicator(spec_version="2.1")
    assert upgrade_object(indicator, None) is indicator
    assert upgrade_object(indicator, "2.0") is indicator
    sco = {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"}
    assert upgrade_object(sco, None) is sco
    upgraded = upgrade_object(_indicator(), None)
    assert upgrade_object(upgraded, None) is upgraded


@pytest.mark.parametrize(
    ("obj", "bundle_spec_version"),
    [
        (_indicator(), None),
        (_indicator(), "2.0"),
        (_indicator(), "2.1"),
        (_indicator(spec_version="2.0"), None),
        ({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-4bc5-b98d-13d6226742dd"}, "2.0"),
    ],
)
def test_stix20_detection(obj: dict[str, Any], bundle_spec_version: str | None) -> None:
    assert upgrade_object(obj, bundle_spec_version)["spec_version"] == "2.1"


def test_unsupported_spec_version_is_rejected() -> None:
    with pytest.raises(InvalidObject) as caught:
        upgrade_object(_indicator(spec_version="2.2"), None)
    assert (caught.value.object_id, caught.value.prop) == (INDICATOR_ID, "spec_version")
    assert "'2.2'" in caught.value.reason


@pytest.mark.parametrize(
    ("obj_type", "types_property"),
    [
        ("indicator", "indicator_types"),
        ("malware", "malware_types"),
        ("report", "report_types"),
        ("threat-actor", "threat_actor_types"),
        ("tool", "tool_types"),
    ],
)
def test_labels_become_the_types_property(obj_type: str, types_property: str) -> None:
    obj = {
        "type": obj_type,
        "id": f"{obj_type}--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2017-01-01T00:00:00.000Z",
        "modified": "2017-01-01T00:00:00.000Z",
        "labels": ["one", "two"],
    }
    upgraded = upgrade_object(obj, "2.0")
    assert upgraded[types_property] == ["one", "two"]
    assert "labels" not in upgraded
    assert list(upgraded)[:2] == ["type", "spec_version"]


def test_labels_stay_where_2_1_keeps_them() -> None:
    pattern = {
        "type": "attack-pattern",
        "id": "attack-pattern--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2017-01-01T00:00:00.000Z",
        "modified": "2017-01-01T00:00:00.000Z",
        "name": "Spearphishing",
        "labels": ["email"],
    }
    assert upgrade_object(pattern, "2.0")["labels"] == ["email"]
    both = upgrade_object(_indicator(indicator_types=["benign"]), None)
    assert (both["labels"], both["indicator_types"]) == (["malicious-activity"], ["benign"])


def test_malware_is_a_family_unless_it_says_otherwise() -> None:
    malware = {
        "type": "malware",
        "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2017-01-01T00:00:00.000Z",
        "modified": "2017-01-01T00:00:00.000Z",
        "name": "FALLCHILL",
        "labels": ["remote-access-trojan"],
    }
    upgraded = upgrade_object(malware, "2.0")
    assert upgraded["is_family"] is True
    assert _errors(upgraded) == []
    assert upgrade_object({**malware, "is_family": False}, "2.0")["is_family"] is False


def test_indicator_pattern_is_kept_and_declared_stix_2_0() -> None:
    upgraded = upgrade_object(_indicator(pattern="[file:created = t'2016-01-01T00:00:00Z']"), None)
    assert upgraded["pattern"] == "[file:created = t'2016-01-01T00:00:00Z']"
    assert (upgraded["pattern_type"], upgraded["pattern_version"]) == ("stix", "2.0")
    assert _errors(upgraded) == []
    declared = upgrade_object(_indicator(pattern_type="stix", pattern_version="2.1"), None)
    assert declared["pattern_version"] == "2.1"
    other = upgrade_object(_indicator(pattern_type="snort", pattern="alert tcp any"), None)
    assert "pattern_version" not in other


@pytest.mark.parametrize(
    ("written", "upgraded"),
    [
        ("2017-01-01T00:00:00Z", "2017-01-01T00:00:00.000Z"),
        ("2017-01-01T00:00:00.5Z", "2017-01-01T00:00:00.500Z"),
        ("2017-01-01T00:00:00.123Z", "2017-01-01T00:00:00.123Z"),
        ("2017-01-01T00:00:00.123456Z", "2017-01-01T00:00:00.123456Z"),
    ],
)
def test_created_and_modified_get_millisecond_precision(written: str, upgraded: str) -> None:
    result = upgrade_object(_indicator(created=written, modified=written), None)
    assert (result["created"], result["modified"]) == (upgraded, upgraded)
    assert result["valid_from"] == "2017-01-01T00:00:00Z"


@given(
    seconds=st.datetimes(min_value=datetime(1000, 1, 1)).map(
        lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S")
    ),
    fraction=st.text(alphabet="0123456789", max_size=9),
)
def test_padding_names_the_same_instant(seconds: str, fraction: str) -> None:
    written = f"{seconds}.{fraction}Z" if fraction else f"{seconds}Z"
    result = upgrade_object(_indicator(created=written), None)["created"]
    head, _, tail = result.removesuffix("Z").partition(".")
    assert head == seconds
    assert len(tail) >= 3
    assert Decimal(f"0.{tail}") == Decimal(f"0.{fraction or 0}")


@pytest.mark.parametrize(
    ("changes", "prop", "reason"),
    [
        ({"created": "2022-101-27T13:49:54.326Z"}, "created", "not a STIX timestamp"),
        ({"modified": 1483228800}, "modified", "not a STIX timestamp"),
        ({"id": "indicator--not-a-uuid"}, "id", "RFC 4122"),
        ({"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}, "id", "'indicator--<UUID>'"),
        ({"id": "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"}, "id", "version 1-5"),
        ({"id": "indicator--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f"}, "id", "RFC 4122"),
        ({"id": None}, "id", "missing"),
        ({"type": None}, "type", "missing"),
    ],
)
def test_what_cannot_be_upgraded_is_rejected(
    changes: dict[str, Any], prop: str, reason: str
) -> None:
    with pytest.raises(InvalidObject) as caught:
        upgrade_object(_indicator(**changes), "2.0")
    assert caught.value.prop == prop
    assert reason in caught.value.reason


def test_uuid5_ids_are_valid_stix21() -> None:
    upgraded = upgrade_object(
        _indicator(id="indicator--faf4cb4e-3279-5ea5-90e6-2c522549f0ca"), None
    )
    assert _errors(upgraded) == []


def test_sectors_and_hash_names_follow_the_renamed_vocabularies() -> None:
    identity: dict[str, Any] = {
        "type": "identity",
        "id": IDENTITY_ID,
        "created": "2017-01-01T00:00:00.000Z",
        "modified": "2017-01-01T00:00:00.000Z",
        "name": "MoD",
        "identity_class": "organization",
        "sectors": ["defence", "government-national"],
        "external_references": [
            {"source_name": "report", "url": "https://example.com", "hashes": {"ssdeep": "3:a:b"}}
        ],
    }
    upgraded = upgrade_object(identity, None)
    assert upgraded["sectors"] == ["defense", "government-national"]
    assert upgraded["external_references"][0]["hashes"] == {"SSDEEP": "3:a:b"}
    assert identity["external_references"][0]["hashes"] == {"ssdeep": "3:a:b"}
    assert _errors(upgraded) == []


def test_tlp_marking_definitions_get_their_2_1_name(shared_data: Path) -> None:
    bundle = orjson.loads(
        (shared_data / "vendor-reports/talos/lazarus-three-rats.json").read_bytes()
    )
    (tlp,) = [obj for obj in bundle["objects"] if obj["type"] == "marking-definition"]
    upgraded = upgrade_object(tlp, "2.0")
    assert upgraded == {**tlp, "spec_version": "2.1", "name": "TLP:GREEN"}
    assert _errors(upgraded) == []
    wrong_colour = {**tlp, "definition": {"tlp": "red"}}
    assert "name" not in upgrade_object(wrong_colour, "2.0")


def test_embedded_observables_get_the_ids_stix2_would_give_them() -> None:
    observed = _observed(
        {
            "0": {"type": "email-message", "is_multipart": False, "from_ref": "1", "subject": "Hi"},
            "1": {"type": "email-addr", "value": "jdoe@example.com"},
            "2": {"type": "domain-name", "value": "example.com", "resolves_to_refs": ["3"]},
            "3": {"type": "ipv4-addr", "value": "198.51.100.1"},
            "4": {
                "type": "file",
                "name": "a.exe",
                "hashes": {"SHA-256": "a" * 64, "MD5": "b" * 32},
                "parent_directory_ref": "5",
            },
            "5": {"type": "directory", "path": "C:\\Windows"},
        }
    )
    upgraded = upgrade_object(observed, "2.0")
    objects = upgraded["objects"]
    sender = EmailAddress(value="jdoe@example.com")
    directory = Directory(path="C:\\Windows")
    assert objects["1"]["id"] == sender.id
    assert (
        objects["0"]["id"] == EmailMessage(from_ref=sender.id, subject="Hi", is_multipart=False).id
    )
    assert objects["2"]["id"] == DomainName(value="example.com").id
    assert (
        objects["4"]["id"]
        == File(
            name="a.exe",
            hashes={"SHA-256": "a" * 64, "MD5": "b" * 32},
            parent_directory_ref=directory.id,
        ).id
    )
    assert objects["0"]["from_ref"] == "1"
    assert objects["2"]["resolves_to_refs"] == ["3"]
    assert "id" not in observed["objects"]["0"]
    assert _errors(upgraded) == []


def test_an_embedded_id_already_given_is_kept_and_used_by_references() -> None:
    sender_id = "email-addr--2b6ec1d1-7c1a-4c3d-9e3e-0a8b7b1f6d55"
    observed = _observed(
        {
            "0": {"type": "email-message", "is_multipart": False, "from_ref": "1"},
            "1": {"type": "email-addr", "value": "jdoe@example.com", "id": sender_id},
        }
    )
    objects = upgrade_object(observed, None)["objects"]
    assert objects["1"]["id"] == sender_id
    assert objects["0"]["id"] == EmailMessage(from_ref=sender_id, is_multipart=False).id


def test_observables_without_id_properties_get_a_stable_id_from_their_place() -> None:
    observed = _observed({"0": {"type": "process", "pid": 4}, "1": {"type": "process", "pid": 4}})
    first = upgrade_object(observed, None)["objects"]
    again = upgrade_object(copy.deepcopy(observed), None)["objects"]
    assert first == again
    assert first["0"]["id"] != first["1"]["id"]
    assert first["0"]["id"].startswith("process--")


def test_renamed_observable_properties_are_renamed() -> None:
    observed = _observed(
        {
            "0": {"type": "file", "name": "a.exe", "created": "2017-01-01T00:00:00Z"},
            "1": {
                "type": "process",
                "pid": 4,
                "binary_ref": "0",
                "created": "2017-01-01T00:00:00Z",
            },
            "2": {
                "type": "user-account",
                "user_id": "1001",
                "password_last_changed": "2017-01-01T00:00:00Z",
            },
            "3": {
                "type": "windows-registry-key",
                "key": "HKEY_LOCAL_MACHINE\\System",
                "modified": "2017-01-01T00:00:00Z",
            },
            "4": {"type": "directory", "path": "/var/log", "accessed": "2017-01-01T00:00:00Z"},
            "5": {"type": "file", "name": "b", "hashes": {"ssdeep": "3:a:b"}},
        }
    )
    objects = upgrade_object(observed, "2.0")["objects"]
    assert objects["0"]["ctime"] == "2017-01-01T00:00:00Z"
    assert objects["1"]["image_ref"] == "0"
    assert objects["1"]["created_time"] == "2017-01-01T00:00:00Z"
    assert "credential_last_changed" in objects["2"]
    assert "modified_time" in objects["3"]
    assert "atime" in objects["4"]
    assert objects["5"]["hashes"] == {"SSDEEP": "3:a:b"}
    assert _errors(upgrade_object(observed, "2.0")) == []


@pytest.mark.parametrize(
    ("objects", "prop", "reason"),
    [
        ({"0": {"type": "process", "name": "cmd.exe"}}, "objects.0.name", "removed in STIX 2.1"),
        (
            {"0": {"type": "file", "name": "a", "is_encrypted": False}},
            "objects.0.is_encrypted",
            "removed",
        ),
        (
            {
                "0": {
                    "type": "file",
                    "name": "a.zip",
                    "extensions": {"archive-ext": {"version": "5"}},
                }
            },
            "objects.0.extensions.archive-ext.version",
            "removed",
        ),
        (
            {
                "0": {
                    "type": "file",
                    "name": "a",
                    "created": "2017-01-01T00:00:00Z",
                    "ctime": "2017-01-01T00:00:00Z",
                }
            },
            "objects.0.created",
            "also set",
        ),
        (
            {"0": {"type": "domain-name", "value": "a.example", "resolves_to_refs": ["7"]}},
            "objects",
            "'7'",
        ),
        (
            {
                "0": {"type": "network-traffic", "src_ref": "1", "protocols": ["tcp"]},
                "1": {"type": "network-traffic", "src_ref": "0", "protocols": ["tcp"]},
            },
            "objects.0",
            "cycle",
        ),
        ({}, "objects", "non-empty"),
        ({"0": {"value": "no type"}}, "objects.0", "'type'"),
    ],
)
def test_observables_that_cannot_be_upgraded_are_rejected(
    objects: dict[str, Any], prop: str, reason: str
) -> None:
    with pytest.raises(InvalidObject) as caught:
        upgrade_object(_observed(objects), "2.0")
    assert (caught.value.object_id, caught.value.prop) == (OBSERVED_ID, prop)
    assert reason in caught.value.reason


def test_custom_objects_are_kept_with_spec_version_2_1() -> None:
    custom = {
        "type": "x-misp-attribute",
        "id": "x-misp-attribute--a6bbaeea-2cc9-4e1f-a4a8-cf7c6a8fae18",
        "created": "2022-09-06T19:35:33.000Z",
        "modified": "2022-09-06T19:35:33.000Z",
        "labels": ['misp:type="text"'],
        "x_misp_value": "MagicRAT",
    }
    assert upgrade_object(custom, "2.0") == {**custom, "spec_version": "2.1"}
