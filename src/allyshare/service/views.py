"""Where the pure access decision meets stored data: one reader's view of a collection.

The store keeps an access key per version (originator plus marking refs). A `View` judges
the reader once per key with `allyshare.policy.decide_label`: keys the reader fails are
handed to the store as a prefilter, so hidden versions cost an index entry, not a row, and
pages come back full. Keys whose granular markings the reader fails somewhere are marked
`checked`: only their versions are parsed, and the fields the reader may not see removed.
A copy that would break the rules of an extension the node ships (a required property of
the economic-coercion extension withheld, say) is withheld whole, as a copy missing a
property STIX requires is. Where the reader's verdict on each granular marking of such a
key needs no approval, it is the same for all the key's versions: it is taken once, with
the key (`View.denied`), and each version is only redacted; the others are passed through
`decide`/`apply`. ORCON keys the
reader fails are `checked` too when an approval (in force, or revoked: a revocation is told
to whom it names) names the reader somewhere: the approvals are per object, so those versions
are judged one by one with the approvals their originator's node signed. So are ORCON keys a
peer node sent: this node holds such data out only while an approval of that node naming this
node is in force.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

from allyshare.config import COUNTRY_CODE
from allyshare.economic import check_economic
from allyshare.errors import InvalidObject
from allyshare.orcon.approvals import (
    APPROVAL_TYPE,
    Approval,
    Approvals,
    approval_names,
    node_recipient,
)
from allyshare.policy import (
    WRITER_ONLY,
    AccessLabel,
    Action,
    Agreement,
    Allow,
    Deny,
    MarkingRegistry,
    Organization,
    Subject,
    Target,
    apply,
    decide,
    decide_label,
    label_of,
    may_match,
    without_denied,
)
from allyshare.storage import AccessKey, StoredVersion, sender_of


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
        """The approvals in force for the object, given the version's recorded originator."""
        if not self.approvals.concern(object_id):
            return frozenset()
        node = self.node_of(recorded_originator)
        return self.approvals.granted(object_id, node, self._given_for(recorded_originator, body))

    def _given_for(self, recorded_originator: str, body: bytes) -> Callable[[Approval], bool]:
        """Whether an approval was given for this originator: this node's own approvals by
        their seal, a peer's by the originator it tells. Where this node recorded only the
        country (it did not take the peer's word for an organization it hosts users of
        itself), the approval names an organization of that country: it is still signed by
        the node that sent the version, which approves only for the originator it holds."""
        if self.own_node is not None and self.node_of(recorded_originator) == self.own_node:
            seal = self.seal_of(recorded_originator)
            return lambda approval: approval.originator_seal == seal
        told = self.public_of(recorded_originator, body)
        if sender_of(recorded_originator) is not None and COUNTRY_CODE.fullmatch(told):
            return lambda approval: (approval.originator or "").split(".")[0] == told
        return lambda approval: approval.originator == told

    def target(
        self,
        subject: Subject,
        obj: Mapping[str, Any],
        recorded_originator: str,
        originator: Organization,
        agreement: Agreement,
        body: bytes,
        *,
        writer_only: bool = False,
    ) -> Target:
        """A stored version (``obj`` parsed from ``body``) as the decision judges it for this
        subject, with the approvals that bear on it; ``writer_only`` for a version set apart
        for its writer (its access key holds `WRITER_ONLY`)."""
        released = released_by(obj)
        approvals = self.granted(released, recorded_originator, body)
        names = approval_names(subject)
        if names:
            approvals |= self.told(obj, recorded_originator, body, names)
        held = self.held(released, recorded_originator, body)
        return Target(obj, originator, agreement, approvals, held, writer_only)

    def held(self, object_id: str, recorded_originator: str, body: bytes) -> bool:
        """Whether this node may show the ORCON content of a version: what was written here,
        and what a peer node sent only while an approval of that node naming this node is in
        force; once it is revoked, the node keeps the data and holds it out to no one."""
        if sender_of(recorded_originator) is None:
            return True
        if self.own_node is None:
            return False
        return node_recipient(self.own_node) in self.granted(object_id, recorded_originator, body)

    def told(
        self, obj: Mapping[str, Any], recorded_originator: str, body: bytes, names: frozenset[str]
    ) -> frozenset[str]:
        """The recipient a revocation names, when it is one of ``names``: the revocation is
        shown to it as its approval was, so it learns the approval was withdrawn (and a peer
        node stops holding out the object). Only the originator's node's own revocations."""
        if obj.get("type") != APPROVAL_TYPE or obj.get("revoked") is not True:
            return frozenset()
        if obj.get("recipient") not in names:
            return frozenset()
        revocation = Approval.of(obj)
        node = self.node_of(recorded_originator)
        given_for = self._given_for(recorded_originator, body)
        if node is None or revocation.approving_node != node or not given_for(revocation):
            return frozenset()
        return frozenset({revocation.recipient})


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
    apart: frozenset[int] = frozenset()
    """Checked keys of versions set apart for their writer (`WRITER_ONLY`)."""
    denied: Mapping[int, frozenset[str]] = field(default_factory=dict)
    """For checked keys whose verdicts need no approval: the granular refs the subject fails."""

    @property
    def action(self) -> Action:
        return action_of(self.subject)

    def body(self, item: StoredVersion) -> bytes | None:
        """The version as the subject may read it, or None when it is withheld."""
        if item.label not in self.checked:
            return item.body
        obj = orjson.loads(item.body)
        denied = self.denied.get(item.label)
        if denied is not None:
            shown = without_denied(obj, denied)
            if shown is obj:
                return item.body
        else:
            recorded, originator = self.originators[item.label]
            target = self.releases.target(
                self.subject,
                obj,
                recorded,
                originator,
                self.agreement,
                item.body,
                writer_only=item.label in self.apart,
            )
            shown = apply(decide(self.subject, target, self.registry, self.action), obj)
        if shown is None or (shown is not obj and extension_problem(shown) is not None):
            return None
        return orjson.dumps(shown)


