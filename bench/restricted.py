"""The access-policy benchmark (issue 3): reading what one may see among what one may not.

    python bench/restricted.py [--sizes 100000,1000000] [--repeats 5] [--report-only]

For each size N: one node (real server process, SQLite, through TAXII) bound to a USA-KOR
agreement holds N synthetic objects written by a USA CISA contributor; a random 90 % of the
objects (by id, interleaved) carry an ACS 3.0 NOFORN marking and the rest TLP:GREEN. The USA
reader sees everything, the KOR reader sees the 10 %. A second node, the control, holds only
the visible 10 %. Measured: full paginated reads (limit 10,000, following ``next``) by both
readers and by the KOR reader on the control, the p95 of ``match[type]=indicator&limit=100``,
and the SQL plan of the statements ``Store.read_page`` runs for the KOR reader. Every read is
checked: the restricted reader gets exactly the visible objects, byte-for-byte what was posted.

Writes its section into bench/RESULTS.md (between markers, so the rest is left alone) and every
figure to bench/results-restricted.json; ``--report-only`` re-inserts the section from that
JSON (``bench/run.py`` rewrites RESULTS.md whole; ``make bench`` runs this after it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import event

import phases
import report
import servers
from allyshare import Node, VersionFilter, load_settings
from allyshare.community import identity_of
from allyshare.demo.content import TLP_GREEN, synthetic_objects
from servers import Server
from taxii_http import BenchError, Client
from workload import Workload

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "restricted"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results-restricted.json"
START, END = report.markers("restricted.py")
DEFAULT_SIZES = (100_000, 1_000_000)
RATIO_TARGET = 1.2  # restricted cost per visible object ÷ unrestricted, at most
VISIBLE_SHARE = 10  # percent of object ids the restricted reader may see
PAGE = 10_000
QUERY = {"match[type]": "indicator", "limit": "100"}

AGREEMENT = "us-kor-bench"
AGREEMENT_TOML = f"""\
name = "{AGREEMENT}"
version = 1
parties = {{ countries = ["USA", "KOR"], organizations = [] }}
categories = ["cyber-threat"]
max_classification = "S"
tlp_ceiling = "AMBER"
propin_match_only = true
aggregate_k = 3
"""
WRITER_ORG = "USA.CISA"
ACS_EXTENSION = "extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce"
NOFORN_ID = "marking-definition--6d3c1a53-8f0e-4b8e-9d0c-5b1f0a7a3c11"


def noforn_definition() -> dict[str, Any]:
    """An ACS 3.0 marking: unclassified, NOFORN (formal determination NF), by USA CISA."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": NOFORN_ID,
        "created": "2026-01-01T00:00:00.000Z",
        "created_by_ref": identity_of(WRITER_ORG),
        "name": "U//NOFORN",
        "extensions": {
            ACS_EXTENSION: {
                "extension_type": "property-extension",
                "identifier": "isa:guide.19001.ACS-3.0#bench-noforn",
                "create_date_time": "2026-01-01T00:00:00Z",
                "responsible_entity_custodian": WRITER_ORG,
                "responsible_entity_originator": WRITER_ORG,
                "policy_reference": "urn:isa:policy:acs:ns:v3.0?privdefault=deny&sharedefault=deny",
                "control_set": {"classification": "U", "formal_determination": ["NF"]},
            }
        },
    }


# --- content --------------------------------------------------------------------------------------


@dataclass
class Content:
    """The objects of one size: the whole store, the control (visible only), what to expect."""

    definition: Workload  # the NOFORN marking definition, posted first to both nodes
    store: Workload
    control: Workload
    all_ids: set[str]
    # The newest version of each object the restricted reader may see, as posted.
    visible: dict[str, bytes]

    def remove(self) -> None:
        for workload in (self.definition, self.store, self.control):
            workload.path.unlink(missing_ok=True)


