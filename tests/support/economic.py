"""Economic-coercion incidents and supply-chain exposures for tests: valid examples, and
hypothesis strategies drawing valid ones over the whole of each rule's range."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from allyshare.economic import (
    COERCION_EXTENSION_ID,
    COERCION_MEASURES,
    COERCION_SECTORS,
    CRITICALITIES,
    EXPOSURE_EXTENSION_ID,
    EXPOSURE_TYPE,
    SUPPLY_CHAIN_COMPONENTS,
)

CREATED = "2026-11-01T00:00:00.000Z"
VENDOR = "identity--6c0b9a53-1f0e-4c8d-9f4b-1f6b2d8e7a01"
COMPANY = "identity--0f3e8c6a-2b7d-4e19-8a5c-3d9f1b2e4c02"


def incident(number: int = 1, **extension: Any) -> dict[str, Any]:
    """A valid economic-coercion incident; ``extension`` replaces extension properties (None
    removes one)."""
    properties: dict[str, Any] = {
        "extension_type": "property-extension",
        "coercing_state": "CHN",
        "targeted_country": "KOR",
        "targeted_sectors": ["tourism", "retail"],
        "targeted_company_refs": [COMPANY],
        "measures": ["tourism-restriction", "sanitary-inspection"],
        "stated_pretext": "fire-safety violations",
        "believed_trigger": {
            "description": "missile-defence deployment decision",
            "external_reference": {"source_name": "news", "url": "https://example.org/decision"},
        },
        "start": "2017-03-15T00:00:00Z",
        "end": "2017-12-31T00:00:00Z",
        "estimated_impact": {"currency": "USD", "min": 5e9, "max": 1.5e10, "basis": "arrivals"},
    }
    properties.update(extension)
    return {
        "type": "incident",
        "spec_version": "2.1",
        "id": f"incident--{uuid.UUID(int=number, version=4)}",
        "created": CREATED,
        "modified": CREATED,
        "name": f"Group tours halted {number}",
        "external_references": [{"source_name": "evidence", "url": "https://example.org/report"}],
        "extensions": {
            COERCION_EXTENSION_ID: {k: v for k, v in properties.items() if v is not None}
        },
    }


def exposure(number: int = 1, **changes: Any) -> dict[str, Any]:
    """A valid supply-chain exposure; ``changes`` replace properties (None removes one)."""
    obj: dict[str, Any] = {
        "type": EXPOSURE_TYPE,
        "spec_version": "2.1",
        "id": f"{EXPOSURE_TYPE}--{uuid.UUID(int=number, version=4)}",
        "created": CREATED,
        "modified": CREATED,
        "extensions": {EXPOSURE_EXTENSION_ID: {"extension_type": "new-sdo"}},
        "component_category": "5g-ran",
        "vendor_ref": VENDOR,
        "vendor_name": "Example Networks",
        "vendor_country": "CHN",
        "share": 0.4,
        "criticality": "high",
        "substitute_refs": [COMPANY],
        "time_to_substitute_months": 24,
        "as_of": "2026-06-30T00:00:00Z",
    }
    obj.update(changes)
    return {key: value for key, value in obj.items() if value is not None}


COUNTRIES = ["CHN", "KOR", "JPN", "USA", "AUS", "LTU", "NOR", "PHL", "CAN", "DEU"]
terms = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
timestamps = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2040, 1, 1),
).map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
identity_ids = st.uuids(version=4).map(lambda value: f"identity--{value}")
amounts = st.floats(min_value=0, max_value=1e13, allow_nan=False, allow_infinity=False)


@st.composite
def incidents(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid incident: vocabulary terms in and out of the lists, optional parts present
    or not, ranges from their edges in."""
    coercing, targeted = draw(
        st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=2, unique=True)
    )
    start, end = sorted(draw(st.lists(timestamps, min_size=2, max_size=2)))
    low, high = sorted(draw(st.lists(amounts, min_size=2, max_size=2)))
    extension: dict[str, Any] = {
        "coercing_state": coercing,
        "targeted_country": targeted,
        "targeted_sectors": draw(
            st.lists(st.sampled_from(sorted(COERCION_SECTORS)) | terms, min_size=1, max_size=4)
        ),
        "measures": draw(
            st.lists(st.sampled_from(sorted(COERCION_MEASURES)) | terms, min_size=1, max_size=4)
        ),
        "start": start,
        "end": draw(st.sampled_from([end, start, None])),
        "targeted_company_refs": draw(st.none() | st.lists(identity_ids, min_size=1, max_size=3)),
        "stated_pretext": draw(st.none() | st.text(min_size=1).filter(str.strip)),
        "believed_trigger": draw(
            st.none()
            | st.just({"description": "a decision"})
            | st.just(
                {"description": "x", "external_reference": {"source_name": "a", "external_id": "1"}}
            )
        ),
        "estimated_impact": draw(
            st.none()
            | st.fixed_dictionaries(
                {
                    "currency": st.sampled_from(["USD", "EUR", "KRW", "JPY", "AUD"]),
                    "min": st.just(low),
                    "max": st.just(high),
                },
                optional={"basis": st.just("customs data")},
            )
        ),
    }
    return incident(draw(st.integers(1, 2**60)), **extension)


