"""The two extension definitions ship with the package, and stix2-validator 3.2.0 accepts
them and objects that use them."""

from __future__ import annotations

from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance

from allyshare.economic import (
    COERCION_EXTENSION_ID,
    EXPOSURE_EXTENSION_ID,
    EXPOSURE_TYPE,
    check_economic,
    extension_definitions,
)
from allyshare.stix.validation import check_object

from support.economic import exposure, incident

OPTIONS = ValidationOptions(version="2.1")


def assert_valid(obj: dict[str, Any]) -> None:
    result = validate_instance(obj, OPTIONS)
    assert result.is_valid, [str(error) for error in result.errors]


def test_both_definitions_ship_and_validate() -> None:
    definitions = {obj["id"]: obj for obj in extension_definitions()}
    assert set(definitions) == {COERCION_EXTENSION_ID, EXPOSURE_EXTENSION_ID}
    assert definitions[COERCION_EXTENSION_ID]["extension_types"] == ["property-extension"]
    assert definitions[COERCION_EXTENSION_ID]["name"] == "allyshare economic coercion"
    assert definitions[EXPOSURE_EXTENSION_ID]["extension_types"] == ["new-sdo"]
    assert definitions[EXPOSURE_EXTENSION_ID]["name"] == "allyshare supply-chain exposure"
    assert EXPOSURE_TYPE in definitions[EXPOSURE_EXTENSION_ID]["schema"]
    for definition in definitions.values():
        assert_valid(definition)
        check_object(definition)


def test_callers_get_their_own_copies() -> None:
    extension_definitions()[0]["object_marking_refs"] = ["changed"]
    assert "object_marking_refs" not in extension_definitions()[0]


@pytest.mark.parametrize("obj", [incident(), exposure()], ids=["incident", "exposure"])
def test_the_validator_and_the_node_accept_valid_objects(obj: dict[str, Any]) -> None:
    assert_valid(obj)
    check_object(obj)
    assert check_economic(obj) == []


def test_minimal_objects_are_valid() -> None:
    bare = incident(
        targeted_company_refs=None,
        stated_pretext=None,
        believed_trigger=None,
        end=None,
        estimated_impact=None,
    )
    lean = exposure(vendor_name=None, substitute_refs=None, time_to_substitute_months=None)
    for obj in (bare, lean):
        assert_valid(obj)
        check_object(obj)
        assert check_economic(obj) == []
