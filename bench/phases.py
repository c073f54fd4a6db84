"""The measured phases: ingest, full paginated read and query latency, each within a budget.

Times are the wall-clock of the HTTP exchanges themselves (request sent to response read);
the client's own work between exchanges (reading the object file, parsing a page) is not
counted. A phase that runs out of budget stops and reports what it achieved so far; a request
still unanswered when the budget ends is cut off and marks the phase ``interrupted`` (the
server may still be busy with it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson

from taxii_http import Client
from workload import Workload, envelope


@dataclass
class Throughput:
    done: int
    seconds: float
    finished: bool
    budget: float
    interrupted: bool = False
    failures: int = 0
    peak_rss_mb: float = 0.0

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


@dataclass
class Latency:
    requests: int
    p50_ms: float
    p95_ms: float
    finished: bool
    budget: float
    interrupted: bool = False
    peak_rss_mb: float = 0.0


@dataclass
class Ingested:
    result: Throughput
    # Taken just before the last acknowledged batch was sent: an added_after near the end.
    added_after: str


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()


def ingest(client: Client, path: str, workload: Workload, batch: int, seconds: float) -> Ingested:
    budget = Budget(seconds)
    result = Throughput(done=0, seconds=0.0, finished=False, budget=seconds)
    added_after = _now()
    for lines in workload.batches(batch):
        if budget.remaining() <= 0:
            break
        body = envelope(lines)
        stamp = _now()
        try:
            reply = client.expect("POST", path, body, budget.remaining())
        except TimeoutError:
            result.interrupted = True
            break
        result.failures += int(orjson.loads(reply.body)["failure_count"])
        result.done += len(lines)
        result.seconds += reply.seconds
        added_after = stamp
    result.finished = result.done == workload.size
    return Ingested(result, added_after)


def read_all(client: Client, path: str, limit: int, seconds: float) -> Throughput:
    """Page through the whole collection with ``limit``, following ``next``.

    One untimed ``limit=1`` request first (within the budget), so one-off costs of a server's
    first read (statement compilation, cold caches) do not count as paging cost.
    """
    budget = Budget(seconds)
    result = Throughput(done=0, seconds=0.0, finished=False, budget=seconds)
    target = f"{path}?{urlencode({'limit': limit})}"
    try:
        client.expect("GET", f"{path}?limit=1", None, budget.remaining())
    except TimeoutError:
        result.interrupted = True
        return result
    while budget.remaining() > 0:
        try:
            reply = client.expect("GET", target, None, budget.remaining())
        except TimeoutError:
            result.interrupted = True
            break
        page = orjson.loads(reply.body)
        result.done += len(page.get("objects", []))
        result.seconds += reply.seconds
        if not page.get("more"):
            result.finished = True
            break
        target = f"{path}?{urlencode({'limit': limit, 'next': page['next']})}"
    return result


def latency(client: Client, path: str, queries: list[dict[str, str]], seconds: float) -> Latency:
    budget = Budget(seconds)
    timings: list[float] = []
    interrupted = False
    for query in queries:
        if budget.remaining() <= 0:
            break
        try:
            reply = client.expect("GET", f"{path}?{urlencode(query)}", None, budget.remaining())
        except TimeoutError:
            interrupted = True
            break
        timings.append(reply.seconds * 1000)
    return Latency(
        requests=len(timings),
        p50_ms=percentile(timings, 50),
        p95_ms=percentile(timings, 95),
        finished=len(timings) == len(queries),
        budget=seconds,
        interrupted=interrupted,
    )


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN when nothing was measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
