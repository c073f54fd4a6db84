"""The cross-member views of economic coercion and supply-chain exposure (issue 15): how fast
``GET /api/v1/views/coercion`` and ``GET /api/v1/views/supply-chain`` answer over many
incidents and exposures.

    python bench/views.py [--incidents 100000] [--exposures 100000] [--organizations 8]
                          [--warm 100] [--cold 20] [--seed 0]
    python bench/views.py --report-only

A fresh node (``bench/servers.py``'s member node) under an agreement with k = 3 and two
collections, one per category; ``--organizations`` member organizations (half American,
half Korean), each with a contributor, post the content through TAXII, 1,000 objects a
request, taking turns. The content is drawn from ``--seed``: incidents from a few coercing
states (one dominant), one or two measures and sectors each, starts over 2018-2025, most with
an impact range; exposures in every component category from a dozen vendors, each member's
shares in a category summing to about one.

An American member's reader then asks for each view: **first**, the first request since
the node started (the answer is computed from every stored version); **cold**, ``--cold``
times the first request after one more incident or exposure is written to the view's
collection (the kept answer follows the version added); **warm**, ``--warm`` requests with
nothing written in between (the node answers from the answer it keeps per reader). Target:
p95 <= 100 ms for the requests after a write and the repeated ones (the issue: "the views
over 100k incidents and exposures answer in <= 100 ms p95"); the first is reported beside
them.

Writes its section into bench/RESULTS.md and every figure to bench/results-views.json.
"""

from __future__ import annotations

import argparse
import random
import shlex
import shutil
import sys
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

import phases
import report
import servers
import workload
from taxii_http import Client

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "views"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results-views.json"
P95_TARGET_MS = 100.0
BATCH = 1_000
AGREEMENT = """
name = "bench-community"
version = 1
parties = { countries = ["USA", "KOR"], organizations = [] }
categories = ["economic-coercion", "supply-chain"]
max_classification = "S"
tlp_ceiling = "RED"
propin_match_only = true
aggregate_k = 3
"""
COERCION = "extension-definition--536201ca-ca98-4106-ab79-e091d35e4ebc"
EXPOSURE = "extension-definition--2e02809a-e765-4622-bb00-ef0820e424ed"
EXPOSURE_TYPE = "x-allyshare-supply-chain-exposure"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
STAMP = "2026-06-01T00:00:00.000Z"
STATES = (("CHN", 60), ("RUS", 20), ("IRN", 8), ("PRK", 6), ("BLR", 6))
TARGETS = ("KOR", "USA", "JPN", "AUS", "LTU", "CZE", "NOR", "CAN", "PHL", "TWN")
MEASURES = (
    "tariff", "import-ban", "export-restriction", "customs-inspection", "sanitary-inspection",
    "boycott", "tourism-restriction", "licence-denial", "regulatory-investigation",
    "investment-block", "informal-pressure",
)  # fmt: skip
SECTORS = (
    "semiconductors", "batteries", "automotive", "shipbuilding", "steel", "agriculture",
    "fisheries", "tourism", "entertainment", "cosmetics", "retail", "rare-earths",
    "telecommunications", "energy", "pharmaceuticals", "other",
)  # fmt: skip
CATEGORIES = (
    "5g-ran", "5g-core", "optical-transport", "semiconductor-lithography",
    "semiconductor-etch-deposition", "semiconductor-wafers", "photoresists",
    "rare-earth-magnets", "battery-cathode-materials", "battery-anode-materials",
    "nuclear-fuel-services", "other",
)  # fmt: skip
VENDORS = (
    ("Ericsson", "SWE"), ("Nokia", "FIN"), ("Huawei", "CHN"), ("ZTE", "CHN"),
    ("Samsung", "KOR"), ("ASML", "NLD"), ("Tokyo Electron", "JPN"), ("Applied", "USA"),
    ("Lam", "USA"), ("CATL", "CHN"), ("Umicore", "BEL"), ("Orano", "FRA"),
)  # fmt: skip
EPOCH = datetime(2018, 1, 1, tzinfo=UTC)


@dataclass
class Timed:
    view: str
    kind: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    cells: int


@dataclass
class Member:
    organization: str
    token: str


