"""Validation of single STIX 2.1 objects on the ingest path.

Every object of every TAXII POST and every import passes through `check_object`, so the rules
are plain Python over the already-parsed JSON (precompiled regexes, dict and set lookups)
instead of a JSON-schema validator, which is two orders of magnitude slower. The rules are the
STIX 2.1 MUSTs that are cheap to check, and follow stix2-validator 3.2.0 (its bundled schemas
and mandatory checks) wherever it enforces them, so that content it calls valid passes here.
Where that validator is stricter than the specification, or checks against registries
(language tags, IANA media types), we are laxer rather than reject what the spec allows.

Custom content is kept: unknown object types and custom properties pass as long as their names
follow the naming rules and the object has the common properties every object needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from allyshare.errors import InvalidObject
from allyshare.stix.patterns import check_pattern
from allyshare.stix.timestamps import (
    has_millisecond_precision,
    is_later,
    is_later_or_equal,
    timestamp_error,
)

__all__ = [
    "META_TYPES",
    "SCO_TYPES",
    "SDO_TYPES",
    "SRO_TYPES",
    "StixObjectInfo",
    "check_object",
]


class StixObjectInfo(NamedTuple):
    """What storage needs to know about an object that passed; timestamps as written."""

    id: str
    type: str
    spec_version: str
    created: str | None
    modified: str | None


SDO_TYPES = frozenset(
    {
        "attack-pattern",
        "campaign",
        "course-of-action",
        "grouping",
        "identity",
        "incident",
        "indicator",
        "infrastructure",
        "intrusion-set",
        "location",
        "malware",
        "malware-analysis",
        "note",
        "observed-data",
        "opinion",
        "report",
        "threat-actor",
        "tool",
        "vulnerability",
    }
)
SRO_TYPES = frozenset({"relationship", "sighting"})
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)
META_TYPES = frozenset({"marking-definition", "language-content", "extension-definition"})
_KNOWN_TYPES = SDO_TYPES | SRO_TYPES | SCO_TYPES | META_TYPES
# Types whose versions are told apart by `created`/`modified` (marking definitions are not
# versioned and have only `created`).
_VERSIONED_TYPES = SDO_TYPES | SRO_TYPES | {"language-content", "extension-definition"}

_STIX20_REASON = (
    "STIX 2.0 content is not accepted here; convert it to STIX 2.1 "
    "(the `allyshare import` command upgrades it)"
)

_TYPE_NAME_RE = re.compile(r"[a-z][a-z0-9]*+(?:-[a-z0-9]++)*+")
# RFC 4122 (versions 1-5, variant 10xx). Upper-case hex digits are accepted on input, as
# RFC 4122 and stix2-validator do; real bundles carry them.
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
# Identifiers of the specification's own types, the common case, in one regex match.
_KNOWN_IDENTIFIER_RE = re.compile(
    "(?:" + "|".join(sorted(_KNOWN_TYPES, key=len, reverse=True)) + ")--" + _UUID_RE.pattern
)
_MARKING_IDENTIFIER_RE = re.compile("marking-definition--" + _UUID_RE.pattern)
_PROPERTY_NAME_RE = re.compile(r"[a-z0-9_]{3,250}")
_EXTENSION_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-ext")
_HASH_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{3,250}")
_HASH_VALUE_RES = {
    "MD5": re.compile(r"[a-fA-F0-9]{32}"),
    "SHA-1": re.compile(r"[a-fA-F0-9]{40}"),
    "SHA-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SHA3-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA3-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SSDEEP": re.compile(r"[a-zA-Z0-9/+:.]{1,128}"),
}
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]*+={0,2}")
_HEX_RE = re.compile(r"[a-fA-F0-9]*+")
_SELECTOR_RE = re.compile(r"[a-z0-9_-]{3,249}(?:\.(?:\[[0-9]+\]|[a-z0-9_-]{1,250}))*+|id")
_SELECTOR_INDEX_RE = re.compile(r"\[([0-9]+)\]")
_RELATIONSHIP_TYPE_RE = re.compile(r"[a-z0-9-]+")
_CVE_RE = re.compile(r"CVE-[0-9]{4}-(?:0[0-9]{3}|[1-9][0-9]{3,})")
_CAPEC_RE = re.compile(r"CAPEC-[0-9]+")

_TLP_COLOURS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "white",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
_EXTENSION_TYPES = frozenset(
    {"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}
)
_OPINIONS = frozenset({"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"})
# Object types a relationship or sighting may not point at.
_NOT_RELATABLE = (
    "relationship--",
    "sighting--",
    "bundle--",
    "marking-definition--",
    "language-content--",
)

_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def _json_type(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    """A short rendering of a user's value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _valid_type_name(name: str) -> bool:
    return name in _KNOWN_TYPES or (
        3 <= len(name) <= 250 and _TYPE_NAME_RE.fullmatch(name) is not None
    )


