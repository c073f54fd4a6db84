"""The access decision: may this subject read (or be sent) this object version?

DESIGN section 3 is the specification; this docstring states it as implemented.
`decide` is pure: no I/O, no clock, the same answer for the same inputs. It returns
`Allow`, `Deny` (with reasons) or `Redact` (the selectors removed, with reasons), and
`decide` = `decide_label` on the object's label, then granular redaction.

Object-level rules (`decide_label`), all evaluated so a denial lists every reason:

1. A ``system`` subject is allowed; nothing else bypasses the rules.
2. Unknown markings (see `allyshare.policy.markings`): denied, except to the originator's
   organization and to node admins (``is_admin``).
3. Clearance: the subject's clearance is at least the classification. Binds everyone.
4. ORCON content a peer node sent binds everyone while the originator's node no longer
   approves this node to hold it (``Target.orcon_held``, its approval revoked): this node
   keeps it, and shows it to no one until an approval is in force again.
5. ACS ``access_privilege`` deny rules bind everyone: a rule denies when its action governs
   the requested action (`ACS_ACTIONS`: ``DSPLY`` and ``ALL`` govern ``read`` and
   ``share``; other ACS actions such as ``IDSRC`` or ``INTEL`` govern later use, are kept in
   the label and not decided here) and its scope covers the subject (nationality among its
   ``permitted_nationalities`` and organization among its ``permitted_organizations``,
   ``ALL`` or absent meaning everyone).

The originator's own organization wrote the data, so the remaining rules do not apply to it:

6. Nationality (a peer node's: its country) among ``permitted_nationalities`` when given.
7. NOFORN: nationality equals the originator organization's country.
8. Organization among ``permitted_organizations`` when given; a subject without an
   organization fails.
9. TLP (none = CLEAR): CLEAR allows. GREEN, AMBER and AMBER+STRICT need a party of the
   target's agreement: the subject's organization is a party (by id or by country); a
   peer node is a party when its country is a party country or its organization is a
   party. RED needs the subject's organization among the allyshare ``recipients``.
   For ``share`` (federation egress to a peer): GREEN and AMBER go only to agreement
   parties; AMBER+STRICT, like RED, only to named recipients.
10. Proprietary caveats (``CISAPROPRIETARY``, ``PROPIN``...): the subject's organization is
   among the organizations the markings name (permitted organizations and recipients).
11. ORCON (allyshare): every organization outside the originator's needs to be a named
    recipient or to hold the originator's approval (``Target.orcon_approvals``). A peer
    node passes as its own organization when it has one, or with an approval naming the
    node (its ``node_id``): naming organizations that a node serves is not consent to move
    the data to that node.
12. Match-only (allyshare): only named recipients read; everyone else may only match
    (DESIGN section 7, decided elsewhere).
13. For ``share`` only: an ACS ``further_sharing`` deny rule whose scope names the peer's
    country, its organization or ``ALL`` stops it; and the agreement's ceilings hold
    (classification at most ``max_classification``, TLP at most ``tlp_ceiling``).
14. Set apart (`allyshare.policy.markings.WRITER_ONLY`, ``Target.writer_only``): a version
    whose writer reused the id of another originator's object it may not see is for the
    writer's organization only, so it neither shows that object's existence to its writer
    nor passes itself off as a version of that object to anyone else.

Granular markings (STIX 2.1 section 7.2.3): for each ``granular_markings`` entry with a
``marking_ref``, the subject must pass that marking's own label under the rules above to see
what the entry selects; ``lang`` entries are ignored. Failing content is removed
(`allyshare.policy.selectors`), and the copy must still be a valid object
(`allyshare.stix.validation.check_object`): if a required property would go, or the removal
would strip the object's own markings, the whole object is withheld (`Deny`).

Where DESIGN leaves the rule open, the choice made (what a CERT analyst would expect):

- Whether the subject may read the collection at all is the caller's check, made before.
- The originator's organization is exempt from every rule after 5, TLP party checks and
  egress ceilings included: it wrote the data. Clearance and ACS deny rules still bind it.
- ``is_admin`` only lifts rule 2: an admin sees unknown markings to fix them, nothing more.
- An object without TLP is treated as CLEAR; the collection's agreement already limits who
  reaches it.
- RED recipients need not be agreement parties: the originator named them.
- Named-organization checks (RED, AMBER+STRICT egress, proprietary, ORCON, match-only)
  need an organization: a subject or peer node without one is never named.
- ORCON and match-only restrict reading as well as sharing: a multi-tenant node would
  otherwise hand ORCON data to every member, and match-only data would not be match-only.
- A granular marking is judged on its own label; the object-level label has already passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

from allyshare.errors import InvalidObject
from allyshare.policy.levels import Tlp
from allyshare.policy.markings import AccessLabel, MarkingRegistry, label_of, object_label
from allyshare.policy.selectors import redact
from allyshare.policy.subjects import Agreement, Organization, Subject, Target
from allyshare.stix.validation import check_object

__all__ = [
    "ACS_ACTIONS",
    "Action",
    "Allow",
    "Decision",
    "Deny",
    "Redact",
    "apply",
    "decide",
    "decide_label",
    "without_denied",
]

Action = Literal["read", "share"]
"""``read``: a subject of this node sees the object; ``share``: it is sent to a peer node."""

ACS_ACTIONS: Mapping[str, frozenset[Action]] = MappingProxyType(
    {
        "DSPLY": frozenset({"read", "share"}),
        "ALL": frozenset({"read", "share"}),
    }
)
"""Which of our actions an ACS ``privilege_action`` governs (rule 5)."""


@dataclass(frozen=True)
class Allow:
    """The subject may see the whole object; ``notes`` say what was taken into account."""

    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deny:
    """The subject may not see the object at all, for these reasons."""

    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Redact:
    """The subject may see the object without what these selectors select."""

    selectors: tuple[str, ...]
    reasons: tuple[str, ...]


Decision = Allow | Deny | Redact


def _who(subject: Subject) -> str:
    if subject.organization is not None:
        return f"organization {subject.organization.id}"
    return f"{subject.kind} {subject.name} (no organization)"


def _names(values: frozenset[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _is_party(subject: Subject, agreement: Agreement) -> bool:
    if subject.kind == "node" and subject.nationality in agreement.party_countries:
        return True
    return subject.organization is not None and agreement.has_party(subject.organization)


def _org_in(subject: Subject, names: frozenset[str] | None) -> bool:
    return subject.organization is not None and subject.organization.id in (names or ())


def _orcon_released(subject: Subject, label: AccessLabel, approvals: frozenset[str]) -> bool:
    if subject.node_id is not None and subject.node_id in approvals:
        return True
    return _org_in(subject, (label.recipients or frozenset()) | approvals)


def _tlp_problem(
    subject: Subject, label: AccessLabel, agreement: Agreement, action: Action
) -> str | None:
    tlp = label.tlp or Tlp.CLEAR
    if tlp == Tlp.CLEAR:
        return None
    if tlp == Tlp.RED or (tlp == Tlp.AMBER_STRICT and action == "share"):
        if _org_in(subject, label.recipients):
            return None
        return f"{tlp.label}: {_who(subject)} not among the named recipients"
    if _is_party(subject, agreement):
        return None
    return (
        f"{tlp.label}: {_who(subject)} is not a party of agreement "
        f"{agreement.name!r} v{agreement.version}"
    )


def _scope_covers(
    subject: Subject, nationalities: frozenset[str] | None, organizations: frozenset[str] | None
) -> bool:
    return (nationalities is None or subject.nationality in nationalities) and (
        organizations is None or _org_in(subject, organizations)
    )


def _release_problems(
    subject: Subject,
    label: AccessLabel,
    originator: Organization,
    agreement: Agreement,
    action: Action,
    approvals: frozenset[str],
) -> list[str]:
    """Rules 6-14, which the originator's own organization is exempt from."""
    problems = []
    if label.nationalities is not None and subject.nationality not in label.nationalities:
        problems.append(
            f"REL TO {_names(label.nationalities)}: nationality {subject.nationality} "
            "is not permitted"
        )
    if label.noforn and subject.nationality != originator.country:
        problems.append(
            f"NOFORN: releasable to {originator.country} nationals only, "
            f"not to nationality {subject.nationality}"
        )
    if label.organizations is not None and not _org_in(subject, label.organizations):
        problems.append(
            f"permitted organizations {_names(label.organizations)}: {_who(subject)} "
            "is not among them"
        )
    tlp = _tlp_problem(subject, label, agreement, action)
    if tlp is not None:
        problems.append(tlp)
    if label.proprietary and not _org_in(subject, label.named_organizations):
        problems.append(
            f"{_names(label.caveats)}: only the originator {originator.id} and the "
            f"organizations it names ({_names(label.named_organizations)}) may see it; "
            f"{_who(subject)} is not named"
        )
    if label.orcon and not _orcon_released(subject, label, approvals):
        problems.append(
            f"ORCON: {_who(subject)} is neither a named recipient nor approved by the "
            f"originator {originator.id}"
        )
    if label.match_only and not _org_in(subject, label.recipients):
        problems.append(
            f"match-only: {_who(subject)} may not read it, only match its own values against "
            "it privately (`allyshare match`)"
        )
    if label.writer_only:
        problems.append(
            f"set apart for its writer {originator.id}: it reuses the id of an object of "
            "another originator"
        )
    if action == "share":
        scope = {subject.nationality, "ALL"}
        if subject.organization is not None:
            scope.add(subject.organization.id)
        stopped = scope & label.share_denied
        if stopped:
            problems.append(f"ACS further sharing is denied to {_names(frozenset(stopped))}")
        if label.classification > agreement.max_classification:
            problems.append(
                f"classification {label.classification.name} is above the "
                f"{agreement.max_classification.name} ceiling of agreement {agreement.name!r}"
            )
        if (label.tlp or Tlp.CLEAR) > agreement.tlp_ceiling:
            problems.append(
                f"{(label.tlp or Tlp.CLEAR).label} is above the {agreement.tlp_ceiling.label} "
                f"ceiling of agreement {agreement.name!r}"
            )
    return problems


