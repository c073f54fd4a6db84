"""DESIGN's showcase: one object, four readers, four different correct answers, explained.

A US CERT (USA.CISA) publishes an indicator to the Korea-US community at TLP:AMBER,
classified C and releasable to US and Korean nationals. The description is NOFORN (it
reveals a US source), and the first external reference is a victim company's report,
CISAPROPRIETARY to the organizations named.
"""

from __future__ import annotations

from typing import Any

from allyshare.policy import (
    ACS_EXTENSION_ID,
    REDACTED_PROPERTY,
    Agreement,
    Allow,
    Classification,
    Deny,
    MarkingRegistry,
    Organization,
    Redact,
    Subject,
    Target,
    Tlp,
    apply,
    decide,
    describe_label,
    explain,
    object_label,
)


def acs(digit: str, **control_set: Any) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{digit * 8}-4444-4444-8444-444444444444",
        "created": "2024-01-01T00:00:00.000Z",
        "extensions": {
            ACS_EXTENSION_ID: {"extension_type": "property-extension", "control_set": control_set}
        },
    }


REL_TO = acs("1", classification="C", permitted_nationalities=["USA", "KOR"])
NOFORN = acs("2", classification="C", formal_determination=["NF"])
PROPRIETARY = acs(
    "3",
    classification="U",
    caveat=["CISAPROPRIETARY"],
    permitted_organizations=["USA.DHS", "KOR.KISA"],
)
STATEMENT = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--62fd3f9b-15f3-4ebc-802c-91fce9536bcf",
    "created": "2021-03-13T20:09:20.886268Z",
    "definition_type": "statement",
    "definition": {"statement": "Shared under the KR-US cyber arrangement"},
}
REGISTRY = MarkingRegistry([REL_TO, NOFORN, PROPRIETARY, STATEMENT])

CISA = Organization("USA.CISA", "Cybersecurity and Infrastructure Security Agency", "USA", "cert")
KISA = Organization("KOR.KISA", "Korea Internet & Security Agency", "KOR", "cert")
DHS = Organization("USA.DHS", "Department of Homeland Security", "USA", "government")
ACME = Organization("USA.ACME", "Acme Semiconductors", "USA", "company", frozenset({"semis"}))
AGREEMENT = Agreement(
    "KR-US cyber", 3, frozenset({"USA", "KOR"}), max_classification=Classification.S
)

INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2024-05-02T08:00:00.000Z",
    "modified": "2024-05-02T08:00:00.000Z",
    "name": "Kimsuky C2 server",
    "description": "Reported by a US source in the actor's infrastructure.",
    "pattern": "[ipv4-addr:value = '198.51.100.23']",
    "pattern_type": "stix",
    "valid_from": "2024-05-01T00:00:00Z",
    "external_references": [
        {"source_name": "victim incident report", "url": "https://acme.example/ir/1"},
        {"source_name": "public write-up", "url": "https://blog.example/kimsuky"},
    ],
    "object_marking_refs": [Tlp.AMBER.marking_id, REL_TO["id"], STATEMENT["id"]],
    "granular_markings": [
        {"marking_ref": NOFORN["id"], "selectors": ["description"]},
        {"marking_ref": PROPRIETARY["id"], "selectors": ["external_references.[0]"]},
        {"marking_ref": Tlp.CLEAR.marking_id, "selectors": ["external_references.[1].url"]},
    ],
}
TARGET = Target(INDICATOR, CISA, AGREEMENT)

KOR_ANALYST = Subject("kim@kisa", KISA, "KOR", Classification.S, frozenset({"reader"}))
USA_ANALYST = Subject("smith@dhs", DHS, "USA", Classification.S, frozenset({"reader"}))
COMPANY = Subject("lee@acme", ACME, "USA", Classification.C, frozenset({"contributor"}))
UNCLEARED = Subject("intern@dhs", DHS, "USA", Classification.U, frozenset({"reader"}))


def test_the_label_reads_like_a_banner() -> None:
    assert describe_label(object_label(INDICATOR, REGISTRY)) == (
        "C//REL TO KOR, USA; TLP:AMBER; statement: Shared under the KR-US cyber arrangement"
    )


def test_korean_analyst_sees_it_without_the_noforn_description() -> None:
    decision = decide(KOR_ANALYST, TARGET, REGISTRY)
    assert isinstance(decision, Redact)
    assert explain(decision) == [
        "redact: shown without description",
        "  - description: NOFORN: releasable to USA nationals only, not to nationality KOR",
    ]
    seen = apply(decision, INDICATOR)
    assert seen is not None and "description" not in seen
    assert len(seen["external_references"]) == 2
    assert seen[REDACTED_PROPERTY] == ["description"]


def test_us_analyst_sees_everything() -> None:
    decision = decide(USA_ANALYST, TARGET, REGISTRY)
    assert isinstance(decision, Allow)
    assert explain(decision) == [
        "allow: the whole object",
        "  - statement: Shared under the KR-US cyber arrangement",
    ]
    assert apply(decision, INDICATOR) is INDICATOR


def test_company_sees_it_without_the_victims_proprietary_report() -> None:
    decision = decide(COMPANY, TARGET, REGISTRY)
    assert isinstance(decision, Redact)
    assert explain(decision) == [
        "redact: shown without external_references.[0]",
        "  - external_references.[0]: permitted organizations KOR.KISA, USA.DHS: "
        "organization USA.ACME is not among them",
        "  - external_references.[0]: CISAPROPRIETARY: only the originator USA.CISA and the "
        "organizations it names (KOR.KISA, USA.DHS) may see it; organization USA.ACME is not named",
    ]
    seen = apply(decision, INDICATOR)
    assert seen is not None
    assert seen["description"] == INDICATOR["description"]
    assert seen["external_references"] == [INDICATOR["external_references"][1]]
    # The TLP:CLEAR marking of the public URL still marks it, at its new index.
    assert seen["granular_markings"][-1] == {
        "marking_ref": Tlp.CLEAR.marking_id,
        "selectors": ["external_references.[0].url"],
    }


def test_uncleared_user_sees_nothing() -> None:
    decision = decide(UNCLEARED, TARGET, REGISTRY)
    assert isinstance(decision, Deny)
    assert explain(decision) == [
        "deny: the object is not shown",
        "  - classification C: clearance U is lower",
    ]
    assert apply(decision, INDICATOR) is None


def test_four_readers_four_answers() -> None:
    answers = [
        apply(decide(subject, TARGET, REGISTRY), INDICATOR)
        for subject in (KOR_ANALYST, USA_ANALYST, COMPANY, UNCLEARED)
    ]
    assert len({repr(answer) for answer in answers}) == 4
