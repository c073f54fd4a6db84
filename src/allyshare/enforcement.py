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

    def body(self, item: StoredVersion) -> bytes | None:
        """The version as the subject may read it, or None when it is withheld."""
        if item.label not in self.checked:
            return item.body
        obj = orjson.loads(item.body)
        target = Target(obj, self.originators[item.label], self.agreement)
        shown = apply(decide(self.subject, target, self.registry), obj)
        return None if shown is None else orjson.dumps(shown)


def build_view(
    subject: Subject,
    agreement: Agreement,
    registry: MarkingRegistry,
    keys: Mapping[int, AccessKey],
    organization_of: Callable[[str], Organization],
) -> View:
    """Judge the subject against every access key once."""
    if subject.kind == "system":
        return View(subject, agreement, registry, None, frozenset(), {})
    label = cache(lambda refs: label_of(refs, registry))
    visible: set[int] = set()
    checked: set[int] = set()
    originators: dict[int, Organization] = {}
    for seq, key in keys.items():
        originator = organization_of(key.originator)

        def fails(marking: AccessLabel, originator: Organization = originator) -> bool:
            return isinstance(decide_label(subject, marking, originator, agreement), Deny)

        if fails(label(key.marking_refs)):
            continue
        visible.add(seq)
        if any(fails(label((ref,))) for ref in key.granular_refs):
            checked.add(seq)
            originators[seq] = originator
    return View(subject, agreement, registry, frozenset(visible), frozenset(checked), originators)