def decide_label(
    subject: Subject,
    label: AccessLabel,
    originator: Organization,
    agreement: Agreement,
    action: Action = "read",
    approvals: frozenset[str] = frozenset(),
    orcon_held: bool = True,
) -> Allow | Deny:
    """The object-level decision (rules 1-14) for one label; see the module docstring."""
    if action not in ("read", "share"):
        raise ValueError(f"unknown action {action!r}; use read or share")
    if subject.kind == "system":
        return Allow(("system subject: markings are not evaluated for the node's own work",))
    own = subject.organization is not None and subject.organization.id == originator.id
    problems: list[str] = []
    notes: list[str] = []
    if label.unknown:
        refs = ", ".join(label.unknown)
        if own or subject.is_admin:
            whom = "the originator's organization" if own else "a node admin"
            notes.append(f"unknown marking {refs}: shown to {whom} only")
        else:
            problems.append(
                f"unknown marking {refs}: only the originator's organization "
                f"{originator.id} and node admins may see it"
            )
    if label.orcon and not orcon_held:
        problems.append(
            "ORCON: received from the originator's node, which no longer approves this node "
            "to hold it (its approval was revoked): kept, shown to no one"
        )
    if subject.clearance < label.classification:
        problems.append(
            f"classification {label.classification.name}: clearance "
            f"{subject.clearance.name} is lower"
        )
    for rule in sorted(label.deny_rules, key=lambda rule: rule.action):
        governs = ACS_ACTIONS.get(rule.action, frozenset())
        if action in governs and _scope_covers(subject, rule.nationalities, rule.organizations):
            problems.append(f"ACS access privilege {rule.action} is denied to {_who(subject)}")
    if own:
        notes.append(
            f"{originator.id} is the originator: releasability, TLP and caveats do not limit it"
        )
    else:
        problems.extend(_release_problems(subject, label, originator, agreement, action, approvals))
    if problems:
        return Deny(tuple(problems))
    notes.extend(f"statement: {text}" for text in sorted(label.statements))
    return Allow(tuple(notes))


