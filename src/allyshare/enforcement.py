"""Where the pure access decision meets stored data: one reader's view of a collection.

The store keeps an access key per version (originator plus marking refs). A `View` judges
the reader once per key with `allyshare.policy.decide_label`: keys the reader fails are
handed to the store as a prefilter, so hidden versions cost an index entry, not a row, and
pages come back full. Keys whose granular markings the reader fails somewhere are marked
`checked`: only their versions are parsed and passed through `decide`/`apply`, which
removes exactly the fields the reader may not see. ORCON keys the reader fails are `checked`
too when an approval names the reader somewhere: the approvals are per object, so those
versions are judged one by one with the approvals their originator's node signed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from allyshare.federation.approvals import APPROVAL_TYPE, Approvals, approval_names
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
class Releases:
    """The ORCON approvals in force, and who originated what: approvals count only when
    signed by the originator's node, for the originator the version records. ``node_of``
    maps a recorded originator to its node's signing key (None: not known); ``public_of``
    gives the originator as its node tells it (`allyshare.service.Node.public_originator`),
    which is how approvals name it."""

    approvals: Approvals
    node_of: Callable[[str], str | None]
    public_of: Callable[[str, bytes], str]
    own_node: str | None = None
    seal_of: Callable[[str], str] = str

    def granted(self, object_id: str, recorded_originator: str, body: bytes) -> frozenset[str]:
        """The approvals in force for the object, given the version's recorded originator:
        this node's own approvals by their seal, a peer's by the originator it tells."""
        if not self.approvals.concern(object_id):
            return frozenset()
        node = self.node_of(recorded_originator)
        if node is not None and node == self.own_node:
            seal = self.seal_of(recorded_originator)
            return self.approvals.granted(object_id, node, lambda a: a.originator_seal == seal)
        told = self.public_of(recorded_originator, body)
        return self.approvals.granted(object_id, node, lambda a: a.originator == told)


NO_RELEASES = Releases(Approvals(()), lambda _originator: None, lambda originator, _body: "")


@dataclass(frozen=True)
class View:
    """What one subject may see in one collection; ``visible`` None means everything."""

    subject: Subject
    agreement: Agreement
    registry: MarkingRegistry
    visible: frozenset[int] | None
    checked: frozenset[int]
    originators: Mapping[int, tuple[str, Organization]]
    """For each checked key: the originator it records, and that originator's organization."""
    releases: Releases = NO_RELEASES
    approvable: frozenset[int] = frozenset()
    """Keys the subject passes only where an approval names it: readable per object, but not
    visible as a whole (what may be deleted, for instance, excludes them)."""
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
        recorded, originator = self.originators[item.label]
        approved = self.releases.granted(released_by(obj), recorded, item.body)
        target = Target(obj, originator, self.agreement, approved)
        shown = apply(decide(self.subject, target, self.registry, self.action), obj)
        return None if shown is None else orjson.dumps(shown)


def released_by(obj: Mapping[str, Any]) -> str:
    """The object whose approvals release this one: itself, or for an approval the object it
    approves (an approval goes where its object goes)."""
    if obj.get("type") == APPROVAL_TYPE and isinstance(obj.get("object_ref"), str):
        return str(obj["object_ref"])
    return str(obj.get("id", ""))


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
    releases: Releases = NO_RELEASES,
) -> View:
    """Judge the subject against every access key once; with an ``earlier`` view of the same
    subject, agreement, registry and approvals, only against the keys added since."""
    if subject.kind == "system":
        return View(subject, agreement, registry, None, frozenset(), {}, releases)
    action = action_of(subject)
    label = cache(lambda refs: label_of(refs, registry))
    organization_of = cache(organization_of)
    visible: set[int] = set(earlier.visible or ()) if earlier else set()
    checked: set[int] = set(earlier.checked) if earlier else set()
    originators = dict(earlier.originators) if earlier else {}
    approvable: set[int] = set(earlier.approvable) if earlier else set()
    start = earlier.judged_up_to if earlier else 0
    names = approval_names(subject) & releases.approvals.recipients
    for seq, key in keys.items():
        if seq <= start:
            continue
        originator = organization_of(key.originator)

        def fails(
            marking: AccessLabel,
            originator: Organization = originator,
            approvals: frozenset[str] = frozenset(),
        ) -> bool:
            decision = decide_label(subject, marking, originator, agreement, action, approvals)
            return isinstance(decision, Deny)

        whole = label(key.marking_refs)
        if fails(whole):
            if not (names and whole.orcon and not fails(whole, approvals=names)):
                continue
            approvable.add(seq)
            checked.add(seq)
            originators[seq] = (key.originator, originator)
        visible.add(seq)
        if any(fails(label((ref,))) for ref in key.granular_refs):
            checked.add(seq)
            originators[seq] = (key.originator, originator)
    return View(
        subject,
        agreement,
        registry,
        frozenset(visible),
        frozenset(checked),
        originators,
        releases,
        frozenset(approvable),
        max(keys, default=start),
    )
