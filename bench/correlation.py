"""Correlation and private matching (issue 13), in one run: TAXII ingest with the observable
index on and off side by side, lookup latency at the largest size, and private matching
through the API beside the PSI library's own rate.

    python bench/correlation.py [--sizes 100000,1000000] [--repeats 2] [--lookups 1000]
                                [--holders 100000,1000000] [--seekers 1000,10000]
    python bench/correlation.py --report-only

**Index on and off.** "Off" is the code just before the index (``BEFORE_INDEX``, unpacked from
git into bench/work), "on" this version, each a fresh node (``bench/servers.py``'s, its admin
writing) served at once; the run's objects (``bench/workload.py``'s) are posted 1,000 per
request to one and then the other, the order swapped each repeat. Target: on >= 0.85 x off.

**Lookups.** On the "on" node of the largest size, after its ingest: ``--lookups`` requests
``GET /api/v1/observables?value=V``, nine in ten of a value the objects mention (drawn from
the workload), one in ten of one they do not. Target: p95 <= 25 ms at 1M objects.

**Private matching.** For each holder size, a node whose collection holds that many distinct
match-only addresses, written by one member; a member of another organization matches
``--seekers`` values (half of them held) through ``POST /api/v1/match``: the first request
builds and caches the setup (its time less the next one's is the setup), the next ones are
online. Beside it, in this process, the library itself (``allyshare.matching.psi``, which
calls ``openmined-psi`` directly) on the same values: setup, then request, answer and
intersection. Target: online through the API >= 0.9 x the library's rate.

Writes its section into bench/RESULTS.md and every figure to bench/results-correlation.json.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import shlex
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

import phases
import report
import servers
import workload
from allyshare.matching import Holder, Seeker, element
from allyshare.observables import observables_in
from allyshare.policy import ALLYSHARE_EXTENSION_ID
from restricted import server_cpu
from taxii_http import Client

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "correlation"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results-correlation.json"
BEFORE_INDEX = "cf53fe0"  # the commit before the observable index
SIDES = ("off", "on")
BATCH = 1_000
INGEST_TARGET = 0.85
LOOKUP_P95_MS = 25.0
MATCH_TARGET = 0.9
AGREEMENT = """
name = "bench-community"
version = 1
parties = { countries = ["USA", "KOR"], organizations = [] }
categories = ["cyber-threat"]
max_classification = "S"
tlp_ceiling = "RED"
propin_match_only = true
aggregate_k = 3
match_budget = 100000000
"""
MATCH_ONLY = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--6c1c1a3e-0000-4000-8000-00000000b001",
    "created": "2026-01-01T00:00:00.000Z",
    "name": "match-only",
    "extensions": {
        ALLYSHARE_EXTENSION_ID: {
            "extension_type": "property-extension",
            "match_only": True,
        }
    },
}


@dataclass
class Ingest:
    objects: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0


@dataclass
class SizeRun:
    size: int
    passes: dict[str, list[Ingest]] = field(default_factory=lambda: {s: [] for s in SIDES})
    lookup: dict[str, float] | None = None

    def median(self, side: str) -> float:
        return statistics.median(p.rate for p in self.passes[side])


@dataclass
class MatchRun:
    holder_values: int
    seeker_values: int
    api_first_s: float
    api_online_s: list[float]
    library_setup_s: float
    library_online_s: list[float]
    matched: int

    @property
    def api_online(self) -> float:
        return statistics.median(self.api_online_s)

    @property
    def library_online(self) -> float:
        return statistics.median(self.library_online_s)


def run_size(size: int, args: argparse.Namespace, off_src: Path, last: bool) -> SizeRun:
    _say(f"generating {size:,} objects")
    objects = workload.prepare(WORK, size, args.seed)
    run = SizeRun(size)
    try:
        for repeat in range(args.repeats):
            order = SIDES if repeat % 2 == 0 else SIDES[::-1]
            measure = last and repeat == args.repeats - 1
            for side, ingest in one_repeat(order, objects, args, off_src, run, measure).items():
                run.passes[side].append(ingest)
                _say(f"[{size:,} {side} {repeat + 1}] ingest {ingest.rate:,.0f}/s")
    finally:
        objects.path.unlink()
    return run


def one_repeat(
    order: tuple[str, ...],
    objects: workload.Workload,
    args: argparse.Namespace,
    off_src: Path,
    run: SizeRun,
    measure_lookups: bool,
) -> dict[str, Ingest]:
    nodes: dict[str, servers.Server] = {}
    done: dict[str, Ingest] = {}
    try:
        for side in order:
            nodes[side] = servers.allyshare(
                servers.fresh_dir(WORK / f"node-{side}"), servers.side_env(side, off_src)
            )
            nodes[side].start()
        for side in order:
            server = nodes[side]
            client = server.client()
            cpu = server_cpu(server)
            result = phases.ingest(client, server.objects_path, objects, BATCH, 3600).result
            done[side] = Ingest(result.done, result.seconds, server_cpu(server) - cpu)
            client.close()
        if measure_lookups:
            run.lookup = lookups(nodes["on"], objects, args)
    finally:
        for server in nodes.values():
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
    return done


def lookups(
    server: servers.Server, objects: workload.Workload, args: argparse.Namespace
) -> dict[str, float]:
    rng = random.Random(args.seed)
    mentioned: list[str] = []
    for line in objects.lines():
        if rng.random() < 0.02:
            mentioned.extend(value for _, value in observables_in(orjson.loads(line)))
    present = rng.sample(mentioned, min(len(mentioned), args.lookups * 9 // 10))
    absent = [f"absent-{n}.example" for n in range(args.lookups - len(present))]
    queries = [{"value": value} for value in present + absent]
    rng.shuffle(queries)
    client = server.client()
    try:
        phases.latency(client, "/api/v1/observables", queries[:20], 60)  # warm-up
        found = phases.latency(client, "/api/v1/observables", queries, 600)
    finally:
        client.close()
    _say(f"lookups: p50 {found.p50_ms:.1f} ms, p95 {found.p95_ms:.1f} ms")
    return {"requests": found.requests, "p50_ms": found.p50_ms, "p95_ms": found.p95_ms}


def matching_node(holder_values: int) -> tuple[servers.Server, str, str]:
    """A node whose collection holds ``holder_values`` match-only addresses written by one
    member; returns it, the collection and another member's token."""
    cli = servers._allyshare_cli
    env = {"ALLYSHARE_MATCH_INTERVAL": "1"}
    server = servers.allyshare_member(servers.fresh_dir(WORK / "matching"), AGREEMENT, env)
    data = str(server.workdir / "node")
    seeker_org = cli("org", "add", "Seeker", "--country", "USA", "--kind", "cert",
                     "--data-dir", data, env=env)  # fmt: skip
    token = cli("user", "add", "seeker", "--org", seeker_org, "--role", "reader",
                "--data-dir", data, env=env)  # fmt: skip
    collection = server.objects_path.split("/collections/")[1].split("/")[0]
    server.start()
    client = server.client()
    try:
        batch = [orjson.dumps(MATCH_ONLY)]
        for number in range(holder_values):
            batch.append(
                orjson.dumps(
                    {
                        "type": "ipv4-addr",
                        "spec_version": "2.1",
                        "id": f"ipv4-addr--{number:08x}-0000-4000-8000-000000000000",
                        "value": address(number),
                        "object_marking_refs": [MATCH_ONLY["id"]],
                    }
                )
            )
            if len(batch) >= BATCH:
                client.expect("POST", server.objects_path, workload.envelope(batch), 600)
                batch = []
        if batch:
            client.expect("POST", server.objects_path, workload.envelope(batch), 600)
    finally:
        client.close()
    return server, collection, token