def may_match(
    subject: Subject,
    label: AccessLabel,
    originator: Organization,
    agreement: Agreement,
    approvals: frozenset[str] = frozenset(),
    orcon_held: bool = True,
    action: Action = "read",
) -> bool:
    """Whether the subject may test its own values against an object it may not read.

    It may when the object is match-only for it (the allyshare marking's ``match_only`` and
    the subject not a named recipient, or PROPIN under an agreement with
    ``propin_match_only`` and the subject not named) and nothing else stops it: with those
    restrictions set aside, the decision would let it read (for a peer node, ``share``: have
    it sent). Data it may read is not
    matched (a lookup finds it), and data another rule keeps from it (NOFORN of another
    country, a non-party, a classification above its clearance) matches nothing.
    """
    match_only = label.match_only and not _org_in(subject, label.recipients)
    propin = (
        agreement.propin_match_only
        and label.proprietary
        and not _org_in(subject, label.named_organizations)
    )
    own = subject.organization is not None and subject.organization.id == originator.id
    if not (match_only or propin) or own or subject.kind == "system":
        return False
    relaxed = replace(
        label,
        match_only=label.match_only and not match_only,
        caveats=frozenset() if propin else label.caveats,
    )
    decision = decide_label(subject, relaxed, originator, agreement, action, approvals, orcon_held)
    return isinstance(decision, Allow)


