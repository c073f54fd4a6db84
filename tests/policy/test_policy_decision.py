"""The access decision, one rule at a time (DESIGN section 3; allyshare.policy.decision)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from allyshare.policy import (
    ACS_EXTENSION_ID,
    ALLYSHARE_EXTENSION_ID,
    REDACTED_PROPERTY,
    AccessLabel,
    Agreement,
    Allow,
    Classification,
    Decision,
    Deny,
    DenyRule,
    MarkingRegistry,
    Organization,
    Redact,
    Subject,
    Target,
    Tlp,
    apply,
    decide,
    decide_label,
    may_match,
    object_label,
)

C, S, TS, U = Classification.C, Classification.S, Classification.TS, Classification.U
CISA = Organization("USA.CISA", "CISA", "USA", "cert")
DHS = Organization("USA.DHS", "DHS", "USA")
ACME = Organization("USA.ACME", "Acme Semiconductors", "USA", "company", frozenset({"semis"}))
KISA = Organization("KOR.KISA", "KISA", "KOR", "cert")
NIS = Organization("KOR.NIS", "NIS", "KOR")
NCSC = Organization("GBR.NCSC", "NCSC", "GBR", "cert")
KR_US = Agreement(
    "KR-US cyber", 2, frozenset({"USA", "KOR"}), max_classification=S, tlp_ceiling=Tlp.AMBER
)
UNKNOWN = "marking-definition--00000000-0000-4000-8000-000000000000"


def user(
    org: Organization | None, nationality: str = "", clearance: Classification = TS
) -> Subject:
    nationality = nationality or (org.country if org else "USA")
    return Subject(f"analyst@{org.id if org else 'nowhere'}", org, nationality, clearance)


def label(**fields: Any) -> AccessLabel:
    return AccessLabel(**fields)


def read(
    subject: Subject, lab: AccessLabel, originator: Organization = CISA, **kw: Any
) -> Decision:
    return decide_label(subject, lab, originator, kw.pop("agreement", KR_US), "read", **kw)


def share(
    subject: Subject, lab: AccessLabel, originator: Organization = CISA, **kw: Any
) -> Decision:
    return decide_label(subject, lab, originator, kw.pop("agreement", KR_US), "share", **kw)


def reasons(decision: Decision) -> str:
    assert isinstance(decision, Deny), decision
    return " | ".join(decision.reasons)


# --- rules 1-5: everyone -----------------------------------------------------------------------


def test_system_subject_is_always_allowed() -> None:
    worst = label(classification=TS, tlp=Tlp.RED, noforn=True, unknown=(UNKNOWN,))
    worst = AccessLabel(**{**worst.__dict__, "deny_rules": frozenset({DenyRule("ALL")})})
    assert isinstance(read(Subject.system(), worst), Allow)
    assert isinstance(share(Subject.system(), worst), Allow)


def test_unknown_markings_are_fail_closed() -> None:
    lab = label(unknown=(UNKNOWN,))
    assert UNKNOWN in reasons(read(user(DHS), lab))
    assert "only the originator's organization USA.CISA and node admins" in reasons(
        read(user(DHS), lab)
    )
    own = read(user(CISA), lab)
    assert isinstance(own, Allow) and any("shown to the originator" in n for n in own.notes)
    admin = Subject("root", DHS, "USA", TS, frozenset({"admin"}), "user", is_admin=True)
    assert isinstance(read(admin, lab), Allow)
    # An admin is still bound by everything else.
    uncleared_admin = Subject("root", DHS, "USA", U, is_admin=True)
    assert "clearance U" in reasons(
        read(uncleared_admin, label(classification=S, unknown=(UNKNOWN,)))
    )


def test_clearance_binds_even_the_originator() -> None:
    lab = label(classification=S)
    assert isinstance(read(user(DHS, clearance=S), lab), Allow)
    assert reasons(read(user(DHS, clearance=C), lab)) == "classification S: clearance C is lower"
    assert "clearance C" in reasons(read(user(CISA, clearance=C), lab))


def test_access_privilege_deny_rules() -> None:
    no_display_to_kor = label(deny_rules=frozenset({DenyRule("DSPLY", frozenset({"KOR"}), None)}))
    assert (
        reasons(read(user(KISA), no_display_to_kor))
        == "ACS access privilege DSPLY is denied to organization KOR.KISA"
    )
    assert isinstance(read(user(DHS), no_display_to_kor), Allow)
    # A KOR national at the originator is bound too.
    assert isinstance(read(user(CISA, "KOR"), no_display_to_kor), Deny)
    # Actions that govern later use are not an access decision.
    assert isinstance(read(user(KISA), label(deny_rules=frozenset({DenyRule("IDSRC")}))), Allow)
    everyone = label(deny_rules=frozenset({DenyRule("ALL")}))
    assert isinstance(read(user(CISA), everyone), Deny)
    assert isinstance(share(Subject.node("kr-node", "KOR", KISA), everyone), Deny)
    by_org = label(deny_rules=frozenset({DenyRule("DSPLY", None, frozenset({"USA.ACME"}))}))
    assert isinstance(read(user(ACME), by_org), Deny)
    assert isinstance(read(user(DHS), by_org), Allow)
    assert isinstance(read(user(None), by_org), Allow)


# --- rules 6-13: everyone but the originator ----------------------------------------------------


def test_permitted_nationalities() -> None:
    rel_to = label(nationalities=frozenset({"USA", "KOR"}))
    assert isinstance(read(user(KISA), rel_to), Allow)
    assert reasons(read(user(NCSC), rel_to)) == (
        "REL TO KOR, USA: nationality GBR is not permitted"
    )
    assert isinstance(read(user(DHS, "GBR"), rel_to), Deny), "nationality, not organization"
    assert isinstance(read(user(CISA, "GBR"), rel_to), Allow), "the originator wrote it"
    assert isinstance(
        share(Subject.node("uk", "GBR"), label(nationalities=frozenset({"USA"}))), Deny
    )


def test_noforn_means_the_originators_country() -> None:
    noforn = label(noforn=True)
    assert isinstance(read(user(DHS), noforn), Allow)
    assert reasons(read(user(KISA), noforn)) == (
        "NOFORN: releasable to USA nationals only, not to nationality KOR"
    )
    assert isinstance(read(user(NIS), noforn, originator=KISA), Allow)
    assert isinstance(read(user(DHS), noforn, originator=KISA), Deny)
    assert isinstance(read(user(CISA, "KOR"), noforn), Allow), "the originator wrote it"


def test_permitted_organizations() -> None:
    orgs = label(organizations=frozenset({"USA.DHS", "KOR.KISA"}))
    assert isinstance(read(user(KISA), orgs), Allow)
    assert "organization USA.ACME is not among them" in reasons(read(user(ACME), orgs))
    assert "(no organization)" in reasons(read(user(None), orgs))
    assert isinstance(read(user(CISA), orgs), Allow)


def test_tlp_clear_and_unmarked_go_to_anyone() -> None:
    outsider = user(NCSC)
    assert isinstance(read(outsider, label(tlp=Tlp.CLEAR)), Allow)
    assert isinstance(read(outsider, label()), Allow)
    assert isinstance(read(user(None), label(tlp=Tlp.CLEAR)), Allow)


@pytest.mark.parametrize("tlp", [Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT])
def test_tlp_green_and_amber_need_an_agreement_party(tlp: Tlp) -> None:
    lab = label(tlp=tlp)
    assert isinstance(read(user(KISA), lab), Allow), "party by country"
    assert reasons(read(user(NCSC), lab)) == (
        f"{tlp.label}: organization GBR.NCSC is not a party of agreement 'KR-US cyber' v2"
    )
    by_name = Agreement("named", 1, party_organizations=frozenset({"GBR.NCSC"}))
    assert isinstance(read(user(NCSC), lab, agreement=by_name), Allow), "party by name"
    assert isinstance(read(user(KISA), lab, agreement=by_name), Deny)
    assert isinstance(read(user(None, "USA"), lab), Deny), "no organization, no party"
    assert isinstance(read(user(NCSC), lab, originator=NCSC), Allow), "the originator wrote it"


def test_tlp_for_peer_nodes() -> None:
    amber = label(tlp=Tlp.AMBER)
    assert isinstance(read(Subject.node("kr", "KOR"), amber), Allow), "its country is a party"
    assert isinstance(read(Subject.node("uk", "GBR"), amber), Deny)
    by_name = Agreement("named", 1, party_organizations=frozenset({"GBR.NCSC"}))
    assert isinstance(read(Subject.node("uk", "GBR", NCSC), amber, agreement=by_name), Allow)


def test_tlp_red_needs_named_recipients() -> None:
    red = label(tlp=Tlp.RED, recipients=frozenset({"KOR.KISA"}))
    assert isinstance(read(user(KISA), red), Allow)
    assert reasons(read(user(DHS), red)) == (
        "TLP:RED: organization USA.DHS not among the named recipients"
    )
    assert isinstance(read(user(CISA), red), Allow), "the originator wrote it"
    assert isinstance(read(user(KISA), label(tlp=Tlp.RED)), Deny), "nobody named"
    outside = label(tlp=Tlp.RED, recipients=frozenset({"GBR.NCSC"}))
    assert isinstance(read(user(NCSC), outside), Allow), "named recipients need not be parties"


def test_proprietary_caveats() -> None:
    propin = label(caveats=frozenset({"PROPIN"}))
    assert "PROPIN: only the originator USA.CISA" in reasons(read(user(DHS), propin))
    assert isinstance(read(user(CISA), propin), Allow)
    named = label(
        caveats=frozenset({"CISAPROPRIETARY"}),
        organizations=frozenset({"USA.DHS"}),
        recipients=frozenset({"KOR.KISA", "USA.DHS"}),
    )
    assert isinstance(read(user(DHS), named), Allow)
    assert isinstance(read(user(ACME), named), Deny)
    # KISA is a named recipient, but permitted organizations still exclude it.
    assert "permitted organizations" in reasons(read(user(KISA), named))
    via_recipients = label(caveats=frozenset({"PROPIN"}), recipients=frozenset({"KOR.KISA"}))
    assert isinstance(read(user(KISA), via_recipients), Allow)


def test_orcon() -> None:
    orcon = label(orcon=True, recipients=frozenset({"KOR.KISA"}))
    assert isinstance(read(user(KISA), orcon), Allow)
    assert "ORCON: organization USA.DHS is neither" in reasons(read(user(DHS), orcon))
    assert isinstance(read(user(DHS), orcon, approvals=frozenset({"USA.DHS"})), Allow)
    assert isinstance(read(user(CISA), orcon), Allow)
    node = Subject.node("dhs-node", "USA", DHS)
    assert isinstance(share(node, orcon), Deny)
    assert isinstance(share(node, orcon, approvals=frozenset({"USA.DHS"})), Allow)
    national = Subject.node("kor", "KOR", node_id="node:KEY")
    assert "ORCON: node kor (no organization)" in reasons(share(national, orcon))
    assert isinstance(share(national, orcon, approvals=frozenset({"KOR.KISA"})), Deny)
    assert isinstance(share(national, orcon, approvals=frozenset({"node:KEY"})), Allow)
    assert isinstance(share(national, orcon, approvals=frozenset({"node:OTHER"})), Deny)


def test_orcon_a_peer_node_no_longer_approves_is_shown_to_no_one() -> None:
    """Rule 4: what this node received and held under an approval that was revoked."""
    orcon = label(orcon=True, recipients=frozenset({"KOR.KISA"}))
    withdrawn = {"orcon_held": False}
    admin = Subject("admin", None, "KOR", TS, is_admin=True)
    for subject in (user(KISA), user(NIS), admin):
        reason = reasons(read(subject, orcon, approvals=frozenset({"KOR.NIS"}), **withdrawn))
        assert "no longer approves this node to hold it" in reason
    assert isinstance(read(Subject.system("cli"), orcon, **withdrawn), Allow)
    assert isinstance(read(user(KISA), label(), **withdrawn), Allow)


def test_match_only() -> None:
    match_only = label(match_only=True, recipients=frozenset({"KOR.KISA"}))
    assert isinstance(read(user(KISA), match_only), Allow)
    assert reasons(read(user(DHS), match_only)) == (
        "match-only: organization USA.DHS may not read it, only match its own values against "
        "it privately (`allyshare match`)"
    )
    assert isinstance(read(user(CISA), match_only), Allow)


def test_who_may_match_what_it_may_not_read() -> None:
    match_only = label(match_only=True, recipients=frozenset({"KOR.KISA"}))
    assert may_match(user(DHS), match_only, CISA, KR_US)
    # A recipient reads it, so it is not matched; the originator's organization neither.
    assert not may_match(user(KISA), match_only, CISA, KR_US)
    assert not may_match(user(CISA), match_only, CISA, KR_US)
    # Any other rule that keeps the reader out keeps it from matching too.
    noforn = label(match_only=True, noforn=True)
    assert may_match(user(DHS), noforn, CISA, KR_US)
    assert not may_match(user(KISA), noforn, CISA, KR_US)
    assert not may_match(user(NCSC), label(match_only=True, tlp=Tlp.GREEN), CISA, KR_US)
    assert not may_match(
        user(DHS, clearance=U), label(match_only=True, classification=S), CISA, KR_US
    )
    # Data the reader may read, or data without a match-only marking, is not matched.
    assert not may_match(user(DHS), label(), CISA, KR_US)
    # PROPIN is match-only where the agreement says so, and simply closed where it does not.
    propin = label(caveats=frozenset({"PROPIN"}), recipients=frozenset({"USA.ACME"}))
    assert may_match(user(DHS), propin, CISA, replace(KR_US, propin_match_only=True))
    assert not may_match(user(DHS), propin, CISA, KR_US)
    assert not may_match(user(ACME), propin, CISA, replace(KR_US, propin_match_only=True))


def test_share_follows_the_tlp_egress_rules() -> None:
    kr_node = Subject.node("kr-node", "KOR")
    kisa_node = Subject.node("kisa-node", "KOR", KISA)
    uk_node = Subject.node("uk-node", "GBR")
    wide = Agreement(
        "wide", 1, frozenset({"USA", "KOR"}), max_classification=TS, tlp_ceiling=Tlp.RED
    )
    assert isinstance(share(uk_node, label(tlp=Tlp.CLEAR), agreement=wide), Allow)
    assert isinstance(share(kr_node, label(tlp=Tlp.AMBER), agreement=wide), Allow)
    assert isinstance(share(uk_node, label(tlp=Tlp.AMBER), agreement=wide), Deny)
    strict = label(tlp=Tlp.AMBER_STRICT, recipients=frozenset({"KOR.KISA"}))
    assert isinstance(read(kr_node, strict, agreement=wide), Allow), "read: a party is enough"
    assert "not among the named recipients" in reasons(share(kr_node, strict, agreement=wide))
    assert isinstance(share(kisa_node, strict, agreement=wide), Allow)
    red = label(tlp=Tlp.RED, recipients=frozenset({"KOR.KISA"}))
    assert isinstance(share(kisa_node, red, agreement=wide), Allow)
    assert isinstance(share(kr_node, red, agreement=wide), Deny)


def test_share_respects_the_agreement_ceilings() -> None:
    kisa_node = Subject.node("kisa-node", "KOR", KISA, clearance=TS)
    red = label(tlp=Tlp.RED, recipients=frozenset({"KOR.KISA"}))
    assert reasons(share(kisa_node, red)) == (
        "TLP:RED is above the TLP:AMBER ceiling of agreement 'KR-US cyber'"
    )
    assert isinstance(read(user(KISA), red), Allow), "ceilings are for egress"
    secret = label(classification=TS)
    assert "classification TS is above the S ceiling" in reasons(share(kisa_node, secret))
    cisa_node = Subject.node("cisa-node", "USA", CISA, clearance=TS)
    assert isinstance(share(cisa_node, red), Allow), "back to its originator"


def test_share_respects_further_sharing_denials() -> None:
    kisa_node = Subject.node("kisa-node", "KOR", KISA)
    for scope in ("KOR", "KOR.KISA", "ALL"):
        stopped = label(share_denied=frozenset({scope, "FOREIGNGOV"}))
        assert reasons(share(kisa_node, stopped)) == f"ACS further sharing is denied to {scope}"
        assert isinstance(read(user(KISA), stopped), Allow), "further sharing is not reading"
    assert isinstance(share(kisa_node, label(share_denied=frozenset({"JPN"}))), Allow)


def test_every_reason_is_given() -> None:
    lab = label(
        classification=TS,
        tlp=Tlp.RED,
        nationalities=frozenset({"USA"}),
        noforn=True,
        unknown=(UNKNOWN,),
    )
    decision = read(user(KISA, clearance=S), lab)
    assert isinstance(decision, Deny) and len(decision.reasons) == 5


def test_unknown_actions_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        decide_label(user(KISA), label(), CISA, KR_US, "delete")  # type: ignore[arg-type]


# --- decide: object label, then granular markings ----------------------------------------------


def acs_marking(uuid_digit: str, **control_set: Any) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid_digit * 8}-1111-4111-8111-111111111111",
        "created": "2024-01-01T00:00:00.000Z",
        "extensions": {
            ACS_EXTENSION_ID: {"extension_type": "property-extension", "control_set": control_set}
        },
    }


NOFORN = acs_marking("1", classification="U", formal_determination=["NF"])
SECRET = acs_marking("2", classification="S")
KISA_ONLY = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--33333333-1111-4111-8111-111111111111",
    "created": "2024-01-01T00:00:00.000Z",
    "extensions": {
        ALLYSHARE_EXTENSION_ID: {
            "extension_type": "property-extension",
            "recipients": ["KOR.KISA"],
        },
        "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
            "extension_type": "property-extension",
            "tlp_2_0": "red",
        },
    },
}
REGISTRY = MarkingRegistry([NOFORN, SECRET, KISA_ONLY])


def indicator(granular: list[dict[str, Any]], refs: list[str] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
        "created": "2024-03-01T10:00:00.000Z",
        "modified": "2024-03-01T10:00:00.000Z",
        "name": "Kimsuky C2",
        "description": "seen by a source we protect",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2024-03-01T10:00:00Z",
        "kill_chain_phases": [
            {"kill_chain_name": "mitre-attack", "phase_name": "initial-access"},
            {"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"},
        ],
        "external_references": [
            {"source_name": "victim report", "url": "https://victim.example/r"},
            {"source_name": "blog", "url": "https://blog.example/p"},
        ],
        "object_marking_refs": refs or [Tlp.GREEN.marking_id],
    }
    if granular:
        obj["granular_markings"] = granular
    return obj


def target(obj: dict[str, Any], originator: Organization = CISA) -> Target:
    return Target(obj, originator, KR_US)


def test_fields_a_subject_may_not_see_are_removed() -> None:
    obj = indicator(
        [
            {"marking_ref": NOFORN["id"], "selectors": ["description", "external_references.[0]"]},
            {"marking_ref": KISA_ONLY["id"], "selectors": ["kill_chain_phases.[0]"]},
            {"marking_ref": Tlp.GREEN.marking_id, "selectors": ["external_references.[1].url"]},
        ]
    )
    kisa = decide(user(KISA), target(obj), REGISTRY)
    assert kisa == Redact(
        ("description", "external_references.[0]"),
        (
            "description: NOFORN: releasable to USA nationals only, not to nationality KOR",
            "external_references.[0]: NOFORN: releasable to USA nationals only, "
            "not to nationality KOR",
        ),
    )
    copy = apply(kisa, obj)
    assert copy is not None
    assert "description" not in copy
    assert copy["external_references"] == [{"source_name": "blog", "url": "https://blog.example/p"}]
    assert copy[REDACTED_PROPERTY] == ["description", "external_references.[0]"]
    assert copy["granular_markings"] == [
        {"marking_ref": KISA_ONLY["id"], "selectors": ["kill_chain_phases.[0]"]},
        {"marking_ref": Tlp.GREEN.marking_id, "selectors": ["external_references.[0].url"]},
    ]
    dhs = decide(user(DHS), target(obj), REGISTRY)
    assert isinstance(dhs, Redact) and dhs.selectors == ("kill_chain_phases.[0]",)
    assert dhs.reasons == (
        "kill_chain_phases.[0]: TLP:RED: organization USA.DHS not among the named recipients",
    )
    assert isinstance(decide(user(CISA), target(obj), REGISTRY), Allow)
    assert apply(decide(user(CISA), target(obj), REGISTRY), obj) is obj


def test_an_object_losing_a_required_property_is_withheld() -> None:
    obj = indicator([{"marking_ref": SECRET["id"], "selectors": ["pattern", "description"]}])
    decision = decide(user(KISA, clearance=C), target(obj), REGISTRY)
    assert isinstance(decision, Deny)
    assert decision.reasons[0].startswith(
        "withheld: removing description, pattern would leave an invalid object (pattern: "
    )
    assert "pattern: classification S: clearance C is lower" in decision.reasons
    assert apply(decision, obj) is None
    broken = indicator(
        [{"marking_ref": SECRET["id"], "selectors": ["kill_chain_phases.[1].phase_name"]}]
    )
    assert isinstance(decide(user(KISA, clearance=C), target(broken), REGISTRY), Deny)


def test_an_objects_own_markings_are_never_redacted_away() -> None:
    obj = indicator([{"marking_ref": SECRET["id"], "selectors": ["object_marking_refs"]}])
    decision = decide(user(KISA, clearance=C), target(obj), REGISTRY)
    assert isinstance(decision, Deny)
    assert "strip the object's own markings" in decision.reasons[0]


def test_unknown_granular_markings_hide_their_fields() -> None:
    obj = indicator([{"marking_ref": UNKNOWN, "selectors": ["description"]}])
    decision = decide(user(DHS), target(obj), REGISTRY)
    assert isinstance(decision, Redact) and UNKNOWN in decision.reasons[0]
    assert isinstance(decide(user(CISA), target(obj), REGISTRY), Allow)


def test_lang_granular_markings_are_ignored() -> None:
    obj = indicator([{"lang": "ko", "selectors": ["description"]}])
    assert decide(user(KISA), target(obj), REGISTRY) == Allow()


def test_decide_is_the_label_decision_then_granular_redaction() -> None:
    obj = indicator([{"marking_ref": NOFORN["id"], "selectors": ["description"]}], [SECRET["id"]])
    subject = user(KISA, clearance=C)
    first = decide_label(subject, object_label(obj, REGISTRY), CISA, KR_US)
    assert isinstance(first, Deny)
    assert decide(subject, target(obj), REGISTRY) == first
    assert decide(Subject.system(), target(obj), REGISTRY) == decide_label(
        Subject.system(), object_label(obj, REGISTRY), CISA, KR_US
    )


def test_unreadable_granular_markings_withhold_the_object() -> None:
    for granular in (
        [{"selectors": ["description"]}],
        ["x"],
        [{"marking_ref": 3, "selectors": ["name"]}],
    ):
        obj = {**indicator([]), "granular_markings": granular}
        decision = decide(user(DHS), target(obj), REGISTRY)
        assert decision == Deny(("withheld: its granular_markings cannot be read",))
    obj = {**indicator([]), "granular_markings": "x"}
    assert isinstance(decide(user(DHS), target(obj), REGISTRY), Deny)
    assert isinstance(decide(Subject.system(), target(obj), REGISTRY), Allow)


def test_apply_recomputes_a_redaction_and_fails_closed() -> None:
    obj = indicator([{"marking_ref": NOFORN["id"], "selectors": ["description"]}])
    assert apply(Redact(("pattern",), ()), obj) is None
    assert apply(Redact(("object_marking_refs",), ()), obj) is None
    assert apply(Allow(), dict(obj)) == obj
