"""Benchmark allyshare against medallion (the OASIS reference TAXII 2.1 server) in one run.

    python bench/run.py [--sizes 1000,10000,100000,1000000] [--quick]

For each size: this machine's limits (raw SQLite, orjson) on the objects, then for each server a
fresh process and data dir: TAXII ingest, full paginated read, query latency, peak RSS. Writes
bench/RESULTS.md and bench/results.json and prints the tables. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import limits
import phases
import report
import servers
import workload
from report import QUERY_KINDS, Results, ServerRun
from servers import Server
from taxii_http import BenchError, Client
from workload import Workload

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work"
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)


@dataclass(frozen=True)
class Settings:
    seed: int
    queries: int
    ingest_budget: float
    read_budget: float
    query_budget: float


@dataclass(frozen=True)
class Plan:
    """How one server is driven: objects per POST and page limits, the first being the main."""

    name: str
    make: Callable[[Path], Server]
    batches: tuple[int, ...]
    limits: tuple[int, ...]
    max_size: int


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = QUICK_SIZES if args.quick else tuple(int(s) for s in args.sizes.split(","))
    settings = Settings(
        args.seed, args.queries, args.ingest_budget, args.read_budget, args.query_budget
    )
    WORK.mkdir(exist_ok=True)
    plans = [plan for plan in _plans(args.medallion_max_size) if plan.name in args.servers]
    results = Results(
        command=" ".join(["python", "bench/run.py", *sys.argv[1:]]),
        budgets={
            "ingest": args.ingest_budget,
            "read": args.read_budget,
            "query": args.query_budget,
        },
    )
    for size in sizes:
        _say(f"generating {size:,} objects")
        objects = workload.prepare(WORK, size, settings.seed)
        _say(f"[limits {size:,}] raw SQLite and orjson")
        results.limits[size] = limits.measure(objects, servers.fresh_dir(WORK / "limits"))
        for plan in plans:
            if size <= plan.max_size:
                results.runs.append(bench_server(plan, objects, settings))
        objects.path.unlink()
        results.load[f"after {size:,}"] = os.getloadavg()[0]
        report.write(results, BENCH)
    shutil.rmtree(WORK / "runs", ignore_errors=True)
    shutil.rmtree(WORK / "limits", ignore_errors=True)
    print(report.write(results, BENCH))
    return 0


def _plans(medallion_max_size: int) -> list[Plan]:
    def make_medallion(workdir: Path) -> Server:
        return servers.medallion(workdir, servers.ensure_medallion(WORK), max_page_size=10_000)

    return [
        Plan("allyshare", servers.allyshare, (1_000, 10_000), (10_000, 1_000), sys.maxsize),
        Plan("medallion", make_medallion, (1_000,), (1_000,), medallion_max_size),
    ]


def bench_server(plan: Plan, objects: Workload, settings: Settings) -> ServerRun:
    run = ServerRun(plan.name, objects.size)
    for batch in plan.batches:
        workdir = servers.fresh_dir(WORK / "runs" / f"{plan.name}-{objects.size}-{batch}")
        try:
            server = plan.make(workdir)
            try:
                server.start()
                if batch == plan.batches[0]:
                    _measure(server, plan, objects, settings, run)
                else:
                    _ingest(server, objects, batch, settings, run)
            finally:
                server.stop()
                run.peak_rss_mb = max(run.peak_rss_mb, server.peak_rss_mb())
        except BenchError as exc:
            run.error = str(exc).splitlines()[0]
            _say(f"[{plan.name} {objects.size:,}] error: {exc}")
            return run
        shutil.rmtree(workdir)
    return run


def _measure(
    server: Server, plan: Plan, objects: Workload, settings: Settings, run: ServerRun
) -> None:
    ingested = _ingest(server, objects, plan.batches[0], settings, run)
    loaded = replace(objects, size=ingested.result.done)
    if loaded.size == 0:
        raise BenchError(f"{server.name} took no objects within the ingest budget")
    client = server.client()
    interrupted = ingested.result.interrupted
    for limit in plan.limits:
        client = _settle(server, client, interrupted, loaded, settings)
        result = phases.read_all(client, server.objects_path, limit, settings.read_budget)
        run.read[limit] = _note(server, run, f"read, limit {limit:,}", result)
        interrupted = result.interrupted
    ids = loaded.sample_ids(loaded.size, settings.queries, settings.seed)
    count = settings.queries
    queries = {
        "match[type]=malware": [{"match[type]": "malware", "limit": "100"}] * count,
        "match[id]": [{"match[id]": object_id} for object_id in ids],
        "added_after": [{"added_after": ingested.added_after, "limit": "100"}] * count,
    }
    for kind in QUERY_KINDS:
        client = _settle(server, client, interrupted, loaded, settings)
        lat = phases.latency(client, server.objects_path, queries[kind], settings.query_budget)
        lat.peak_rss_mb = server.peak_rss_mb()
        run.queries[kind] = lat
        _say(
            f"[{run.server} {run.size:,}] {kind}: p50 {lat.p50_ms:.1f} ms, "
            f"p95 {lat.p95_ms:.1f} ms over {lat.requests} requests"
            + ("" if lat.finished else f" (DNF in {lat.budget:.0f} s)")
        )
        interrupted = lat.interrupted
    client.close()


def _ingest(
    server: Server, objects: Workload, batch: int, settings: Settings, run: ServerRun
) -> phases.Ingested:
    client = server.client()
    ingested = phases.ingest(client, server.objects_path, objects, batch, settings.ingest_budget)
    client.close()
    run.ingest[batch] = _note(server, run, f"ingest, {batch:,} per POST", ingested.result)
    return ingested


def _settle(
    server: Server, client: Client, interrupted: bool, loaded: Workload, settings: Settings
) -> Client:
    """The client for the next phase; after a cut-off request, of a restarted server.

    A cut-off request may still occupy the server, which would distort the next phase. A
    server that keeps nothing across a restart is loaded again (untimed) with the same objects.
    """
    if not interrupted:
        return client
    _say(f"[{server.name}] restarting after a cut-off request")
    client.close()
    server.stop()
    server.start()
    client = server.client()
    if not server.durable:
        reload = phases.ingest(client, server.objects_path, loaded, 1_000, settings.ingest_budget)
        if not reload.result.finished:
            raise BenchError(f"{server.name}: reloading {loaded.size:,} objects did not finish")
    return client


def _note(
    server: Server, run: ServerRun, what: str, result: phases.Throughput
) -> phases.Throughput:
    result.peak_rss_mb = server.peak_rss_mb()
    state = "" if result.finished else f" (DNF in {result.budget:.0f} s)"
    _say(f"[{run.server} {run.size:,}] {what}: {result.done:,} at {result.rate:,.0f}/s{state}")
    return result


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="collection sizes, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="sizes 1,000 and 10,000 only")
    parser.add_argument(
        "--servers",
        default="allyshare,medallion",
        type=lambda s: s.split(","),
        help="servers to run (default: %(default)s)",
    )
    parser.add_argument(
        "--medallion-max-size",
        type=int,
        default=10_000,
        help="largest size medallion is run at (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="content seed (default: 0)")
    parser.add_argument("--queries", type=int, default=200, help="requests per query kind")
    parser.add_argument("--ingest-budget", type=float, default=300.0, metavar="SECONDS")
    parser.add_argument("--read-budget", type=float, default=300.0, metavar="SECONDS")
    parser.add_argument(
        "--query-budget", type=float, default=120.0, metavar="SECONDS", help="per query kind"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
