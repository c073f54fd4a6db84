"""ORCON approvals: the originator's consent, signed by its node, to release one object further.

An ORCON object (the allyshare marking's ``orcon``) reaches only the originator, the named
recipients and whoever the originator approves (DESIGN section 5). An approval is a STIX 2.1
object of the new type ``x-allyshare-orcon-approval`` (defined by the extension shipped next
to this module as ``orcon-approval-extension.json``, id `APPROVAL_EXTENSION_ID`), stored in
the approved object's collections so it syncs with them like any object. It names:

- ``object_ref``: the approved object (all its versions);
- ``recipient``: an organization id (``KOR.NIS``, as markings name organizations) that may
  then read the object, or ``node:`` and a node's signing key, a node it may be sent to;
- ``approving_node``: the signing key (raw Ed25519, base64) of the originator's node;
- ``originator``: who wrote the object, as its node tells peers (the organization, or only
  its country for a contribution without an author), and ``originator_seal``: the exact
  originator the node recorded, sealed so only that node can check it. So an approval for
  one member's object never releases another's that happens to share its id;
- ``signature``: that key's Ed25519 signature over the rest of the object.

It carries the approved object's object-level markings, and releases itself with the
object, so exactly those who may see the object see it. ``revoked`` in a newer version
withdraws it; the versions of an approval form one chain per signing node, so another key
can neither revoke nor replace it. The signature is checked whenever an approval is stored
or loaded; an approval counts for an object only when ``approving_node`` is the node the
object came from and ``originator`` is who its version records (checked by the caller, who
knows the nodes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from allyshare.clock import format_us
from allyshare.keys import public_key_from_text
from allyshare.policy import Subject
from allyshare.stix.types import APPROVAL_TYPE

__all__ = [
    "APPROVAL_EXTENSION_ID",
    "APPROVAL_TYPE",
    "Approval",
    "Approvals",
    "approval_names",
    "approval_problems",
    "make_approval",
    "node_recipient",
    "read_approval",
]

APPROVAL_EXTENSION_ID = "extension-definition--0b5a2d3e-6f0c-4f5e-9a51-8d7c2e4b1f60"
NODE_PREFIX = "node:"
_SIGNED_CONTEXT = b"allyshare orcon approval\n"
_SEAL_CONTEXT = b"allyshare orcon originator seal"
_REQUIRED = ("object_ref", "recipient", "approving_node", "signature")


@dataclass(frozen=True)
class Approval:
    """One version of an approval whose signature verified."""

    id: str
    modified: str
    object_ref: str
    recipient: str
    approving_node: str
    revoked: bool
    originator: str | None = None
    originator_seal: str | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Approval:
        """The record of an approval object already checked (`approval_problems`)."""
        return cls(
            id=str(obj.get("id")),
            modified=str(obj.get("modified")),
            object_ref=obj["object_ref"],
            recipient=obj["recipient"],
            approving_node=obj["approving_node"],
            revoked=obj.get("revoked") is True,
            originator=_text(obj.get("originator")),
            originator_seal=_text(obj.get("originator_seal")),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def originator_seal(key: Ed25519PrivateKey, recorded_originator: str) -> str:
    """The originator a node recorded, sealed with a key only that node derives (HMAC): the
    node tells its own members' approvals apart without telling peers who they are."""
    secret = hmac.new(key.private_bytes_raw(), _SEAL_CONTEXT, hashlib.sha256).digest()
    mac = hmac.new(secret, recorded_originator.encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def node_recipient(signing_key: str) -> str:
    """How an approval names a node: by the key it signs its requests with, which is unique
    where node names are only local labels."""
    return NODE_PREFIX + signing_key


def approval_names(subject: Subject) -> frozenset[str]:
    """The recipient names an approval may give this subject: its organization, its node."""
    names = set()
    if subject.organization is not None:
        names.add(subject.organization.id)
    if subject.node_id is not None:
        names.add(subject.node_id)
    return frozenset(names)


def _signed_bytes(obj: Mapping[str, Any]) -> bytes:
    unsigned = {key: value for key, value in obj.items() if key != "signature"}
    return _SIGNED_CONTEXT + orjson.dumps(unsigned, option=orjson.OPT_SORT_KEYS)


def make_approval(
    key: Ed25519PrivateKey,
    approving_node: str,
    object_ref: str,
    recipient: str,
    timestamp_us: int,
    *,
    approval_id: str | None = None,
    created: str | None = None,
    revoked: bool = False,
    markings: Sequence[str] = (),
    originator: str | None = None,
    seal: str | None = None,
) -> dict[str, Any]:
    """A signed approval (or, with ``revoked``, the version that withdraws one), carrying the
    approved object's ``markings``: it tells who may see that object, so it is seen by the
    same readers."""
    stamp = format_us(timestamp_us)
    obj: dict[str, Any] = {
        "type": APPROVAL_TYPE,
        "spec_version": "2.1",
        "id": approval_id or f"{APPROVAL_TYPE}--{uuid.uuid4()}",
        "created": created or stamp,
        "modified": stamp,
        "object_ref": object_ref,
        "recipient": recipient,
        "approving_node": approving_node,
        "extensions": {APPROVAL_EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    if originator is not None:
        obj["originator"] = originator
    if seal is not None:
        obj["originator_seal"] = seal
    if revoked:
        obj["revoked"] = True
    if markings:
        obj["object_marking_refs"] = list(markings)
    obj["signature"] = base64.b64encode(key.sign(_signed_bytes(obj))).decode()
    return obj


def approval_problems(obj: Mapping[str, Any]) -> list[str]:
    """Why this approval cannot be stored: missing parts, or a signature that does not verify."""
    missing = [name for name in _REQUIRED if not isinstance(obj.get(name), str)]
    if missing:
        return [f"an ORCON approval needs {', '.join(missing)} (strings)"]
    try:
        key = public_key_from_text(obj["approving_node"])
    except (ValueError, binascii.Error):
        return ["approving_node is not an Ed25519 public key in base64"]
    try:
        key.verify(base64.b64decode(obj["signature"], validate=True), _signed_bytes(obj))
    except (InvalidSignature, ValueError, binascii.Error):
        return [
            "the approval's signature does not verify with its approving_node key: "
            "only the originator's node can approve"
        ]
    return []


def read_approval(obj: Mapping[str, Any]) -> Approval | None:
    """The approval, or None when it is malformed or its signature does not verify."""
    if obj.get("type") != APPROVAL_TYPE or approval_problems(obj):
        return None
    return Approval.of(obj)


class Approvals:
    """The approvals in force: the newest version of each, unless that one revokes it."""

    def __init__(self, approvals: Iterable[Approval]) -> None:
        newest: dict[tuple[str, str], Approval] = {}
        for approval in approvals:
            chain = (approval.id, approval.approving_node)
            held = newest.get(chain)
            rank = (approval.modified, approval.revoked)
            if held is None or rank > (held.modified, held.revoked):
                newest[chain] = approval
        self._by_object: dict[str, list[Approval]] = {}
        recipients: set[str] = set()
        for approval in newest.values():
            if not approval.revoked:
                self._by_object.setdefault(approval.object_ref, []).append(approval)
                recipients.add(approval.recipient)
        self.recipients = frozenset(recipients)
        """Everyone approved for something: a subject named nowhere needs no per-object look."""
        self.named = frozenset(approval.recipient for approval in newest.values())
        """Everyone named by an approval, in force or revoked: a revocation is told to whom
        it names."""

    def concern(self, object_id: str) -> bool:
        return object_id in self._by_object

    def granted(
        self,
        object_id: str,
        originator_node: str | None,
        for_originator: Callable[[Approval], bool],
    ) -> frozenset[str]:
        """The recipients approved for the object by the node that originated it, among the
        approvals given for the originator of the version at hand (``for_originator``)."""
        if originator_node is None:
            return frozenset()
        return frozenset(
            approval.recipient
            for approval in self._by_object.get(object_id, ())
            if approval.approving_node == originator_node and for_originator(approval)
        )

    def in_force(self) -> list[Approval]:
        return sorted(
            (approval for found in self._by_object.values() for approval in found),
            key=lambda approval: (approval.object_ref, approval.recipient),
        )
