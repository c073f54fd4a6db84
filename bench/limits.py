"""This machine's limits on the same objects, measured in the same run as the servers.

- SQLite: ``executemany`` of (id, type, modified, json) rows into a table keyed on
  (id, modified) with an index on type, WAL mode and allyshare's own pragmas, one transaction
  per 1,000 rows. This is the ceiling an SQLite-backed server's ingest is measured against.
- orjson: ``loads`` then ``dumps`` of each object, the least JSON work a server does per object.

Only the measured calls are timed; turning lines into rows happens outside the clock.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from workload import Workload

BATCH = 1000
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-65536",
)
_SCHEMA = (
    "CREATE TABLE objects (id TEXT NOT NULL, type TEXT NOT NULL, modified TEXT NOT NULL,"
    " json BLOB NOT NULL, PRIMARY KEY (id, modified))",
    "CREATE INDEX objects_type ON objects (type)",
)
# The stream repeats some SCOs (deterministic ids) unchanged; the key makes them no-ops.
_INSERT = "INSERT OR IGNORE INTO objects VALUES (?, ?, ?, ?)"


@dataclass
class Limits:
    size: int
    sqlite_rows_per_s: float
    orjson_objects_per_s: float


def measure(workload: Workload, workdir: Path) -> Limits:
    return Limits(
        size=workload.size,
        sqlite_rows_per_s=sqlite_rate(workload, workdir / "raw.db"),
        orjson_objects_per_s=orjson_rate(workload),
    )


def sqlite_rate(workload: Workload, path: Path) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in (*_PRAGMAS, *_SCHEMA):
            connection.execute(statement)
        rows = 0
        seconds = 0.0
        for lines in workload.batches(BATCH):
            batch = [_row(line) for line in lines]
            started = time.perf_counter()
            connection.execute("BEGIN")
            connection.executemany(_INSERT, batch)
            connection.execute("COMMIT")
            seconds += time.perf_counter() - started
            rows += len(batch)
    finally:
        connection.close()
    return rows / seconds


def orjson_rate(workload: Workload) -> float:
    count = 0
    seconds = 0.0
    for lines in workload.batches(BATCH):
        started = time.perf_counter()
        for line in lines:
            orjson.dumps(orjson.loads(line))
        seconds += time.perf_counter() - started
        count += len(lines)
    return count / seconds


def _row(line: bytes) -> tuple[str, str, str, bytes]:
    obj = orjson.loads(line)
    version = obj.get("modified") or obj.get("created") or ""
    return obj["id"], obj["type"], version, line
