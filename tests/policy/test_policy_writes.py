"""What a writer may store under an agreement (allyshare.policy.writes)."""

from __future__ import annotations

from typing import Any

from allyshare.policy import (
    ACS_EXTENSION_ID,
    ALLYSHARE_EXTENSION_ID,
    Agreement,
    Classification,
    MarkingRegistry,
    Organization,
    Tlp,
    check_write,
)

CISA = Organization("USA.CISA", "CISA", "USA", "cert")
AGREEMENT = Agreement(
    "KR-US", 1, frozenset({"USA", "KOR"}), max_classification=Classification.C, tlp_ceiling=Tlp.RED
)
MEMBERS = {
    "identity--11111111-1111-4111-8111-111111111111": "USA.CISA",
    "identity--99999999-9999-4999-8999-999999999999": "KOR.KISA",
}


def marking(digit: str, extensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{digit * 8}-2222-4222-8222-222222222222",
        "created": "2024-01-01T00:00:00.000Z",
        "extensions": extensions,
    }


def acs(digit: str, **control_set: Any) -> dict[str, Any]:
    return marking(
        digit,
        {ACS_EXTENSION_ID: {"extension_type": "property-extension", "control_set": control_set}},
    )


SECRET = acs("1", classification="S")
CONFIDENTIAL = acs("2", classification="C")
BROKEN = acs("3", classification="SECRET")
TO_KISA = marking(
    "4",
    {ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "recipients": ["KOR.KISA"]}},
)
NOBODY = marking(
    "5", {ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "recipients": []}}
)
REGISTRY = MarkingRegistry([SECRET, CONFIDENTIAL, BROKEN, TO_KISA, NOBODY])


def obj(refs: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "type": "note",
        "id": "note--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
        "content": "x",
        "object_marking_refs": refs,
        **properties,
    }


def check(thing: dict[str, Any], agreement: Agreement = AGREEMENT) -> list[str]:
    return check_write(thing, CISA, agreement, REGISTRY, MEMBERS)


def test_a_well_marked_write_passes() -> None:
    assert check(obj([CONFIDENTIAL["id"], Tlp.AMBER.marking_id])) == []
    assert check(obj([Tlp.RED.marking_id, TO_KISA["id"]])) == []
    assert check({"type": "note", "id": "note--x"}) == []


def test_classification_above_the_agreement() -> None:
    assert check(obj([SECRET["id"]])) == [
        f"marking {SECRET['id']}: classification S is above C, the highest agreement 'KR-US' allows"
    ]


def test_tlp_above_the_ceiling() -> None:
    low = Agreement("low", 1, frozenset({"USA"}), tlp_ceiling=Tlp.GREEN)
    assert check(obj([Tlp.AMBER.marking_id]), low) == [
        f"marking {Tlp.AMBER.marking_id}: TLP:AMBER is above TLP:GREEN, the TLP ceiling of "
        "agreement 'low'"
    ]
    # The ceiling holds for RED with recipients too.
    assert len(check(obj([Tlp.RED.marking_id, TO_KISA["id"]]), low)) == 1


def test_red_needs_recipients() -> None:
    problem = "TLP:RED needs named recipients: add an allyshare marking with recipients"
    assert check(obj([Tlp.RED.marking_id])) == [problem]
    assert check(obj([Tlp.RED.marking_id, NOBODY["id"]])) == [problem]
    # TLP 1.0 RED is RED.
    assert check(obj(["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"])) == [problem]
    granular = obj(
        [Tlp.GREEN.marking_id],
        granular_markings=[{"marking_ref": Tlp.RED.marking_id, "selectors": ["content"]}],
    )
    assert check(granular) == [
        f"granular marking {Tlp.RED.marking_id} is TLP:RED without named recipients; "
        "a granular RED marking must carry its own recipients"
    ]


def test_granular_markings_are_checked_too() -> None:
    granular = obj([], granular_markings=[{"marking_ref": SECRET["id"], "selectors": ["content"]}])
    assert "classification S is above C" in check(granular)[0]


def test_unknown_markings_are_stored_but_unparseable_ones_are_not() -> None:
    assert check(obj(["marking-definition--00000000-0000-4000-8000-000000000000"])) == []
    problems = check(obj([BROKEN["id"]]))
    assert problems == [
        f"marking {BROKEN['id']} does not parse: ACS control_set.classification must be one of "
        "U, C, S, TS, not 'SECRET'"
    ]
    assert check(BROKEN) == [
        "this marking definition does not parse: ACS control_set.classification must be one of "
        "U, C, S, TS, not 'SECRET'"
    ]
    assert check(SECRET) == []


def test_nobody_writes_in_another_members_name() -> None:
    own = "identity--11111111-1111-4111-8111-111111111111"
    assert check(obj([], created_by_ref=own)) == []
    other = "identity--99999999-9999-4999-8999-999999999999"
    assert check(obj([], created_by_ref=other)) == [
        f"created_by_ref {other} is the identity of member KOR.KISA: USA.CISA may not write "
        "in another member's name"
    ]
    stranger = Organization("KOR.NEW", "New", "KOR")
    assert check_write(obj([], created_by_ref=own), stranger, AGREEMENT, REGISTRY, MEMBERS) == [
        f"created_by_ref {own} is the identity of member USA.CISA: KOR.NEW may not write in "
        "another member's name"
    ]


def test_an_author_who_is_no_member_may_be_re_shared() -> None:
    """A vendor's report, ATT&CK or an advisory keeps its author; the writer stays the
    originator for the policy."""
    vendor = "identity--b3b2c0a6-0000-4000-8000-00000000a1b0"
    assert check(obj([], created_by_ref=vendor)) == []
