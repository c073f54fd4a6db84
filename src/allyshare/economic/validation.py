"""The rules of the two extensions, checked on every write after the STIX rules
(`allyshare.stix.validation.check_object`), with the same per-object errors: the object, the
property at fault, what is wrong.

Economic-coercion incidents and supply-chain exposures feed cross-member views, where one
malformed figure (a share of 7, an impact whose max is below its min, a country code that is
no country) would skew every member's picture; so they are held to their definitions here,
once, rather than guarded against in each view. Open-vocabulary values outside their lists are
kept, as STIX keeps them, with a warning for the writer; anything that is not a lower-case,
hyphenated term is refused, since it could never be grouped with anyone else's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

import pycountry

from allyshare.community.countries import is_country
from allyshare.economic.extensions import (
    COERCION_EXTENSION_ID,
    COERCION_MEASURES,
    COERCION_SECTORS,
    CRITICALITIES,
    EXPOSURE_EXTENSION_ID,
    EXPOSURE_TYPE,
    SUPPLY_CHAIN_COMPONENTS,
)
from allyshare.errors import InvalidObject
from allyshare.stix.timestamps import is_later_or_equal, timestamp_error

__all__ = ["check_economic", "is_currency"]

_TERM_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_IDENTITY_RE = re.compile(
    r"identity--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}"
    r"-[0-9a-fA-F]{12}"
)


@cache
def _currencies() -> frozenset[str]:
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


def is_currency(code: object) -> bool:
    """Whether ``code`` is an ISO 4217 alphabetic currency code, in capitals."""
    return isinstance(code, str) and code in _currencies()


def check_economic(obj: Mapping[str, Any]) -> list[str]:
    """Check an object already valid STIX against the extension it uses, if any; raise
    InvalidObject at the first broken rule, else return warnings for the writer."""
    oid = str(obj["id"])
    extensions = obj.get("extensions")
    extensions = extensions if isinstance(extensions, Mapping) else {}
    coercion = extensions.get(COERCION_EXTENSION_ID)
    if coercion is not None:
        if obj.get("type") != "incident":
            raise InvalidObject(
                oid, "extensions", "the economic-coercion extension applies to incidents only"
            )
        return _check_coercion(oid, coercion)
    if obj.get("type") == EXPOSURE_TYPE:
        return _check_exposure(oid, obj, extensions.get(EXPOSURE_EXTENSION_ID))
    if EXPOSURE_EXTENSION_ID in extensions:
        raise InvalidObject(
            oid, "extensions", f"the supply-chain exposure extension defines {EXPOSURE_TYPE} only"
        )
    return []


class _Checker:
    """One object's checks, naming properties by their path inside it (``share``,
    ``estimated_impact.max``), and the warnings gathered on the way."""

    def __init__(self, oid: str, properties: Mapping[str, Any], prefix: str = "") -> None:
        self.oid = oid
        self.properties = properties
        self.prefix = prefix
        self.warnings: list[str] = []

    def fail(self, name: str, reason: str) -> InvalidObject:
        return InvalidObject(self.oid, self.prefix + name, reason)

    def get(self, name: str, *, required: bool) -> Any:
        value = self.properties.get(name)
        if value is None and required:
            raise self.fail(name, "is required")
        return value

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.get(name, required=required)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(name, "must be a non-empty string")
        return value

    def country(self, name: str) -> str:
        value = self.get(name, required=True)
        if not isinstance(value, str) or not is_country(value):
            raise self.fail(
                name, f"{_show(value)} is not an ISO 3166-1 alpha-3 country code such as USA or KOR"
            )
        return str(value)

    def timestamp(self, name: str, *, required: bool = False) -> str | None:
        value = self.get(name, required=required)
        if value is None:
            return None
        problem = timestamp_error(value)
        if problem is not None:
            raise self.fail(name, problem)
        return str(value)

    def number(self, name: str) -> float:
        value = self.get(name, required=True)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(name, f"must be a number, not {_show(value)}")
        return float(value)

    def term(self, name: str, value: object, vocabulary: Collection[str], ov: str) -> None:
        if not isinstance(value, str) or _TERM_RE.fullmatch(value) is None:
            raise self.fail(
                name,
                f"{_show(value)} is not a vocabulary term: lower-case letters and digits "
                "joined by single hyphens, such as "
                + " or ".join(repr(term) for term in sorted(vocabulary)[:2]),
            )
        if value not in vocabulary:
            self.warnings.append(
                f"'{self.prefix}{name}' value {value!r} is not in {ov}; kept as an open "
                "vocabulary allows, but only the same term groups with others'"
            )

    def terms(self, name: str, vocabulary: Collection[str], ov: str) -> list[str]:
        value = self.get(name, required=True)
        if not isinstance(value, list) or not value:
            raise self.fail(name, f"must be a non-empty list of {ov} terms")
        for item in value:
            self.term(name, item, vocabulary, ov)
        return value

    def identity_refs(self, name: str) -> None:
        value = self.get(name, required=False)
        if value is None:
            return
        if not isinstance(value, list) or not value:
            raise self.fail(name, "must be a non-empty list of identity ids")
        for item in value:
            self.identity_ref(name, item)

    def identity_ref(self, name: str, value: object) -> None:
        if not isinstance(value, str) or _IDENTITY_RE.fullmatch(value) is None:
            raise self.fail(name, f"{_show(value)} is not an identity id (identity--<UUID>)")

    def kind(self, expected: str) -> None:
        value = self.properties.get("extension_type")
        if value != expected:
            raise self.fail("extension_type", f'must be "{expected}", not {_show(value)}')


def _check_coercion(oid: str, extension: object) -> list[str]:
    if not isinstance(extension, Mapping):
        raise InvalidObject(oid, "extensions", f"{COERCION_EXTENSION_ID} must be an object")
    check = _Checker(oid, extension)
    check.kind("property-extension")
    coercing = check.country("coercing_state")
    if check.country("targeted_country") == coercing:
        raise check.fail("targeted_country", "must not be the coercing state")
    check.terms("targeted_sectors", COERCION_SECTORS, "coercion-sector-ov")
    check.identity_refs("targeted_company_refs")
    check.terms("measures", COERCION_MEASURES, "coercion-measure-ov")
    check.string("stated_pretext")
    trigger = check.get("believed_trigger", required=False)
    if trigger is not None:
        _check_trigger(oid, trigger)
    start = check.timestamp("start", required=True)
    end = check.timestamp("end")
    if start is not None and end is not None and not is_later_or_equal(end, start):
        raise check.fail("end", f"{end} must not be earlier than start {start}")
    impact = check.get("estimated_impact", required=False)
    if impact is not None:
        _check_impact(oid, impact)
    return check.warnings


def _check_trigger(oid: str, trigger: object) -> None:
    if not isinstance(trigger, Mapping):
        raise InvalidObject(oid, "believed_trigger", "must be an object with a description")
    check = _Checker(oid, trigger, "believed_trigger.")
    check.string("description", required=True)
    reference = check.get("external_reference", required=False)
    if reference is None:
        return
    if not isinstance(reference, Mapping) or not isinstance(reference.get("source_name"), str):
        raise check.fail("external_reference", "must be an external reference with a source_name")
    if not any(
        isinstance(reference.get(key), str) for key in ("url", "external_id", "description")
    ):
        raise check.fail("external_reference", "needs a url, external_id or description")


def _check_impact(oid: str, impact: object) -> None:
    if not isinstance(impact, Mapping):
        raise InvalidObject(oid, "estimated_impact", "must be an object: currency, min, max, basis")
    check = _Checker(oid, impact, "estimated_impact.")
    currency = check.get("currency", required=True)
    if not is_currency(currency):
        raise check.fail(
            "currency", f"{_show(currency)} is not an ISO 4217 currency code such as USD or EUR"
        )
    low = check.number("min")
    if low < 0:
        raise check.fail("min", f"must be at least 0, not {low:g}")
    high = check.number("max")
    if high < low:
        raise check.fail("max", f"{high:g} must not be less than min {low:g}")
    check.string("basis")


def _check_exposure(oid: str, obj: Mapping[str, Any], extension: object) -> list[str]:
    if not isinstance(extension, Mapping):
        raise InvalidObject(
            oid, "extensions", f'must hold {EXPOSURE_EXTENSION_ID}: {{"extension_type": "new-sdo"}}'
        )
    _Checker(oid, extension, f"extensions.{EXPOSURE_EXTENSION_ID}.").kind("new-sdo")
    check = _Checker(oid, obj)
    for name in ("spec_version", "created", "modified"):
        check.get(name, required=True)
    category = check.get("component_category", required=True)
    check.term("component_category", category, SUPPLY_CHAIN_COMPONENTS, "supply-chain-component-ov")
    check.identity_ref("vendor_ref", check.get("vendor_ref", required=True))
    check.string("vendor_name")
    check.country("vendor_country")
    share = check.number("share")
    if not 0 < share <= 1:
        raise check.fail("share", f"must be more than 0 and at most 1, not {share:g}")
    criticality = check.get("criticality", required=True)
    if criticality not in CRITICALITIES:
        raise check.fail(
            "criticality", f"must be one of {', '.join(CRITICALITIES)}, not {_show(criticality)}"
        )
    check.identity_refs("substitute_refs")
    months = check.get("time_to_substitute_months", required=False)
    if months is not None and (
        isinstance(months, bool) or not isinstance(months, int) or months < 0
    ):
        raise check.fail(
            "time_to_substitute_months",
            f"must be a whole number of months, 0 or more, not {_show(months)}",
        )
    check.timestamp("as_of")
    return check.warnings


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
