"""check_object: every rule by example, robustness, and parity with stix2-validator on real data."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allyshare.errors import InvalidObject
from allyshare.stix.validation import StixObjectInfo, check_object

from support.shared import stix_objects_in

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

UUID = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
OTHER_UUID = "2f6e5d1c-7a34-4c7e-9f6b-1d2e3f4a5b6c"
CREATED = "2024-03-01T10:00:00.000Z"
MODIFIED = "2024-03-02T10:00:00.000Z"
TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
SHA256 = "4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877"


def ref(kind: str, uuid: str = OTHER_UUID) -> str:
    return f"{kind}--{uuid}"


def sdo(kind: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": ref(kind, UUID),
        "created": CREATED,
        "modified": MODIFIED,
        **properties,
    }


def sco(kind: str, **properties: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": ref(kind, UUID), **properties}


# One minimal valid object of every STIX 2.1 type, plus custom content.
VALID: dict[str, dict[str, Any]] = {
    "attack-pattern": sdo("attack-pattern", name="Spear phishing"),
    "campaign": sdo("campaign", name="Operation X"),
    "course-of-action": sdo("course-of-action", name="Block it"),
    "grouping": sdo("grouping", context="suspicious-activity", object_refs=[ref("indicator")]),
    "identity": sdo("identity", name="ACME CERT", identity_class="organization"),
    "incident": sdo("incident", name="Breach"),
    "indicator": sdo(
        "indicator",
        pattern="[ipv4-addr:value = '198.51.100.1']",
        pattern_type="stix",
        valid_from="2024-01-01T00:00:00Z",
    ),
    "infrastructure": sdo("infrastructure", name="C2"),
    "intrusion-set": sdo("intrusion-set", name="APT X"),
    "location": sdo("location", country="KR"),
    "malware": sdo("malware", is_family=False),
    "malware-analysis": sdo("malware-analysis", product="sandbox", result="malicious"),
    "note": sdo("note", content="seen twice", object_refs=[ref("malware")]),
    "observed-data": sdo(
        "observed-data",
        first_observed="2024-01-01T00:00:00Z",
        last_observed="2024-01-01T00:00:00Z",
        number_observed=1,
        object_refs=[ref("ipv4-addr")],
    ),
    "opinion": sdo("opinion", opinion="agree", object_refs=[ref("report")]),
    "report": sdo(
        "report", name="R", published="2024-01-01T00:00:00Z", object_refs=[ref("malware")]
    ),
    "threat-actor": sdo("threat-actor", name="Actor"),
    "tool": sdo("tool", name="nmap"),
    "vulnerability": sdo("vulnerability", name="CVE-2021-44228"),
    "relationship": sdo(
        "relationship",
        relationship_type="indicates",
        source_ref=ref("indicator"),
        target_ref=ref("malware"),
    ),
    "sighting": sdo("sighting", sighting_of_ref=ref("indicator")),
    "marking-definition": {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": ref("marking-definition", UUID),
        "created": "2024-01-01T00:00:00Z",
        "definition_type": "statement",
        "definition": {"statement": "Copyright ACME"},
    },
    "language-content": sdo(
        "language-content",
        object_ref=ref("campaign"),
        contents={"de": {"name": "Bank Angriff"}},
    ),
    "extension-definition": sdo(
        "extension-definition",
        name="x",
        schema="https://example.com/schema.json",
        version="1.0",
        extension_types=["new-sdo"],
    ),
    "artifact": sco("artifact", payload_bin="aGVsbG8="),
    "autonomous-system": sco("autonomous-system", number=64500),
    "directory": sco("directory", path="C:\\Users\\Public"),
    "domain-name": sco("domain-name", value="example.com"),
    "email-addr": sco("email-addr", value="a@example.com"),
    "email-message": sco("email-message", is_multipart=False, body="hi"),
    "file": sco("file", hashes={"SHA-256": SHA256}),
    "ipv4-addr": sco("ipv4-addr", value="198.51.100.1"),
    "ipv6-addr": sco("ipv6-addr", value="2001:db8::1"),
    "mac-addr": sco("mac-addr", value="00:00:5e:00:53:01"),
    "mutex": sco("mutex", name="Global\\x"),
    "network-traffic": sco("network-traffic", protocols=["tcp"], dst_ref=ref("ipv4-addr")),
    "process": sco("process", pid=4),
    "software": sco("software", name="Word"),
    "url": sco("url", value="https://example.com/"),
    "user-account": sco("user-account", user_id="1001"),
    "windows-registry-key": sco("windows-registry-key", key="HKEY_LOCAL_MACHINE\\System"),
    "x509-certificate": sco("x509-certificate", serial_number="01"),
    "custom SDO-like": sdo("x-acme-widget", x_acme_size=3),
    "custom SCO-like": {"type": "x-acme-gadget", "id": ref("x-acme-gadget", UUID), "size": 1},
    "SCO without spec_version": {"type": "ipv4-addr", "id": ref("ipv4-addr"), "value": "1.2.3.4"},
    "everything common": sdo(
        "indicator",
        pattern="[file:hashes.'SHA-256' = '" + SHA256 + "']",
        pattern_type="stix",
        valid_from="2024-01-01T00:00:00.5Z",
        valid_until="2024-01-01T00:00:00.51Z",
        created_by_ref=ref("identity"),
        labels=["malicious-activity"],
        confidence=80,
        lang="en",
        revoked=False,
        external_references=[
            {"source_name": "cve", "external_id": "CVE-2021-44228"},
            {"source_name": "capec", "external_id": "CAPEC-163"},
            {"source_name": "acme", "url": "https://example.com/"},
        ],
        object_marking_refs=[TLP_GREEN],
        granular_markings=[
            {
                "selectors": ["labels", "external_references.[1].external_id"],
                "marking_ref": TLP_GREEN,
            },
            {"selectors": ["name"], "lang": "en"},
        ],
        extensions={
            ref("extension-definition"): {"extension_type": "property-extension", "rank": 5},
            "x-acme-ext": {"level": 1},
        },
        kill_chain_phases=[{"kill_chain_name": "lockheed", "phase_name": "delivery"}],
        name="bad IP",
        x_acme_score=9,
        x_acme_blob_bin="AAEC",
        x_acme_mask_hex="00ff",
    ),
    "upper-case UUID (RFC 4122 accepts it on input)": sdo(
        "relationship",
        id="relationship--81f12913-1372-4c96-85ec-E9034ac98aba",
        relationship_type="consists-of",
        source_ref=ref("infrastructure"),
        target_ref=ref("domain-name"),
    ),
    "custom _ref property is not ours to type": sdo(
        "x-mitre-data-component", x_mitre_data_source_ref=""
    ),
    "non-STIX pattern is kept unchecked": sdo(
        "indicator",
        pattern="rule x { condition: true }",
        pattern_type="yara",
        valid_from="2024-01-01T00:00:00Z",
    ),
    "TLP 1.0 marking": {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_GREEN,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": "TLP:GREEN",
        "definition": {"tlp": "green"},
    },
    "leap day": sdo("campaign", name="x", first_seen="2000-02-29T00:00:00Z"),
}


@pytest.mark.parametrize("obj", VALID.values(), ids=VALID.keys())
def test_valid_objects_pass(obj: dict[str, Any]) -> None:
    info = check_object(obj)
    assert info.id == obj["id"]
    assert info.type == obj["type"]
    assert info.spec_version == "2.1"


def test_info_carries_the_timestamps_as_given() -> None:
    assert check_object(VALID["malware"]) == StixObjectInfo(
        ref("malware", UUID), "malware", "2.1", CREATED, MODIFIED
    )
    assert check_object(VALID["ipv4-addr"]).created is None
    marking = check_object(VALID["marking-definition"])
    assert (marking.created, marking.modified) == ("2024-01-01T00:00:00Z", None)


def changed(base: str, **changes: Any) -> dict[str, Any]:
    """A copy of a valid example with properties replaced; None removes one."""
    obj = copy.deepcopy(VALID[base])
    for name, value in changes.items():
        if value is None:
            obj.pop(name, None)
        else:
            obj[name] = value
    return obj


BAD_ID = "indicator--not-a-uuid"
INVALID: list[tuple[str, object, str | None]] = [
    # shape, type and id
    ("not an object", ["indicator"], None),
    ("no type", changed("malware", type=None), "type"),
    ("type not a string", changed("malware", type=5), "type"),
    ("type too short", sdo("ab"), "type"),
    ("type upper case", sdo("X-Acme"), "type"),
    ("type underscore", sdo("x_acme"), "type"),
    ("type leading hyphen", sdo("-acme"), "type"),
    ("type trailing hyphen", sdo("acme-"), "type"),
    ("type double hyphen", sdo("x--acme"), "type"),
    ("type too long", sdo("x" * 251), "type"),
    ("a bundle", {"type": "bundle", "id": ref("bundle"), "objects": []}, "type"),
    ("no id", changed("malware", id=None), "id"),
    ("id of another type", changed("malware", id=ref("tool")), "id"),
    ("id not a UUID", changed("indicator", id=BAD_ID), "id"),
    (
        "id UUID version 6",
        changed("malware", id="malware--1ef0c6a2-6a7b-6c8d-8e9f-0a1b2c3d4e5f"),
        "id",
    ),
    (
        "id UUID wrong variant",
        changed("malware", id="malware--6ba7b810-9dad-41d1-c0b4-00c04fd430c8"),
        "id",
    ),
    ("id nil UUID", changed("malware", id="malware--00000000-0000-0000-0000-000000000000"), "id"),
    # spec_version
    ("spec_version 2.0", changed("malware", spec_version="2.0"), "spec_version"),
    ("SDO without spec_version", changed("malware", spec_version=None), "spec_version"),
    (
        "custom SDO without spec_version",
        changed("custom SDO-like", spec_version=None),
        "spec_version",
    ),
    (
        "marking without spec_version",
        changed("marking-definition", spec_version=None),
        "spec_version",
    ),
    ("SCO spec_version 2.0", changed("ipv4-addr", spec_version="2.0"), "spec_version"),
    ("spec_version 2.2", changed("malware", spec_version="2.2"), "spec_version"),
    ("spec_version a number", changed("malware", spec_version=2.1), "spec_version"),
    # created / modified
    ("no created", changed("malware", created=None), "created"),
    ("no modified", changed("malware", modified=None), "modified"),
    ("custom object with only created", changed("custom SDO-like", modified=None), "modified"),
    ("created without millis", changed("malware", created="2024-03-01T10:00:00Z"), "created"),
    ("modified with centis", changed("malware", modified="2024-03-02T10:00:00.12Z"), "modified"),
    ("created with offset", changed("malware", created="2024-03-01T10:00:00.000+00:00"), "created"),
    ("created with space", changed("malware", created="2024-03-01 10:00:00.000Z"), "created"),
    ("created 30 February", changed("malware", created="2024-02-30T10:00:00.000Z"), "created"),
    ("created 29 February 1900", changed("malware", created="1900-02-29T10:00:00.000Z"), "created"),
    ("created month 13", changed("malware", created="2024-13-01T10:00:00.000Z"), "created"),
    ("created hour 24", changed("malware", created="2024-03-01T24:00:00.000Z"), "created"),
    ("created leap second", changed("malware", created="2016-12-31T23:59:60.000Z"), "created"),
    ("created year 0", changed("malware", created="0000-03-01T10:00:00.000Z"), "created"),
    (
        "created Arabic-Indic digits",
        changed("malware", created="٢٠٢٤-03-01T10:00:00.000Z"),
        "created",
    ),
    ("created a number", changed("malware", created=1709287200), "created"),
    (
        "modified before created",
        changed("malware", modified="2024-02-01T10:00:00.000Z"),
        "modified",
    ),
    # indicator
    ("indicator without pattern", changed("indicator", pattern=None), "pattern"),
    ("indicator without pattern_type", changed("indicator", pattern_type=None), "pattern_type"),
    ("indicator without valid_from", changed("indicator", valid_from=None), "valid_from"),
    ("bad valid_from", changed("indicator", valid_from="yesterday"), "valid_from"),
    (
        "valid_until equal to valid_from",
        changed("indicator", valid_until="2024-01-01T00:00:00.000Z"),
        "valid_until",
    ),
    (
        "valid_until before valid_from though later as a string",
        changed(
            "indicator", valid_from="2024-01-01T00:00:00.5Z", valid_until="2024-01-01T00:00:00Z"
        ),
        "valid_until",
    ),
    (
        "invalid STIX pattern",
        changed("indicator", pattern="[ipv4-addr:value = '1.2.3.4'"),
        "pattern",
    ),
    ("bad hash in pattern", changed("indicator", pattern="[file:hashes.MD5 = 'abc']"), "pattern"),
    ("pattern not a string", changed("indicator", pattern=["[a:b = 1]"]), "pattern"),
    # relationship and sighting
    (
        "relationship without type",
        changed("relationship", relationship_type=None),
        "relationship_type",
    ),
    (
        "relationship_type upper case",
        changed("relationship", relationship_type="Uses"),
        "relationship_type",
    ),
    ("relationship without source", changed("relationship", source_ref=None), "source_ref"),
    (
        "source_ref not an identifier",
        changed("relationship", source_ref="indicator--x"),
        "source_ref",
    ),
    ("target_ref to a sighting", changed("relationship", target_ref=ref("sighting")), "target_ref"),
    ("source_ref to a marking", changed("relationship", source_ref=TLP_GREEN), "source_ref"),
    (
        "stop_time not after start_time",
        changed(
            "relationship", start_time="2024-01-01T00:00:00Z", stop_time="2024-01-01T00:00:00.000Z"
        ),
        "stop_time",
    ),
    (
        "sighting without sighting_of_ref",
        changed("sighting", sighting_of_ref=None),
        "sighting_of_ref",
    ),
    (
        "sighting of a relationship",
        changed("sighting", sighting_of_ref=ref("relationship")),
        "sighting_of_ref",
    ),
    ("sighting count negative", changed("sighting", count=-1), "count"),
    ("sighting count a boolean", changed("sighting", count=True), "count"),
    (
        "where_sighted_refs to malware",
        changed("sighting", where_sighted_refs=[ref("malware")]),
        "where_sighted_refs",
    ),
    (
        "observed_data_refs to a report",
        changed("sighting", observed_data_refs=[ref("report")]),
        "observed_data_refs",
    ),
    (
        "last_seen before first_seen",
        changed("sighting", first_seen="2024-01-02T00:00:00Z", last_seen="2024-01-01T00:00:00Z"),
        "last_seen",
    ),
    # other SDOs
    (
        "observed-data without first_observed",
        changed("observed-data", first_observed=None),
        "first_observed",
    ),
    ("number_observed zero", changed("observed-data", number_observed=0), "number_observed"),
    ("number_observed a string", changed("observed-data", number_observed="1"), "number_observed"),
    (
        "observed-data with objects and object_refs",
        changed("observed-data", objects={"0": {"type": "file"}}),
        "object_refs",
    ),
    ("observed-data with neither", changed("observed-data", object_refs=None), "object_refs"),
    (
        "observed-data objects without type",
        changed("observed-data", object_refs=None, objects={"0": {"value": "x"}}),
        "objects",
    ),
    (
        "last_observed before first_observed",
        changed("observed-data", last_observed="2023-01-01T00:00:00Z"),
        "last_observed",
    ),
    ("report without published", changed("report", published=None), "published"),
    ("report with empty object_refs", changed("report", object_refs=[]), "object_refs"),
    ("report object_refs not identifiers", changed("report", object_refs=["x"]), "object_refs"),
    ("grouping without context", changed("grouping", context=None), "context"),
    ("note without content", changed("note", content=None), "content"),
    ("opinion not in the enumeration", changed("opinion", opinion="meh"), "opinion"),
    ("identity without name", changed("identity", name=None), "name"),
    ("name not a string", changed("tool", name=["nmap"]), "name"),
    ("malware without is_family", changed("malware", is_family=None), "is_family"),
    ("is_family a string", changed("malware", is_family="true"), "is_family"),
    ("malware family without name", changed("malware", is_family=True), "name"),
    ("location with nothing", changed("location", country=None), None),
    ("latitude without longitude", changed("location", latitude=10), "longitude"),
    ("latitude out of range", changed("location", latitude=91, longitude=0), "latitude"),
    ("precision without coordinates", changed("location", precision=10.0), "precision"),
    ("malware-analysis without result", changed("malware-analysis", result=None), None),
    # marking definitions, language content, extension definitions
    ("statement without statement", changed("marking-definition", definition={}), "definition"),
    (
        "no definition and no extensions",
        changed("marking-definition", definition_type=None),
        "definition_type",
    ),
    (
        "unknown TLP marking",
        changed("marking-definition", definition_type="tlp", definition={"tlp": "green"}),
        "definition_type",
    ),
    (
        "TLP marking of the wrong colour",
        changed("TLP 1.0 marking", definition={"tlp": "red"}),
        "definition",
    ),
    (
        "marking marks itself",
        changed("marking-definition", object_marking_refs=[ref("marking-definition", UUID)]),
        "object_marking_refs",
    ),
    (
        "language-content of a bundle",
        changed("language-content", object_ref=ref("bundle")),
        "object_ref",
    ),
    ("language-content without contents", changed("language-content", contents=None), "contents"),
    (
        "unknown extension type",
        changed("extension-definition", extension_types=["new-thing"]),
        "extension_types",
    ),
    (
        "extension_properties without toplevel extension",
        changed("extension-definition", extension_properties=["x_y"]),
        "extension_properties",
    ),
    # cyber-observable objects
    ("file without hashes or name", changed("file", hashes=None), None),
    ("bad MD5", changed("file", hashes={"MD5": "abc"}), "hashes"),
    (
        "SHA-256 with a non-hex digit",
        changed("file", hashes={"SHA-256": SHA256[:-1] + "g"}),
        "hashes",
    ),
    ("hash name with a space", changed("file", hashes={"SHA 256": SHA256}), "hashes"),
    ("empty hashes", changed("file", hashes={}, name="a.exe"), "hashes"),
    ("negative size", changed("file", size=-1), "size"),
    (
        "artifact with payload and url",
        changed("artifact", url="https://example.com/a"),
        "payload_bin",
    ),
    ("artifact with neither", changed("artifact", payload_bin=None), "payload_bin"),
    (
        "artifact url without hashes",
        changed("artifact", payload_bin=None, url="https://x/"),
        "hashes",
    ),
    ("artifact payload not base64", changed("artifact", payload_bin="aGVsbG8"), "payload_bin"),
    ("decryption_key alone", changed("artifact", decryption_key="k"), "decryption_key"),
    ("domain-name without value", changed("domain-name", value=None), "value"),
    ("autonomous-system number a string", changed("autonomous-system", number="64500"), "number"),
    ("multipart email with body", changed("email-message", is_multipart=True), "body"),
    ("network-traffic without protocols", changed("network-traffic", protocols=None), "protocols"),
    ("network-traffic without endpoints", changed("network-traffic", dst_ref=None), None),
    ("dst_port out of range", changed("network-traffic", dst_port=70000), "dst_port"),
    (
        "active traffic with end",
        changed("network-traffic", is_active=True, end="2024-01-01T00:00:00Z"),
        "end",
    ),
    (
        "end before start",
        changed("network-traffic", start="2024-01-02T00:00:00Z", end="2024-01-01T00:00:00Z"),
        "end",
    ),
    ("process with nothing", changed("process", pid=None), None),
    ("user-account with nothing", changed("user-account", user_id=None), None),
    ("bad ctime", changed("directory", ctime="2024-01-01"), "ctime"),
    # common properties
    (
        "created_by_ref not an identifier",
        changed("malware", created_by_ref="ACME"),
        "created_by_ref",
    ),
    (
        "created_by_ref with upper-case type",
        changed("malware", created_by_ref=ref("Identity")),
        "created_by_ref",
    ),
    (
        "object_marking_refs to an identity",
        changed("malware", object_marking_refs=[ref("identity")]),
        "object_marking_refs",
    ),
    (
        "object_marking_refs empty",
        changed("malware", object_marking_refs=[]),
        "object_marking_refs",
    ),
    (
        "object_marking_refs a string",
        changed("malware", object_marking_refs=TLP_GREEN),
        "object_marking_refs",
    ),
    ("labels empty", changed("malware", labels=[]), "labels"),
    ("labels not strings", changed("malware", labels=[1]), "labels"),
    ("confidence over 100", changed("malware", confidence=101), "confidence"),
    ("confidence a boolean", changed("malware", confidence=True), "confidence"),
    ("revoked a string", changed("malware", revoked="no"), "revoked"),
    ("description not a string", changed("malware", description=5), "description"),
    ("aliases with a number", changed("campaign", aliases=["Op X", 1]), "aliases"),
    (
        "external reference without source_name",
        changed("malware", external_references=[{"url": "https://x/"}]),
        "external_references",
    ),
    (
        "cve reference with a bad id",
        changed(
            "malware", external_references=[{"source_name": "cve", "external_id": "2021-44228"}]
        ),
        "external_references",
    ),
    (
        "capec reference without id",
        changed("malware", external_references=[{"source_name": "capec", "url": "https://x/"}]),
        "external_references",
    ),
    (
        "external reference with only a name",
        changed("malware", external_references=[{"source_name": "acme"}]),
        "external_references",
    ),
    (
        "kill chain phase without phase_name",
        changed("malware", kill_chain_phases=[{"kill_chain_name": "k"}]),
        "kill_chain_phases",
    ),
    (
        "granular marking without selectors",
        changed("malware", granular_markings=[{"marking_ref": TLP_GREEN}]),
        "granular_markings",
    ),
    (
        "granular marking with empty selectors",
        changed("malware", granular_markings=[{"selectors": [], "marking_ref": TLP_GREEN}]),
        "granular_markings",
    ),
    (
        "selector matching nothing",
        changed(
            "malware", granular_markings=[{"selectors": ["description"], "marking_ref": TLP_GREEN}]
        ),
        "granular_markings",
    ),
    (
        "selector index out of range",
        changed(
            "malware",
            labels=["a"],
            granular_markings=[{"selectors": ["labels.[1]"], "marking_ref": TLP_GREEN}],
        ),
        "granular_markings",
    ),
    (
        "selector with bad syntax",
        changed(
            "malware", granular_markings=[{"selectors": ["Is_Family"], "marking_ref": TLP_GREEN}]
        ),
        "granular_markings",
    ),
    (
        "granular marking with marking_ref and lang",
        changed(
            "malware",
            granular_markings=[
                {"selectors": ["is_family"], "marking_ref": TLP_GREEN, "lang": "en"}
            ],
        ),
        "granular_markings",
    ),
    (
        "granular marking with neither",
        changed("malware", granular_markings=[{"selectors": ["is_family"]}]),
        "granular_markings",
    ),
    (
        "granular marking_ref to an identity",
        changed(
            "malware",
            granular_markings=[{"selectors": ["is_family"], "marking_ref": ref("identity")}],
        ),
        "granular_markings",
    ),
    ("extensions empty", changed("malware", extensions={}), "extensions"),
    ("extension key neither kind", changed("malware", extensions={"acme": {"a": 1}}), "extensions"),
    ("predefined extension empty", changed("malware", extensions={"x-acme-ext": {}}), "extensions"),
    (
        "bad extension_type",
        changed("malware", extensions={ref("extension-definition"): {"extension_type": "new"}}),
        "extensions",
    ),
    # custom properties
    ("custom property upper case", changed("malware", X_acme=1), "X_acme"),
    ("custom property too short", changed("malware", xa=1), "xa"),
    ("custom property with hyphen", changed("malware", **{"x-acme": 1}), "x-acme"),
    ("custom property too long", changed("malware", **{"x" * 251: 1}), "x" * 80),
    ("null property", changed("malware", description=None) | {"description": None}, "description"),
    ("empty list property", changed("malware", x_acme_tags=[]), "x_acme_tags"),
    ("custom binary not base64", changed("malware", x_acme_blob_bin="a"), "x_acme_blob_bin"),
    ("custom hex with odd length", changed("malware", x_acme_mask_hex="abc"), "x_acme_mask_hex"),
]


@pytest.mark.parametrize(
    ("obj", "prop"), [(o, p) for _, o, p in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_objects_are_rejected_naming_the_property(obj: object, prop: str | None) -> None:
    with pytest.raises(InvalidObject) as caught:
        check_object(obj)
    assert caught.value.prop == prop
    assert caught.value.reason


def test_the_error_names_the_object_when_its_id_is_usable() -> None:
    with pytest.raises(InvalidObject) as caught:
        check_object(changed("malware", is_family=None))
    assert caught.value.object_id == ref("malware", UUID)
    with pytest.raises(InvalidObject) as caught:
        check_object(changed("indicator", id=BAD_ID))
    assert caught.value.object_id is None
    assert BAD_ID in caught.value.reason


def test_stix20_gets_the_upgrade_hint() -> None:
    with pytest.raises(InvalidObject) as caught:
        check_object(changed("malware", spec_version=None))
    assert "allyshare import" in caught.value.reason


def test_stix_pattern_errors_quote_the_parser() -> None:
    with pytest.raises(InvalidObject) as caught:
        check_object(changed("indicator", pattern="[file:hashes.MD5 = 'abc']"))
    assert caught.value.reason.startswith("not a valid STIX pattern: ")
    assert "MD5" in caught.value.reason


# --- robustness: any JSON in any property gives a verdict, never a crash -------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
property_names = st.one_of(
    st.sampled_from(
        [
            *sorted({name for obj in VALID.values() for name in obj}),
            *["selectors", "objects", "definition", "where_sighted_refs", "x_acme_bin", "x_hex"],
        ]
    ),
    st.text(max_size=6),
)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(VALID)), st.dictionaries(property_names, json_values, max_size=3))
def test_any_json_gives_a_verdict_not_a_crash(example: str, changes: dict[str, Any]) -> None:
    obj = copy.deepcopy(VALID[example]) | changes
    with contextlib.suppress(InvalidObject):
        check_object(obj)


# --- parity with stix2-validator 3.2.0 on the shared real-world data -----------------------------


def shared_objects() -> list[tuple[str, dict[str, Any]]]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(SHARED_DATA.rglob("*")):
        if path.suffix == ".jsonl":
            documents = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        elif path.suffix == ".json":
            documents = [json.loads(path.read_text())]
        else:
            continue
        where = str(path.relative_to(SHARED_DATA))
        found.extend((where, obj) for obj in stix_objects_in(documents))
    return found


def is_stix21(obj: dict[str, Any]) -> bool:
    """STIX 2.1 by declaration, or an SCO (no created/modified), which only 2.1 has top-level."""
    version = obj.get("spec_version")
    return version == "2.1" or (version is None and "created" not in obj and "modified" not in obj)


def validator_errors(obj: dict[str, Any]) -> list[str]:
    from stix2validator import ValidationOptions, validate_instance

    result = validate_instance(obj, ValidationOptions(version="2.1"))
    return [str(error) for error in result.errors]


def verdict(obj: dict[str, Any]) -> str | None:
    try:
        check_object(obj)
    except InvalidObject as error:
        return str(error)
    return None


@pytest.mark.slow
def test_shared_data_agrees_with_stix2_validator() -> None:
    objects = [(where, obj) for where, obj in shared_objects() if is_stix21(obj)]
    assert objects, "no STIX 2.1 objects found in the shared data"
    accepted_by_validator = 0
    disagreements = []
    for where, obj in objects:
        errors = validator_errors(obj)
        ours = verdict(obj)
        if not errors:
            accepted_by_validator += 1
            if ours is not None:
                disagreements.append(f"{where}: validator accepts, we reject: {ours}")
        elif ours is None:
            disagreements.append(
                f"{where}: {obj['id']}: validator rejects ({errors[0]}), we accept"
            )
    assert accepted_by_validator > 0.9 * len(objects)
    assert disagreements == []


def test_shared_stix20_objects_get_the_upgrade_hint() -> None:
    older = [(where, obj) for where, obj in shared_objects() if not is_stix21(obj)]
    assert older, "no STIX 2.0 objects found in the shared data"
    for where, obj in older:
        with pytest.raises(InvalidObject) as caught:
            check_object(obj)
        assert caught.value.prop == "spec_version", where


def test_attack_flow_objects_are_accepted() -> None:
    path = SHARED_DATA / "attack-flow" / "attack-flow-example.json"
    if not path.is_file():
        pytest.skip(f"Attack Flow example not found at {path}")
    objects = stix_objects_in(json.loads(path.read_text()))
    kinds = {check_object(obj).type for obj in objects}
    assert {"attack-flow", "attack-action"} <= kinds