@st.composite
def exposures(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid exposure."""
    return exposure(
        draw(st.integers(1, 2**60)),
        component_category=draw(st.sampled_from(sorted(SUPPLY_CHAIN_COMPONENTS)) | terms),
        vendor_ref=draw(identity_ids),
        vendor_name=draw(st.none() | st.just("A vendor")),
        vendor_country=draw(st.sampled_from(COUNTRIES)),
        share=draw(
            st.floats(min_value=0, max_value=1, exclude_min=True) | st.just(1) | st.just(1.0)
        ),
        criticality=draw(st.sampled_from(CRITICALITIES)),
        substitute_refs=draw(st.none() | st.lists(identity_ids, min_size=1, max_size=3)),
        time_to_substitute_months=draw(st.none() | st.integers(0, 600)),
        as_of=draw(st.none() | timestamps),
    )


# Mutations that each break one rule, for either kind of object.
_INCIDENT_BREAKS = {
    "coercing_state": st.sampled_from(["XXX", "cn", "", 156, None]),
    "targeted_country": st.sampled_from(["ZZZ", "Korea", None]),
    "targeted_sectors": st.sampled_from([[], ["Rare Earths"], "tourism", [None], None]),
    "measures": st.sampled_from([[], ["import_ban"], ["a--b"], None]),
    "start": st.sampled_from(["yesterday", "2017-02-30T00:00:00Z", None]),
    "estimated_impact": st.sampled_from(
        [
            {"currency": "USD", "min": -1, "max": 1},
            {"currency": "EURO", "min": 1, "max": 1},
            {"currency": "USD", "min": 2, "max": 1},
            {"currency": "USD", "min": float("inf"), "max": float("inf")},
            {"currency": "USD", "min": 1},
        ]
    ),
    "targeted_company_refs": st.sampled_from([["Lotte"], [], ["identity--1"]]),
}
_EXPOSURE_BREAKS = {
    "component_category": st.sampled_from(["5G_RAN", "", None, ["5g-ran"]]),
    "vendor_ref": st.sampled_from(["Huawei", None, "identity--x"]),
    "vendor_country": st.sampled_from(["PRC", None, "chn"]),
    "share": st.sampled_from([0, -0.5, 1.5, 100, "40%", None, True])
    | st.floats(min_value=1, exclude_min=True)
    | st.floats(max_value=0),
    "criticality": st.sampled_from(["High", "extreme", None, 3]),
    "time_to_substitute_months": st.sampled_from([-1, 2.5, "12", True]),
    "as_of": st.sampled_from(["2026-06-30", "now"]),
}


@st.composite
def broken(draw: st.DrawFn) -> dict[str, Any]:
    """A valid incident or exposure with one rule broken."""
    if draw(st.booleans()):
        obj = draw(incidents())
        name = draw(st.sampled_from(sorted(_INCIDENT_BREAKS)))
        value = draw(_INCIDENT_BREAKS[name])
        extension = obj["extensions"][COERCION_EXTENSION_ID]
        if value is None:
            extension.pop(name, None)
        else:
            extension[name] = value
        return obj
    obj = draw(exposures())
    name = draw(st.sampled_from(sorted(_EXPOSURE_BREAKS)))
    value = draw(_EXPOSURE_BREAKS[name])
    if value is None:
        obj.pop(name, None)
    else:
        obj[name] = value
    return obj
