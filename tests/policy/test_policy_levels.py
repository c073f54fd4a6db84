"""Classification and TLP levels, and the built-in TLP marking ids (STIX 2.1 and TLP 2.0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stix2

from allyshare.errors import InvalidInput
from allyshare.policy import TLP_MARKING_IDS, Classification, Tlp

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "oasis"
COMMON = SHARED / "cti-stix-common-objects"


def test_classification_order_and_parse() -> None:
    assert Classification.U < Classification.C < Classification.S < Classification.TS
    assert [Classification.parse(text) for text in ("U", "C", "S", "TS")] == list(Classification)
    with pytest.raises(InvalidInput, match="not a classification"):
        Classification.parse("SECRET")
    with pytest.raises(InvalidInput):
        Classification.parse("s")


def test_tlp_order_labels_and_parse() -> None:
    assert Tlp.CLEAR < Tlp.GREEN < Tlp.AMBER < Tlp.AMBER_STRICT < Tlp.RED
    assert Tlp.AMBER_STRICT.label == "TLP:AMBER+STRICT"
    assert Tlp.parse("amber+strict") is Tlp.AMBER_STRICT
    assert Tlp.parse("TLP:RED") is Tlp.RED
    assert Tlp.parse(" white ") is Tlp.CLEAR
    with pytest.raises(InvalidInput, match="not a TLP level"):
        Tlp.parse("purple")


def test_tlp1_ids_are_the_stix_2_1_ones_read_as_tlp2() -> None:
    # The STIX 2.1 specification's TLP marking definitions, as the OASIS library ships them.
    assert TLP_MARKING_IDS[stix2.TLP_WHITE.id] is Tlp.CLEAR
    assert TLP_MARKING_IDS[stix2.TLP_GREEN.id] is Tlp.GREEN
    assert TLP_MARKING_IDS[stix2.TLP_AMBER.id] is Tlp.AMBER
    assert TLP_MARKING_IDS[stix2.TLP_RED.id] is Tlp.RED
    assert len(TLP_MARKING_IDS) == 9


def test_tlp2_ids_match_the_oasis_definitions() -> None:
    files = [
        *(COMMON / "extension-definition-specifications" / "tlp-2.0" / "examples").glob(
            "tlp-*.json"
        ),
        *(COMMON / "objects" / "marking-definition").glob("*.json"),
    ]
    if not files:
        pytest.skip(f"OASIS common objects not found under {COMMON}")
    seen = {}
    for path in files:
        for obj in json.loads(path.read_text())["objects"]:
            extension = obj.get("extensions", {}).get(
                "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
            )
            if extension:
                seen[obj["id"]] = Tlp.parse(extension["tlp_2_0"])
    assert len(seen) == 5
    for marking_id, level in seen.items():
        assert level.marking_id == marking_id
        assert TLP_MARKING_IDS[marking_id] is level
