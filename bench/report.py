"""What a run found: the machine, the figures, and the project's targets, as Markdown and JSON."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from limits import Limits
from phases import Latency, Throughput

QUERY_KINDS = ("match[type]=malware", "match[id]", "added_after")
INGEST_TARGET = 20_000
INGEST_SHARE_TARGET = 0.4
READ_TARGET = 50_000
QUERY_P95_TARGET_MS = 25.0
FLAT_FACTOR = 1.5  # "flat": p95 at the largest size at most this many times p95 at 10k
# Targets are judged from 10k objects on: below that a phase is a request or two, mostly noise.
TARGETS_FROM = 10_000


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "allyshare commit": commit or "unknown",
    }


@dataclass
class ServerRun:
    server: str
    size: int
    ingest: dict[int, Throughput] = field(default_factory=dict)  # by objects per POST
    read: dict[int, Throughput] = field(default_factory=dict)  # by page limit
    queries: dict[str, Latency] = field(default_factory=dict)  # by kind
    peak_rss_mb: float = 0.0
    error: str = ""


@dataclass
class Target:
    name: str
    size: int
    measured: str
    met: bool


@dataclass
class Results:
    command: str
    budgets: dict[str, float]
    runs: list[ServerRun] = field(default_factory=list)
    limits: dict[int, Limits] = field(default_factory=dict)
    # 1-minute load average when the run started and after each size: other work on the
    # machine (2 cores) lowers every figure.
    load: dict[str, float] = field(default_factory=lambda: {"start": os.getloadavg()[0]})
    date: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    machine: dict[str, str] = field(default_factory=machine)


def targets(results: Results) -> list[Target]:
    runs = {
        run.size: run
        for run in results.runs
        if run.server == "allyshare" and not run.error and run.size >= TARGETS_FROM
    }
    found: list[Target] = []
    for size, run in sorted(runs.items()):
        ingest = run.ingest.get(min(run.ingest, default=0))
        if ingest is not None:
            found.append(_at_least("ingest objects/s (1k per POST)", size, ingest, INGEST_TARGET))
            raw = results.limits.get(size)
            if raw is not None:
                share = ingest.rate / raw.sqlite_rows_per_s
                found.append(
                    Target(
                        f"ingest ÷ raw SQLite ≥ {INGEST_SHARE_TARGET}",
                        size,
                        f"{share:.2f}",
                        ingest.finished and share >= INGEST_SHARE_TARGET,
                    )
                )
        limit = max(run.read, default=0)
        if limit:
            found.append(
                _at_least(f"read objects/s (limit {limit:,})", size, run.read[limit], READ_TARGET)
            )
    if runs:
        largest = runs[max(runs)]
        for kind, lat in largest.queries.items():
            found.append(
                Target(
                    f"{kind} p95 ≤ {QUERY_P95_TARGET_MS:.0f} ms",
                    largest.size,
                    f"{lat.p95_ms:.1f} ms",
                    lat.finished and lat.p95_ms <= QUERY_P95_TARGET_MS,
                )
            )
        base = runs.get(TARGETS_FROM)
        if base is not None and largest.size > TARGETS_FROM:
            for kind, lat in largest.queries.items():
                ratio = lat.p95_ms / base.queries[kind].p95_ms if kind in base.queries else math.nan
                found.append(
                    Target(
                        f"{kind} p95 flat from 10k (≤ {FLAT_FACTOR}×)",
                        largest.size,
                        f"{ratio:.2f}×",
                        lat.finished and ratio <= FLAT_FACTOR,
                    )
                )
    return found


def _at_least(name: str, size: int, result: Throughput, target: float) -> Target:
    return Target(
        f"{name} ≥ {target:,}",
        size,
        _throughput(result),
        result.finished and result.rate >= target,
    )


def markdown(results: Results) -> str:
    m = results.machine
    budgets = results.budgets
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py`; do not edit by hand. `bench/README.md` says what is measured.",
        "",
        f"- Date: {results.date}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; {m['os']}",
        f"- Python {m['python']}, SQLite {m['sqlite']}; allyshare at {m['allyshare commit']}",
        f"- Command: `{results.command}`",
        "- Load average (1 min): "
        + ", ".join(f"{when} {value:.2f}" for when, value in results.load.items()),
        f"- Budgets: ingest {budgets['ingest']:.0f} s, read {budgets['read']:.0f} s, "
        f"each query kind {budgets['query']:.0f} s. DNF = did not finish within its budget.",
        "",
        "## Throughput (objects/s) and peak server memory",
        "",
        "| server | objects | ingest, 1k per POST | ingest, 10k per POST | read, limit 1k "
        "| read, limit 10k | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results.runs:
        if run.error:
            lines.append(f"| {run.server} | {run.size:,} | error: {run.error} | | | | |")
            continue
        cells = [
            _cell(run.ingest.get(1000)),
            _cell(run.ingest.get(10000)),
            _cell(run.read.get(1000)),
            _cell(run.read.get(10000)),
            f"{run.peak_rss_mb:,.0f} MiB",
        ]
        lines.append(f"| {run.server} | {run.size:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Query latency (ms, p50 / p95)",
        "",
        "| server | objects | " + " | ".join(f"`{kind}`" for kind in QUERY_KINDS) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in QUERY_KINDS) + " |",
    ]
    for run in results.runs:
        if not run.error:
            cells = [_latency(run.queries.get(kind)) for kind in QUERY_KINDS]
            lines.append(f"| {run.server} | {run.size:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## This machine's limits on the same objects",
        "",
        "| objects | raw SQLite rows/s | orjson loads+dumps objects/s |",
        "| ---: | ---: | ---: |",
    ]
    for size, limit in sorted(results.limits.items()):
        lines.append(
            f"| {size:,} | {limit.sqlite_rows_per_s:,.0f} | {limit.orjson_objects_per_s:,.0f} |"
        )
    lines += ["", "## Targets (allyshare)", "", "| target | objects | measured | met |"]
    lines.append("| --- | ---: | ---: | --- |")
    for target in targets(results):
        met = "yes" if target.met else "**no**"
        lines.append(f"| {target.name} | {target.size:,} | {target.measured} | {met} |")
    return "\n".join(lines) + "\n"


def _throughput(result: Throughput) -> str:
    if result.finished:
        return f"{result.rate:,.0f}"
    progress = f"{result.done:,} objects at {result.rate:,.0f}/s" if result.done else "nothing"
    cut = "; a request was cut off" if result.interrupted else ""
    return f"DNF in {result.budget:.0f} s ({progress}{cut})"


def _cell(result: Throughput | None) -> str:
    return "–" if result is None else _throughput(result)


def _latency(result: Latency | None) -> str:
    if result is None:
        return "–"
    figures = f"{result.p50_ms:,.1f} / {result.p95_ms:,.1f}"
    if result.finished:
        return figures
    progress = f"{result.requests} requests: {figures}" if result.requests else "no answer"
    cut = "; one was cut off" if result.interrupted else ""
    return f"DNF in {result.budget:.0f} s ({progress}{cut})"


def write(results: Results, bench_dir: Path) -> str:
    text = markdown(results)
    (bench_dir / "RESULTS.md").write_text(text)
    document: dict[str, Any] = asdict(results)
    for run, raw in zip(results.runs, document["runs"], strict=True):
        for phase in ("ingest", "read"):
            for key, result in getattr(run, phase).items():
                raw[phase][key]["rate"] = result.rate
    document["targets"] = [asdict(target) for target in targets(results)]
    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    (bench_dir / "results.json").write_bytes(orjson.dumps(document, option=options) + b"\n")
    return text


def markers(script: str) -> tuple[str, str]:
    """The comments that fence a script's own section of RESULTS.md."""
    return f"<!-- {script}: start -->", f"<!-- {script}: end -->"


def insert_section(results_md: Path, script: str, text: str) -> None:
    """Put a script's section (fenced by :func:`markers`) into RESULTS.md, replacing an
    earlier one and leaving the rest; ``run.py`` rewrites the file whole, so scripts that
    run after it keep their sections this way."""
    start, end = markers(script)
    current = results_md.read_text() if results_md.exists() else ""
    if start in current and end in current:
        head, rest = current.split(start, 1)
        tail = rest.split(end, 1)[1]
        updated = head + text.rstrip("\n") + tail
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    results_md.write_text(updated)
