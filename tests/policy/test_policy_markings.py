"""Marking definitions into labels: TLP, ACS 3.0 (the OASIS use cases), allyshare, statements."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from allyshare.errors import InvalidInput
from allyshare.policy import (
    ACS_EXTENSION_ID,
    ALLYSHARE_EXTENSION_ID,
    TLP2_EXTENSION_ID,
    AccessLabel,
    Classification,
    DenyRule,
    MarkingRegistry,
    Tlp,
    check_marking_definition,
    label_of,
    object_label,
    shown_label,
)
from allyshare.stix.validation import check_object

COMMON = Path(__file__).resolve().parents[2].parent / "shared/data/oasis/cti-stix-common-objects"
ACS_EXAMPLES = COMMON / "extension-definition-specifications/acs-marking-definition-3a6/examples"
CREATED = "2024-01-01T00:00:00.000Z"


def marking(uuid_digit: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid_digit * 8}-{uuid_digit * 4}-4{uuid_digit * 3}-8"
        f"{uuid_digit * 3}-{uuid_digit * 12}",
        "created": CREATED,
        **properties,
    }


def acs(uuid_digit: str, control_set: dict[str, Any], **extra: Any) -> dict[str, Any]:
    extension = {"extension_type": "property-extension", "control_set": control_set, **extra}
    return marking(uuid_digit, extensions={ACS_EXTENSION_ID: extension})


def allyshare(uuid_digit: str, **properties: Any) -> dict[str, Any]:
    extension = {"extension_type": "property-extension", **properties}
    return marking(uuid_digit, extensions={ALLYSHARE_EXTENSION_ID: extension})


def acs_examples() -> list[dict[str, Any]]:
    if not ACS_EXAMPLES.is_dir():
        pytest.skip(f"ACS examples not found under {ACS_EXAMPLES}")
    found = []
    for path in sorted(ACS_EXAMPLES.glob("*.json")):
        found += [
            obj
            for obj in json.loads(path.read_text())["objects"]
            if obj["type"] == "marking-definition"
        ]
    return found


# --- built-in TLP and the TLP 2.0 extension ---------------------------------------------------


def test_tlp_markings_are_built_in() -> None:
    registry = MarkingRegistry()
    for level in Tlp:
        assert registry.label(level.marking_id) == AccessLabel(tlp=level)
    assert "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" in registry


def test_a_definition_never_replaces_a_built_in_tlp_marking() -> None:
    forged = {
        **marking("1"),
        "id": Tlp.RED.marking_id,
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "clear"}
        },
    }
    assert MarkingRegistry([forged]).label(Tlp.RED.marking_id) == AccessLabel(tlp=Tlp.RED)


def test_tlp2_extension_is_honoured_under_another_id() -> None:
    red_to_kisa = marking(
        "2",
        extensions={
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "red"},
            ALLYSHARE_EXTENSION_ID: {
                "extension_type": "property-extension",
                "recipients": ["KOR.KISA"],
            },
        },
    )
    label = MarkingRegistry([red_to_kisa]).label(red_to_kisa["id"])
    assert label == AccessLabel(tlp=Tlp.RED, recipients=frozenset({"KOR.KISA"}))


# --- ACS 3.0 ------------------------------------------------------------------------------------


def test_acs_use_case_examples_parse() -> None:
    definitions = acs_examples()
    assert len(definitions) == 6
    for definition in definitions:
        assert check_marking_definition(definition) == [], definition["id"]
        assert MarkingRegistry([definition]).label(definition["id"]) is not None


def test_acs_use_case_labels() -> None:
    by_name = {
        definition["extensions"][ACS_EXTENSION_ID]["name"]: MarkingRegistry([definition]).label(
            definition["id"]
        )
        for definition in acs_examples()
    }
    assert by_name["Use Case 1: Access Granted to Cybersecurity Data"] == AccessLabel(
        classification=Classification.TS
    )
    # Permit rules never widen nor narrow access: only denies are kept.
    assert by_name["Use Case 2: Access Privilege"] == AccessLabel()
    assert by_name["Use Case 3: PUBREL and Portion Marking - S"] == AccessLabel(
        classification=Classification.S
    )
    assert by_name["Use Case 3: PUBREL and Portion Marking - U"] == AccessLabel()
    assert by_name["Use Case 4: Analytic NPE"] == AccessLabel(organizations=frozenset({"USA.USG"}))
    assert by_name["Use Case 5: Access Denied to Law Enforcement Data"] == AccessLabel(
        organizations=frozenset({"USA.USG", "USA.SLTT"})
    )


def test_one_id_with_two_definitions_is_fail_closed() -> None:
    # The OASIS use cases 4 and 5 reuse one marking id for two different definitions.
    registry = MarkingRegistry(acs_examples())
    conflicted = "marking-definition--ff7043e7-b1c9-4115-8bfc-79db1bed6862"
    assert conflicted not in registry
    assert registry.reasons(conflicted) == ("two different definitions were received for this id",)
    assert label_of([conflicted], registry).unknown == (conflicted,)
    same_twice = acs("3", {"classification": "S"})
    assert same_twice["id"] in MarkingRegistry([same_twice, dict(same_twice)])


def test_acs_control_set_is_read() -> None:
    definition = acs(
        "4",
        {
            "classification": "S",
            "formal_determination": ["FOUO", "NF"],
            "caveat": ["FISA", "CISAPROPRIETARY"],
            "permitted_nationalities": ["USA", "KOR"],
            "permitted_organizations": ["ALL"],
            "entity": ["GOV"],
            "sensitivity": ["PR"],
        },
        access_privilege=[
            {
                "privilege_action": "DSPLY",
                "privilege_scope": {"permitted_nationalities": ["GBR"], "entity": ["ALL"]},
                "rule_effect": "deny",
            },
            {"privilege_action": "IDSRC", "rule_effect": "deny"},
            {"privilege_action": "INTEL", "privilege_scope": {}, "rule_effect": "permit"},
        ],
        further_sharing=[
            {"sharing_scope": ["FOREIGNGOV"], "sharing_effect": "deny"},
            {"sharing_scope": ["USA.USG"], "sharing_effect": "permit"},
            {"sharing_scope": ["JPN"], "rule_effect": "deny"},
        ],
    )
    assert check_marking_definition(definition) == []
    assert MarkingRegistry([definition]).label(definition["id"]) == AccessLabel(
        classification=Classification.S,
        nationalities=frozenset({"USA", "KOR"}),
        organizations=None,
        noforn=True,
        caveats=frozenset({"CISAPROPRIETARY"}),
        deny_rules=frozenset(
            {DenyRule("DSPLY", frozenset({"GBR"}), None), DenyRule("IDSRC", None, None)}
        ),
        share_denied=frozenset({"FOREIGNGOV", "JPN"}),
    )


def test_propin_and_any_proprietary_caveat_count() -> None:
    for caveat in ("PROPIN", "CISAPROPRIETARY", "ACMEPROPRIETARY"):
        definition = acs("5", {"classification": "U", "caveat": [caveat]})
        assert label_of([definition["id"]], MarkingRegistry([definition])).caveats == {caveat}
    fisa = acs("5", {"classification": "U", "caveat": ["FISA", "POSSIBLEPII"]})
    assert not label_of([fisa["id"]], MarkingRegistry([fisa])).proprietary


@pytest.mark.parametrize(
    ("control_set", "extra", "problem"),
    [
        ({"classification": "SECRET"}, {}, "classification must be one of U, C, S, TS"),
        ({}, {}, "classification must be one of U, C, S, TS"),
        (
            {"classification": "U", "permitted_nationalities": "USA"},
            {},
            "must be a list of strings",
        ),
        ({"classification": "U", "caveat": [1]}, {}, "caveat must be a list of strings"),
        ({"classification": "U", "entity": "GOV"}, {}, "entity must be a list of strings"),
        (
            {"classification": "U"},
            {"access_privilege": [{"privilege_action": "DSPLY", "rule_effect": "maybe"}]},
            "rule_effect must be permit or deny",
        ),
        (
            {"classification": "U"},
            {"access_privilege": [{"rule_effect": "deny"}]},
            "privilege_action must be a non-empty string",
        ),
        (
            {"classification": "U"},
            {"access_privilege": {"privilege_action": "DSPLY"}},
            "access_privilege must be a list",
        ),
        (
            {"classification": "U"},
            {"further_sharing": [{"sharing_scope": "USA", "sharing_effect": "deny"}]},
            "sharing_scope must be a list of strings",
        ),
    ],
)
def test_acs_definitions_that_do_not_parse(
    control_set: dict[str, Any], extra: dict[str, Any], problem: str
) -> None:
    definition = acs("6", control_set, **extra)
    problems = check_marking_definition(definition)
    assert any(problem in text for text in problems), problems
    registry = MarkingRegistry([definition])
    assert definition["id"] not in registry
    assert registry.parse_problems(definition["id"]) == tuple(problems)
    assert label_of([definition["id"]], registry).unknown == (definition["id"],)


def test_acs_without_control_set_does_not_parse() -> None:
    definition = marking(
        "6", extensions={ACS_EXTENSION_ID: {"extension_type": "property-extension"}}
    )
    assert check_marking_definition(definition) == [
        "ACS control_set is required and must be an object"
    ]


# --- allyshare, statements and what this node does not understand -------------------------------


def test_allyshare_extension_is_read() -> None:
    definition = allyshare("7", orcon=True, recipients=["USA.DHS", "KOR.KISA"], match_only=True)
    assert check_marking_definition(definition) == []
    assert MarkingRegistry([definition]).label(definition["id"]) == AccessLabel(
        recipients=frozenset({"USA.DHS", "KOR.KISA"}), orcon=True, match_only=True
    )


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({"orcon": "yes"}, "orcon must be true or false"),
        ({"match_only": 1}, "match_only must be true or false"),
        ({"recipients": "USA.DHS"}, "recipients must be a list of strings"),
        ({"expires": "2030-01-01"}, "allyshare extension has no property 'expires'"),
    ],
)
def test_allyshare_definitions_that_do_not_parse(properties: dict[str, Any], problem: str) -> None:
    problems = check_marking_definition(allyshare("8", **properties))
    assert any(problem in text for text in problems), problems


def test_statements_are_kept_not_enforced() -> None:
    old_style = marking("9", definition_type="statement", definition={"statement": "Copyright X"})
    new_style = marking("a", definition={"statement": "BSD-3-Clause"})
    registry = MarkingRegistry([old_style, new_style])
    label = label_of([old_style["id"], new_style["id"]], registry)
    assert label == AccessLabel(statements=frozenset({"Copyright X", "BSD-3-Clause"}))
    broken = marking("b", definition_type="statement", definition={"statement": 3})
    assert check_marking_definition(broken) == [
        "a statement marking needs definition.statement, a string"
    ]


def test_markings_this_node_does_not_understand_are_fail_closed_but_parse() -> None:
    pap = marking(
        "c",
        extensions={
            "extension-definition--f8d78575-edfd-406e-8e84-6162a8450f5b": {
                "extension_type": "property-extension",
                "pap": "green",
            }
        },
    )
    custom = marking("d", definition_type="x-isa-acs-3-0", definition={"control_set": {}})
    empty = marking("e", name="nothing in here")
    registry = MarkingRegistry([pap, custom, empty])
    for definition in (pap, custom, empty):
        assert check_marking_definition(definition) == []
        assert definition["id"] not in registry
        assert registry.parse_problems(definition["id"]) == ()
    assert "is not one this node enforces" in registry.reasons(pap["id"])[0]
    assert "definition_type 'x-isa-acs-3-0'" in registry.reasons(custom["id"])[0]
    assert registry.reasons(empty["id"]) == ("it carries no marking this node understands",)
    assert registry.reasons("marking-definition--none") == (
        "no definition of it is known to this node",
    )


def test_tlp_definition_type_is_reserved_for_the_stix_ids() -> None:
    fake = marking("f", definition_type="tlp", definition={"tlp": "green"})
    assert check_marking_definition(fake) == [
        "definition_type tlp is reserved for the four TLP 1.0 marking definitions of STIX 2.1"
    ]
    assert check_marking_definition({"type": "indicator"}) == ["not a marking-definition"]


def test_registry_takes_only_marking_definitions() -> None:
    with pytest.raises(InvalidInput):
        MarkingRegistry([{"type": "indicator", "id": "indicator--x"}])
    with pytest.raises(InvalidInput):
        MarkingRegistry([{"type": "marking-definition"}])


# --- combining ----------------------------------------------------------------------------------


def test_several_markings_combine_most_restrictively() -> None:
    first = acs(
        "1",
        {
            "classification": "C",
            "permitted_nationalities": ["USA", "KOR", "GBR"],
            "permitted_organizations": ["USA.DHS", "KOR.KISA"],
        },
        access_privilege=[{"privilege_action": "ALL", "rule_effect": "deny"}],
    )
    second = acs(
        "2",
        {
            "classification": "S",
            "permitted_nationalities": ["KOR", "USA", "JPN"],
            "caveat": ["PROPIN"],
        },
        further_sharing=[{"sharing_scope": ["ALL"], "sharing_effect": "deny"}],
    )
    third = allyshare("3", recipients=["KOR.KISA", "USA.CISA"], orcon=True)
    fourth = allyshare("4", recipients=["KOR.KISA"], match_only=True)
    registry = MarkingRegistry([first, second, third, fourth])
    refs = [first["id"], Tlp.GREEN.marking_id, second["id"], third["id"], fourth["id"]]
    refs += [Tlp.AMBER.marking_id, "marking-definition--unknown-b", "marking-definition--unknown-a"]
    label = label_of(refs, registry)
    assert label == AccessLabel(
        classification=Classification.S,
        tlp=Tlp.AMBER,
        nationalities=frozenset({"USA", "KOR"}),
        organizations=frozenset({"USA.DHS", "KOR.KISA"}),
        caveats=frozenset({"PROPIN"}),
        recipients=frozenset({"KOR.KISA"}),
        orcon=True,
        match_only=True,
        deny_rules=frozenset({DenyRule("ALL")}),
        share_denied=frozenset({"ALL"}),
        unknown=("marking-definition--unknown-a", "marking-definition--unknown-b"),
    )
    assert label_of(reversed(refs + refs), registry) == label
    assert label.named_organizations == {"USA.DHS", "KOR.KISA"}
    assert label_of([], registry) == AccessLabel()


def test_label_json_is_canonical_and_round_trips() -> None:
    label = AccessLabel(
        classification=Classification.TS,
        tlp=Tlp.AMBER_STRICT,
        nationalities=frozenset({"USA", "KOR"}),
        caveats=frozenset({"PROPIN"}),
        recipients=frozenset(),
        deny_rules=frozenset(
            {DenyRule("DSPLY", frozenset({"GBR"}), None), DenyRule("ALL", None, frozenset({"X"}))}
        ),
        statements=frozenset({"© 2024 한국"}),
        unknown=("marking-definition--z",),
    )
    same = AccessLabel(
        classification=Classification.TS,
        tlp=Tlp.AMBER_STRICT,
        nationalities=frozenset({"KOR", "USA"}),
        caveats=frozenset({"PROPIN"}),
        recipients=frozenset(),
        deny_rules=frozenset(
            {DenyRule("ALL", None, frozenset({"X"})), DenyRule("DSPLY", frozenset({"GBR"}), None)}
        ),
        statements=frozenset({"© 2024 한국"}),
        unknown=("marking-definition--z",),
    )
    assert label.to_json() == same.to_json()
    assert label.id == same.id and len(label.id) == 64
    assert AccessLabel.from_json(label.to_json()) == label
    assert AccessLabel.from_json(AccessLabel().to_json()) == AccessLabel()
    assert AccessLabel().id != label.id
    assert AccessLabel(unknown=("b", "a", "b")).unknown == ("a", "b")
    assert hash(label) == hash(same)
    with pytest.raises(InvalidInput):
        AccessLabel.from_json('{"classification": "X"}')
    with pytest.raises(InvalidInput):
        AccessLabel.from_json("not json")


def test_object_label_is_fail_closed_for_unreadable_refs() -> None:
    registry = MarkingRegistry()
    assert object_label({"object_marking_refs": "oops"}, registry).unknown
    assert object_label({"object_marking_refs": [3]}, registry).unknown
    assert object_label({}, registry) == AccessLabel()
    assert object_label({"object_marking_refs": [Tlp.RED.marking_id]}, registry).tlp is Tlp.RED


def test_the_shown_label_adds_the_granular_markings_a_copy_still_carries() -> None:
    registry = MarkingRegistry()
    green, red = Tlp.GREEN.marking_id, Tlp.RED.marking_id
    whole = {
        "object_marking_refs": [green],
        "granular_markings": [
            {"marking_ref": red, "selectors": ["description"]},
            {"lang": "ko", "selectors": ["name"]},
        ],
    }
    assert object_label(whole, registry).tlp is Tlp.GREEN
    assert shown_label(whole, registry).tlp is Tlp.RED
    assert shown_label({"object_marking_refs": [green]}, registry).tlp is Tlp.GREEN
    assert shown_label({"granular_markings": "oops"}, registry).unknown


# --- the shipped extension definition -----------------------------------------------------------


def test_shipped_extension_definition() -> None:
    text = files("allyshare.policy").joinpath("allyshare-extension.json").read_text()
    definition = json.loads(text)
    assert definition["id"] == ALLYSHARE_EXTENSION_ID
    assert definition["extension_types"] == ["property-extension"]
    assert check_object(definition).id == ALLYSHARE_EXTENSION_ID
    for name in ("orcon", "recipients", "match_only"):
        assert name in definition["schema"]
    used = allyshare("5", orcon=True, recipients=["USA.CISA"])
    assert check_object(used).type == "marking-definition"
