"""The audit log's cost (issue 11): TAXII ingest and full read with auditing on and off side by
side, appends per second, ``audit verify`` over a large log, and proof generation.

    python bench/audit.py [--sizes 100000,1000000] [--repeats 3] [--reads 3]
                          [--off-src DIR] [--log-entries 1000000] [--single-appends 10000]
                          [--append-batch 1000] [--proofs 200] [--backends sqlite,postgresql]
    python bench/audit.py --report-only

**TAXII, on and off.** This version records every read and write; auditing off is the code just
before the audit log (``BEFORE_AUDIT``, unpacked from git into bench/work, or ``--off-src``
naming another checkout's ``src``), which the node's processes run through ``PYTHONPATH``. For
each size, ``--repeats`` times and alternating which side goes first: a fresh node of each side
(``bench/servers.py``'s, served by a real ``allyshare serve``, its admin user reading and
writing), both served at once, the run's objects (``bench/workload.py``'s) posted 1,000 per
request to one and then the other, then ``--reads`` full reads (``limit`` 10,000, following
``next``; with auditing on each page request appends one entry naming the versions it
returned), one side's after the other's, the order swapped each time: on this small machine
the time between two passes moves a side's rate by a fifth, which the pairing evens out.
Timings are the HTTP exchanges (``bench/phases.py``); the server's CPU time is taken beside
them, being less disturbed by other work on the machine. Target: on ≥ 0.9 x off, in
objects/s, for ingest and for read.

**The log.** For each backend, a node whose log is filled with ``--log-entries`` entries shaped
like a community's traffic (three in four reads of 1 to 10 objects by a member's user, one in
six writes of 1 to 20 objects, the rest administrative changes and denials), through the
service's audit sink (`Audit.record`): the first ``--single-appends`` one entry per append, each
in its own transaction as a read request's entry is, then the rest ``--append-batch`` entries
per append. Timed: appends per second of each kind; ``allyshare audit verify`` on the full log
(the CLI, a process of its own); ``--proofs`` inclusion proofs (random entry, in the full tree)
and consistency proofs (random older size to the full size) through ``Node.audit_inclusion``
and ``Node.audit_consistency``, each checked with the RFC 9162 verifiers.

Writes its section into bench/RESULTS.md and every figure to bench/results-audit.json;
``--report-only`` re-inserts the section from that JSON.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import phases
import report
import servers
import workload
from allyshare import Node, Settings, load_settings
from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRefs
from allyshare.audit.merkle import root, verify_consistency, verify_inclusion
from allyshare.policy.rights import Operation
from allyshare.service import CONSOLE
from allyshare.service.audit import Audit
from allyshare.storage import Store
from restricted import server_cpu

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "audit"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results-audit.json"
START, END = report.markers("audit.py")
BEFORE_AUDIT = "e0d597e"  # the commit the audit log's branch starts from
DEFAULT_SIZES = (100_000, 1_000_000)
BATCH = 1_000
PAGE = 10_000
SHARE_TARGET = 0.9  # objects/s with auditing on ÷ off, at least
SIDES = ("off", "on")
ORGANIZATIONS = ("USA.CISA", "USA.FBI", "KOR.KISA", "KOR.NIS", "KOR.HANBIT", "USA.MS-ISAC")


# --- TAXII with auditing on and off -----------------------------------------------------------


@dataclass
class Phase:
    """One timed ingest or full read: objects, seconds of HTTP exchanges, server CPU seconds."""

    objects: int
    seconds: float
    cpu_seconds: float
    finished: bool

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu_seconds / self.objects if self.objects else float("nan")


@dataclass
class SidePass:
    """One fresh node of one side: its ingest, its reads, and what its database came to."""

    ingest: Phase
    reads: list[Phase]
    database_mb: float
    audit_entries: int


@dataclass
class SizeRun:
    size: int
    passes: dict[str, list[SidePass]] = field(default_factory=lambda: {s: [] for s in SIDES})

    def ingest(self, side: str) -> list[Phase]:
        return [p.ingest for p in self.passes[side]]

    def reads(self, side: str) -> list[Phase]:
        return [read for p in self.passes[side] for read in p.reads]


def _median_rate(found: list[Phase]) -> float:
    return statistics.median(p.rate for p in found) if found else float("nan")


def _median_cpu(found: list[Phase]) -> float:
    return statistics.median(p.cpu_per_1000 for p in found) if found else float("nan")


def off_source(args: argparse.Namespace) -> Path:
    """The ``src`` of the code without the audit log: ``--off-src``, else ``BEFORE_AUDIT``."""
    if args.off_src:
        return Path(args.off_src).resolve()
    return servers.source_at(BEFORE_AUDIT, BENCH / "work" / f"audit-off-{BEFORE_AUDIT}")


def run_taxii(size: int, args: argparse.Namespace, off_src: Path) -> SizeRun:
    _say(f"generating {size:,} objects")
    objects = workload.prepare(WORK, size, args.seed)
    run = SizeRun(size)
    try:
        for repeat in range(args.repeats):
            order = SIDES if repeat % 2 == 0 else SIDES[::-1]
            done = one_repeat(order, objects, args, off_src)
            for side in SIDES:
                run.passes[side].append(done[side])
                reads = ", ".join(f"{r.rate:,.0f}" for r in done[side].reads)
                _say(
                    f"[{size:,} {side} {repeat + 1}] ingest {done[side].ingest.rate:,.0f}/s, "
                    f"read {reads}/s; {done[side].audit_entries:,} audit entries"
                )
    finally:
        objects.path.unlink()
    return run


def one_repeat(
    order: tuple[str, ...], objects: workload.Workload, args: argparse.Namespace, off_src: Path
) -> dict[str, SidePass]:
    """A fresh node of each side, both served at once, and every phase run on one and then
    the other (in ``order``, swapped for each read), so that whatever else the machine does
    weighs on both sides alike."""
    servers_by_side: dict[str, servers.Server] = {}
    try:
        for side in order:
            workdir = servers.fresh_dir(WORK / f"node-{side}")
            servers_by_side[side] = servers.allyshare(workdir, servers.side_env(side, off_src))
            servers_by_side[side].start()
        clients = {side: server.client() for side, server in servers_by_side.items()}
        ingests: dict[str, Phase] = {}
        for side in order:
            server = servers_by_side[side]
            cpu = server_cpu(server)
            ingested = phases.ingest(
                clients[side], server.objects_path, objects, BATCH, args.ingest_budget
            )
            ingests[side] = _phase(ingested.result, server_cpu(server) - cpu)
        reads: dict[str, list[Phase]] = {side: [] for side in order}
        for number in range(args.reads):
            for side in order if number % 2 == 0 else order[::-1]:
                server = servers_by_side[side]
                cpu = server_cpu(server)
                result = phases.read_all(clients[side], server.objects_path, PAGE, args.read_budget)
                reads[side].append(_phase(result, server_cpu(server) - cpu))
        for client in clients.values():
            client.close()
    finally:
        for server in servers_by_side.values():
            server.stop()
    done: dict[str, SidePass] = {}
    for side, server in servers_by_side.items():
        database = server.workdir / "node"
        done[side] = SidePass(
            ingests[side], reads[side], _database_mb(database), _audit_entries(database, side)
        )
        shutil.rmtree(server.workdir)
    return done


def _phase(result: phases.Throughput, cpu_seconds: float) -> Phase:
    return Phase(result.done, result.seconds, cpu_seconds, result.finished)


def _database_mb(data: Path) -> float:
    return sum(f.stat().st_size for f in data.glob("*.db*")) / 2**20


def _audit_entries(data: Path, side: str) -> int:
    if side == "off":
        return 0
    engine = create_engine(load_settings(data).effective_database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM audit_entries")).scalar_one())
    finally:
        engine.dispose()


# --- the log: appends, verify, proofs ---------------------------------------------------------


@dataclass
class Appends:
    entries: int
    seconds: float
    per_append: int

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0


@dataclass
class LogRun:
    backend: str
    entries: int = 0
    mean_entry_bytes: float = 0.0
    single: Appends | None = None
    batched: Appends | None = None
    verify_seconds: float = 0.0
    verify_output: str = ""
    verify_ok: bool = False
    inclusion_ms: list[float] = field(default_factory=list)
    consistency_ms: list[float] = field(default_factory=list)
    proofs_ok: bool = False
    database_mb: float = 0.0


class Traffic:
    """Entries as a community's requests make them: mostly small reads by members' users,
    writes, and a few administrative changes and denials. Seeded, so runs compare."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.collection = self._uuid()

    def _uuid(self) -> str:
        raw = f"{self.rng.getrandbits(128):032x}"
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-8{raw[17:20]}-{raw[20:32]}"

    def _refs(self, count: int, originator: str | None = None) -> ObjectRefs:
        rng = self.rng
        kinds = ("indicator", "malware", "report", "relationship", "sighting")
        return ObjectRefs.of(
            (
                f"{rng.choice(kinds)}--{self._uuid()}",
                f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00.000Z",
                originator or rng.choice(ORGANIZATIONS),
            )
            for _ in range(count)
        )

    def entry(self) -> AuditEntry:
        rng = self.rng
        draw = rng.random()
        organization = rng.choice(ORGANIZATIONS)
        user = Actor(f"analyst{rng.randrange(40)}@{organization.lower()}", "user", organization)
        if draw < 0.75:
            refs = self._refs(rng.randint(1, 10))
            return AuditEntry(
                Operation.OBJECTS_READ, user, AuditOutcome.ALLOWED, self.collection, refs
            )
        if draw < 0.75 + 1 / 6:
            refs = self._refs(rng.randint(1, 20), organization)
            detail = {"status": self._uuid(), "total": len(refs), "failures": 0}
            return AuditEntry(
                Operation.OBJECTS_WRITE,
                user,
                AuditOutcome.ALLOWED,
                self.collection,
                refs,
                detail=detail,
            )
        if draw < 0.95:
            return AuditEntry(
                Operation.OBJECTS_WRITE,
                user,
                AuditOutcome.DENIED,
                self.collection,
                reason="writing to this collection needs the contributor role",
            )
        return AuditEntry(
            Operation.MEMBERS_WRITE,
            Actor("admin", "operator"),
            AuditOutcome.ALLOWED,
            detail={"user": user.name, "roles": ["reader"]},
        )


