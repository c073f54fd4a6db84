"""Removing selected content: original indices, nested properties, re-pointed granular markings."""

from __future__ import annotations

from typing import Any

import pytest

from allyshare.errors import InvalidObject
from allyshare.policy import REDACTED_PROPERTY, redact
from allyshare.policy.selectors import format_selector, parse_selector, selects

GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
RED = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"


def report() -> dict[str, Any]:
    return {
        "type": "x-thing",
        "id": "x-thing--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
        "description": "d",
        "kill_chain_phases": [
            {"kill_chain_name": "k", "phase_name": "p0"},
            {"kill_chain_name": "k", "phase_name": "p1"},
            {"kill_chain_name": "k", "phase_name": "p2"},
        ],
        "external_references": [
            {"source_name": "a", "url": "https://a.example"},
            {"source_name": "b", "url": "https://b.example"},
        ],
        "x_detail": {"nested": {"value": "v", "other": "o"}, "tags": ["t0", "t1"]},
        "granular_markings": [
            {"marking_ref": RED, "selectors": ["kill_chain_phases.[0]", "x_detail.nested.value"]},
            {"marking_ref": GREEN, "selectors": ["kill_chain_phases.[2]", "description"]},
            {"lang": "ko", "selectors": ["external_references.[1].url"]},
        ],
    }


def test_parse_and_format_selectors() -> None:
    assert parse_selector("external_references.[0].url") == ("external_references", 0, "url")
    assert parse_selector("description") == ("description",)
    assert format_selector(("kill_chain_phases", 12)) == "kill_chain_phases.[12]"
    obj = report()
    assert selects(obj, ("x_detail", "tags", 1))
    assert not selects(obj, ("x_detail", "tags", 2))
    assert not selects(obj, ("description", "x"))
    assert not selects(obj, ("kill_chain_phases", "x"))


def test_list_elements_go_by_their_original_index() -> None:
    obj = report()
    copy = redact(obj, ["kill_chain_phases.[0]", "kill_chain_phases.[1]"])
    assert copy["kill_chain_phases"] == [{"kill_chain_name": "k", "phase_name": "p2"}]
    # The surviving GREEN entry followed kill_chain_phases.[2] to its new place.
    assert copy["granular_markings"] == [
        {"marking_ref": RED, "selectors": ["x_detail.nested.value"]},
        {"marking_ref": GREEN, "selectors": ["kill_chain_phases.[0]", "description"]},
        {"lang": "ko", "selectors": ["external_references.[1].url"]},
    ]
    assert copy[REDACTED_PROPERTY] == ["kill_chain_phases.[0]", "kill_chain_phases.[1]"]
    assert obj == report(), "the input is not changed"


def test_the_order_of_selectors_does_not_matter() -> None:
    selectors = ["kill_chain_phases.[2]", "kill_chain_phases.[0]", "external_references.[0].url"]
    assert redact(report(), selectors) == redact(report(), list(reversed(selectors)))


def test_nested_properties_and_emptied_containers_go() -> None:
    copy = redact(report(), ["x_detail.nested.value", "x_detail.nested.other"])
    assert copy["x_detail"] == {"tags": ["t0", "t1"]}
    copy = redact(report(), ["x_detail.nested", "x_detail.tags.[0]", "x_detail.tags.[1]"])
    assert "x_detail" not in copy
    copy = redact(report(), ["external_references.[0]", "external_references.[1]"])
    assert "external_references" not in copy
    # The lang entry's selector pointed into removed content: it goes with it.
    assert copy["granular_markings"][-1]["marking_ref"] == GREEN


def test_removed_markings_go_with_their_content() -> None:
    copy = redact(report(), ["kill_chain_phases.[0]", "x_detail.nested.value"])
    refs = [entry.get("marking_ref") for entry in copy["granular_markings"]]
    assert RED not in refs
    assert copy["granular_markings"][0]["selectors"] == ["kill_chain_phases.[1]", "description"]


def test_selectors_inside_removed_content() -> None:
    copy = redact(report(), ["external_references.[1]", "external_references.[1].url"])
    assert copy["external_references"] == [{"source_name": "a", "url": "https://a.example"}]
    assert copy[REDACTED_PROPERTY] == ["external_references.[1]", "external_references.[1].url"]
    assert all(entry.get("lang") != "ko" for entry in copy["granular_markings"])


def test_no_granular_markings_left() -> None:
    obj = report()
    obj["granular_markings"] = [{"marking_ref": RED, "selectors": ["description"]}]
    copy = redact(obj, ["description"])
    assert "granular_markings" not in copy and "description" not in copy


def test_earlier_redactions_are_kept() -> None:
    obj = {**report(), REDACTED_PROPERTY: ["labels", "description"]}
    assert redact(obj, ["x_detail"])[REDACTED_PROPERTY] == ["description", "labels", "x_detail"]


@pytest.mark.parametrize("selector", ["object_marking_refs", "granular_markings.[0]"])
def test_the_objects_own_markings_are_never_removed(selector: str) -> None:
    obj = {**report(), "object_marking_refs": [RED]}
    with pytest.raises(InvalidObject, match="strip the object's own markings"):
        redact(obj, [selector])
