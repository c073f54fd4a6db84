"""Where the pure access decision meets stored data: one reader's view of a collection.

The store keeps an access key per version (originator plus marking refs). A `View` judges
the reader once per key with `allyshare.policy.decide_label`: keys the reader fails are
handed to the store as a prefilter, so hidden versions cost an index entry, not a row, and
pages come back full. Keys whose granular markings the reader fails somewhere are marked
`checked`: only their versions are parsed and passed through `decide`/`apply`, which
removes exactly the fields the reader may not see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import orjson

from allyshare.policy import (
    AccessLabel,
    Action,
    Agreement,
    Deny,
    MarkingRegistry,
    Organization,
    Subject,
    Target,
    apply,
    decide,
    decide_label,
    label_of,
)
from allyshare.storage import AccessKey, StoredVersion


@dataclass(frozen=True)
class View:
    """What one subject may see in one collection; ``visible`` None means everything."""

    subject: Subject
    agreement: Agreement
    registry: MarkingRegistry
    visible: frozenset[int] | None
    checked: frozenset[int]
    originators: Mapping[int, Organization]
    judged_up_to: int = 0
    """Keys are append-only with rising seqs: a view judged up to here can be extended."""

    @property
    def action(self) -> Action:
        return action_of(self.subject)

    def body(self, item: StoredVersion) -> bytes | None:
        """The version as the subject may read it, or None when it is withheld."""
        if item.label not in self.checked:
            return item.body
        obj = orjson.loads(item.body)
        target = Target(obj, self.originators[item.label], self.agreement)
        shown = apply(decide(self.subject, target, self.registry, self.action), obj)
        return None if shown is None else orjson.dumps(shown)


def action_of(subject: Subject) -> Action:
    """A peer node reads to take the data away: that is egress, decided as ``share``."""
    return "share" if subject.kind == "node" else "read"


def build_view(
    subject: Subject,
    agreement: Agreement,
    registry: MarkingRegistry,
    keys: Mapping[int, AccessKey],
    organization_of: Callable[[str], Organization],
    earlier: View | None = None,
) -> View:
    """Judge the subject against every access key once; with an ``earlier`` view of the same
    subject, agreement and registry, only against the keys added since."""
    if subject.kind == "system":
        return View(subject, agreement, registry, None, frozenset(), {})
    action = action_of(subject)
    label = cache(lambda refs: label_of(refs, registry))
    organization_of = cache(organization_of)
    visible: set[int] = set(earlier.visible or ()) if earlier else set()
    checked: set[int] = set(earlier.checked) if earlier else set()
    originators: dict[int, Organization] = dict(earlier.originators) if earlier else {}
    start = earlier.judged_up_to if earlier else 0
    for seq, key in keys.items():
        if seq <= start:
            continue
        originator = organization_of(key.originator)

        def fails(marking: AccessLabel, originator: Organization = originator) -> bool:
            decision = decide_label(subject, marking, originator, agreement, action)
            return isinstance(decision, Deny)

        if fails(label(key.marking_refs)):
            continue
        visible.add(seq)
        if any(fails(label((ref,))) for ref in key.granular_refs):
            checked.add(seq)
            originators[seq] = originator
    return View(
        subject,
        agreement,
        registry,
        frozenset(visible),
        frozenset(checked),
        originators,
        max(keys, default=start),
    )