def extension_problem(copy: Mapping[str, Any]) -> str | None:
    """What a redacted copy breaks of the rules of the extensions the node ships, if any: the
    policy withholds a copy missing a property STIX requires, but knows nothing of the
    economic extensions, whose rules sit above it (an incident without its coercing state
    is no coercion incident). Such a copy is withheld whole too."""
    try:
        check_economic(copy)
    except InvalidObject as error:
        return f"{error.prop}: {error.reason}"
    return None


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
    apart: set[int] = set(earlier.apart) if earlier else set()
    denied = dict(earlier.denied) if earlier else {}
    start = earlier.judged_up_to if earlier else 0
    names = approval_names(subject) & releases.approvals.named
    for seq, key in keys.items():
        if seq <= start:
            continue
        originator = organization_of(key.originator)
        received = sender_of(key.originator) is not None

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
        granular = {ref: label((ref,)) for ref in key.granular_refs}
        # ORCON a peer sent is held out only while its approval for this node is in force.
        held_by_approval = received and (whole.orcon or any(g.orcon for g in granular.values()))
        failed = {ref: marking for ref, marking in granular.items() if fails(marking)}
        if held_by_approval or failed:
            checked.add(seq)
            originators[seq] = (key.originator, originator)
            if WRITER_ONLY in key.marking_refs:
                apart.add(seq)
        # An approval of an object could release a failed ORCON marking: judged per object.
        per_object = seq in approvable or seq in apart or held_by_approval
        if failed and not (per_object or any(m.orcon for m in failed.values())):
            denied[seq] = frozenset(failed)
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
        frozenset(apart),
        denied,
    )


def matchable_keys(
    subject: Subject,
    agreement: Agreement,
    registry: MarkingRegistry,
    keys: Mapping[int, AccessKey],
    organization_of: Callable[[str], Organization],
) -> frozenset[int]:
    """The access keys of versions the subject may match its values against but not read
    (`may_match`): match-only as a whole, and no field marked more tightly than it may read
    or match."""
    label = cache(lambda refs: label_of(refs, registry))
    organization_of = cache(organization_of)
    action = action_of(subject)
    found = set()
    for seq, key in keys.items():
        originator = organization_of(key.originator)
        if not may_match(subject, label(key.marking_refs), originator, agreement, action=action):
            continue
        if all(
            may_match(subject, label((ref,)), originator, agreement, action=action)
            or isinstance(
                decide_label(subject, label((ref,)), originator, agreement, action), Allow
            )
            for ref in key.granular_refs
        ):
            found.add(seq)
    return frozenset(found)
