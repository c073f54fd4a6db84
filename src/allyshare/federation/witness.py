"""Witnessing a peer's audit log during sync.

Each round this node fetches the peer's newest signed checkpoint, asks for a consistency
proof from the last checkpoint it holds of that peer, and, when the log only grew, cosigns
the checkpoint and hands the cosignature back. A peer whose log shrank, forked or was
rewritten is flagged (`allyshare.service.Node.witness` keeps the alarm and logs it loudly);
it is not cosigned. Only allyshare peers (those that sign requests) keep such a log.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from allyshare.errors import AllyshareError, InvalidInput
from allyshare.federation.connections import pinned_client
from allyshare.federation.peers import ALLYSHARE_API_ROOT
from allyshare.federation.signatures import SignedRequests
from allyshare.keys import load_signing_key
from allyshare.service import Node
from allyshare.storage import PeerRecord

MANAGEMENT_ROOT = "/api/v1"
MAX_NOTE_BYTES = 64 * 1024


@dataclass
class WitnessReport:
    peer: str
    size: int | None = None
    cosigned: bool = False
    problem: str | None = None
    error: str | None = None


class WitnessFailed(AllyshareError):
    """The peer could not be asked; nothing is concluded about its log."""


def management_root(peer: PeerRecord) -> str | None:
    """Where the peer's management API is: beside its TAXII API root (an allyshare node)."""
    api_root = peer.api_root
    if not api_root.endswith(ALLYSHARE_API_ROOT):
        return None
    return api_root.removesuffix(ALLYSHARE_API_ROOT) + MANAGEMENT_ROOT


def witness(node: Node, peer: PeerRecord) -> WitnessReport:
    report = WitnessReport(peer.name)
    root = management_root(peer)
    if not peer.signing_key or root is None:
        return report
    signer = SignedRequests(load_signing_key(node.settings.data_dir))
    try:
        with pinned_client(peer.certificate) as client:
            note = _text(client.get(f"{root}/audit/checkpoint", auth=signer))

            def consistency(old_size: int, new_size: int) -> Sequence[bytes]:
                answer = client.get(
                    f"{root}/audit/consistency",
                    params={"from": str(old_size), "to": str(new_size)},
                    auth=signer,
                )
                return _proof(answer)

            found = node.witness(peer, note, consistency)
            report.size, report.problem = found.size, found.problem
            if found.cosignature is not None:
                answer = client.post(
                    f"{root}/audit/cosignatures",
                    json={"size": found.size, "signature": found.cosignature},
                    auth=signer,
                )
                if answer.status_code not in (200, 201):
                    raise WitnessFailed(
                        f"{peer.name} refused the cosignature ({answer.status_code}): "
                        f"{answer.text[:200]}"
                    )
                report.cosigned = True
    except (httpx.HTTPError, WitnessFailed, InvalidInput) as exc:
        report.error = f"witnessing: {exc}"
    return report


def _text(response: httpx.Response) -> str:
    if response.status_code != 200:
        raise WitnessFailed(f"checkpoint: {response.status_code} {response.text[:200]}")
    if len(response.content) > MAX_NOTE_BYTES:
        raise WitnessFailed("checkpoint: the note is too long")
    return response.text


def _proof(response: httpx.Response) -> Sequence[bytes]:
    if response.status_code != 200:
        raise WitnessFailed(f"consistency proof: {response.status_code} {response.text[:200]}")
    try:
        hashes = response.json()["proof"]
        return [base64.b64decode(item, validate=True) for item in hashes]
    except (ValueError, KeyError, TypeError) as exc:
        raise WitnessFailed(f"consistency proof: not a proof ({exc})") from None
