"""Witnessing: this node's partners cosign the checkpoints of its audit log, and it cosigns
theirs. A partner's checkpoint is checked against the last one this node holds of it (a
consistency proof: the same log, grown); one that shows history removed, rewritten or forked
is kept as an alarm, logged loudly and not cosigned. A cosignature a partner hands back is
checked against that partner's key before it is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from allyshare.audit.merkle import verify_consistency
from allyshare.audit.notes import ED25519, Checkpoint, NoteError, Verifier, cosign, open_note
from allyshare.clock import now_us
from allyshare.errors import InvalidInput, NotFound
from allyshare.keys import public_key_from_text
from allyshare.service.audit import Audit, cosigned, signer_of
from allyshare.storage import PeerRecord, Store
from allyshare.storage.audit import LogAlarm, WitnessedCheckpoint

log = logging.getLogger("allyshare.audit")


class Witnessing:
    def __init__(self, store: Store, audit: Audit) -> None:
        self._store = store
        self._audit = audit

    def accept_cosignature(self, peer: PeerRecord, size: int, line: str) -> dict[str, Any]:
        """Keep a peer's cosignature of one of this node's checkpoints, once it checks out."""
        held = self._store.audit.checkpoint_at(size)
        if held is None:
            raise NotFound(f"no checkpoint of size {size}")
        if not peer.signing_key or not cosigned(
            held.note, self._audit.verifier, peer.signing_key, line
        ):
            raise InvalidInput(f"not a valid cosignature of checkpoint {size} by {peer.name}")
        self._store.audit.add_cosignature(size, peer.name, line)
        return {"size": size, "witness": peer.name, "signature": line, "received_at": now_us()}

    def witness(
        self,
        peer: PeerRecord,
        note: str,
        consistency: Callable[[int, int], Sequence[bytes]],
    ) -> Witnessed:
        """Check a peer's newest checkpoint against the last one this node holds of it: the
        same log grown (a consistency proof), or a fork or rollback, which is kept as an
        alarm and logged loudly. A good checkpoint is cosigned and kept with the
        cosignature, to be handed back to the peer."""
        if not peer.signing_key:
            raise InvalidInput(f"{peer.name} has no signing key: its log cannot be witnessed")
        checkpoint = _open_checkpoint(note, public_key_from_text(peer.signing_key))
        held = self._store.audit.witnessed(peer.name)
        if held is not None:
            before = Checkpoint.parse(held.note.split("\n\n", 1)[0] + "\n")
            problem = _inconsistency(before, checkpoint, consistency)
            if problem is not None:
                alarm = LogAlarm(peer.name, now_us(), problem, held.note, note)
                self._store.audit.raise_alarm(alarm)
                log.error(
                    "a peer's audit log is inconsistent with a checkpoint it signed before",
                    extra={"peer": peer.name, "problem": problem},
                )
                return Witnessed(checkpoint.size, None, problem)
            if checkpoint.size == before.size:
                return Witnessed(checkpoint.size, held.cosignature, None)
        line = cosign(checkpoint, self._audit.origin, self._audit.node_key, int(time.time()))
        self._store.audit.witness(
            WitnessedCheckpoint(peer.name, checkpoint.size, note, line, now_us())
        )
        return Witnessed(checkpoint.size, line, None)

    def witnessed(self, peer_names: Iterable[str]) -> dict[str, WitnessedCheckpoint]:
        """The newest checkpoint of each named peer's log this node witnessed (and cosigned)."""
        found = {name: self._store.audit.witnessed(name) for name in peer_names}
        return {name: held for name, held in found.items() if held is not None}

    def alarms(self) -> dict[str, LogAlarm]:
        """The newest alarm raised about each peer's log."""
        return {alarm.peer_name: alarm for alarm in self._store.audit.alarms()}


@dataclass(frozen=True)
class Witnessed:
    """What witnessing a peer's checkpoint came to: the cosignature to hand back, or the
    inconsistency found instead."""

    size: int
    cosignature: str | None
    problem: str | None


def _open_checkpoint(note: str, key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in a note signed by ``key``, under whatever log name it signs as (the
    key id binds the name to the key)."""
    raw = key.public_bytes_raw()
    for line in note.rsplit("\n\n", 1)[-1].splitlines():
        name = signer_of(line)
        try:
            opened = open_note(note, [Verifier(name, ED25519, raw)])
        except NoteError:
            continue
        checkpoint = Checkpoint.parse(opened.text)
        if checkpoint.origin == name:
            return checkpoint
    raise InvalidInput("the checkpoint is not signed by the peer's key under its log's name")


def _inconsistency(
    before: Checkpoint, now: Checkpoint, consistency: Callable[[int, int], Sequence[bytes]]
) -> str | None:
    if now.origin != before.origin:
        return f"the log is now named {now.origin!r}, not {before.origin!r}"
    if now.size < before.size:
        return f"it shows {now.size} entries after showing {before.size}: history was removed"
    if now.size == before.size:
        if now.root_hash != before.root_hash:
            return f"two different trees of {now.size} entries: the log was forked or rewritten"
        return None
    if before.size == 0:
        return None
    proof = consistency(before.size, now.size)
    if not verify_consistency(before.size, now.size, list(proof), before.root_hash, now.root_hash):
        return (
            f"its tree of {now.size} entries does not extend the one of {before.size} it "
            "signed before: the log was rewritten"
        )
    return None