def incident(rng: random.Random, number: int) -> bytes:
    states, weights = zip(*STATES, strict=True)
    state = rng.choices(states, weights)[0]
    start = EPOCH + timedelta(days=rng.randrange(8 * 365))
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "coercing_state": state,
        "targeted_country": rng.choice(TARGETS),
        "targeted_sectors": rng.sample(SECTORS, rng.choice((1, 1, 2))),
        "measures": rng.sample(MEASURES, rng.choice((1, 1, 2))),
        "stated_pretext": "national security",
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if rng.random() < 0.7:
        low = rng.randrange(1, 500) * 1e6
        extension["estimated_impact"] = {
            "currency": rng.choice(("USD", "USD", "USD", "EUR", "KRW")),
            "min": low,
            "max": low * rng.choice((1, 2, 3)),
            "basis": "trade statistics",
        }
    return orjson.dumps(
        {
            "type": "incident",
            "spec_version": "2.1",
            "id": f"incident--{uuid.UUID(int=rng.getrandbits(128) | number, version=4)}",
            "created": STAMP,
            "modified": STAMP,
            "name": f"{state} {extension['measures'][0]} against {extension['targeted_country']}",
            "object_marking_refs": [TLP_GREEN],
            "extensions": {COERCION: extension},
        }
    )


def exposure(rng: random.Random, number: int, category: str, share: float) -> bytes:
    vendor = rng.randrange(len(VENDORS))
    name, country = VENDORS[vendor]
    return orjson.dumps(
        {
            "type": EXPOSURE_TYPE,
            "spec_version": "2.1",
            "id": f"{EXPOSURE_TYPE}--{uuid.UUID(int=rng.getrandbits(128) | number, version=4)}",
            "created": STAMP,
            "modified": STAMP,
            "extensions": {EXPOSURE: {"extension_type": "new-sdo"}},
            "component_category": category,
            "vendor_ref": f"identity--{uuid.UUID(int=vendor + 1, version=4)}",
            "vendor_name": name,
            "vendor_country": country,
            "share": share,
            "criticality": rng.choice(("low", "medium", "high", "critical")),
            "object_marking_refs": [TLP_GREEN],
        }
    )


def exposures_of(rng: random.Random, count: int, members: int) -> list[list[bytes]]:
    """Each member's exposures: per category, shares summing to about one."""
    per: list[list[bytes]] = [[] for _ in range(members)]
    cells = members * len(CATEGORIES)
    for cell in range(cells):
        member, category = divmod(cell, len(CATEGORIES))
        lines = count // cells + (1 if cell < count % cells else 0)
        for line in range(lines):
            share = round(rng.uniform(0.5, 1.0) / max(lines, 1), 6) or 1e-6
            per[member].append(exposure(rng, cell * 1_000_000 + line, CATEGORIES[category], share))
    return per


def setup(args: argparse.Namespace) -> tuple[servers.Server, list[Member], dict[str, str]]:
    """The node, its members and the two collections (by view)."""
    server = servers.allyshare_member(servers.fresh_dir(WORK / "node"), AGREEMENT)
    data = str(server.workdir / "node")
    cli = servers._allyshare_cli
    supply = cli(
        "collection", "add", "supply", "--agreement", "bench-community", "--category",
        "supply-chain", "--data-dir", data,
    )  # fmt: skip
    coercion = server.objects_path.split("/collections/")[1].split("/")[0]
    members = []
    for number in range(args.organizations):
        country = ("USA", "KOR")[number % 2]
        organization = cli(
            "org", "add", f"Member {number}", "--country", country, "--kind", "company",
            "--data-dir", data,
        )  # fmt: skip
        token = cli(
            "user", "add", f"member{number}", "--org", organization, "--role", "contributor",
            "--data-dir", data,
        )  # fmt: skip
        members.append(Member(organization, token))
    return server, members, {"coercion": coercion, "supply-chain": supply}


def post(server: servers.Server, member: Member, collection: str, lines: list[bytes]) -> None:
    client = Client(server.port, {"Authorization": f"Bearer {member.token}"})
    try:
        for start in range(0, len(lines), BATCH):
            reply = client.expect(
                "POST",
                f"/taxii2/api/collections/{collection}/objects/",
                workload.envelope(lines[start : start + BATCH]),
                600,
            )
            status = orjson.loads(reply.body)
            if status["failure_count"]:
                raise RuntimeError(f"refused: {status['failures'][:2]}")
    finally:
        client.close()


def fill(
    server: servers.Server,
    members: list[Member],
    collections: dict[str, str],
    args: argparse.Namespace,
) -> None:
    rng = random.Random(args.seed)
    incidents = [incident(rng, n) for n in range(args.incidents)]
    for number, member in enumerate(members):
        post(server, member, collections["coercion"], incidents[number :: len(members)])
    _say(f"{args.incidents:,} incidents posted")
    for member, lines in zip(members, exposures_of(rng, args.exposures, len(members)), strict=True):
        post(server, member, collections["supply-chain"], lines)
    _say(f"{args.exposures:,} exposures posted")


