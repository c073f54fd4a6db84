"""Private matching against a peer: the member's node keeps the member's values and its key,
sends the peer only the blinded request over the signed node-to-node channel, and finds the
intersection in the peer's answer. The peer (the holder) enforces the budget of the member's
organization and learns how many values were asked; the member's node then reports how
many matched, which PSI does not tell the holder."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence

import httpx

from allyshare.clock import now_us, parse_us
from allyshare.errors import InvalidInput, NotFound, OverBudget, PermissionDenied
from allyshare.federation.connections import pinned_client
from allyshare.federation.signatures import SignedRequests
from allyshare.federation.witness import management_root
from allyshare.keys import load_signing_key
from allyshare.observables.lookup import candidates
from allyshare.service import Node
from allyshare.service.matching import Matched
from allyshare.storage import User

log = logging.getLogger(__name__)

_TIMEOUT = 600.0
"""A first request against a large set waits for the peer's setup (7,000 values a second)."""


def match_at_peer(
    node: Node,
    peer_name: str,
    collection_id: str,
    values: Sequence[str],
    kind: str | None = None,
    *,
    contact: str | None = None,
    actor: User,
) -> Matched:
    """Which of the member's ``values`` the peer's collection's match-only data holds; with
    a ``contact`` message, passed on to the peer for the originators of what matched (the
    member's node names the matched values to the peer, which holds them anyway)."""
    peer = node.peer(peer_name)
    root = management_root(peer)
    if root is None or not peer.signing_key:
        raise InvalidInput(f"peer {peer_name} is not an allyshare node: it cannot match privately")
    seeking = node.seek(values, kind, actor=actor)
    signer = SignedRequests(load_signing_key(node.settings.data_dir))
    body = {
        "collection": collection_id,
        "organization": actor.organization_id,
        "request": base64.b64encode(seeking.request).decode("ascii"),
    }
    try:
        with pinned_client(peer.certificate) as client:
            answer = client.post(f"{root}/match/psi", json=body, auth=signer, timeout=_TIMEOUT)
    except httpx.HTTPError as exc:
        raise InvalidInput(f"peer {peer_name} could not be asked: {exc}") from None
    _raise_for(peer_name, answer)
    try:
        found = answer.json()
        setup = base64.b64decode(found["setup"], validate=True)
        response = base64.b64decode(found["response"], validate=True)
        budget = (int(found["budget_left"]), parse_us(found["budget_resets"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"peer {peer_name} answered what is not a match: {exc}") from None
    matched = node.found_at_peer(
        peer_name, collection_id, seeking, setup, response, budget, actor=actor
    )
    report = {
        "collection": collection_id,
        "organization": actor.organization_id,
        "asked": matched.asked,
        "matched": len(matched.matched),
    }
    try:
        with pinned_client(peer.certificate) as client:
            reported = client.post(f"{root}/match/report", json=report, auth=signer, timeout=60)
        _raise_for(peer_name, reported)
    except (httpx.HTTPError, InvalidInput, NotFound, PermissionDenied) as exc:
        # The member has its answer; only the holder's count is missing, which its log says.
        log.warning("match report not delivered", extra={"peer": peer_name, "error": str(exc)})
    if contact is not None and matched.matched:
        said = {
            "collection": collection_id,
            "organization": actor.organization_id,
            "user": actor.name,
            "matched": [
                {"type": observable_type, "value": value}
                for written in matched.matched
                for observable_type, value in candidates(written, kind)
            ],
            "message": contact,
        }
        try:
            with pinned_client(peer.certificate) as client:
                sent = client.post(f"{root}/match/contact", json=said, auth=signer, timeout=60)
        except httpx.HTTPError as exc:
            raise InvalidInput(f"peer {peer_name} could not be sent the contact: {exc}") from None
        if sent.status_code != 202:
            _raise_for(peer_name, sent)
    return matched


def _raise_for(peer_name: str, answer: httpx.Response) -> None:
    """The peer's refusal as this node's own error, with the peer's words."""
    if answer.status_code in (200, 202):
        return
    try:
        said = str(answer.json().get("description", answer.text[:300]))
    except ValueError:
        said = answer.text[:300]
    message = f"peer {peer_name}: {said}"
    if answer.status_code == 429:
        retry = int(answer.headers.get("retry-after", "60"))
        raise OverBudget(message, now_us() + retry * 1_000_000)
    if answer.status_code == 404:
        raise NotFound(message)
    if answer.status_code in (401, 403):
        raise PermissionDenied(message)
    raise InvalidInput(f"{message} ({answer.status_code})")
