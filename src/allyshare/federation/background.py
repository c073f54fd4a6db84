"""Sync while serving: every subscription is pulled on an interval, and local writes are
pushed to the peers that asked for them as soon as they are stored.

Runs in worker threads, so a slow or unreachable peer never blocks requests; one failed peer
is logged and kept in its subscription's ``last_error`` while the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from allyshare.federation.pull import pull
from allyshare.federation.push import push
from allyshare.service import Node

log = logging.getLogger("allyshare.federation")


def sync_once(node: Node, *, pull_too: bool = True) -> None:
    """Push every push subscription and, with ``pull_too``, pull every subscription."""
    for subscription in node.store.peers.subscriptions():
        fields = {
            "peer": subscription.peer_name,
            "remote_collection": subscription.remote_collection,
        }
        if subscription.push:
            pushed = push(node, subscription)
            if pushed.error:
                log.warning("push failed", extra={**fields, "error": pushed.error})
            elif pushed.sent:
                log.info(
                    "pushed", extra={**fields, "sent": pushed.sent, "accepted": pushed.accepted}
                )
        if pull_too:
            report = pull(node, subscription)
            if report.error:
                log.warning("sync failed", extra={**fields, "error": report.error})
            elif report.stored or report.refused:
                log.info(
                    "synced",
                    extra={**fields, "stored": report.stored, "refused": len(report.refused)},
                )


async def sync_forever(node: Node, interval: float) -> None:
    """A full round every ``interval`` seconds; a push round whenever a write is stored."""
    loop = asyncio.get_running_loop()
    written = asyncio.Event()

    def wake(_collection_id: str) -> None:
        loop.call_soon_threadsafe(written.set)

    node.write_listeners.append(wake)
    try:
        next_full = loop.time()
        while True:
            full = loop.time() >= next_full
            try:
                await asyncio.to_thread(sync_once, node, pull_too=full)
            except Exception:
                log.exception("sync round failed")
            if full:
                next_full = loop.time() + interval
            with suppress(TimeoutError):
                await asyncio.wait_for(written.wait(), timeout=max(0.0, next_full - loop.time()))
            written.clear()
    finally:
        node.write_listeners.remove(wake)


@asynccontextmanager
async def background_sync(node: Node, interval: float) -> AsyncIterator[None]:
    """Sync for as long as the context is open (the server's lifespan)."""
    task = asyncio.create_task(sync_forever(node, interval))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