@contextmanager
def database(backend: str) -> Iterator[str]:
    """The database URL a node of ``backend`` uses ("" is SQLite in its data dir); PostgreSQL
    is a throwaway server from the ``pgserver`` wheel, as the tests start one."""
    if backend == "sqlite":
        yield ""
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="allyshare-audit-pg-") as directory:
        server = pgserver.get_server(directory, cleanup_mode="stop")  # type: ignore[attr-defined]
        try:
            url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text('CREATE DATABASE "audit_bench"'))
            admin.dispose()
            yield url.set(database="audit_bench").render_as_string(hide_password=False)
        finally:
            server.cleanup()


def run_log(backend: str, args: argparse.Namespace) -> LogRun:
    run = LogRun(backend)
    data = servers.fresh_dir(WORK / f"log-{backend}") / "node"
    with database(backend) as url:
        init = ["init", "--data-dir", str(data), "--country", "USA", "--name", "bench"]
        servers._allyshare_cli(*init, *(["--database-url", url] if url else []))
        settings = load_settings(data)
        store = Store(settings.effective_database_url)
        try:
            fill(run, Audit(settings, store), args)
            run.entries = store.audit.size()  # with what setting the node up recorded
            verify(run, data)
            proofs(run, settings, store, args)
            run.database_mb = _size_mb(data)
        finally:
            store.close()
    shutil.rmtree(WORK / f"log-{backend}")
    return run


