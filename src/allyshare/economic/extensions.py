"""The two extension definitions this package ships (DESIGN section 6), their ids, types and
open vocabularies: the names part 1 of issue 15 agreed, which the views read as they are.

The definitions are JSON files next to this module, so what a TAXII client or
stix2-validator reads is exactly what the node checks against; `extension_definitions`
returns them for whoever publishes them (a node, a demo collection).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from allyshare.stix.types import EXPOSURE_TYPE

__all__ = [
    "COERCION_EXTENSION_ID",
    "COERCION_MEASURES",
    "COERCION_SECTORS",
    "CRITICALITIES",
    "EXPOSURE_EXTENSION_ID",
    "EXPOSURE_TYPE",
    "SUPPLY_CHAIN_COMPONENTS",
    "extension_definitions",
]

COERCION_EXTENSION_ID = "extension-definition--536201ca-ca98-4106-ab79-e091d35e4ebc"
"""The property extension on ``incident`` that makes it an economic-coercion incident."""
EXPOSURE_EXTENSION_ID = "extension-definition--2e02809a-e765-4622-bb00-ef0820e424ed"
"""The new-sdo extension defining `EXPOSURE_TYPE`."""

COERCION_SECTORS = frozenset(
    {
        "semiconductors",
        "batteries",
        "automotive",
        "shipbuilding",
        "steel",
        "agriculture",
        "fisheries",
        "tourism",
        "entertainment",
        "cosmetics",
        "retail",
        "rare-earths",
        "telecommunications",
        "energy",
        "pharmaceuticals",
        "other",
    }
)
"""``coercion-sector-ov``: open, so a sector outside it is accepted with a warning."""
COERCION_MEASURES = frozenset(
    {
        "tariff",
        "import-ban",
        "export-restriction",
        "customs-inspection",
        "sanitary-inspection",
        "boycott",
        "tourism-restriction",
        "licence-denial",
        "regulatory-investigation",
        "investment-block",
        "informal-pressure",
    }
)
"""``coercion-measure-ov``: open, as coercion keeps finding new instruments."""
SUPPLY_CHAIN_COMPONENTS = frozenset(
    {
        "5g-ran",
        "5g-core",
        "optical-transport",
        "semiconductor-lithography",
        "semiconductor-etch-deposition",
        "semiconductor-wafers",
        "photoresists",
        "rare-earth-magnets",
        "battery-cathode-materials",
        "battery-anode-materials",
        "nuclear-fuel-services",
        "other",
    }
)
"""``supply-chain-component-ov``: open."""
CRITICALITIES = ("low", "medium", "high", "critical")
"""Closed, least critical first: views compare them."""

_FILES = ("coercion-extension.json", "supply-chain-extension.json")


@cache
def _loaded() -> tuple[str, ...]:
    package = resources.files("allyshare.economic")
    return tuple(package.joinpath(name).read_text(encoding="utf-8") for name in _FILES)


def extension_definitions() -> list[dict[str, Any]]:
    """Both extension-definition objects, fresh copies (callers may add markings)."""
    return [json.loads(text) for text in _loaded()]