def is_visible(object_id: str, seed: int) -> bool:
    """Whether the restricted reader may see an object: 10 % of ids, by a hash of the id."""
    digest = hashlib.blake2b(f"{seed}:{object_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100 < VISIBLE_SHARE


def marked_objects(size: int, seed: int) -> Iterator[dict[str, Any]]:
    """``size`` synthetic objects marked by the visibility of their id (every version of an
    object carries the same marking), written in CISA's name."""
    author = identity_of(WRITER_ORG)
    for generated in synthetic_objects(size, seed=seed):
        obj = dict(generated)
        if "created_by_ref" in obj:
            obj["created_by_ref"] = author
        obj.pop("granular_markings", None)
        obj["object_marking_refs"] = [TLP_GREEN if is_visible(obj["id"], seed) else NOFORN_ID]
        yield obj


def prepare(size: int, seed: int) -> Content:
    paths = [WORK / f"{name}-{size}-seed{seed}.jsonl" for name in ("def", "store", "control")]
    definition = orjson.dumps(noforn_definition())
    paths[0].write_bytes(definition + b"\n")
    all_ids = {NOFORN_ID}
    visible = {NOFORN_ID: definition}
    counts = [0, 0]
    with paths[1].open("wb") as store_out, paths[2].open("wb") as control_out:
        for obj in marked_objects(size, seed):
            line = orjson.dumps(obj) + b"\n"
            store_out.write(line)
            counts[0] += 1
            all_ids.add(obj["id"])
            if obj["object_marking_refs"] == [TLP_GREEN]:
                control_out.write(line)
                counts[1] += 1
                visible[obj["id"]] = line
    return Content(
        Workload(paths[0], 1),
        Workload(paths[1], counts[0]),
        Workload(paths[2], counts[1]),
        all_ids,
        visible,
    )


# --- nodes ----------------------------------------------------------------------------------------


@dataclass
class BenchNode:
    """A node with the agreement, two organizations and the three users, served."""

    server: Server
    data: Path
    collection: str
    tokens: dict[str, str]

    def client(self, user: str) -> Client:
        return Client(self.server.port, {"Authorization": f"Bearer {self.tokens[user]}"})


def make_node(workdir: Path) -> BenchNode:
    cli = servers._allyshare_cli
    data = workdir / "node"
    common = ("--data-dir", str(data))
    cli("init", *common, "--country", "USA", "--name", "bench")
    (workdir / "agreement.toml").write_text(AGREEMENT_TOML)
    cli("agreement", "apply", str(workdir / "agreement.toml"), *common)
    collection = cli("collection", "add", "bench", "--agreement", AGREEMENT, *common)
    cisa = cli("org", "add", "CISA", "--country", "USA", "--kind", "cert", *common)
    krcert = cli("org", "add", "KrCERT", "--country", "KOR", "--kind", "cert", *common)
    if cisa != WRITER_ORG:
        raise BenchError(f"CISA was registered as {cisa}, not {WRITER_ORG}")
    tokens = {
        "writer": cli("user", "add", "writer", "--org", cisa, "--role", "contributor", *common),
        "usa": cli("user", "add", "usa-reader", "--org", cisa, "--role", "reader", *common),
        "kor": cli("user", "add", "kor-reader", "--org", krcert, "--role", "reader", *common),
    }
    port = servers.free_port()
    server = Server(
        name="allyshare",
        command=[
            *servers._ALLYSHARE,
            *("serve", "--plain-http", "--data-dir", str(data)),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        workdir=workdir,
        port=port,
        objects_path=f"/taxii2/api/collections/{collection}/objects/",
        headers={"Authorization": f"Bearer {tokens['writer']}"},
        durable=True,
    )
    return BenchNode(server, data, collection, tokens)


def load(
    node: BenchNode, definition: Workload, objects: Workload, batch: int, budget: float
) -> phases.Throughput:
    """Post the NOFORN definition alone (later batches are judged against it), then the rest."""
    client = node.server.client()
    try:
        first = phases.ingest(client, node.server.objects_path, definition, 1, budget)
        rest = phases.ingest(client, node.server.objects_path, objects, batch, budget)
    finally:
        client.close()
    failures = first.result.failures + rest.result.failures
    if failures or not (first.result.finished and rest.result.finished):
        raise BenchError(
            f"loading {objects.size:,} objects: {failures} refused, "
            f"finished {first.result.finished and rest.result.finished}"
        )
    return rest.result


# --- measurements ---------------------------------------------------------------------------------


@dataclass
class Read:
    """One full paginated read; ``seconds`` sums the HTTP exchanges, as in bench/phases.py.

    ``cpu_seconds`` is the server process's CPU time (user + system) over the read: less
    disturbed than wall time by other work on the machine, so it backs the ratios up.
    """

    objects: int
    seconds: float
    pages: int
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    @property
    def per_1000(self) -> float:
        return 1000 * self.seconds / self.objects if self.objects else float("nan")

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu_seconds / self.objects if self.objects else float("nan")


def server_cpu(server: Server) -> float:
    """CPU seconds the server process has used so far (Linux ``/proc/PID/stat``)."""
    if server.process is None:
        return 0.0
    stat = Path(f"/proc/{server.process.pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_all(client: Client, path: str, budget: float) -> tuple[Read, list[bytes]]:
    """Page through the collection (``limit`` 10,000, following ``next``); returns the pages'
    bodies too, parsed afterwards so the parsing is not timed. One untimed ``limit=1`` first."""
    deadline = time.monotonic() + budget
    client.expect("GET", f"{path}?limit=1", None, budget)
    bodies: list[bytes] = []
    seconds = 0.0
    target = f"{path}?{urlencode({'limit': PAGE})}"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"full read did not finish within {budget:.0f} s")
        reply = client.expect("GET", target, None, left)
        seconds += reply.seconds
        bodies.append(reply.body)
        cursor = _next_cursor(reply.body)
        if cursor is None:
            break
        target = f"{path}?{urlencode({'limit': PAGE, 'next': cursor})}"
    objects = sum(len(orjson.loads(body).get("objects", [])) for body in bodies)
    return Read(objects, seconds, len(bodies)), bodies


def _next_cursor(body: bytes) -> str | None:
    page = orjson.loads(body)
    return str(page["next"]) if page.get("more") else None


@dataclass
class Check:
    expected: int
    got: int
    missing: int
    unexpected: int
    duplicates: int
    differing: int = 0  # objects whose content differs from what was posted
    compared: int = 0

    @property
    def ok(self) -> bool:
        return self.expected == self.got and not (
            self.missing or self.unexpected or self.duplicates or self.differing
        )


def check_read(
    bodies: list[bytes], expected: set[str], contents: dict[str, bytes] | None = None
) -> Check:
    """Whether the pages hold exactly the expected ids, once each (and, when ``contents`` is
    given, exactly the posted newest version of each)."""
    seen: set[str] = set()
    duplicates = differing = compared = 0
    for body in bodies:
        for obj in orjson.loads(body).get("objects", []):
            object_id = obj["id"]
            if object_id in seen:
                duplicates += 1
            seen.add(object_id)
            if contents is not None and object_id in contents:
                compared += 1
                differing += int(orjson.loads(contents[object_id]) != obj)
    return Check(
        expected=len(expected),
        got=len(seen) + duplicates,
        missing=len(expected - seen),
        unexpected=len(seen - expected),
        duplicates=duplicates,
        differing=differing,
        compared=compared,
    )


@dataclass
class Probe:
    """Single objects fetched by id as the restricted reader: visible ones equal to what was
    posted, hidden ones answered as missing (404)."""

    visible_equal: int = 0
    visible_tried: int = 0
    hidden_404: int = 0
    hidden_tried: int = 0
    sample_id: str = ""

    @property
    def ok(self) -> bool:
        return self.visible_equal == self.visible_tried and self.hidden_404 == self.hidden_tried


def probe(node: BenchNode, content: Content, seed: int, count: int = 20) -> Probe:
    rng = random.Random(seed)
    visible = sorted(i for i in content.visible if not i.startswith("marking-definition"))
    hidden = sorted(content.all_ids - content.visible.keys())
    result = Probe(sample_id=visible[0] if visible else "")
    client = node.client("kor")
    try:
        for object_id in rng.sample(visible, min(count, len(visible))):
            reply = client.expect("GET", f"{node.server.objects_path}{object_id}/", None, 60)
            objects = orjson.loads(reply.body).get("objects", [])
            result.visible_tried += 1
            wanted = orjson.loads(content.visible[object_id])
            result.visible_equal += int(objects == [wanted])
            result.sample_id = object_id
        for object_id in rng.sample(hidden, min(count, len(hidden))):
            reply = client.call("GET", f"{node.server.objects_path}{object_id}/", None, 60)
            result.hidden_tried += 1
            result.hidden_404 += int(reply.status == 404)
    finally:
        client.close()
    return result


@dataclass
class Plan:
    statement: str
    plan: list[str]


def query_plans(node: BenchNode) -> dict[str, Plan]:
    """The statements ``Store.read_page`` runs for the restricted reader (through
    ``Node.read_objects``, as the server calls it), and SQLite's plan for each."""
    settings = load_settings(node.data)
    local = Node.open(settings)
    captured: list[tuple[str, tuple[Any, ...]]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if "FROM objects" in statement:
            captured.append((statement, tuple(parameters)))

    engine = local._store._read
    event.listen(engine, "before_cursor_execute", capture)
    plans: dict[str, Plan] = {}
    try:
        user = local.authenticate_token(node.tokens["kor"])
        first = local.read_objects(user, node.collection, VersionFilter(), limit=PAGE)
        after = first.items[-1].date_added if first.items else None
        selections = {
            f"full read, first page (limit {PAGE:,})": (VersionFilter(), PAGE, None),
            f"full read, next page (limit {PAGE:,})": (VersionFilter(), PAGE, after),
            "match[type]=indicator, limit 100": (VersionFilter(types=("indicator",)), 100, None),
        }
        for name, (selection, limit, cursor) in selections.items():
            captured.clear()
            local.read_objects(user, node.collection, selection, limit=limit, after=cursor)
            statement, parameters = captured[-1]
            plans[name] = Plan(
                statement, _explain(node.data / "allyshare.db", statement, parameters)
            )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        local.close()
    return plans


def _explain(database: Path, statement: str, parameters: tuple[Any, ...]) -> list[str]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    finally:
        connection.close()
    depth: dict[int, int] = {0: -1}
    lines: list[str] = []
    for node_id, parent, _, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + str(detail))
    return lines


# --- one size -------------------------------------------------------------------------------------


@dataclass
class SizeRun:
    size: int  # objects posted to the full store (plus the marking definition)
    control_size: int
    ingest_rate: float = 0.0
    control_ingest_rate: float = 0.0
    # Each full read by reader, repeated; "kor-control" is the KOR reader on the control.
    reads: dict[str, list[Read]] = field(default_factory=dict)
    queries: dict[str, phases.Latency] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    probe: Probe | None = None
    plans: dict[str, Plan] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    database_mb: float = 0.0
    # The kernel's page cache right after the full reads: when it holds less than the
    # database, the reads went partly to disk.
    cached_mb: float = 0.0
    load: float = 0.0

    def best(self, reader: str) -> Read:
        """The fastest of the repeated reads (the least disturbed by other work)."""
        return min(self.reads[reader], key=lambda read: read.seconds)

    def median(self, reader: str) -> Read:
        runs = self.reads[reader]
        seconds = statistics.median(r.seconds for r in runs)
        cpu = statistics.median(r.cpu_seconds for r in runs)
        return Read(runs[0].objects, seconds, runs[0].pages, cpu)


def run_size(size: int, args: argparse.Namespace) -> SizeRun:
    _say(f"[{size:,}] generating objects")
    content = prepare(size, args.seed)
    run = SizeRun(size, content.control.size)
    expected = {"usa": content.all_ids, "kor": set(content.visible)}

    node = make_node(servers.fresh_dir(WORK / f"node-{size}"))
    try:
        node.server.start()
        ingest = load(node, content.definition, content.store, args.batch, args.budget)
        run.ingest_rate = ingest.rate
        _say(f"[{size:,}] store: {content.store.size:,} posted at {ingest.rate:,.0f}/s")
        for repeat in range(args.repeats):
            for reader in ("usa", "kor"):
                read = _read(node, reader, expected[reader], content, run, args.budget, repeat)
                _say(f"[{size:,}] read as {reader}: {read.objects:,} in {read.seconds:.2f} s")
        run.cached_mb = _page_cache_mb()
        for reader in ("usa", "kor"):
            run.queries[reader] = _latency(node, reader, args)
        run.probe = probe(node, content, args.seed)
        run.plans = query_plans(node)
        run.peak_rss_mb = node.server.peak_rss_mb()
        run.database_mb = _size_mb(node.data)
    finally:
        node.server.stop()
    shutil.rmtree(node.server.workdir)

    control = make_node(servers.fresh_dir(WORK / f"control-{size}"))
    try:
        control.server.start()
        loaded = load(control, content.definition, content.control, args.batch, args.budget)
        run.control_ingest_rate = loaded.rate
        for repeat in range(args.repeats):
            _read(control, "kor", expected["kor"], content, run, args.budget, repeat, "kor-control")
        run.queries["kor-control"] = _latency(control, "kor", args)
    finally:
        control.server.stop()
    shutil.rmtree(control.server.workdir)
    content.remove()
    run.load = os.getloadavg()[0]
    return run


def _read(
    node: BenchNode,
    reader: str,
    expected: set[str],
    content: Content,
    run: SizeRun,
    budget: float,
    repeat: int,
    name: str | None = None,
) -> Read:
    client = node.client(reader)
    try:
        cpu = server_cpu(node.server)
        read, bodies = read_all(client, node.server.objects_path, budget)
        read.cpu_seconds = server_cpu(node.server) - cpu
    finally:
        client.close()
    name = name or reader
    run.reads.setdefault(name, []).append(read)
    if repeat == 0:
        # The restricted reader's objects are compared in full with what was posted.
        contents = content.visible if reader == "kor" else None
        check = check_read(bodies, expected, contents)
        run.checks[name] = check
        if not check.ok:
            _say(f"[{run.size:,}] {name}: read check FAILED: {check}")
    return read


def _latency(node: BenchNode, reader: str, args: argparse.Namespace) -> phases.Latency:
    client = node.client(reader)
    try:
        client.expect("GET", f"{node.server.objects_path}?{urlencode(QUERY)}", None, 60)
        queries = [QUERY] * args.queries
        return phases.latency(client, node.server.objects_path, queries, args.query_budget)
    finally:
        client.close()


def _page_cache_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Cached:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _size_mb(data: Path) -> float:
    return sum(p.stat().st_size for p in data.glob("allyshare.db*")) / 1024 / 1024


# --- report ---------------------------------------------------------------------------------------


READERS = {
    "usa": "USA reader (sees all)",
    "kor": "KOR reader (sees 10 %)",
    "kor-control": "KOR reader, control store",
}


def ratios(run: SizeRun, *, cpu: bool = False, best: bool = False) -> tuple[float, float]:
    """(restricted ÷ unrestricted, restricted ÷ control), per visible object: median wall
    time, the server's median CPU time, or the best wall time."""
    reads = [run.best(r) if best else run.median(r) for r in ("usa", "kor", "kor-control")]
    usa, kor, control = (read.cpu_per_1000 if cpu else read.per_1000 for read in reads)
    return kor / usa, kor / control


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    runs = [_run_from(raw) for raw in document["runs"]]
    lines = [
        START,
        "## Access policy: restricted reads (issue 3)",
        "",
        "Written by `bench/restricted.py` (re-insert with `--report-only` after `bench/run.py`).",
        "",
        f"- Date: {document['date']}; command: `{document['command']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, SQLite {m['sqlite']}",
        "- Load average (1 min): "
        + ", ".join(f"{when} {value:.2f}" for when, value in document["load"].items()),
        f"- Each node: a USA-KOR agreement (TLP ceiling AMBER, max S); N synthetic objects "
        f"posted by a USA CISA contributor, {document['batch']:,} per POST. A random 90 % of "
        "object ids (interleaved; every version of an object alike) carry an ACS 3.0 "
        "U//NOFORN marking by the USA originator, the rest TLP:GREEN. The control store "
        "holds only the GREEN 10 %.",
        "- Full read: `GET .../objects/?limit=10000` following `next`, default "
        "`match[version]=last`; seconds are the sum of the HTTP exchanges, median of "
        f"{document['repeats']} reads (readers interleaved), after one untimed `limit=1`. "
        "Absolute figures vary by up to 2x between runs on a shared 2-core machine; compare "
        "the ratios within one run.",
        "",
        "### Full paginated read",
        "",
        "| objects stored | reader | objects returned | pages | seconds | objects/s "
        "| s per 1,000 returned | ÷ USA reader | server CPU s per 1,000 | ÷ USA reader (CPU) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        base = run.median("usa")
        for reader, label in READERS.items():
            read = run.median(reader)
            stored = run.control_size if reader == "kor-control" else run.size
            lines.append(
                f"| {stored:,} | {label} | {read.objects:,} | {read.pages} "
                f"| {read.seconds:.2f} | {read.rate:,.0f} | {read.per_1000:.4f} "
                f"| {read.per_1000 / base.per_1000:.2f} | {read.cpu_per_1000:.4f} "
                f"| {read.cpu_per_1000 / base.cpu_per_1000:.2f} |"
            )
    lines += [
        "",
        "### Targets",
        "",
        "Measured: ratio of the medians of wall time (judged), of the server's CPU time, "
        "and of the best of the repeated reads.",
        "",
        "| target | objects stored | measured | met |",
        "| --- | ---: | ---: | --- |",
    ]
    for run in runs:
        vs_usa, vs_control = ratios(run)
        cpu_usa, cpu_control = ratios(run, cpu=True)
        best_usa, best_control = ratios(run, best=True)
        met = "yes" if vs_usa <= RATIO_TARGET else "**no**"
        lines.append(
            f"| restricted ÷ unrestricted, s per visible object ≤ {RATIO_TARGET} "
            f"| {run.size:,} | {vs_usa:.2f} (CPU {cpu_usa:.2f}, best {best_usa:.2f}) | {met} |"
        )
        met = "yes" if vs_control <= RATIO_TARGET else "**no**"
        lines.append(
            f"| restricted ÷ the same read with no hidden objects stored (control) "
            f"≤ {RATIO_TARGET} | {run.size:,} "
            f"| {vs_control:.2f} (CPU {cpu_control:.2f}, best {best_control:.2f}) | {met} |"
        )
    lines += [
        "",
        "### `match[type]=indicator&limit=100` (ms, p50 / p95 over "
        f"{document['queries']} requests)",
        "",
        "| objects stored | " + " | ".join(READERS.values()) + " |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        cells = [
            f"{run.queries[r].p50_ms:.1f} / {run.queries[r].p95_ms:.1f}"
            + ("" if run.queries[r].finished else " (DNF)")
            for r in READERS
        ]
        lines.append(f"| {run.size:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Checks",
        "",
        "| objects stored | read | expected | returned | missing / unexpected / duplicate "
        "| compared with what was posted | ok |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        for reader, label in READERS.items():
            c = run.checks[reader]
            compared = (
                f"{c.compared - c.differing:,} of {c.compared:,} equal" if c.compared else "–"
            )
            lines.append(
                f"| {run.size:,} | {label} | {c.expected:,} | {c.got:,} "
                f"| {c.missing} / {c.unexpected} / {c.duplicates} | {compared} "
                f"| {'yes' if c.ok else '**no**'} |"
            )
    for run in runs:
        p = run.probe
        if p is not None:
            lines.append(
                f"\nAt {run.size:,}, by id as the KOR reader: {p.visible_equal} of "
                f"{p.visible_tried} visible objects equal to what was posted (e.g. "
                f"`{p.sample_id}`), {p.hidden_404} of {p.hidden_tried} hidden ones 404."
            )
    lines += ["", "### Other figures", ""]
    lines.append(
        "| objects stored | ingest objects/s (store / control) | database "
        "| page cache after the reads | server peak RSS |"
    )
    lines.append("| ---: | ---: | ---: | ---: | ---: |")
    for run in runs:
        lines.append(
            f"| {run.size:,} | {run.ingest_rate:,.0f} / {run.control_ingest_rate:,.0f} "
            f"| {run.database_mb:,.0f} MiB | {run.cached_mb:,.0f} MiB "
            f"| {run.peak_rss_mb:,.0f} MiB |"
        )
    lines += [
        "",
        "Page cache is the kernel's `Cached` (/proc/meminfo) just after the full reads; "
        "below the database's size, full reads went partly to disk. Peak RSS includes the "
        "database pages the server touched through SQLite's memory map (`mmap_size`), if on.",
    ]
    if runs:
        largest = runs[-1]
        lines += [
            "",
            f"### SQL plans at {largest.size:,} (KOR reader, statements `Store.read_page` ran)",
        ]
        for name, plan in largest.plans.items():
            lines += ["", f"{name}:", "", "```sql", plan.statement.strip(), "```", "", "```"]
            lines += [*plan.plan, "```"]
    found = findings(runs)
    if found:
        lines += ["", "### What the plans mean", "", *found]
    lines.append(END)
    return "\n".join(lines) + "\n"


def findings(runs: list[SizeRun]) -> list[str]:
    """What the captured plans imply for the cost of hidden versions, read off the plans."""
    if not runs:
        return []
    found: list[str] = []
    for name, plan in runs[-1].plans.items():
        steps = " ".join(plan.plan)
        merged = "MERGE (UNION ALL)" in steps
        if "objects_by_type" in steps:
            how = (
                "one range per key the reader passes, merged in date order, of"
                if merged
                else "walks"
            )
            found.append(
                f"- {name}: {how} "
                "`objects_by_type` (collection_seq, label_seq, type, date_added): only versions "
                "of that type under keys the reader passes are visited."
            )
        elif merged or "PRIMARY KEY (collection_seq=? AND label_seq=?" in steps:
            found.append(
                f"- {name}: one range of the primary key (collection_seq, label_seq, "
                "date_added) per access key the reader passes, merged in date order: hidden "
                "versions lie in other ranges and are never read."
            )
        elif "objects_by_date" in steps:
            found.append(
                f"- {name}: walks `objects_by_date`; a hidden version is dropped on its index "
                "entry (which carries `label_seq`, part of the primary key) before its row is "
                "read."
            )
    return found


def _run_from(raw: dict[str, Any]) -> SizeRun:
    run = SizeRun(raw["size"], raw["control_size"])
    for key in (
        "ingest_rate",
        "control_ingest_rate",
        "peak_rss_mb",
        "database_mb",
        "cached_mb",
        "load",
    ):
        setattr(run, key, raw.get(key, float("nan")))
    run.reads = {r: [Read(**x) for x in reads] for r, reads in raw["reads"].items()}
    run.queries = {r: phases.Latency(**q) for r, q in raw["queries"].items()}
    run.checks = {r: Check(**c) for r, c in raw["checks"].items()}
    run.probe = Probe(**raw["probe"]) if raw.get("probe") else None
    run.plans = {n: Plan(**p) for n, p in raw["plans"].items()}
    return run


def write(document: dict[str, Any]) -> str:
    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    RESULTS_JSON.write_bytes(orjson.dumps(document, option=options) + b"\n")
    text = markdown(document)
    report.insert_section(RESULTS_MD, "restricted.py", text)
    return text


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.report_only:
        print(write(orjson.loads(RESULTS_JSON.read_bytes())))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", "bench/restricted.py", *sys.argv[1:]]),
        "machine": report.machine(),
        "load": {"start": os.getloadavg()[0]},
        "batch": args.batch,
        "repeats": args.repeats,
        "queries": args.queries,
        "runs": [],
    }
    for size in sizes:
        run = run_size(size, args)
        document["runs"].append(_jsonable(run))
        document["load"][f"after {size:,}"] = run.load
        write(document)
    print(write(document))
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


def _jsonable(run: SizeRun) -> dict[str, Any]:
    return asdict(run)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="objects in the full store, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="content seed (default: 0)")
    parser.add_argument("--batch", type=int, default=10_000, help="objects per POST")
    parser.add_argument("--repeats", type=int, default=5, help="full reads per reader")
    parser.add_argument("--queries", type=int, default=200, help="requests per query")
    parser.add_argument("--budget", type=float, default=900.0, metavar="SECONDS")
    parser.add_argument("--query-budget", type=float, default=120.0, metavar="SECONDS")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="re-insert the section into RESULTS.md from bench/results-restricted.json",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
