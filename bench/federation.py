"""The federation benchmark (issue 4): objects from one node to another over the real link.

    python bench/federation.py [--size 100000] [--page-size 1000,10000]

Two node processes on loopback, USA and KOR, under one agreement, pinned to each other over
HTTPS. The USA node holds SIZE synthetic objects (TLP:GREEN, ingested through TAXII by a
contributor); the KOR node then runs ``allyshare sync`` once per page size, into a fresh
collection each time, and the wall time of that command (process start included) is the
figure. Each run is checked: the KOR collection holds exactly the USA collection's versions.

Writes its section into bench/RESULTS.md (between markers) and every figure to
bench/results-federation.json. Then the push latency: single objects POSTed on the USA node,
each timed until it is stored on the KOR node.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

import report
from allyshare.community import identity_of
from allyshare.demo.content import TLP_GREEN, synthetic_objects
from allyshare.keys import fingerprint

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "federation"
RESULTS_JSON = BENCH / "results-federation.json"
RESULTS_MD = BENCH / "RESULTS.md"
TAXII = "application/taxii+json;version=2.1"
TARGET_PER_SECOND = 10_000
PUSH_P95_TARGET = 2.0
AGREEMENT = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "S",
    "tlp_ceiling": "AMBER",
    "propin_match_only": True,
    "aggregate_k": 3,
}


def cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "allyshare.cli.main", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ALLYSHARE_SYNC_INTERVAL": "86400"},
    )
    if done.returncode != 0:
        raise SystemExit(f"allyshare {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def make_node(data_dir: Path, country: str, name: str) -> None:
    cli(data_dir, "init", "--country", country, "--name", name)
    agreement = data_dir / "agreement.json"
    agreement.write_bytes(orjson.dumps(AGREEMENT))
    cli(data_dir, "agreement", "apply", str(agreement))


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allyshare.cli.main",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        env={**os.environ, "ALLYSHARE_SYNC_INTERVAL": "86400"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    context = ssl.create_default_context(cafile=str(data_dir / "node.crt"))
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"https://127.0.0.1:{port}/taxii2/", verify=context, timeout=1)
            return process
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the node in {data_dir} did not start") from None
            time.sleep(0.1)


def versions(data_dir: Path, collection: str) -> set[tuple[str, str]]:
    with sqlite3.connect(data_dir / "allyshare.db") as connection:
        rows = connection.execute(
            "SELECT object_id, version FROM objects WHERE collection_seq = "
            "(SELECT seq FROM collections WHERE id = ?)",
            (collection,),
        )
        return set(rows)


def push_latencies(
    usa_dir: Path, kor_dir: Path, usa_port: int, source: str, token: str, author: str, count: int
) -> list[float]:
    """Seconds from a POST of one object on the USA node to that object stored on the KOR
    node, with the USA node pushing (its background loop wakes on the write)."""
    target = cli(kor_dir, "collection", "add", "Pushed", "--agreement", "us-rok-tech")
    cli(
        usa_dir,
        "peer",
        "subscribe",
        "kor",
        "--remote-collection",
        target,
        "--into",
        source,
        "--push",
    )
    context = ssl.create_default_context(cafile=str(usa_dir / "node.crt"))
    url = f"https://127.0.0.1:{usa_port}/taxii2/api/collections/{source}/objects/"
    headers = {"Authorization": f"Bearer {token}", "Accept": TAXII, "Content-Type": TAXII}
    # The first push sends the whole collection: done once by hand before timing single objects.
    cli(usa_dir, "sync", "--quiet")
    if versions(kor_dir, target) != versions(usa_dir, source):
        raise SystemExit("the initial push did not copy the collection")
    seconds: list[float] = []
    with (
        httpx.Client(verify=context, timeout=60) as client,
        sqlite3.connect(kor_dir / "allyshare.db") as kor,
    ):
        for number in range(count):
            object_id = f"indicator--{uuid.uuid4()}"
            obj = {
                "type": "indicator",
                "spec_version": "2.1",
                "id": object_id,
                "created": "2026-06-01T00:00:00.000Z",
                "modified": "2026-06-01T00:00:00.000Z",
                "created_by_ref": author,
                "pattern": f"[ipv4-addr:value = '203.0.113.{number % 250}']",
                "pattern_type": "stix",
                "valid_from": "2026-06-01T00:00:00Z",
                "object_marking_refs": [TLP_GREEN],
            }
            began = time.perf_counter()
            response = client.post(url, content=orjson.dumps({"objects": [obj]}), headers=headers)
            if response.status_code != 202:
                raise SystemExit(f"post failed: {response.text[:300]}")
            while not kor.execute(
                "SELECT 1 FROM objects WHERE object_id = ?", (object_id,)
            ).fetchone():
                if time.perf_counter() - began > 60:
                    raise SystemExit(f"{object_id} did not arrive in a minute")
                time.sleep(0.005)
            seconds.append(time.perf_counter() - began)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--page-size", default="1000,10000")
    parser.add_argument("--pushes", type=int, default=100, help="single-object push timings")
    args = parser.parse_args()
    pages = [int(p) for p in args.page_size.split(",")]
    if WORK.exists():
        subprocess.run(["rm", "-rf", str(WORK)], check=True)
    WORK.mkdir(parents=True)
    usa_dir, kor_dir = WORK / "usa", WORK / "kor"
    make_node(usa_dir, "USA", "usa")
    make_node(kor_dir, "KOR", "kor")
    source = cli(usa_dir, "collection", "add", "Source", "--agreement", "us-rok-tech")
    cisa = cli(usa_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert")
    token = cli(usa_dir, "user", "add", "writer", "--org", cisa, "--role", "contributor")
    usa_port, kor_port = 7301, 7302
    processes = [serve(usa_dir, usa_port), serve(kor_dir, kor_port)]
    try:
        for here, name, there, port, country in (
            (usa_dir, "kor", kor_dir, kor_port, "KOR"),
            (kor_dir, "usa", usa_dir, usa_port, "USA"),
        ):
            print_out = fingerprint((there / "node.crt").read_bytes())
            cli(
                here,
                "peer",
                "add",
                name,
                "--url",
                f"https://127.0.0.1:{port}/taxii2/api/",
                "--cert-fingerprint",
                print_out,
                "--country",
                country,
                "--agreement",
                "us-rok-tech",
            )
        started = time.perf_counter()
        batch: list[dict[str, object]] = []
        context = ssl.create_default_context(cafile=str(usa_dir / "node.crt"))
        with httpx.Client(verify=context, timeout=300) as client:

            def post() -> None:
                response = client.post(
                    f"https://127.0.0.1:{usa_port}/taxii2/api/collections/{source}/objects/",
                    content=orjson.dumps({"objects": batch}),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Accept": TAXII,
                        "Content-Type": TAXII,
                    },
                )
                if response.status_code != 202 or response.json()["failure_count"]:
                    raise SystemExit(f"ingest failed: {response.text[:500]}")
                batch.clear()

            author = identity_of(cisa)
            for generated in synthetic_objects(args.size):
                obj = {**generated, "object_marking_refs": [TLP_GREEN]}
                obj.pop("granular_markings", None)
                if "created_by_ref" in obj:
                    obj["created_by_ref"] = author
                batch.append(obj)
                if len(batch) == 10_000:
                    post()
            if batch:
                post()
        ingest = time.perf_counter() - started
        expected = versions(usa_dir, source)
        runs = []
        for page in pages:
            into = cli(kor_dir, "collection", "add", f"Pulled {page}", "--agreement", "us-rok-tech")
            cli(kor_dir, "peer", "subscribe", "usa", "--remote-collection", source, "--into", into)
            began = time.perf_counter()
            out = cli(kor_dir, "sync", "--quiet", "--page-size", str(page))
            seconds = time.perf_counter() - began
            got = versions(kor_dir, into)
            runs.append(
                {
                    "page_size": page,
                    "seconds": round(seconds, 2),
                    "objects_per_second": round(len(got) / seconds),
                    "versions": len(got),
                    "exact": got == expected,
                    "summary": out.splitlines()[-1],
                }
            )
            cli(kor_dir, "peer", "remove", "usa")
            cli(
                kor_dir,
                "peer",
                "add",
                "usa",
                "--url",
                f"https://127.0.0.1:{usa_port}/taxii2/api/",
                "--cert-file",
                str(usa_dir / "node.crt"),
                "--country",
                "USA",
                "--agreement",
                "us-rok-tech",
            )
        latencies = push_latencies(
            usa_dir, kor_dir, usa_port, source, token, identity_of(cisa), args.pushes
        )
    finally:
        for process in processes:
            process.terminate()
            process.wait()
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "size": args.size,
        "versions": len(expected),
        "ingest_seconds": round(ingest, 1),
        "runs": runs,
        "push_seconds": latencies,
    }
    RESULTS_JSON.write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    report.insert_section(RESULTS_MD, "federation.py", text)
    print(text)


def markdown(result: dict[str, Any]) -> str:
    start, end = report.markers("federation.py")
    host = report.machine()
    lines = [
        start,
        "## Federation: node to node (issue 4)",
        "",
        "Written by `bench/federation.py` (also run by `make bench`).",
        "",
        f"- Date: {result['date']}; command: `python bench/federation.py --size {result['size']}`",
        f"- Machine: {host['cpu']}, {host['cores']} cores",
        "- Two node processes on loopback over HTTPS with pinned certificates; the KOR node's "
        "`allyshare sync` signs each request, the USA node decides egress per version (all "
        "TLP:GREEN here) and each page is stored with its cursor in one transaction. Seconds "
        "are the wall time of the `sync` command, process start included.",
        f"- Ingest into the USA node first: {result['versions']:,} versions in "
        f"{result['ingest_seconds']} s.",
        "",
        "| page size | seconds | versions pulled | objects/s | target ≥ 10,000/s | exact copy |",
        "| ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in result["runs"]:
        met = "met" if run["objects_per_second"] >= TARGET_PER_SECOND else "**not met**"
        lines.append(
            f"| {run['page_size']:,} | {run['seconds']} | {run['versions']:,} | "
            f"{run['objects_per_second']:,} | {met} | {'yes' if run['exact'] else '**no**'} |"
        )
    pushes = sorted(result["push_seconds"])
    if pushes:
        p50 = pushes[len(pushes) // 2]
        p95 = pushes[min(len(pushes) - 1, round(0.95 * (len(pushes) - 1)))]
        met = "met" if p95 <= PUSH_P95_TARGET else "**not met**"
        lines += [
            "",
            f"Push: {len(pushes)} single-object POSTs on the USA node, each timed until the "
            "object is stored on the KOR node (the USA node's sync loop wakes on the write, "
            "decides egress, POSTs to the KOR node signed and follows its status).",
            "",
            "| POSTs | p50 s | p95 s | max s | target p95 ≤ 2 s |",
            "| ---: | ---: | ---: | ---: | --- |",
            f"| {len(pushes)} | {p50:.3f} | {p95:.3f} | {pushes[-1]:.3f} | {met} |",
        ]
    lines.append(end)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
