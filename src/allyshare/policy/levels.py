"""Ordered levels: classification (ACS 3.0) and TLP 2.0.

Both are ``IntEnum`` so that "most restrictive" is ``max`` and "may see" is ``>=``.

- Classification follows the ACS 3.0 ``control_set.classification`` enumeration
  (U < C < S < TS). A node maps its national levels onto these four.
- TLP follows FIRST TLP 2.0 as expressed by the OASIS TLP 2.0 STIX extension
  (``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``). The four TLP 1.0 marking
  definitions of STIX 2.1 (section 7.2.1.4) are read as their TLP 2.0 equivalents, WHITE as
  CLEAR, as DESIGN section 3 asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType

from allyshare.errors import InvalidInput

__all__ = ["TLP_MARKING_IDS", "Classification", "Tlp"]


class Classification(IntEnum):
    """ACS 3.0 classification levels, lowest first."""

    U = 0
    C = 1
    S = 2
    TS = 3

    @classmethod
    def parse(cls, text: str) -> Classification:
        """The level written as in ACS 3.0: exactly ``U``, ``C``, ``S`` or ``TS``."""
        try:
            return cls[text]
        except KeyError:
            raise InvalidInput(
                f"{text!r} is not a classification; use one of U, C, S, TS"
            ) from None


class Tlp(IntEnum):
    """TLP 2.0 levels, least restrictive first."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        """How people write it: ``TLP:AMBER+STRICT``."""
        return "TLP:" + self.name.replace("_", "+")

    @property
    def marking_id(self) -> str:
        """The OASIS TLP 2.0 marking-definition id for this level."""
        return _TLP2_IDS[self]

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Read ``amber+strict``, ``TLP:AMBER+STRICT`` or the TLP 1.0 ``white`` (= CLEAR)."""
        name = text.strip().upper().removeprefix("TLP:").replace("+", "_")
        if name == "WHITE":
            return cls.CLEAR
        try:
            return cls[name]
        except KeyError:
            raise InvalidInput(
                f"{text!r} is not a TLP level; use clear, green, amber, amber+strict or red"
            ) from None


_TLP2_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# STIX 2.1 section 7.2.1.4, the TLP 1.0 marking definitions.
_TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}

TLP_MARKING_IDS: Mapping[str, Tlp] = MappingProxyType(
    {marking_id: level for level, marking_id in _TLP2_IDS.items()} | _TLP1_IDS
)
"""Every built-in TLP marking-definition id (TLP 2.0 and TLP 1.0) and the level it means."""