def _granular_entries(obj: Mapping[str, Any]) -> list[tuple[str, list[str]]] | None:
    """(marking_ref, selectors) of each marking entry; None if the property is unreadable."""
    entries = obj.get("granular_markings", [])
    if not isinstance(entries, list):
        return None
    found = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            return None
        selectors = entry.get("selectors")
        if (
            not isinstance(selectors, list)
            or not selectors
            or not all(isinstance(selector, str) and selector for selector in selectors)
        ):
            return None
        ref = entry.get("marking_ref")
        if ref is None and "lang" in entry:
            continue
        if not isinstance(ref, str):
            return None
        found.append((ref, selectors))
    return found


def decide(
    subject: Subject, target: Target, registry: MarkingRegistry, action: Action = "read"
) -> Decision:
    """May the subject see the target object, whole, redacted or not at all."""
    whole = object_label(target.obj, registry)
    if target.writer_only:
        whole = whole.meet(AccessLabel(writer_only=True))
    first = decide_label(
        subject,
        whole,
        target.originator,
        target.agreement,
        action,
        target.orcon_approvals,
        target.orcon_held,
    )
    if isinstance(first, Deny) or subject.kind == "system":
        return first
    entries = _granular_entries(target.obj)
    if entries is None:
        return Deny(("withheld: its granular_markings cannot be read",))
    verdicts: dict[str, Allow | Deny] = {}
    removed: dict[str, None] = {}
    reasons: list[str] = []
    for ref, entry_selectors in entries:
        verdict = verdicts.get(ref)
        if verdict is None:
            verdict = decide_label(
                subject,
                label_of([ref], registry),
                target.originator,
                target.agreement,
                action,
                target.orcon_approvals,
                target.orcon_held,
            )
            verdicts[ref] = verdict
        if isinstance(verdict, Deny):
            for selector in entry_selectors:
                removed[selector] = None
                reasons.extend(f"{selector}: {reason}" for reason in verdict.reasons)
    if not removed:
        return first
    selectors = tuple(sorted(removed))
    problem = _redaction_problem(target.obj, selectors)
    if problem is not None:
        return Deny((problem, *reasons))
    return Redact(selectors, tuple(reasons))


def without_denied(obj: Mapping[str, Any], denied_refs: frozenset[str]) -> Mapping[str, Any] | None:
    """`apply` of `decide`, for a subject whose verdict on every marking is known beforehand:
    it passes the object's own markings and fails exactly the granular ``denied_refs``. The
    object itself when nothing it holds is denied, else its redacted copy, or None when that
    copy would be invalid.

    A reader's verdict on a marking is the same for every object of one access key, so a
    view judges the markings once per key and redacts each object once; `decide` then
    `apply` would judge and redact every object twice over.
    """
    entries = _granular_entries(obj)
    if entries is None:
        return None
    removed = {
        selector: None
        for ref, entry_selectors in entries
        if ref in denied_refs
        for selector in entry_selectors
    }
    if not removed:
        return obj
    try:
        copy = redact(obj, tuple(sorted(removed)))
        check_object(copy)
    except InvalidObject:
        return None
    return copy


def _redaction_problem(obj: Mapping[str, Any], selectors: tuple[str, ...]) -> str | None:
    try:
        check_object(redact(obj, selectors))
    except InvalidObject as error:
        return (
            f"withheld: removing {', '.join(selectors)} would leave an invalid object "
            f"({error.prop}: {error.reason})"
        )
    return None


def apply(decision: Decision, obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The object as the subject may see it: itself, a redacted copy, or None.

    An allowed dict is returned as it is, not copied; a redacted copy shares its unchanged
    parts with the original. Treat both as read-only.
    """
    if isinstance(decision, Allow):
        return obj if isinstance(obj, dict) else dict(obj)
    if isinstance(decision, Deny):
        return None
    try:
        copy = redact(obj, decision.selectors)
        check_object(copy)
    except InvalidObject:
        return None
    return copy