def _identifier_problem(value: object) -> str | None:
    if type(value) is not str:
        return f"must be a STIX identifier string, not {_json_type(value)}"
    if _KNOWN_IDENTIFIER_RE.fullmatch(value) is not None:
        return None
    sep = value.find("--")
    if sep < 3 or not _valid_type_name(value[:sep]) or _UUID_RE.fullmatch(value, sep + 2) is None:
        return f"{_show(value)} is not a STIX identifier (<object type>--<RFC 4122 UUID>)"
    return None


# --- property checks, looked up by property name ----------------------------------------------

Checker = Callable[[dict[str, Any], str, str, Any], None]
"""Checks one property value: (object, object id, property name, value); raises InvalidObject."""


def _check_ref(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    problem = _identifier_problem(value)
    if problem is not None:
        raise InvalidObject(oid, name, problem)


def _check_refs(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not list or not value:
        raise InvalidObject(
            oid, name, f"must be a non-empty array of identifiers, not {_show(value)}"
        )
    for item in value:
        problem = _identifier_problem(item)
        if problem is not None:
            raise InvalidObject(oid, name, problem)


def _check_marking_refs(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not list or not value:
        raise InvalidObject(
            oid, name, f"must be a non-empty array of identifiers, not {_show(value)}"
        )
    for item in value:
        if type(item) is not str or _MARKING_IDENTIFIER_RE.fullmatch(item) is None:
            problem = _identifier_problem(item) or f"{item} is not a marking-definition identifier"
            raise InvalidObject(oid, name, problem)
        if item == oid:
            raise InvalidObject(oid, name, "a marking definition must not mark itself")


def _check_string_list(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not list or not value or any(type(item) is not str for item in value):
        raise InvalidObject(oid, name, "must be a non-empty array of strings")


def _check_string(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not str:
        raise InvalidObject(oid, name, f"must be a string, not {_json_type(value)}")


def _check_boolean(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not bool:
        raise InvalidObject(oid, name, f"must be true or false, not {_show(value)}")


def _check_confidence(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not int or not 0 <= value <= 100:
        raise InvalidObject(oid, name, f"must be an integer from 0 to 100, not {_show(value)}")


def _check_binary(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not str or not value or len(value) % 4 or not _BASE64_RE.fullmatch(value):
        raise InvalidObject(oid, name, "must be base64-encoded (RFC 4648, with padding)")


def _check_hex(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not str or not value or len(value) % 2 or not _HEX_RE.fullmatch(value):
        raise InvalidObject(oid, name, "must be a non-empty string of hex digit pairs")


def _check_hashes(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not dict or not value:
        raise InvalidObject(oid, name, "must be a non-empty object of hash algorithm to value")
    for algorithm, digest in value.items():
        expression = _HASH_VALUE_RES.get(algorithm)
        if expression is None:
            if type(algorithm) is not str or _HASH_NAME_RE.fullmatch(algorithm) is None:
                raise InvalidObject(
                    oid, name, f"{_show(algorithm)} is not a valid hash algorithm name"
                )
            if type(digest) is not str:
                raise InvalidObject(oid, name, f"the {algorithm} value must be a string")
        elif type(digest) is not str or expression.fullmatch(digest) is None:
            raise InvalidObject(oid, name, f"{_show(digest)} is not a valid {algorithm} value")


def _check_external_references(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not list or not value:
        raise InvalidObject(oid, name, "must be a non-empty array of external references")
    for reference in value:
        if type(reference) is not dict:
            raise InvalidObject(oid, name, "each external reference must be an object")
        source = reference.get("source_name")
        if type(source) is not str:
            raise InvalidObject(oid, name, "each external reference needs a source_name string")
        external_id = reference.get("external_id")
        if source == "cve":
            if type(external_id) is not str or _CVE_RE.fullmatch(external_id) is None:
                raise InvalidObject(
                    oid, name, "a 'cve' reference needs an external_id like CVE-2021-44228"
                )
        elif source == "capec":
            if type(external_id) is not str or _CAPEC_RE.fullmatch(external_id) is None:
                raise InvalidObject(
                    oid, name, "a 'capec' reference needs an external_id like CAPEC-163"
                )
        elif external_id is None and "url" not in reference and "description" not in reference:
            raise InvalidObject(
                oid,
                name,
                f"the {_show(source)} reference needs an external_id, url or description",
            )


def _check_kill_chain_phases(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not list or not value:
        raise InvalidObject(oid, name, "must be a non-empty array of kill chain phases")
    for phase in value:
        if (
            type(phase) is not dict
            or type(phase.get("kill_chain_name")) is not str
            or type(phase.get("phase_name")) is not str
        ):
            raise InvalidObject(
                oid, name, "each kill chain phase needs kill_chain_name and phase_name strings"
            )


def _check_extensions(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not dict or not value:
        raise InvalidObject(oid, name, "must be a non-empty object keyed by extension")
    for key, extension in value.items():
        if type(extension) is not dict:
            raise InvalidObject(oid, name, f"extension {_show(key)} must be an object")
        if type(key) is str and key.startswith("extension-definition--"):
            if _identifier_problem(key) is not None:
                raise InvalidObject(
                    oid, name, f"{_show(key)} is not a valid extension-definition id"
                )
            kind = extension.get("extension_type")
            if kind is not None and (type(kind) is not str or kind not in _EXTENSION_TYPES):
                raise InvalidObject(
                    oid,
                    name,
                    f"extension_type {_show(kind)} is not one of {sorted(_EXTENSION_TYPES)}",
                )
        elif type(key) is not str or _EXTENSION_NAME_RE.fullmatch(key) is None:
            raise InvalidObject(
                oid,
                name,
                f"{_show(key)} is neither an extension-definition id nor a predefined "
                "extension name ending in '-ext'",
            )
        elif not extension:
            raise InvalidObject(oid, name, f"extension {key} must not be empty")


def _check_granular_markings(obj: dict[str, Any], oid: str, name: str, value: Any) -> None:
    if type(value) is not list or not value:
        raise InvalidObject(oid, name, "must be a non-empty array of granular markings")
    for marking in value:
        if type(marking) is not dict:
            raise InvalidObject(oid, name, "each granular marking must be an object")
        selectors = marking.get("selectors")
        if type(selectors) is not list or not selectors:
            raise InvalidObject(
                oid, name, "each granular marking needs a non-empty selectors array"
            )
        for selector in selectors:
            if type(selector) is not str or _SELECTOR_RE.fullmatch(selector) is None:
                raise InvalidObject(oid, name, f"{_show(selector)} is not a valid selector")
            if not _selects_something(obj, selector):
                raise InvalidObject(
                    oid, name, f"selector {selector!r} does not match anything in the object"
                )
        marking_ref = marking.get("marking_ref")
        lang = marking.get("lang")
        if (marking_ref is None) == (lang is None):
            raise InvalidObject(
                oid, name, "each granular marking needs exactly one of marking_ref and lang"
            )
        if marking_ref is not None:
            problem = _identifier_problem(marking_ref)
            if problem is not None:
                raise InvalidObject(oid, name, f"marking_ref {problem}")
            if not marking_ref.startswith("marking-definition--"):
                raise InvalidObject(oid, name, f"{marking_ref} is not a marking-definition id")
            if marking_ref == oid:
                raise InvalidObject(oid, name, "a marking definition must not mark itself")
        elif type(lang) is not str:
            raise InvalidObject(oid, name, "lang must be a string")


def _selects_something(obj: dict[str, Any], selector: str) -> bool:
    """Whether a granular-marking selector points at content present in the object."""
    node: Any = obj
    for step in selector.split("."):
        index = _SELECTOR_INDEX_RE.fullmatch(step)
        if index is not None:
            position = int(index.group(1))
            if type(node) is not list or position >= len(node):
                return False
            node = node[position]
        elif type(node) is dict and step in node:
            node = node[step]
        else:
            return False
    return True


# Spec-defined reference properties. Custom properties ending in _ref/_refs are not checked:
# their type is whatever their producer defined (ATT&CK, for one, ships empty strings there).
_REFERENCE_PROPERTIES = (
    "analysis_sco_refs",
    "bcc_refs",
    "belongs_to_ref",
    "belongs_to_refs",
    "body_raw_ref",
    "cc_refs",
    "child_refs",
    "contains_refs",
    "content_ref",
    "created_by_ref",
    "creator_user_ref",
    "dst_payload_ref",
    "dst_ref",
    "encapsulated_by_ref",
    "encapsulates_refs",
    "from_ref",
    "host_vm_ref",
    "image_ref",
    "installed_software_refs",
    "message_body_data_ref",
    "object_ref",
    "object_refs",
    "observed_data_refs",
    "opened_connection_refs",
    "operating_system_ref",
    "operating_system_refs",
    "parent_directory_ref",
    "parent_ref",
    "raw_email_ref",
    "resolves_to_refs",
    "sample_ref",
    "sample_refs",
    "sender_ref",
    "service_dll_refs",
    "sighting_of_ref",
    "source_ref",
    "src_payload_ref",
    "src_ref",
    "target_ref",
    "to_refs",
    "where_sighted_refs",
)

_SEEDED_CHECKS: dict[str, Checker | None] = {
    name: (_check_refs if name.endswith("_refs") else _check_ref) for name in _REFERENCE_PROPERTIES
}
_SEEDED_CHECKS.update(
    {
        "type": None,
        "id": None,
        "spec_version": None,
        "created": None,
        "modified": None,
        "object_marking_refs": _check_marking_refs,
        "granular_markings": _check_granular_markings,
        "external_references": _check_external_references,
        "extensions": _check_extensions,
        "name": _check_string,
        "description": _check_string,
        "labels": _check_string_list,
        "confidence": _check_confidence,
        "lang": _check_string,
        "revoked": _check_boolean,
        "defanged": _check_boolean,
        "kill_chain_phases": _check_kill_chain_phases,
        "hashes": _check_hashes,
        "payload_bin": _check_binary,
    }
)
# Open-vocabulary lists, arrays of strings on every type that defines them.
_SEEDED_CHECKS.update(
    dict.fromkeys(
        (
            "aliases",
            "architecture_execution_envs",
            "capabilities",
            "goals",
            "implementation_languages",
            "indicator_types",
            "infrastructure_types",
            "malware_types",
            "personal_motivations",
            "protocols",
            "report_types",
            "roles",
            "secondary_motivations",
            "sectors",
            "threat_actor_types",
            "tool_types",
        ),
        _check_string_list,
    )
)
# Grows with custom property names as they are met; bounded so hostile input cannot bloat it.
_PROPERTY_CHECKS = dict(_SEEDED_CHECKS)
_PROPERTY_CHECKS_LIMIT = 8192


def _classify_property(oid: str, name: object) -> Checker | None:
    """Check a property name not seen before and decide how its value is checked."""
    if type(name) is not str or _PROPERTY_NAME_RE.fullmatch(name) is None:
        raise InvalidObject(
            oid,
            str(name)[:80],
            "is not a valid property name: 3-250 characters of lowercase a-z, 0-9 and _",
        )
    check: Checker | None = None
    if name.endswith("_bin"):
        check = _check_binary
    elif name.endswith("_hex"):
        check = _check_hex
    if len(_PROPERTY_CHECKS) < _PROPERTY_CHECKS_LIMIT:
        _PROPERTY_CHECKS[name] = check
    return check


# --- per-type rules ------------------------------------------------------------------------------


class _Rules(NamedTuple):
    # (property, Python type of its value or None for any); presence is always required
    required: tuple[tuple[str, type | None], ...] = ()
    # timestamp properties checked when present, besides created/modified
    timestamps: tuple[str, ...] = ()
    # (later, earlier, strictly later?) pairs that must be in order when both are present
    order: tuple[tuple[str, str, bool], ...] = ()
    check: Callable[[dict[str, Any], str], None] | None = None


def _require_one_of(obj: dict[str, Any], oid: str, kind: str, names: tuple[str, ...]) -> None:
    for name in names:
        if name in obj:
            return
    raise InvalidObject(oid, None, f"a {kind} object needs at least one of: {', '.join(names)}")


def _check_number(obj: dict[str, Any], oid: str, name: str, low: float, high: float) -> None:
    value = obj.get(name)
    if value is not None and (type(value) not in (int, float) or not low <= value <= high):
        raise InvalidObject(oid, name, f"must be a number from {low:g} to {high:g}")


def _check_integer(
    obj: dict[str, Any], oid: str, name: str, low: int, high: int | None = None
) -> None:
    value = obj.get(name)
    if value is None:
        return
    if type(value) is not int or value < low or (high is not None and value > high):
        limits = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InvalidObject(oid, name, f"must be an integer {limits}")


def _check_not_pointing_at(
    obj: dict[str, Any], oid: str, name: str, forbidden: tuple[str, ...]
) -> None:
    value = obj.get(name)
    if type(value) is str and value.startswith(forbidden):
        kind = value[: value.find("--")]
        raise InvalidObject(oid, name, f"must not refer to a {kind} object")


def _check_refs_point_at(
    obj: dict[str, Any], oid: str, name: str, allowed: tuple[str, ...]
) -> None:
    for ref in obj.get(name, ()):
        if not ref.startswith(allowed):
            kinds = " or ".join(prefix[:-2] for prefix in allowed)
            raise InvalidObject(oid, name, f"{ref} is not a {kinds} identifier")


def _indicator(obj: dict[str, Any], oid: str) -> None:
    if obj["pattern_type"] == "stix":
        problem = check_pattern(obj["pattern"])
        if problem is not None:
            raise InvalidObject(oid, "pattern", f"not a valid STIX pattern: {problem}")


def _location(obj: dict[str, Any], oid: str) -> None:
    _check_number(obj, oid, "latitude", -90, 90)
    _check_number(obj, oid, "longitude", -180, 180)
    has_latitude = "latitude" in obj
    if has_latitude != ("longitude" in obj):
        raise InvalidObject(
            oid,
            "latitude" if not has_latitude else "longitude",
            "latitude and longitude go together",
        )
    if not has_latitude:
        if "precision" in obj:
            raise InvalidObject(oid, "precision", "only allowed with latitude and longitude")
        _require_one_of(obj, oid, "location", ("region", "country", "latitude"))


def _malware(obj: dict[str, Any], oid: str) -> None:
    if obj["is_family"] and type(obj.get("name")) is not str:
        raise InvalidObject(oid, "name", "is required when is_family is true")


def _malware_analysis(obj: dict[str, Any], oid: str) -> None:
    _require_one_of(obj, oid, "malware-analysis", ("result", "analysis_sco_refs"))


def _observed_data(obj: dict[str, Any], oid: str) -> None:
    _check_integer(obj, oid, "number_observed", 1, 999_999_999)
    objects = obj.get("objects")
    if (objects is None) == ("object_refs" not in obj):
        raise InvalidObject(
            oid, "object_refs", "exactly one of object_refs and objects is required"
        )
    if objects is not None:
        if type(objects) is not dict or not objects:
            raise InvalidObject(oid, "objects", "must be a non-empty object of observables")
        for key, observable in objects.items():
            if type(observable) is not dict or type(observable.get("type")) is not str:
                raise InvalidObject(oid, "objects", f"observable {_show(key)} needs a type")


def _opinion(obj: dict[str, Any], oid: str) -> None:
    if obj["opinion"] not in _OPINIONS:
        raise InvalidObject(oid, "opinion", f"must be one of {', '.join(sorted(_OPINIONS))}")


def _relationship(obj: dict[str, Any], oid: str) -> None:
    if _RELATIONSHIP_TYPE_RE.fullmatch(obj["relationship_type"]) is None:
        raise InvalidObject(
            oid, "relationship_type", "may only contain lowercase a-z, 0-9 and hyphens"
        )
    _check_not_pointing_at(obj, oid, "source_ref", _NOT_RELATABLE)
    _check_not_pointing_at(obj, oid, "target_ref", _NOT_RELATABLE)


def _sighting(obj: dict[str, Any], oid: str) -> None:
    _check_not_pointing_at(obj, oid, "sighting_of_ref", _NOT_RELATABLE)
    _check_integer(obj, oid, "count", 0, 999_999_999)
    _check_refs_point_at(obj, oid, "observed_data_refs", ("observed-data--",))
    _check_refs_point_at(obj, oid, "where_sighted_refs", ("identity--", "location--"))


def _marking_definition(obj: dict[str, Any], oid: str) -> None:
    definition_type = obj.get("definition_type")
    definition = obj.get("definition")
    if "extensions" not in obj:
        if definition_type is None:
            raise InvalidObject(oid, "definition_type", "is required when there are no extensions")
        if definition is None:
            raise InvalidObject(oid, "definition", "is required when there are no extensions")
    if definition_type is not None and type(definition_type) is not str:
        raise InvalidObject(oid, "definition_type", "must be a string")
    if definition is not None and type(definition) is not dict:
        raise InvalidObject(oid, "definition", "must be an object")
    if definition_type == "statement":
        if definition is None or type(definition.get("statement")) is not str:
            raise InvalidObject(oid, "definition", "a statement marking needs a statement string")
    elif definition_type == "tlp":
        colour = _TLP_COLOURS.get(oid)
        if colour is None:
            raise InvalidObject(
                oid,
                "definition_type",
                "'tlp' is reserved for the four TLP 1.0 marking definitions of the STIX 2.1 "
                "specification; use the TLP 2.0 extension for other TLP markings",
            )
        if definition is None or definition.get("tlp") != colour:
            raise InvalidObject(
                oid, "definition", f'this TLP marking must be {{"tlp": "{colour}"}}'
            )


def _language_content(obj: dict[str, Any], oid: str) -> None:
    _check_not_pointing_at(obj, oid, "object_ref", ("bundle--", "language-content--"))
    if not obj["contents"]:
        raise InvalidObject(oid, "contents", "must not be empty")


def _extension_definition(obj: dict[str, Any], oid: str) -> None:
    kinds = obj["extension_types"]
    if not kinds or any(type(kind) is not str or kind not in _EXTENSION_TYPES for kind in kinds):
        raise InvalidObject(
            oid, "extension_types", f"must list values from {', '.join(sorted(_EXTENSION_TYPES))}"
        )
    if "extension_properties" in obj:
        if "toplevel-property-extension" not in kinds:
            raise InvalidObject(
                oid,
                "extension_properties",
                "only allowed when extension_types includes toplevel-property-extension",
            )
        _check_string_list(obj, oid, "extension_properties", obj["extension_properties"])


def _artifact(obj: dict[str, Any], oid: str) -> None:
    has_payload = "payload_bin" in obj
    if has_payload == ("url" in obj):
        raise InvalidObject(oid, "payload_bin", "exactly one of payload_bin and url is required")
    if not has_payload and "hashes" not in obj:
        raise InvalidObject(oid, "hashes", "is required when the artifact is given by url")
    if "decryption_key" in obj and "encryption_algorithm" not in obj:
        raise InvalidObject(oid, "decryption_key", "is only allowed with encryption_algorithm")


def _email_message(obj: dict[str, Any], oid: str) -> None:
    if obj["is_multipart"]:
        if "body" in obj:
            raise InvalidObject(oid, "body", "not allowed when is_multipart is true")
    elif "body_multipart" in obj:
        raise InvalidObject(oid, "body_multipart", "only allowed when is_multipart is true")


def _file(obj: dict[str, Any], oid: str) -> None:
    _require_one_of(obj, oid, "file", ("hashes", "name"))
    _check_integer(obj, oid, "size", 0)


def _network_traffic(obj: dict[str, Any], oid: str) -> None:
    _require_one_of(obj, oid, "network-traffic", ("src_ref", "dst_ref"))
    if obj.get("is_active") is True and "end" in obj:
        raise InvalidObject(oid, "end", "not allowed while is_active is true")
    _check_integer(obj, oid, "src_port", 0, 65535)
    _check_integer(obj, oid, "dst_port", 0, 65535)


def _needs_one_of(kind: str, *names: str) -> Callable[[dict[str, Any], str], None]:
    def check(obj: dict[str, Any], oid: str) -> None:
        _require_one_of(obj, oid, kind, names)

    return check


_SEEN = ("first_seen", "last_seen")
_SEEN_ORDER = (("last_seen", "first_seen", False),)
_NAMED: tuple[tuple[str, type | None], ...] = (("name", str),)
_FILE_TIMES = ("ctime", "mtime", "atime")

_RULES: dict[str, _Rules] = {
    "attack-pattern": _Rules(_NAMED),
    "campaign": _Rules(_NAMED, _SEEN, _SEEN_ORDER),
    "course-of-action": _Rules(_NAMED),
    "grouping": _Rules((("context", str), ("object_refs", None))),
    "identity": _Rules(_NAMED),
    "incident": _Rules(_NAMED),
    "indicator": _Rules(
        (("pattern", str), ("pattern_type", str), ("valid_from", None)),
        ("valid_from", "valid_until"),
        (("valid_until", "valid_from", True),),
        _indicator,
    ),
    "infrastructure": _Rules(_NAMED, _SEEN, _SEEN_ORDER),
    "intrusion-set": _Rules(_NAMED, _SEEN, _SEEN_ORDER),
    "location": _Rules(check=_location),
    "malware": _Rules((("is_family", bool),), _SEEN, _SEEN_ORDER, _malware),
    "malware-analysis": _Rules(
        (("product", str),),
        ("submitted", "analysis_started", "analysis_ended"),
        check=_malware_analysis,
    ),
    "note": _Rules((("content", str), ("object_refs", None))),
    "observed-data": _Rules(
        (("first_observed", None), ("last_observed", None), ("number_observed", int)),
        ("first_observed", "last_observed"),
        (("last_observed", "first_observed", False),),
        _observed_data,
    ),
    "opinion": _Rules((("object_refs", None), ("opinion", str)), check=_opinion),
    "report": _Rules((("name", str), ("published", None), ("object_refs", None)), ("published",)),
    "threat-actor": _Rules(_NAMED, _SEEN, _SEEN_ORDER),
    "tool": _Rules(_NAMED),
    "vulnerability": _Rules(_NAMED),
    "relationship": _Rules(
        (("relationship_type", str), ("source_ref", None), ("target_ref", None)),
        ("start_time", "stop_time"),
        (("stop_time", "start_time", True),),
        _relationship,
    ),
    "sighting": _Rules((("sighting_of_ref", None),), _SEEN, _SEEN_ORDER, _sighting),
    "marking-definition": _Rules(check=_marking_definition),
    "language-content": _Rules(
        (("object_ref", None), ("contents", dict)), ("object_modified",), check=_language_content
    ),
    "extension-definition": _Rules(
        (("name", str), ("schema", str), ("version", str), ("extension_types", list)),
        check=_extension_definition,
    ),
    "artifact": _Rules(check=_artifact),
    "autonomous-system": _Rules((("number", int),)),
    "directory": _Rules((("path", str),), _FILE_TIMES),
    "domain-name": _Rules((("value", str),)),
    "email-addr": _Rules((("value", str),)),
    "email-message": _Rules((("is_multipart", bool),), ("date",), check=_email_message),
    "file": _Rules((), _FILE_TIMES, check=_file),
    "ipv4-addr": _Rules((("value", str),)),
    "ipv6-addr": _Rules((("value", str),)),
    "mac-addr": _Rules((("value", str),)),
    "mutex": _Rules(_NAMED),
    "network-traffic": _Rules(
        (("protocols", list),), ("start", "end"), (("end", "start", False),), _network_traffic
    ),
    # The "at least one of" lists are the specification's property names plus the older names
    # stix2-validator's schemas still use, so that nothing it accepts is refused.
    "process": _Rules(
        (),
        ("created_time",),
        check=_needs_one_of(
            "process",
            "is_hidden",
            "pid",
            "created_time",
            "cwd",
            "command_line",
            "environment_variables",
            "opened_connection_refs",
            "creator_user_ref",
            "image_ref",
            "parent_ref",
            "child_refs",
            "extensions",
            "name",
            "created",
            "arguments",
        ),
    ),
    "software": _Rules(_NAMED),
    "url": _Rules((("value", str),)),
    "user-account": _Rules(
        (),
        (
            "account_created",
            "account_expires",
            "credential_last_changed",
            "account_first_login",
            "account_last_login",
        ),
        check=_needs_one_of(
            "user-account",
            "user_id",
            "credential",
            "account_login",
            "account_type",
            "display_name",
            "is_service_account",
            "is_privileged",
            "can_escalate_privs",
            "is_disabled",
            "account_created",
            "account_expires",
            "credential_last_changed",
            "account_first_login",
            "account_last_login",
            "extensions",
        ),
    ),
    "windows-registry-key": _Rules(
        (),
        ("modified_time",),
        check=_needs_one_of(
            "windows-registry-key",
            "key",
            "values",
            "modified_time",
            "modified",
            "creator_user_ref",
            "number_of_subkeys",
        ),
    ),
    "x509-certificate": _Rules(
        (),
        ("validity_not_before", "validity_not_after"),
        check=_needs_one_of(
            "x509-certificate",
            "is_self_signed",
            "hashes",
            "version",
            "serial_number",
            "signature_algorithm",
            "issuer",
            "validity_not_before",
            "validity_not_after",
            "subject",
            "subject_public_key_algorithm",
            "subject_public_key_modulus",
            "subject_public_key_exponent",
            "x509_v3_extensions",
        ),
    ),
}


def _check_version_timestamp(oid: str, name: str, value: object) -> str:
    if value is None:
        raise InvalidObject(oid, name, "is required")
    if type(value) is not str:
        raise InvalidObject(oid, name, f"must be a timestamp string, not {_json_type(value)}")
    problem = timestamp_error(value)
    if problem is not None:
        raise InvalidObject(oid, name, problem)
    if not has_millisecond_precision(value):
        raise InvalidObject(
            oid, name, f"{value!r} must be precise to the millisecond (YYYY-MM-DDTHH:MM:SS.sssZ)"
        )
    return value


# --- entry point ---------------------------------------------------------------------------------


def check_object(obj: object) -> StixObjectInfo:
    """Validate one parsed STIX 2.1 object; raise InvalidObject naming the first broken rule."""
    if not isinstance(obj, dict):
        raise InvalidObject(
            None, None, f"a STIX object must be a JSON object, not {_json_type(obj)}"
        )
    oid = obj.get("id")
    label = oid if type(oid) is str and len(oid) <= 300 else None

    stix_type = obj.get("type")
    if type(stix_type) is not str:
        reason = "is required" if stix_type is None else f"must be a string, not {_show(stix_type)}"
        raise InvalidObject(label, "type", reason)
    known = stix_type in _KNOWN_TYPES
    if not known:
        if stix_type == "bundle":
            raise InvalidObject(label, "type", "a bundle is not an object; send its objects")
        if not _valid_type_name(stix_type):
            raise InvalidObject(
                label,
                "type",
                f"{_show(stix_type)} is not a valid type name: 3-250 characters of lowercase "
                "a-z, 0-9 and single hyphens, starting with a letter and not ending in a hyphen",
            )

    if type(oid) is not str:
        raise InvalidObject(None, "id", "is required" if oid is None else "must be a string")
    size = len(stix_type)
    if not (
        oid.startswith(stix_type)
        and oid[size : size + 2] == "--"
        and _UUID_RE.fullmatch(oid, size + 2) is not None
    ):
        raise InvalidObject(
            None, "id", f"{_show(oid)} must be '{stix_type}--' followed by an RFC 4122 UUID"
        )

    versioned = stix_type in _VERSIONED_TYPES or (
        not known and ("created" in obj or "modified" in obj)
    )
    spec_version = obj.get("spec_version")
    if spec_version != "2.1":
        if spec_version == "2.0" or (
            spec_version is None and (versioned or stix_type == "marking-definition")
        ):
            raise InvalidObject(oid, "spec_version", _STIX20_REASON)
        if spec_version is not None:
            raise InvalidObject(oid, "spec_version", f'must be "2.1", not {_show(spec_version)}')

    checks = _PROPERTY_CHECKS
    for name, value in obj.items():
        try:
            check = checks[name]
        except KeyError:
            check = _classify_property(oid, name)
        if value is None:
            raise InvalidObject(oid, name, "must not be null; leave the property out instead")
        if check is not None:
            check(obj, oid, name, value)
        elif type(value) is list and not value:
            raise InvalidObject(oid, name, "must not be an empty array; leave it out instead")

    created: str | None = None
    modified: str | None = None
    if versioned:
        created = _check_version_timestamp(oid, "created", obj.get("created"))
        modified = obj.get("modified")
        if modified != created:  # a first version repeats created; nothing more to check then
            modified = _check_version_timestamp(oid, "modified", modified)
            if not is_later_or_equal(modified, created):
                raise InvalidObject(
                    oid, "modified", f"{modified} is earlier than created {created}"
                )
    elif stix_type == "marking-definition":
        value = obj.get("created")
        if value is None:
            raise InvalidObject(oid, "created", "is required")
        problem = timestamp_error(value)
        if problem is not None:
            raise InvalidObject(oid, "created", problem)
        created = value

    rules = _RULES.get(stix_type)
    if rules is not None:
        _apply_rules(obj, oid, stix_type, rules)
    return StixObjectInfo(oid, stix_type, "2.1", created, modified)


def _apply_rules(obj: dict[str, Any], oid: str, stix_type: str, rules: _Rules) -> None:
    for name, expected in rules.required:
        value = obj.get(name)
        if value is None:
            raise InvalidObject(oid, name, f"is required on {stix_type} objects")
        if expected is not None and type(value) is not expected:
            raise InvalidObject(
                oid, name, f"must be {_JSON_TYPE_NAMES[expected]}, not {_json_type(value)}"
            )
    for name in rules.timestamps:
        value = obj.get(name)
        if value is not None:
            problem = timestamp_error(value)
            if problem is not None:
                raise InvalidObject(oid, name, problem)
    for later, earlier, strictly in rules.order:
        late = obj.get(later)
        early = obj.get(earlier)
        if late is not None and early is not None:
            if strictly and not is_later(late, early):
                raise InvalidObject(oid, later, f"{late} must be later than {earlier} {early}")
            if not strictly and not is_later_or_equal(late, early):
                raise InvalidObject(
                    oid, later, f"{late} must not be earlier than {earlier} {early}"
                )
    if rules.check is not None:
        rules.check(obj, oid)
