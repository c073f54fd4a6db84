"""decide/apply against an independent reference, over random markings, subjects and selectors.

The reference (tests/support/reference.py) is written from DESIGN section 3 (and the decisions
documented in allyshare.policy.decision) in the plainest style, sharing nothing with the
implementation but the input dataclasses. It never reads the marking JSON: it reads `Spec`,
what the generator meant, while the implementation parses the marking definitions built from
it. Redaction is done differently too: flatten the object to its leaves, drop the removed
ones, rebuild.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from allyshare.policy import (
    Agreement,
    Allow,
    Classification,
    Deny,
    MarkingRegistry,
    Redact,
    Subject,
    SubjectKind,
    Target,
    Tlp,
    apply,
    decide,
    decide_label,
    object_label,
)
from allyshare.stix.validation import check_object

from support.reference import (
    COUNTRIES,
    ORG_IDS,
    ORGANIZATIONS,
    REDACTED,
    Near,
    Spec,
    definition,
    indicators,
    reference_visible,
    specs,
)


@st.composite
def subjects(draw: st.DrawFn) -> Subject:
    users: list[SubjectKind] = ["user"] * 6
    nodes: list[SubjectKind] = ["node"] * 4
    kinds: list[SubjectKind] = [*users, *nodes, "system"]
    kind = draw(st.sampled_from(kinds))
    organization = draw(st.none() | st.sampled_from(ORGANIZATIONS))
    if organization is not None and draw(st.integers(0, 3)) > 0:
        nationality = organization.country
    else:
        nationality = draw(st.sampled_from(COUNTRIES))
    clearance = draw(st.sampled_from([*Classification, Classification.TS, Classification.TS]))
    return Subject(
        "someone", organization, nationality, clearance, frozenset(), kind, draw(st.booleans())
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, ...]:
    subject = draw(subjects())
    near = Near(subject.nationality, subject.organization.id if subject.organization else None)
    generated = [draw(specs(number, near)) for number in range(1, draw(st.integers(1, 6)) + 1)]
    by_ref = {spec.ref: spec for spec in generated}
    agreement = Agreement(
        "random",
        1,
        frozenset(near.names(draw, COUNTRIES, near.country)),
        frozenset(draw(st.lists(st.sampled_from(ORG_IDS), max_size=3))),
        max_classification=draw(st.sampled_from([*Classification, Classification.TS])),
        tlp_ceiling=draw(
            st.sampled_from([Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED, Tlp.RED])
        ),
    )
    approvals = frozenset(
        near.names(draw, ORG_IDS, near.organization) if draw(st.booleans()) else []
    )
    return (
        subject,
        draw(indicators(list(by_ref))),
        by_ref,
        draw(st.sampled_from(ORGANIZATIONS)),
        agreement,
        draw(st.sampled_from(["read", "share"])),
        approvals,
    )


def registry_for(by_ref: dict[str, Spec]) -> MarkingRegistry:
    return MarkingRegistry(
        found for spec in by_ref.values() if (found := definition(spec)) is not None
    )


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_decide_matches_the_reference(scenario: tuple[Any, ...]) -> None:
    subject, obj, by_ref, originator, agreement, action, approvals = scenario
    check_object(obj)  # the generator makes valid objects only
    registry = registry_for(by_ref)
    target = Target(obj, originator, agreement, approvals)

    decision = decide(subject, target, registry, action)
    expected = reference_visible(subject, obj, by_ref, originator, agreement, action, approvals)
    assert apply(decision, obj) == expected
    event(type(decision).__name__ + (" (withheld)" if "withheld" in str(decision) else ""))
    if expected is None:
        assert isinstance(decision, Deny) and decision.reasons
    elif expected is obj:
        assert isinstance(decision, Allow)
    else:
        assert isinstance(decision, Redact) and decision.reasons
        assert list(decision.selectors) == expected[REDACTED]

    # decide = decide_label on the object label, then granular redaction.
    first = decide_label(
        subject, object_label(obj, registry), originator, agreement, action, approvals
    )
    if isinstance(first, Deny) or isinstance(decision, Allow):
        assert decision == first


@st.composite
def single_markings(draw: st.DrawFn) -> tuple[Any, ...]:
    """One ACS or allyshare marking on a plain object: each rule decides more often alone."""
    subject = draw(subjects())
    near = Near(subject.nationality, subject.organization.id if subject.organization else None)
    spec = draw(specs(1, near).filter(lambda spec: spec.kind in ("acs", "allyshare")))
    agreement = Agreement(
        "random",
        1,
        frozenset(near.names(draw, COUNTRIES, near.country)),
        max_classification=draw(st.sampled_from(list(Classification))),
        tlp_ceiling=Tlp.RED,
    )
    approvals = frozenset(
        near.names(draw, ORG_IDS, near.organization) if draw(st.booleans()) else []
    )
    obj = {
        "type": "note",
        "spec_version": "2.1",
        "id": "note--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
        "created": "2024-03-01T10:00:00.000Z",
        "modified": "2024-03-01T10:00:00.000Z",
        "content": "x",
        "object_refs": ["indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8"],
        "object_marking_refs": [spec.ref],
    }
    originator = draw(st.sampled_from(ORGANIZATIONS))
    return (
        subject,
        obj,
        {spec.ref: spec},
        originator,
        agreement,
        draw(st.sampled_from(["read", "share"])),
        approvals,
    )


@settings(max_examples=1000, deadline=None)
@given(single_markings())
def test_single_markings_match_the_reference(scenario: tuple[Any, ...]) -> None:
    subject, obj, by_ref, originator, agreement, action, approvals = scenario
    registry = registry_for(by_ref)
    decision = decide(subject, Target(obj, originator, agreement, approvals), registry, action)
    expected = reference_visible(subject, obj, by_ref, originator, agreement, action, approvals)
    assert (expected is not None) == isinstance(decision, Allow), decision
