"""Source protection's cost (issue 12): TAXII ingest with personal data scrubbing on, and with
anonymous contribution, beside plain ingest, side by side.

    python bench/sources.py [--sizes 100000,1000000] [--repeats 3] [--pii-share 0.01]
    python bench/sources.py --report-only

Per size and repeat, three fresh nodes of this code (``bench/servers.py``'s ``allyshare_member``,
served by a real ``allyshare serve``), all served at once, each with its collection bound to an
agreement and written by a contributor of a member organization (the admin writes as the
operator, under fewer rules, and is never anonymous):

- **plain**: the agreement without ``scrub_pii``;
- **scrubbed**: the same agreement with ``scrub_pii = true``;
- **anonymous**: the plain agreement, every POST with ``?x_allyshare_anonymous=true`` (each
  version anonymised, its true values sealed with AES-GCM beside it).

The objects are ``bench/workload.py``'s stream with TLP:RED made AMBER+STRICT (a member's RED
needs named recipients) and, in ``--pii-share`` of the objects that have a description, an
e-mail address and a phone number written into it, so that the scrubbing side replaces
something. Each side ingests them 1,000 per POST in turn, the order rotated each repeat, so
that whatever else the machine does weighs on every side alike. Timings are the HTTP exchanges
(``bench/phases.py``), the server's CPU time taken beside them. Target: scrubbed and anonymous
each at least 0.85 x plain, in objects/s.

Writes its section into bench/RESULTS.md and every figure to bench/results-sources.json;
``--report-only`` re-inserts the section from that JSON.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

import phases
import report
import servers
import workload
from allyshare.demo.content import synthetic_objects
from allyshare.sources import Scrubber
from restricted import server_cpu

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "sources"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results-sources.json"
DEFAULT_SIZES = (100_000, 1_000_000)
BATCH = 1_000
SHARE_TARGET = 0.85  # objects/s with scrubbing or anonymity ÷ plain, at least
SIDES = ("plain", "scrubbed", "anonymous")
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
TLP_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
AGREEMENT = """
name = "bench-community"
version = 1
parties = { countries = ["USA", "KOR"], organizations = [] }
categories = ["cyber-threat"]
max_classification = "S"
tlp_ceiling = "RED"
propin_match_only = true
aggregate_k = 3
"""


@dataclass
class Phase:
    """One timed ingest: objects, seconds of HTTP exchanges, server CPU seconds, refusals."""

    objects: int
    seconds: float
    cpu_seconds: float
    failures: int

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu_seconds / self.objects if self.objects else float("nan")


@dataclass
class SizeRun:
    size: int
    with_personal_data: int = 0
    passes: dict[str, list[Phase]] = field(default_factory=lambda: {s: [] for s in SIDES})

    def median_rate(self, side: str) -> float:
        return statistics.median(p.rate for p in self.passes[side])

    def median_cpu(self, side: str) -> float:
        return statistics.median(p.cpu_per_1000 for p in self.passes[side])


def prepare(size: int, seed: int, pii_share: float) -> tuple[workload.Workload, int]:
    """The stream as a member may write it, with personal data in some descriptions; and how
    many objects the scrubber finds personal data in."""
    rng = random.Random(seed)
    scrubber = Scrubber(["US", "KR"])
    path = WORK / f"objects-{size}-seed{seed}.jsonl"
    with_personal_data = 0
    with path.open("wb") as stream:
        for number, obj in enumerate(synthetic_objects(size, seed=seed)):
            refs = obj.get("object_marking_refs")
            if refs and TLP_RED in refs:
                obj = {**obj, "object_marking_refs": [TLP_AMBER_STRICT]}
            if "description" in obj and rng.random() < pii_share:
                obj = {
                    **obj,
                    "description": f"{obj['description']} Reported by analyst{number}@member"
                    f"{number % 50}.example, tel. +1 202-555-{number % 10_000:04d}.",
                }
            with_personal_data += scrubber.scrub(obj) is not None
            stream.write(orjson.dumps(obj) + b"\n")
    return workload.Workload(path, size), with_personal_data


def run_size(size: int, args: argparse.Namespace) -> SizeRun:
    _say(f"generating {size:,} objects")
    objects, with_personal_data = prepare(size, args.seed, args.pii_share)
    run = SizeRun(size, with_personal_data)
    try:
        for repeat in range(args.repeats):
            shift = repeat % len(SIDES)
            order = SIDES[shift:] + SIDES[:shift]
            for side, phase in one_repeat(order, objects, args).items():
                run.passes[side].append(phase)
                _say(
                    f"[{size:,} {side} {repeat + 1}] ingest {phase.rate:,.0f}/s, "
                    f"{phase.cpu_per_1000:.4f} CPU s per 1,000, {phase.failures} refused"
                )
    finally:
        objects.path.unlink()
    return run


def one_repeat(
    order: tuple[str, ...], objects: workload.Workload, args: argparse.Namespace
) -> dict[str, Phase]:
    nodes: dict[str, servers.Server] = {}
    try:
        for side in order:
            terms = AGREEMENT + ("scrub_pii = true\n" if side == "scrubbed" else "")
            nodes[side] = servers.allyshare_member(servers.fresh_dir(WORK / side), terms)
            nodes[side].start()
        done: dict[str, Phase] = {}
        for side in order:
            server = nodes[side]
            path = server.objects_path
            if side == "anonymous":
                path += "?x_allyshare_anonymous=true"
            client = server.client()
            cpu = server_cpu(server)
            result = phases.ingest(client, path, objects, BATCH, args.ingest_budget).result
            done[side] = Phase(
                result.done, result.seconds, server_cpu(server) - cpu, result.failures
            )
            client.close()
    finally:
        for server in nodes.values():
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
    return done


def markdown(document: dict[str, Any]) -> str:
    start, end = report.markers("sources.py")
    lines = [
        start,
        "## Source protection: ingest with scrubbing and anonymity (bench/sources.py)",
        "",
        "Written by `bench/sources.py` (its docstring says what is measured; re-insert with "
        "`--report-only` after `bench/run.py`).",
        "",
        f"- Date: {document['date']}; command: `{document['command']}`",
        f"- Machine: {document['machine']['cpu']}, {document['machine']['cores']} cores; "
        f"load average {document['load']}",
        f"- Repeats per size: {document['repeats']}, each three fresh nodes served at once; "
        "medians shown. Target: scrubbed and anonymous >= "
        f"{SHARE_TARGET} x plain (objects/s).",
        "",
        "| objects | side | objects/s (median) | ÷ plain | server CPU per 1,000 | refused | "
        "target |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for raw in document["sizes"]:
        run = _size_from(raw)
        plain = run.median_rate("plain")
        for side in SIDES:
            share = run.median_rate(side) / plain if plain else float("nan")
            met = "" if side == "plain" else ("met" if share >= SHARE_TARGET else "MISSED")
            refused = sum(p.failures for p in run.passes[side])
            lines.append(
                f"| {run.size:,} | {side} | {run.median_rate(side):,.0f} | {share:.2f} | "
                f"{run.median_cpu(side):.4f} s | {refused} | {met} |"
            )
        lines.append(
            f"| {run.size:,} | | {run.with_personal_data:,} objects with personal data found | "
            "| | | |"
        )
    lines += ["", end, ""]
    return "\n".join(lines)


def _size_from(raw: dict[str, Any]) -> SizeRun:
    run = SizeRun(raw["size"], raw["with_personal_data"])
    run.passes = {side: [Phase(**p) for p in raw["passes"][side]] for side in SIDES}
    return run


def write(document: dict[str, Any]) -> str:
    RESULTS_JSON.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    text = markdown(document)
    report.insert_section(RESULTS_MD, "sources.py", text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.report_only:
        print(write(orjson.loads(RESULTS_JSON.read_bytes())))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/sources.py", *sys.argv[1:]]),
        "machine": report.machine(),
        "load": {"start": os.getloadavg()[0]},
        "repeats": args.repeats,
        "pii_share": args.pii_share,
        "sizes": [],
    }
    for size in (int(s) for s in args.sizes.split(",") if s):
        document["sizes"].append(asdict(run_size(size, args)))
        document["load"][f"after {size:,}"] = os.getloadavg()[0]
        write(document)
    print(write(document))
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="objects ingested per node, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh nodes per side and size")
    parser.add_argument(
        "--pii-share",
        type=float,
        default=0.01,
        help="share of descriptions given an e-mail address and a phone (default: %(default)s; "
        "in the shared real data, 11 objects in 3,602 hold personal data)",
    )
    parser.add_argument("--seed", type=int, default=0, help="content seed (default: 0)")
    parser.add_argument("--ingest-budget", type=float, default=900.0, metavar="SECONDS")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report only")
    return parser


if __name__ == "__main__":
    sys.exit(main())