def address(number: int) -> str:
    """The ``number``-th address from 10.0.0.0 on."""
    return str(ipaddress.IPv4Address(0x0A000000 + number))


def run_matching(
    holder_values: int, seekers: list[int], args: argparse.Namespace
) -> list[MatchRun]:
    _say(f"matching: filling a node with {holder_values:,} match-only values")
    server, collection, token = matching_node(holder_values)
    found: list[MatchRun] = []
    try:
        holder_set = [element("ipv4-addr", address(n)) for n in range(holder_values)]
        library_start = time.perf_counter()
        holder = Holder.of(holder_set)
        library_setup = time.perf_counter() - library_start
        client = Client(
            server.port, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        first = True
        for count in seekers:
            rng = random.Random(count)
            asked = [address(rng.randrange(holder_values)) for _ in range(count // 2)]
            asked += [f"172.16.{n // 256 % 256}.{n % 256}" for n in range(count - len(asked))]
            body = orjson.dumps({"collection": collection, "values": asked})
            timings = []
            for _ in range(args.match_repeats + (1 if first else 0)):
                time.sleep(1.1)  # the node's minimum interval between requests
                start = time.perf_counter()
                reply = client.expect("POST", "/api/v1/match", body, 3600)
                timings.append(time.perf_counter() - start)
                matched = len(orjson.loads(reply.body)["matched"])
            api_first = timings.pop(0) if first else float("nan")
            first = False
            library = []
            for _ in range(args.match_repeats):
                start = time.perf_counter()
                seeker = Seeker([element("ipv4-addr", v) for v in asked])
                seeker.matched(holder.setup, holder.answer(seeker.request()))
                library.append(time.perf_counter() - start)
            run = MatchRun(
                holder_values, count, api_first, timings, library_setup, library, matched
            )
            _say(
                f"[{holder_values:,} held, {count:,} asked] API online {run.api_online:.3f} s, "
                f"library {run.library_online:.3f} s; setup via API "
                f"{api_first - run.api_online if api_first == api_first else float('nan'):.1f} s, "
                f"library {library_setup:.1f} s; {matched} matched"
            )
            found.append(run)
        client.close()
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)
    return found


def markdown(document: dict[str, Any]) -> str:
    start, end = report.markers("correlation.py")
    lines = [
        start,
        "## Correlation and private matching (bench/correlation.py)",
        "",
        "Written by `bench/correlation.py` (its docstring says what is measured).",
        "",
        f"- Date: {document['date']}; command: `{document['command']}`",
        f"- Machine: {document['machine']['cpu']}, {document['machine']['cores']} cores; "
        f"index off is {BEFORE_INDEX}",
        "",
        "| objects | index off (objects/s) | index on | on ÷ off | target |",
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    for raw in document["sizes"]:
        run = SizeRun(raw["size"], {s: [Ingest(**p) for p in raw["passes"][s]] for s in SIDES})
        share = run.median("on") / run.median("off")
        met = "met" if share >= INGEST_TARGET else "MISSED"
        lines.append(
            f"| {run.size:,} | {run.median('off'):,.0f} | {run.median('on'):,.0f} | "
            f"{share:.2f} | >= {INGEST_TARGET} {met} |"
        )
        if raw.get("lookup"):
            lookup = raw["lookup"]
            met = "met" if lookup["p95_ms"] <= LOOKUP_P95_MS else "MISSED"
            lines.append(
                f"| {run.size:,} | lookups: {lookup['requests']:,} | p50 {lookup['p50_ms']:.1f} "
                f"ms | p95 {lookup['p95_ms']:.1f} ms | <= {LOOKUP_P95_MS:.0f} ms {met} |"
            )
    lines += [
        "",
        "| holder values | seeker values | online via API | library online | API ÷ library "
        "(rate) | setup via API | library setup | matched | target |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for raw in document["matching"]:
        run = MatchRun(**raw)
        share = run.library_online / run.api_online
        setup = run.api_first_s - run.api_online
        met = "met" if share >= MATCH_TARGET else "MISSED"
        lines.append(
            f"| {run.holder_values:,} | {run.seeker_values:,} | {run.api_online:.3f} s | "
            f"{run.library_online:.3f} s | {share:.2f} | "
            f"{'' if setup != setup else f'{setup:.1f} s'} | {run.library_setup_s:.1f} s | "
            f"{run.matched:,} | >= {MATCH_TARGET} {met} |"
        )
    lines += ["", end, ""]
    return "\n".join(lines)


def write(document: dict[str, Any]) -> str:
    RESULTS_JSON.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    text = markdown(document)
    report.insert_section(RESULTS_MD, "correlation.py", text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.report_only:
        print(write(orjson.loads(RESULTS_JSON.read_bytes())))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    off_src = servers.source_at(BEFORE_INDEX, BENCH / "work" / f"index-off-{BEFORE_INDEX}")
    document: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/correlation.py", *sys.argv[1:]]),
        "machine": report.machine(),
        "load": {"start": os.getloadavg()[0]},
        "sizes": [],
        "matching": [],
    }
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for size in sizes:
        run = run_size(size, args, off_src, last=size == sizes[-1])
        document["sizes"].append(asdict(run))
        write(document)
    seekers = [int(s) for s in args.seekers.split(",") if s]
    for holder_values in (int(s) for s in args.holders.split(",") if s):
        for found in run_matching(holder_values, seekers, args):
            document["matching"].append(asdict(found))
        write(document)
    document["load"]["end"] = os.getloadavg()[0]
    print(write(document))
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="objects ingested per node")
    parser.add_argument("--repeats", type=int, default=2, help="fresh nodes per side and size")
    parser.add_argument("--lookups", type=int, default=1000, help="lookups timed")
    parser.add_argument("--holders", default="100000,1000000", help="match-only values held")
    parser.add_argument("--seekers", default="1000,10000", help="values a member matches")
    parser.add_argument("--match-repeats", type=int, default=3, help="timed requests each")
    parser.add_argument("--seed", type=int, default=0, help="content seed (default: 0)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report only")
    return parser


if __name__ == "__main__":
    sys.exit(main())
