"""Human-readable output for ``allyshare policy explain`` and the web UI.

Denials explain themselves (STYLE: checks return ``Success | Failure(reason)``); these
functions only lay the decision and the label out as lines.
"""

from __future__ import annotations

from allyshare.policy.decision import Allow, Decision, Deny
from allyshare.policy.markings import AccessLabel

__all__ = ["describe_label", "explain"]


def explain(decision: Decision) -> list[str]:
    """One headline, then one indented line per reason or note."""
    if isinstance(decision, Allow):
        return ["allow: the whole object", *(f"  - {note}" for note in decision.notes)]
    if isinstance(decision, Deny):
        return ["deny: the object is not shown", *(f"  - {reason}" for reason in decision.reasons)]
    return [
        f"redact: shown without {', '.join(decision.selectors)}",
        *(f"  - {reason}" for reason in decision.reasons),
    ]


def describe_label(label: AccessLabel) -> str:
    """The label as a banner line, e.g. ``C//REL TO KOR, USA; TLP:AMBER; ORCON``."""
    parts = [label.classification.name]
    if label.nationalities is not None:
        parts[0] += "//REL TO " + ", ".join(sorted(label.nationalities))
    if label.noforn:
        parts[0] += "//NOFORN"
    if label.tlp is not None:
        parts.append(label.tlp.label)
    if label.organizations is not None:
        parts.append("organizations " + ", ".join(sorted(label.organizations)))
    parts.extend(sorted(label.caveats))
    if label.recipients is not None:
        parts.append("recipients " + ", ".join(sorted(label.recipients)))
    if label.orcon:
        parts.append("ORCON")
    if label.match_only:
        parts.append("match-only")
    for rule in sorted(label.deny_rules, key=lambda rule: rule.action):
        parts.append(f"deny {rule.action}")
    if label.share_denied:
        parts.append("no further sharing to " + ", ".join(sorted(label.share_denied)))
    parts.extend(f"statement: {text}" for text in sorted(label.statements))
    if label.unknown:
        parts.append("UNKNOWN " + ", ".join(label.unknown))
    if label.writer_only:
        parts.append("set apart: writer only")
    return "; ".join(parts)
