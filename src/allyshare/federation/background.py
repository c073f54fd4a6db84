"""Sync while serving: every subscription is pulled on an interval, and local writes are
pushed to the peers that asked for them as soon as they are stored.

The loop runs in a thread of its own, so a slow or unreachable peer never blocks requests; one
failed peer is logged and kept in its subscription's ``last_error`` while the others go on.

Stopping (the server's shutdown) sets a stop signal that the loop checks between peers and
between pages, and that push's waits end on; the round in progress ends at the next such
point. A request waiting on a peer's answer cannot be interrupted, so the shutdown waits only
``STOP_GRACE`` seconds for the round and then abandons it: the thread is a daemon, and a peer
that does not answer cannot hold the node (with the server's grace for requests in flight,
``allyshare serve`` stops within a few seconds). A page being stored when the process then exits is
rolled back as after a crash (a page and the cursor past it are one transaction) and is
fetched again by the next sync.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from allyshare.federation.pull import pull
from allyshare.federation.push import push
from allyshare.federation.witness import witness
from allyshare.service import Node

log = logging.getLogger("allyshare.federation")
STOP_GRACE = 1.0  # seconds; storing a page takes a fraction of it


def sync_once(node: Node, *, pull_too: bool = True, stop: threading.Event | None = None) -> None:
    """Push every push subscription and, with ``pull_too``, pull every subscription; until
    ``stop`` is set."""
    subscriptions = node.subscriptions()
    for subscription in subscriptions:
        fields = {
            "peer": subscription.peer_name,
            "remote_collection": subscription.remote_collection,
        }
        if subscription.push and not _stopping(stop):
            pushed = push(node, subscription, stop=stop)
            if pushed.error:
                log.warning("push failed", extra={**fields, "error": pushed.error})
            elif pushed.sent:
                log.info(
                    "pushed", extra={**fields, "sent": pushed.sent, "accepted": pushed.accepted}
                )
        if pull_too and not _stopping(stop):
            report = pull(node, subscription, stop=stop)
            if report.error:
                log.warning("sync failed", extra={**fields, "error": report.error})
            elif report.stored or report.refused:
                log.info(
                    "synced",
                    extra={**fields, "stored": report.stored, "refused": len(report.refused)},
                )
    if pull_too:
        witness_peers(node, {s.peer_name for s in subscriptions}, stop)


def witness_peers(node: Node, names: set[str], stop: threading.Event | None = None) -> None:
    """Witness the audit log of each peer synced with (once a round, not per collection)."""
    for name in sorted(names):
        if _stopping(stop):
            return
        report = witness(node, node.peer(name))
        if report.error:
            log.warning("witnessing failed", extra={"peer": name, "error": report.error})


def _stopping(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


class BackgroundSync:
    """A full round every ``interval`` seconds and a push round whenever a write is stored,
    in a daemon thread, until :meth:`stop`."""

    def __init__(self, node: Node, interval: float) -> None:
        self._node = node
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="allyshare-sync", daemon=True)

    def start(self) -> None:
        self._node.write_listeners.append(self._written)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to stop at its next stopping point; returns at once."""
        self._stop.set()
        self._wake.set()
        if self._written in self._node.write_listeners:
            self._node.write_listeners.remove(self._written)

    def wait(self, timeout: float) -> bool:
        """Whether the loop ended within ``timeout`` seconds."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _written(self, _collection_id: str) -> None:
        self._wake.set()

    def _run(self) -> None:
        next_full = time.monotonic()
        while not self._stop.is_set():
            # Cleared before the round, so a write stored during it brings another one.
            self._wake.clear()
            full = time.monotonic() >= next_full
            try:
                sync_once(self._node, pull_too=full, stop=self._stop)
            except Exception:
                log.exception("sync round failed")
            if full:
                next_full = time.monotonic() + self._interval
            self._wake.wait(timeout=max(0.0, next_full - time.monotonic()))


@asynccontextmanager
async def background_sync(node: Node, interval: float) -> AsyncIterator[None]:
    """Sync for as long as the context is open (the server's lifespan)."""
    sync = BackgroundSync(node, interval)
    sync.start()
    try:
        yield
    finally:
        sync.stop()
        if not await asyncio.to_thread(sync.wait, STOP_GRACE):
            log.warning(
                "sync abandoned at shutdown: the round did not reach a stopping point in time "
                "(a peer not answering); what it was fetching is fetched again by the next sync"
            )