def timed(
    server: servers.Server,
    reader: Member,
    writer: Member,
    collections: dict[str, str],
    args: argparse.Namespace,
) -> list[Timed]:
    client = Client(server.port, {"Authorization": f"Bearer {reader.token}"})
    rng = random.Random(args.seed + 1)
    found = []
    try:
        for view in ("coercion", "supply-chain"):
            path = f"/api/v1/views/{view}"
            first = [client.expect("GET", path, None, 600)]
            cold = []
            for number in range(args.cold):
                if view == "coercion":
                    line = incident(rng, 10**9 + number)
                else:
                    line = exposure(rng, 10**9 + number, rng.choice(CATEGORIES), 0.001)
                post(server, writer, collections[view], [line])
                cold.append(client.expect("GET", path, None, 600))
            client.expect("GET", path, None, 600)
            warm = [client.expect("GET", path, None, 600) for _ in range(args.warm)]
            body = orjson.loads(warm[-1].body)
            cells = len(body["cells" if view == "coercion" else "categories"])
            for kind, replies in (("first", first), ("cold", cold), ("warm", warm)):
                timings = [reply.seconds * 1000 for reply in replies]
                found.append(
                    Timed(
                        view,
                        kind,
                        len(timings),
                        phases.percentile(timings, 50),
                        phases.percentile(timings, 95),
                        max(timings, default=float("nan")),
                        cells,
                    )
                )
                _say(f"{view} {kind}: p50 {found[-1].p50_ms:.1f} ms, "
                     f"p95 {found[-1].p95_ms:.1f} ms ({cells:,} cells)")  # fmt: skip
    finally:
        client.close()
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    server, members, collections = setup(args)
    server.start()
    document: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/views.py", *sys.argv[1:]]),
        "machine": report.machine(),
        "incidents": args.incidents,
        "exposures": args.exposures,
        "organizations": args.organizations,
        "timed": [],
    }
    try:
        fill(server, members, collections, args)
        measured = timed(server, members[0], members[2], collections, args)
        document["timed"] = [asdict(t) for t in measured]
        document["peak_rss_mb"] = server.peak_rss_mb()
    finally:
        server.stop()
    return document


def markdown(document: dict[str, Any]) -> str:
    start, end = report.markers("views.py")
    machine = document["machine"]
    lines = [
        start,
        "## The cross-member views (bench/views.py)",
        "",
        "Written by `bench/views.py` (its docstring says what is measured). First: the first "
        "request since the node started, computed from every stored version; cold: the first "
        "request after a write, the kept answer following the version added; warm: nothing "
        "written since the reader's last request. Every request appends one audit entry "
        "naming the versions the view drew on (after the first, as in an earlier entry).",
        "",
        f"- Date: {document['date']}; command: `{document['command']}`",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores; commit "
        f"{machine['allyshare commit']}; {document['incidents']:,} incidents and "
        f"{document['exposures']:,} exposures from {document['organizations']} organizations, "
        "k = 3",
        "",
        "| view | requests | cells | p50 | p95 | max | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for raw in document["timed"]:
        t = Timed(**raw)
        met = "met" if t.p95_ms <= P95_TARGET_MS else "MISSED"
        if t.kind == "first":
            met = "(reported)"
        lines.append(
            f"| {t.view} | {t.kind}, {t.requests:,} | {t.cells:,} | {t.p50_ms:.1f} ms | "
            f"{t.p95_ms:.1f} ms | {t.max_ms:.1f} ms | p95 <= {P95_TARGET_MS:.0f} ms {met} |"
        )
    lines += ["", end, ""]
    return "\n".join(lines)


def write(document: dict[str, Any]) -> str:
    RESULTS_JSON.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    text = markdown(document)
    report.insert_section(RESULTS_MD, "views.py", text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.report_only:
        print(write(orjson.loads(RESULTS_JSON.read_bytes())))
        return 0
    if args.organizations < 4:
        raise SystemExit("at least 4 organizations: k = 3, and one of them writes the cold runs")
    document = run(args)
    print(write(document))
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000, help="incidents stored")
    parser.add_argument("--exposures", type=int, default=100_000, help="exposures stored")
    parser.add_argument("--organizations", type=int, default=8, help="member organizations")
    parser.add_argument("--warm", type=int, default=100, help="warm requests timed per view")
    parser.add_argument("--cold", type=int, default=20, help="first requests after a write")
    parser.add_argument("--seed", type=int, default=0, help="content seed (default: 0)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report only")
    return parser


if __name__ == "__main__":
    sys.exit(main())