def fill(run: LogRun, audit: Audit, args: argparse.Namespace) -> None:
    """Append the entries, timing only the appends (the entries are made before each)."""
    traffic = Traffic(args.seed)
    single = min(args.single_appends, args.log_entries)
    leaf_bytes = 0
    spent = 0.0
    for number in range(single):
        entry = traffic.entry()
        leaf_bytes += len(entry.leaf(number, 0))
        started = time.perf_counter()
        audit.record([entry])
        spent += time.perf_counter() - started
    run.single = Appends(single, spent, 1)
    _say(f"[log {run.backend}] {single:,} single appends: {run.single.rate:,.0f}/s")
    spent = 0.0
    appended = single
    while appended < args.log_entries:
        count = min(args.append_batch, args.log_entries - appended)
        entries = [traffic.entry() for _ in range(count)]
        leaf_bytes += sum(len(e.leaf(appended + i, 0)) for i, e in enumerate(entries))
        started = time.perf_counter()
        audit.record(entries)
        spent += time.perf_counter() - started
        appended += len(entries)
        if appended % 100_000 < args.append_batch:
            _say(f"[log {run.backend}] {appended:,} entries")
    run.batched = Appends(appended - single, spent, args.append_batch)
    run.mean_entry_bytes = leaf_bytes / appended if appended else 0.0
    _say(f"[log {run.backend}] batched appends: {run.batched.rate:,.0f} entries/s")


