"""Pulling a peer's collection: plain TAXII 2.1 paging, so any TAXII 2.1 server can be a source.

Each page is stored together with the cursor past it (:meth:`allyshare.service.Node.receive`),
so a crash or cut connection at any point loses nothing: the next run starts after the last
page stored. It restarts one microsecond early, because servers other than allyshare may give
several objects the same ``date_added``; what is read twice is recognised by (id, version) and
not stored twice. An allyshare peer is asked with requests signed by this node's key and
answers as its egress policy allows; other servers are read with the HTTP Basic credentials
the operator gave for them, if any. A pull asked to stop (``stop``) ends between pages, and
drops a page it has read but not stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from allyshare.clock import format_us, parse_us
from allyshare.errors import AllyshareError, InvalidInput
from allyshare.federation.connections import pinned_client
from allyshare.federation.peers import auth_for, not_recognised
from allyshare.service import ATTESTED_ORIGINATORS, Node
from allyshare.storage import SubscriptionRecord
from allyshare.taxii.media import TAXII_21

PAGE_SIZE = 1000
DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"


class SyncFailed(AllyshareError):
    """The peer could not be read; what was stored before stays, with its cursor."""


@dataclass
class PullReport:
    peer: str
    remote_collection: str
    pages: int = 0
    stored: int = 0
    already_held: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None


def pull(
    node: Node,
    subscription: SubscriptionRecord,
    *,
    page_size: int = PAGE_SIZE,
    on_page: Callable[[PullReport], None] | None = None,
    stop: threading.Event | None = None,
) -> PullReport:
    """Read everything the peer added to the collection since the cursor, page by page."""
    stop = stop or threading.Event()
    peer = node.peer(subscription.peer_name)
    report = PullReport(peer.name, subscription.remote_collection)
    url = f"{peer.api_root}collections/{subscription.remote_collection}/objects/"
    auth = auth_for(node, peer)
    query: dict[str, str] = {"limit": str(page_size), "match[version]": "all"}
    cursor = subscription.cursor
    if cursor:
        query["added_after"] = _just_before(cursor)
    try:
        with pinned_client(peer.certificate) as client:
            while not stop.is_set():
                response = client.get(url, params=query, headers={"Accept": TAXII_21}, auth=auth)
                if stop.is_set():
                    break
                unknown = not_recognised(node, peer, response)
                if unknown is not None:
                    raise SyncFailed(unknown)
                envelope = _envelope(response)
                objects = envelope.get("objects") or []
                if not isinstance(objects, list):
                    raise SyncFailed(f"{peer.name}: 'objects' is not a list")
                cursor = response.headers.get(DATE_ADDED_LAST) or cursor
                attested = envelope.get(ATTESTED_ORIGINATORS) if peer.signing_key else None
                received = node.receive(subscription, peer, objects, cursor, attested)
                report.pages += 1
                report.stored += received.stored
                report.already_held += received.already_held
                report.refused.extend(received.refused)
                report.notes.extend(received.notes)
                if on_page is not None:
                    on_page(report)
                if not envelope.get("more") or not objects:
                    return report
                following = envelope.get("next")
                if isinstance(following, str) and following:
                    query["next"] = following
                elif cursor:
                    query["added_after"] = cursor
                else:
                    raise SyncFailed(f"{peer.name} says there is more but gives no way to it")
            return report
    except (httpx.HTTPError, SyncFailed, InvalidInput) as exc:
        report.error = _describe(exc)
        node.sync_failed(subscription, report.error)
        return report


def _envelope(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise SyncFailed(
            f"{response.request.url.host} answered {response.status_code}: {_problem(response)}"
        )
    try:
        envelope = response.json()
    except ValueError:
        raise SyncFailed("the answer is not JSON") from None
    if not isinstance(envelope, dict):
        raise SyncFailed("the answer is not a TAXII envelope")
    return envelope


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("description") or body.get("title") or body)[:500]
    return str(body)[:200]


def _just_before(cursor: str) -> str:
    try:
        return format_us(parse_us(cursor) - 1)
    except InvalidInput:
        return cursor


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}"
    return str(exc)
