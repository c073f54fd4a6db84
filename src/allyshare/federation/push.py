"""Pushing local writes to a peer: TAXII add-objects, for low latency.

What is pushed is what the peer would be given if it pulled: the versions of the local
collection read as the peer node (the ``share`` decision, with redaction), in ``date_added``
order from the subscription's push cursor. Versions this node received from peers are not
pushed on (their origin shares them itself), which is also what keeps cycles from echoing. A
request that fails on the way is retried with backoff; the peer's status resource is followed
until it is complete, and the cursor moves only past what the peer acknowledged. A push asked
to stop (``stop``) ends between batches, or in a wait for a retry or for the peer's status,
with the cursor before the batch it was sending: the peer takes it again as a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import orjson

from allyshare.errors import AllyshareError
from allyshare.federation.connections import pinned_client
from allyshare.federation.peers import not_recognised
from allyshare.federation.signatures import SignedRequests
from allyshare.keys import load_signing_key
from allyshare.service import ATTESTED_ORIGINATORS, Node
from allyshare.storage import SubscriptionRecord
from allyshare.taxii.media import TAXII_21

BATCH = 1000
RETRIES = 5
FIRST_BACKOFF = 0.25  # seconds, doubled per retry
STATUS_POLLS = 120
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class PushFailed(AllyshareError):
    """The peer did not take a batch; the cursor stays before it."""


class _Stopped(Exception):
    """The push was asked to stop while it waited."""


@dataclass
class PushReport:
    peer: str
    remote_collection: str
    sent: int = 0
    accepted: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None


def push(
    node: Node, subscription: SubscriptionRecord, *, stop: threading.Event | None = None
) -> PushReport:
    """Send the peer every local version after the push cursor that it may have."""
    stop = stop or threading.Event()
    peer = node.peer(subscription.peer_name)
    report = PushReport(peer.name, subscription.remote_collection)
    if not peer.signing_key:
        report.error = f"{peer.name} is not an allyshare node: push needs a signing peer"
        node.sync_failed(subscription, report.error)
        return report
    url = f"{peer.api_root}collections/{subscription.remote_collection}/objects/"
    signer = SignedRequests(load_signing_key(node.settings.data_dir))
    refusal = partial(not_recognised, node, peer)
    after = subscription.push_cursor
    try:
        with pinned_client(peer.certificate) as client:
            while not stop.is_set():
                page = node.outgoing(subscription, peer, after, BATCH)
                if page.up_to == after:
                    return report
                bodies = [item.body for item in page.items]
                if bodies:
                    status = _send(
                        client, signer, url, peer.api_root, bodies, page.attested, refusal, stop
                    )
                    report.sent += len(bodies)
                    report.accepted += int(status.get("success_count", 0))
                    report.refused.extend(status.get("failures", []))
                after = page.up_to
                node.pushed(subscription, peer, page)
                if not page.more:
                    return report
            return report
    except _Stopped:
        return report
    except (httpx.HTTPError, PushFailed, ValueError) as exc:
        report.error = f"push: {exc}"
        node.sync_failed(subscription, report.error)
        return report


def _send(
    client: httpx.Client,
    signer: SignedRequests,
    url: str,
    api_root: str,
    bodies: list[bytes],
    attested: list[str],
    refusal: Callable[[httpx.Response], str | None],
    stop: threading.Event,
) -> dict[str, Any]:
    envelope = (
        b'{"'
        + ATTESTED_ORIGINATORS.encode()
        + b'":'
        + orjson.dumps(attested)
        + b',"objects":['
        + b",".join(bodies)
        + b"]}"
    )
    headers = {"Accept": TAXII_21, "Content-Type": TAXII_21}
    delay = FIRST_BACKOFF
    for attempt in range(RETRIES + 1):
        try:
            response = client.post(url, content=envelope, headers=headers, auth=signer)
        except httpx.TransportError:
            if attempt == RETRIES:
                raise
        else:
            if response.status_code == 202:
                return _completed(client, signer, api_root, response.json(), stop)
            if response.status_code not in _RETRY_STATUSES or attempt == RETRIES:
                raise PushFailed(
                    refusal(response)
                    or f"the peer answered {response.status_code}: {response.text[:300]}"
                )
        _pause(stop, delay)
        delay *= 2
    raise PushFailed("unreachable")


def _completed(
    client: httpx.Client,
    signer: SignedRequests,
    api_root: str,
    status: dict[str, Any],
    stop: threading.Event,
) -> dict[str, Any]:
    """Follow the status resource until no object is pending."""
    for _ in range(STATUS_POLLS):
        if status.get("status") == "complete":
            return status
        _pause(stop, 0.5)
        response = client.get(
            f"{api_root}status/{status['id']}/", headers={"Accept": TAXII_21}, auth=signer
        )
        if response.status_code != 200:
            raise PushFailed(f"the peer's status answered {response.status_code}")
        status = orjson.loads(response.content)
    raise PushFailed(f"status {status.get('id')} still pending after {STATUS_POLLS} polls")


def _pause(stop: threading.Event, seconds: float) -> None:
    if stop.wait(seconds):
        raise _Stopped