def verify(run: LogRun, data: Path) -> None:
    """``allyshare audit verify`` as an operator runs it: its own process, start-up and all."""
    started = time.perf_counter()
    done = subprocess.run(
        [*servers._ALLYSHARE, "audit", "verify", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    run.verify_seconds = time.perf_counter() - started
    run.verify_output = (done.stdout + done.stderr).strip()
    counted = run.verify_output.startswith(f"{run.entries:,} entries")
    run.verify_ok = done.returncode == 0 and counted
    _say(f"[log {run.backend}] verify: {run.verify_seconds:.1f} s: {run.verify_output}")


def proofs(run: LogRun, settings: Settings, store: Store, args: argparse.Namespace) -> None:
    """Proofs as auditors and witnesses ask for them, each checked against the roots the
    stored subtrees make."""
    rng = random.Random(args.seed)
    size = run.entries

    def subtree(level: int, index: int) -> bytes:
        return store.audit.subtrees([(level, index)])[(level, index)]

    full_root = root(size, subtree)
    node = Node.open(settings)
    ok = True
    try:
        node.audit_inclusion(CONSOLE, 0, size)  # untimed: the first query's one-off costs
        for _ in range(args.proofs):
            entry = rng.randrange(size)
            started = time.perf_counter()
            found = node.audit_inclusion(CONSOLE, entry, size)
            run.inclusion_ms.append(1000 * (time.perf_counter() - started))
            path = [_unb64(h) for h in found["proof"]]
            ok &= verify_inclusion(_unb64(found["leaf_hash"]), entry, size, path, full_root)
        for _ in range(args.proofs):
            old = rng.randrange(1, size)
            started = time.perf_counter()
            found = node.audit_consistency(old, size)
            run.consistency_ms.append(1000 * (time.perf_counter() - started))
            path = [_unb64(h) for h in found["proof"]]
            ok &= verify_consistency(old, size, path, root(old, subtree), full_root)
    finally:
        node.close()
    run.proofs_ok = ok
    _say(
        f"[log {run.backend}] proofs: inclusion p50 {phases.percentile(run.inclusion_ms, 50):.2f}"
        f" ms, consistency p50 {phases.percentile(run.consistency_ms, 50):.2f} ms; "
        f"{'all verified' if ok else 'SOME FAILED'}"
    )


def _unb64(value: str) -> bytes:
    return base64.b64decode(value)


def _size_mb(data: Path) -> float:
    url = make_url(load_settings(data).effective_database_url)
    if url.drivername.startswith("sqlite"):
        return _database_mb(data)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            return int(size.scalar_one()) / 2**20
    finally:
        engine.dispose()


# --- the report -------------------------------------------------------------------------------


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    sizes = [_size_from(raw) for raw in document["taxii"]]
    logs = [_log_from(raw) for raw in document["logs"]]
    load = ", ".join(f"{when} {value:.2f}" for when, value in document["load"].items())
    lines = [
        START,
        "## Audit log: its cost (issue 11)",
        "",
        "Written by `bench/audit.py` (its docstring says what is measured; re-insert with "
        "`--report-only` after `bench/run.py`).",
        "",
        f"- Date: {document['date']}; command: `{document['command']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, SQLite {m['sqlite']}",
        f"- Auditing on: allyshare at {m['allyshare commit']}; auditing off: allyshare at "
        f"{document['off_commit']}, the code before the audit log (its nodes run it through "
        '`PYTHONPATH`), so "off" also lacks the rest of the audit branch\'s changes.',
        f"- Load average (1 min): {load}",
        f"- TAXII: a fresh node per side and repeat ({document['repeats']} repeats), both "
        f"served at once, each phase run on one side and then the other (the order swapped "
        f"each time): objects posted {BATCH:,} per request by the node's admin, then "
        f"{document['reads']} full reads (`limit` {PAGE:,}, following `next`) by it. "
        "Figures are medians, every one in brackets; seconds are the HTTP exchanges. "
        "Each node's reads are listed in order: with auditing on, each one adds to the log "
        "the later ones append to. The server's CPU time per 1,000 objects is less disturbed "
        "by other work on this 2-core machine than wall time; absolute rates drop when the "
        "load average is high, so compare on with off within one run.",
        "",
        "### TAXII ingest and full read, auditing on and off",
        "",
        "| objects | phase | off (objects/s) | on (objects/s) | on ÷ off | server CPU s per "
        "1,000, off / on | target | met |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in sizes:
        for phase, off, on in (
            (f"ingest, {BATCH:,} per POST", run.ingest("off"), run.ingest("on")),
            (f"full read, limit {PAGE:,}", run.reads("off"), run.reads("on")),
        ):
            share = _median_rate(on) / _median_rate(off)
            finished = all(p.finished for p in (*off, *on))
            met = "yes" if finished and share >= SHARE_TARGET else "**no**"
            lines.append(
                f"| {run.size:,} | {phase} | {_rates(off)} | {_rates(on)} | {share:.2f} "
                f"| {_median_cpu(off):.4f} / {_median_cpu(on):.4f} "
                f"(×{_median_cpu(on) / _median_cpu(off):.2f}) "
                f"| on ≥ {SHARE_TARGET} × off | {met} |"
            )
    lines.append("")
    for run in sizes:
        held, bare = run.passes["on"], run.passes["off"]
        if held and bare:
            lines.append(
                f"At {run.size:,} objects a node with auditing on held "
                f"{statistics.median(p.audit_entries for p in held):,.0f} audit entries after "
                f"its pass, in a database of "
                f"{statistics.median(p.database_mb for p in held):,.0f} MiB "
                f"(off: {statistics.median(p.database_mb for p in bare):,.0f} MiB)."
            )
    lines += [
        "",
        "### The log: appends, `audit verify`, proofs",
        "",
        "Entries shaped like a community's traffic (`Traffic` in the script); the first "
        "appended one per transaction (as a read request's entry is), the rest in batches. "
        "`audit verify` is the CLI's wall time, process start-up included. Proof times are "
        f"through `Node`, over {document['proofs']} random entries and older sizes, each "
        "proof checked. The issue sets no target for these: they are measured.",
        "",
        "| backend | entries | mean entry | appends/s, 1 per append | entries/s, batched "
        "| `audit verify` | verify entries/s | inclusion proof p50 / p95 "
        "| consistency proof p50 / p95 | database | checked |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for log in logs:
        single = log.single or Appends(0, 0.0, 1)
        batched = log.batched or Appends(0, 0.0, 0)
        ok = "ok" if log.verify_ok and log.proofs_ok else "**FAILED**"
        lines.append(
            f"| {log.backend} | {log.entries:,} | {log.mean_entry_bytes:,.0f} B "
            f"| {single.rate:,.0f} ({single.entries:,}) "
            f"| {batched.rate:,.0f} ({batched.per_append:,} per append) "
            f"| {log.verify_seconds:,.1f} s | {log.entries / log.verify_seconds:,.0f} "
            f"| {_ms(log.inclusion_ms)} | {_ms(log.consistency_ms)} "
            f"| {log.database_mb:,.0f} MiB | {ok} |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def _rates(found: list[Phase]) -> str:
    every = ", ".join(f"{p.rate:,.0f}" for p in found)
    unfinished = "" if all(p.finished for p in found) else " DNF"
    return f"{_median_rate(found):,.0f}{unfinished} ({every})"


def _ms(values: list[float]) -> str:
    return f"{phases.percentile(values, 50):.2f} / {phases.percentile(values, 95):.2f} ms"


def _size_from(raw: dict[str, Any]) -> SizeRun:
    run = SizeRun(raw["size"])
    for side, passes in raw["passes"].items():
        run.passes[side] = [
            SidePass(
                Phase(**p["ingest"]),
                [Phase(**r) for r in p["reads"]],
                p["database_mb"],
                p["audit_entries"],
            )
            for p in passes
        ]
    return run


def _log_from(raw: dict[str, Any]) -> LogRun:
    log = LogRun(**{k: v for k, v in raw.items() if k not in ("single", "batched")})
    log.single = Appends(**raw["single"]) if raw["single"] else None
    log.batched = Appends(**raw["batched"]) if raw["batched"] else None
    return log


def write(document: dict[str, Any]) -> str:
    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    RESULTS_JSON.write_bytes(orjson.dumps(document, option=options) + b"\n")
    text = markdown(document)
    report.insert_section(RESULTS_MD, "audit.py", text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.report_only:
        print(write(orjson.loads(RESULTS_JSON.read_bytes())))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    off_src = off_source(args)
    document: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/audit.py", *sys.argv[1:]]),
        "machine": report.machine(),
        "off_commit": _commit_of(off_src) if args.off_src else BEFORE_AUDIT,
        "load": {"start": os.getloadavg()[0]},
        "repeats": args.repeats,
        "reads": args.reads,
        "proofs": args.proofs,
        "taxii": [],
        "logs": [],
    }
    for size in (int(s) for s in args.sizes.split(",") if s):
        document["taxii"].append(asdict(run_taxii(size, args, off_src)))
        document["load"][f"after {size:,}"] = os.getloadavg()[0]
        write(document)
    for backend in (b for b in args.backends.split(",") if b):
        document["logs"].append(asdict(run_log(backend, args)))
        document["load"][f"after the {backend} log"] = os.getloadavg()[0]
        write(document)
    print(write(document))
    shutil.rmtree(WORK, ignore_errors=True)
    logs_ok = all(log["verify_ok"] and log["proofs_ok"] for log in document["logs"])
    return 0 if logs_ok else 1


def _commit_of(src: Path) -> str:
    found = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="TAXII collection sizes, comma-separated; empty for none (default: %(default)s)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh nodes per side and size")
    parser.add_argument("--reads", type=int, default=3, help="full reads per node (default: 3)")
    parser.add_argument(
        "--off-src",
        metavar="DIR",
        help=f"the src of a checkout to run as auditing off (default: {BEFORE_AUDIT} from git)",
    )
    parser.add_argument("--seed", type=int, default=0, help="content seed (default: 0)")
    parser.add_argument("--ingest-budget", type=float, default=900.0, metavar="SECONDS")
    parser.add_argument("--read-budget", type=float, default=300.0, metavar="SECONDS")
    parser.add_argument(
        "--log-entries", type=int, default=1_000_000, help="entries in the log verified"
    )
    parser.add_argument(
        "--single-appends",
        type=int,
        default=10_000,
        help="of them appended one per transaction, timed (default: %(default)s)",
    )
    parser.add_argument(
        "--append-batch", type=int, default=1_000, help="entries per append for the rest"
    )
    parser.add_argument("--proofs", type=int, default=200, help="proofs of each kind timed")
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql",
        help="databases the log is built in; empty for none (default: %(default)s)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="re-insert the section into RESULTS.md from bench/results-audit.json",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
