"""Economic-coercion incidents and supply-chain exposures as the data model has them, and a
small community that shares them: members of two countries, a NOFORN incident, a cell
with one contributor, and a category with a vendor only one member uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from allyshare.policy import ACS_EXTENSION_ID
from allyshare.service import Node
from allyshare.storage import User

from support.agreements import us_rok_tech

COERCION = "extension-definition--536201ca-ca98-4106-ab79-e091d35e4ebc"
EXPOSURE = "extension-definition--2e02809a-e765-4622-bb00-ef0820e424ed"
EXPOSURE_TYPE = "x-allyshare-supply-chain-exposure"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
NOFORN: dict[str, Any] = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--4c0b3c0e-6c1f-4f55-8e8a-1f7f3a9a00e1",
    "created": "2026-01-01T00:00:00.000Z",
    "extensions": {
        ACS_EXTENSION_ID: {
            "extension_type": "property-extension",
            "control_set": {"classification": "U", "formal_determination": ["NF"]},
        }
    },
}
AGREEMENT = us_rok_tech(aggregate_k=2)
VENDORS = {
    "ERICSSON": ("identity--6f3a3c3e-0000-4000-8000-000000000001", "SWE"),
    "HUAWEI": ("identity--6f3a3c3e-0000-4000-8000-000000000002", "CHN"),
    "NOKIA": ("identity--6f3a3c3e-0000-4000-8000-000000000003", "FIN"),
}


def incident(
    number: int,
    target: str,
    start: str,
    *,
    state: str = "CHN",
    measures: tuple[str, ...] = ("export-restriction",),
    sectors: tuple[str, ...] = ("rare-earths",),
    impact: tuple[str, int, int] | None = None,
    markings: tuple[str, ...] = (TLP_GREEN,),
) -> dict[str, Any]:
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "coercing_state": state,
        "targeted_country": target,
        "targeted_sectors": list(sectors),
        "measures": list(measures),
        "stated_pretext": "national security",
        "start": start,
    }
    if impact is not None:
        currency, low, high = impact
        extension["estimated_impact"] = {
            "currency": currency,
            "min": low,
            "max": high,
            "basis": "lost exports, trade statistics",
        }
    return {
        "type": "incident",
        "spec_version": "2.1",
        "id": f"incident--{uuid.UUID(int=number, version=4)}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": f"{state} {measures[0]} against {target}",
        "object_marking_refs": list(markings),
        "extensions": {COERCION: extension},
    }


def exposure(
    number: int, category: str, vendor: str, share: float, criticality: str = "high"
) -> dict[str, Any]:
    vendor_ref, country = VENDORS[vendor]
    return {
        "type": EXPOSURE_TYPE,
        "spec_version": "2.1",
        "id": f"{EXPOSURE_TYPE}--{uuid.UUID(int=number, version=4)}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "extensions": {EXPOSURE: {"extension_type": "new-sdo"}},
        "component_category": category,
        "vendor_ref": vendor_ref,
        "vendor_name": vendor.title(),
        "vendor_country": country,
        "share": share,
        "criticality": criticality,
        "object_marking_refs": [TLP_GREEN],
    }


@dataclass
class Community:
    node: Node
    coercion: str
    supply: str
    kisa: User
    hanbit: User
    acme: User
    usgov: User


def build_community(node: Node) -> Community:
    """Four members (two Korean, two American) under an agreement with k = 2.

    In the coercion collection: CHN's export restriction on rare earths against KOR (ACME,
    2023-07, USD 10-20 million) and against USA (HANBIT, 2023-09), and a NOFORN one against
    USA (USGOV, 2023-08, USD 100-200 million) no Korean may read; KISA alone reports a
    boycott (2017), a cell of one contributor. In the supply-chain collection, 5G RAN from
    three members, Nokia only at KISA.
    """
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    hanbit = node.add_organization("HANBIT", country="KOR", kind="company")
    acme = node.add_organization("ACME", country="USA", kind="company")
    usgov = node.add_organization("USGOV", country="USA", kind="government")
    node.apply_agreement(AGREEMENT)
    coercion = node.add_collection(
        "Coercion", agreement="us-rok-tech", category="economic-coercion"
    ).id
    supply = node.add_collection("Supply", agreement="us-rok-tech", category="supply-chain").id
    for name, organization in (
        ("kisa", kisa),
        ("hanbit", hanbit),
        ("acme", acme),
        ("usgov", usgov),
    ):
        node.add_user(name, organization=organization, roles=["contributor"])
    users = [node.user(name) for name in ("kisa", "hanbit", "acme", "usgov")]
    community = Community(node, coercion, supply, *users)
    add(
        node,
        community.acme,
        coercion,
        incident(1, "KOR", "2023-07-03T00:00:00Z", impact=("USD", 10, 20)),
    )
    add(node, community.hanbit, coercion, incident(2, "USA", "2023-09-12T00:00:00Z"))
    add(
        node,
        community.usgov,
        coercion,
        NOFORN,
        incident(
            3,
            "USA",
            "2023-08-01T00:00:00Z",
            impact=("USD", 100, 200),
            markings=(TLP_GREEN, NOFORN["id"]),
        ),
    )
    add(
        node,
        community.kisa,
        coercion,
        incident(
            4,
            "KOR",
            "2017-03-02T00:00:00Z",
            measures=("boycott", "tourism-restriction"),
            sectors=("tourism",),
        ),
    )
    add(
        node,
        community.acme,
        supply,
        exposure(1, "5g-ran", "ERICSSON", 0.6),
        exposure(2, "5g-ran", "HUAWEI", 0.4),
    )
    add(
        node,
        community.hanbit,
        supply,
        exposure(3, "5g-ran", "ERICSSON", 0.5),
        exposure(4, "5g-ran", "HUAWEI", 0.5),
    )
    add(
        node,
        community.kisa,
        supply,
        exposure(5, "5g-ran", "ERICSSON", 0.8),
        exposure(6, "5g-ran", "NOKIA", 0.2),
    )
    return community


def green_only(community: Community) -> str:
    """A coercion collection whose agreement's ceiling is TLP:GREEN, holding the rare-earths
    pattern: its members may write there, but not an alert, which is TLP:AMBER at least."""
    node = community.node
    node.apply_agreement(us_rok_tech(name="us-rok-green", aggregate_k=2, tlp_ceiling="GREEN"))
    collection = node.add_collection(
        "Coercion (green)", agreement="us-rok-green", category="economic-coercion"
    ).id
    add(node, community.acme, collection, incident(1, "KOR", "2023-07-03T00:00:00Z"))
    add(node, community.hanbit, collection, incident(2, "USA", "2023-09-12T00:00:00Z"))
    return collection


def add(node: Node, user: User, collection: str, *objects: dict[str, Any]) -> None:
    status = node.add_objects(user, collection, list(objects))
    assert status.failure_count == 0, status.failures
