"""The access decision: markings, subjects and agreements in, allow/deny/redact out.

Pure code (DESIGN section 3; STYLE "Policy never imports storage"): no I/O, no clock, only
the standard library, `allyshare.stix` and `allyshare.errors`. The service builds the
inputs from its store and the request, calls `decide` (or `decide_label` once per distinct
label for its SQL prefilter) and `apply`, and writes the audit entry.

The allyshare extension definition ships next to this module as ``allyshare-extension.json``
(read it with ``importlib.resources.files("allyshare.policy")``); its id is
`ALLYSHARE_EXTENSION_ID`.
"""

from allyshare.policy.decision import (
    ACS_ACTIONS,
    Action,
    Allow,
    Decision,
    Deny,
    Redact,
    apply,
    decide,
    decide_label,
    may_match,
    without_denied,
)
from allyshare.policy.explain import describe_label, explain
from allyshare.policy.levels import TLP_MARKING_IDS, Classification, Tlp
from allyshare.policy.markings import (
    ACS_EXTENSION_ID,
    ALLYSHARE_EXTENSION_ID,
    ANONYMOUS,
    TLP2_EXTENSION_ID,
    WRITER_ONLY,
    AccessLabel,
    DenyRule,
    MarkingRegistry,
    check_marking_definition,
    label_of,
    object_label,
    shown_label,
)
from allyshare.policy.selectors import REDACTED_PROPERTY, redact
from allyshare.policy.subjects import Agreement, Organization, Subject, SubjectKind, Target
from allyshare.policy.writes import WriteChecker, check_write

__all__ = [
    "ACS_ACTIONS",
    "ACS_EXTENSION_ID",
    "ALLYSHARE_EXTENSION_ID",
    "ANONYMOUS",
    "REDACTED_PROPERTY",
    "TLP2_EXTENSION_ID",
    "TLP_MARKING_IDS",
    "WRITER_ONLY",
    "AccessLabel",
    "Action",
    "Agreement",
    "Allow",
    "Classification",
    "Decision",
    "Deny",
    "DenyRule",
    "MarkingRegistry",
    "Organization",
    "Redact",
    "Subject",
    "SubjectKind",
    "Target",
    "Tlp",
    "WriteChecker",
    "apply",
    "check_marking_definition",
    "check_write",
    "decide",
    "decide_label",
    "describe_label",
    "explain",
    "label_of",
    "may_match",
    "object_label",
    "redact",
    "shown_label",
    "without_denied",
]
