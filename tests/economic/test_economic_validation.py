"""The extensions' rules on write: each refuses what breaks it, naming the property, and
open vocabularies keep unknown terms with a warning (`check_economic`, after `check_object`
as the write path runs them)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from stix2validator import ValidationOptions, validate_instance

from allyshare.economic import EXPOSURE_EXTENSION_ID, check_economic
from allyshare.errors import InvalidObject
from allyshare.stix.validation import check_object

from support.economic import broken, exposure, exposures, incident, incidents


def check(obj: dict[str, Any]) -> list[str]:
    check_object(obj)
    return check_economic(obj)


def refusal(obj: dict[str, Any]) -> str:
    with pytest.raises(InvalidObject) as raised:
        check(obj)
    return str(raised.value)


INCIDENT_RULES = [
    ({"coercing_state": None}, "'coercing_state': is required"),
    ({"coercing_state": "XXX"}, "'coercing_state': 'XXX' is not an ISO 3166-1 alpha-3"),
    ({"coercing_state": "chn"}, "'coercing_state': 'chn' is not an ISO 3166-1 alpha-3"),
    ({"targeted_country": None}, "'targeted_country': is required"),
    ({"targeted_country": "KR"}, "'targeted_country': 'KR' is not an ISO 3166-1 alpha-3"),
    ({"targeted_country": "CHN"}, "'targeted_country': must not be the coercing state"),
    ({"targeted_sectors": None}, "'targeted_sectors': is required"),
    ({"targeted_sectors": []}, "'targeted_sectors': must be a non-empty list"),
    ({"targeted_sectors": "tourism"}, "'targeted_sectors': must be a non-empty list"),
    ({"targeted_sectors": ["Tourism"]}, "'targeted_sectors': 'Tourism' is not a vocabulary term"),
    ({"measures": None}, "'measures': is required"),
    ({"measures": ["import ban"]}, "'measures': 'import ban' is not a vocabulary term"),
    ({"measures": ["tariff", 3]}, "'measures': 3 is not a vocabulary term"),
    ({"measures": ["-tariff"]}, "'measures': '-tariff' is not a vocabulary term"),
    (
        {"targeted_company_refs": ["malware--0f3e8c6a-2b7d-4e19-8a5c-3d9f1b2e4c02"]},
        "'targeted_company_refs': 'malware--",
    ),
    ({"targeted_company_refs": []}, "'targeted_company_refs': must be a non-empty list"),
    ({"stated_pretext": 5}, "'stated_pretext': must be a non-empty string"),
    ({"believed_trigger": "a decision"}, "'believed_trigger': must be an object"),
    ({"believed_trigger": {}}, "'believed_trigger.description': is required"),
    (
        {"believed_trigger": {"description": "x", "external_reference": {"url": "https://a"}}},
        "'believed_trigger.external_reference': must be an external reference",
    ),
    (
        {"believed_trigger": {"description": "x", "external_reference": {"source_name": "a"}}},
        "'believed_trigger.external_reference': needs a url",
    ),
    ({"start": None}, "'start': is required"),
    ({"start": "2017-03-15"}, "'start': '2017-03-15' is not a STIX timestamp"),
    (
        {"end": "2017-03-14T23:59:59.999Z"},
        "'end': 2017-03-14T23:59:59.999Z must not be earlier than start",
    ),
    ({"estimated_impact": 5}, "'estimated_impact': must be an object"),
    ({"estimated_impact": {"min": 1, "max": 2}}, "'estimated_impact.currency': is required"),
    (
        {"estimated_impact": {"currency": "usd", "min": 1, "max": 2}},
        "'estimated_impact.currency': 'usd' is not an ISO 4217",
    ),
    ({"estimated_impact": {"currency": "XYZ", "min": 1, "max": 2}}, "is not an ISO 4217"),
    ({"estimated_impact": {"currency": "USD", "max": 2}}, "'estimated_impact.min': is required"),
    (
        {"estimated_impact": {"currency": "USD", "min": -1, "max": 2}},
        "'estimated_impact.min': must be at least 0",
    ),
    (
        {"estimated_impact": {"currency": "USD", "min": "1", "max": 2}},
        "'estimated_impact.min': must be a number",
    ),
    (
        {"estimated_impact": {"currency": "USD", "min": True, "max": 2}},
        "'estimated_impact.min': must be a number",
    ),
    (
        {"estimated_impact": {"currency": "USD", "min": 3, "max": 2}},
        "'estimated_impact.max': 2 must not be less than min 3",
    ),
    (
        {"estimated_impact": {"currency": "USD", "min": 1, "max": 2, "basis": ""}},
        "'estimated_impact.basis': must be a non-empty string",
    ),
    (
        {"extension_type": "toplevel-property-extension"},
        "'extension_type': must be \"property-extension\"",
    ),
]


@pytest.mark.parametrize(("changes", "message"), INCIDENT_RULES)
def test_each_incident_rule_refuses_naming_the_property(
    changes: dict[str, Any], message: str
) -> None:
    obj = incident(**changes)
    assert message in refusal(obj).replace("property ", "")


EXPOSURE_RULES = [
    ({"component_category": None}, "'component_category': is required"),
    ({"component_category": "5G RAN"}, "'component_category': '5G RAN' is not a vocabulary term"),
    ({"vendor_ref": None}, "'vendor_ref': is required"),
    (
        {"vendor_ref": "organization--6c0b9a53-1f0e-4c8d-9f4b-1f6b2d8e7a01"},
        "'vendor_ref': 'organization--",
    ),
    ({"vendor_name": 7}, "'vendor_name': must be a non-empty string"),
    ({"vendor_country": None}, "'vendor_country': is required"),
    ({"vendor_country": "ZZZ"}, "'vendor_country': 'ZZZ' is not an ISO 3166-1 alpha-3"),
    ({"share": None}, "'share': is required"),
    ({"share": 0}, "'share': must be more than 0 and at most 1, not 0"),
    ({"share": -0.1}, "'share': must be more than 0 and at most 1"),
    ({"share": 1.0001}, "'share': must be more than 0 and at most 1"),
    ({"share": 40}, "'share': must be more than 0 and at most 1, not 40"),
    ({"share": "0.4"}, "'share': must be a number"),
    ({"criticality": None}, "'criticality': is required"),
    ({"criticality": "severe"}, "'criticality': must be one of low, medium, high, critical"),
    (
        {"substitute_refs": ["identity--nope"]},
        "'substitute_refs': 'identity--nope' is not an identity id",
    ),
    ({"time_to_substitute_months": -1}, "'time_to_substitute_months': must be a whole number"),
    ({"time_to_substitute_months": 1.5}, "'time_to_substitute_months': must be a whole number"),
    ({"as_of": "June 2026"}, "'as_of': 'June 2026' is not a STIX timestamp"),
    (
        {"extensions": {EXPOSURE_EXTENSION_ID: {"extension_type": "property-extension"}}},
        '.extension_type\': must be "new-sdo"',
    ),
    ({"extensions": None}, "'extensions': must hold extension-definition--2e02809a"),
    ({"created": None, "modified": None}, "'created': is required"),
]


@pytest.mark.parametrize(("changes", "message"), EXPOSURE_RULES)
def test_each_exposure_rule_refuses_naming_the_property(
    changes: dict[str, Any], message: str
) -> None:
    assert message in refusal(exposure(**changes)).replace("property ", "")


def test_the_message_reads_as_the_rule() -> None:
    obj = exposure(share=7)
    assert refusal(obj) == (
        f"{obj['id']} property 'share': must be more than 0 and at most 1, not 7"
    )


def test_the_extensions_belong_to_their_types() -> None:
    note = {
        "type": "note",
        "spec_version": "2.1",
        "id": "note--0f3e8c6a-2b7d-4e19-8a5c-3d9f1b2e4c02",
        "created": "2026-11-01T00:00:00.000Z",
        "modified": "2026-11-01T00:00:00.000Z",
        "content": "x",
        "object_refs": ["incident--0f3e8c6a-2b7d-4e19-8a5c-3d9f1b2e4c02"],
    }
    coercion = incident()["extensions"]
    assert "applies to incidents only" in refusal({**note, "extensions": coercion})
    sdo = {EXPOSURE_EXTENSION_ID: {"extension_type": "new-sdo"}}
    assert "defines x-allyshare-supply-chain-exposure only" in refusal({**note, "extensions": sdo})


def test_unknown_open_vocabulary_terms_are_kept_with_a_warning() -> None:
    warnings = check(incident(measures=["tariff", "port-access-denial"], targeted_sectors=["toys"]))
    assert len(warnings) == 2
    assert "'targeted_sectors' value 'toys' is not in coercion-sector-ov" in warnings[0]
    assert "'measures' value 'port-access-denial' is not in coercion-measure-ov" in warnings[1]
    [warning] = check(exposure(component_category="6g-ran"))
    assert "supply-chain-component-ov" in warning


def test_an_incident_without_the_extension_is_not_held_to_it() -> None:
    plain = incident()
    del plain["extensions"]
    assert check(plain) == []


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(obj=incidents() | exposures())
def test_every_valid_object_passes(obj: dict[str, Any]) -> None:
    check(obj)
    result = validate_instance(obj, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(error) for error in result.errors]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(obj=broken())
def test_every_broken_object_is_refused(obj: dict[str, Any]) -> None:
    with pytest.raises(InvalidObject):
        check(obj)
