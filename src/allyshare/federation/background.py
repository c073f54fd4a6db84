"""Sync while serving: every subscription is pulled on an interval, beside the HTTP server.

Runs in worker threads, so a slow or unreachable peer never blocks requests; one failed peer
is logged and kept in its subscription's ``last_error`` while the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from allyshare.federation.pull import pull
from allyshare.service import Node

log = logging.getLogger("allyshare.federation")


def sync_once(node: Node) -> None:
    for subscription in node.store.peers.subscriptions():
        report = pull(node, subscription)
        fields = {
            "peer": report.peer,
            "remote_collection": report.remote_collection,
            "stored": report.stored,
            "refused": len(report.refused),
        }
        if report.error:
            log.warning("sync failed", extra={**fields, "error": report.error})
        elif report.stored or report.refused:
            log.info("synced", extra=fields)


async def sync_forever(node: Node, interval: float) -> None:
    while True:
        try:
            await asyncio.to_thread(sync_once, node)
        except Exception:
            log.exception("sync round failed")
        await asyncio.sleep(interval)


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
