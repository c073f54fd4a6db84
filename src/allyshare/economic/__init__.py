"""Economic coercion and supply-chain data (DESIGN section 6; issue 15): the two STIX 2.1
extensions shipped as extension definitions, their rules on write, and rows of a spreadsheet
read as their objects. Pure: no I/O beyond the package's own files, no storage."""

from allyshare.economic.extensions import (
    COERCION_EXTENSION_ID,
    COERCION_MEASURES,
    COERCION_SECTORS,
    CRITICALITIES,
    EXPOSURE_EXTENSION_ID,
    EXPOSURE_TYPE,
    SUPPLY_CHAIN_COMPONENTS,
    extension_definitions,
)
from allyshare.economic.validation import check_economic, is_currency

__all__ = [
    "COERCION_EXTENSION_ID",
    "COERCION_MEASURES",
    "COERCION_SECTORS",
    "CRITICALITIES",
    "EXPOSURE_EXTENSION_ID",
    "EXPOSURE_TYPE",
    "SUPPLY_CHAIN_COMPONENTS",
    "check_economic",
    "extension_definitions",
    "is_currency",
]
