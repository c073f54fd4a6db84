"""The kill -9 soak (issue 4): many more random kills than the test suite's twenty.

    python bench/soak.py [--rounds 60] [--seed N]

Two node processes on loopback over pinned HTTPS, USA and KOR; the KOR node pulls a USA
collection. Each round adds 200 objects to the USA node (seven in ten TLP:GREEN, the rest
NOFORN, some as new versions of earlier objects), starts ``allyshare sync --page-size 10`` on
the KOR node and kills with SIGKILL, alternately, the sync (the receiver) or the USA node (the
sender, then restarted on its port), mostly just after the sync has committed a page. After
the last round one sync runs to the end, and the KOR store must hold exactly the shareable
versions: none lost, none twice, none extra, one receipt each.

Writes its section into bench/RESULTS.md and bench/results-soak.json.
"""

from __future__ import annotations

import argparse
import json
import random
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
from allyshare.demo.content import TLP_GREEN
from allyshare.keys import fingerprint
from federation import TAXII, cli, make_node, serve

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "soak"
RESULTS_JSON = BENCH / "results-soak.json"
RESULTS_MD = BENCH / "RESULTS.md"
NOFORN = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--4c0b3c0e-6c1f-4f55-8e8a-1f7f3a9a0001",
    "created": "2026-01-01T00:00:00.000Z",
    "extensions": {
        "extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce": {
            "extension_type": "property-extension",
            "control_set": {"classification": "U", "formal_determination": ["NF"]},
        }
    },
}
PER_ROUND = 200


def indicator(
    number: int, author: str, modified: str = "2026-03-01T00:00:00.000Z"
) -> dict[str, Any]:
    marking = TLP_GREEN if number % 10 < 7 else NOFORN["id"]
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=number, version=4)}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": modified,
        "created_by_ref": author,
        "pattern": f"[ipv4-addr:value = '198.51.100.{number % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
        "object_marking_refs": [marking],
    }


def rows(data_dir: Path, query: str = "SELECT object_id, version FROM objects") -> list[Any]:
    with sqlite3.connect(data_dir / "allyshare.db") as connection:
        return list(connection.execute(query))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    subprocess.run(["rm", "-rf", str(WORK)], check=True)
    WORK.mkdir(parents=True)
    usa_dir, kor_dir = WORK / "usa", WORK / "kor"
    make_node(usa_dir, "USA", "usa")
    make_node(kor_dir, "KOR", "kor")
    source = cli(usa_dir, "collection", "add", "Source", "--agreement", "us-rok-tech")
    into = cli(kor_dir, "collection", "add", "Copy", "--agreement", "us-rok-tech")
    cisa = cli(usa_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert")
    token = cli(usa_dir, "user", "add", "writer", "--org", cisa, "--role", "contributor")
    author = identity_of(cisa)
    usa_port, kor_port = 7401, 7402
    usa, kor = serve(usa_dir, usa_port), serve(kor_dir, kor_port)
    started = time.perf_counter()
    kills: list[dict[str, Any]] = []
    expected: set[tuple[str, str]] = {(NOFORN["id"], NOFORN["created"])}
    try:
        print_out = fingerprint((usa_dir / "node.crt").read_bytes())
        cli(
            kor_dir,
            "peer",
            "add",
            "usa",
            "--url",
            f"https://127.0.0.1:{usa_port}/taxii2/api/",
            "--cert-fingerprint",
            print_out,
            "--country",
            "USA",
            "--agreement",
            "us-rok-tech",
        )
        kor_cert = (kor_dir / "node.crt").read_bytes()
        cli(
            usa_dir,
            "peer",
            "add",
            "kor",
            "--url",
            f"https://127.0.0.1:{kor_port}/taxii2/api/",
            "--cert-fingerprint",
            fingerprint(kor_cert),
            "--country",
            "KOR",
            "--agreement",
            "us-rok-tech",
        )
        cli(kor_dir, "peer", "subscribe", "usa", "--remote-collection", source, "--into", into)
        context = ssl.create_default_context(cafile=str(usa_dir / "node.crt"))
        url = f"https://127.0.0.1:{usa_port}/taxii2/api/collections/{source}/objects/"
        headers = {"Authorization": f"Bearer {token}", "Accept": TAXII, "Content-Type": TAXII}
        for round_number in range(args.rounds + 1):
            made = [NOFORN] if round_number == 0 else []
            first = round_number * PER_ROUND
            for number in range(first + 1, first + PER_ROUND + 1):
                made.append(indicator(number, author))
                if round_number and number % 9 == 0:
                    revised = f"2026-04-01T00:00:{round_number % 60:02d}.000Z"
                    made.append(indicator(number - PER_ROUND, author, revised))
            posted = httpx.post(
                url,
                content=orjson.dumps({"objects": made}),
                headers=headers,
                verify=context,
                timeout=120,
            )
            if posted.status_code != 202 or posted.json()["failure_count"]:
                raise SystemExit(f"ingest failed: {posted.text[:300]}")
            expected |= {
                (o["id"], o.get("modified") or o["created"])
                for o in made
                if NOFORN["id"] not in o.get("object_marking_refs", [])
            }
            if round_number == 0:
                continue
            before = len(rows(kor_dir))
            sync = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "allyshare.cli.main",
                    "sync",
                    "--quiet",
                    "--page-size",
                    "10",
                    "--data-dir",
                    str(kor_dir),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if rng.random() < 0.75:
                deadline = time.monotonic() + 60
                while len(rows(kor_dir)) == before and sync.poll() is None:
                    if time.monotonic() > deadline:
                        raise SystemExit("a sync made no progress in a minute")
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.3))
            else:
                time.sleep(rng.uniform(0.1, 1.5))
            side = "receiver" if round_number % 2 else "sender"
            if side == "receiver":
                sync.kill()
                sync.wait()
            else:
                usa.kill()
                usa.wait()
                sync.wait(timeout=120)
                usa = serve(usa_dir, usa_port)
            after = len(rows(kor_dir))
            kills.append(
                {"side": side, "before": before, "after": after, "expected": len(expected)}
            )
        final = cli(kor_dir, "sync", "--quiet")
    finally:
        for process in (usa, kor):
            process.terminate()
            process.wait()
    held = rows(kor_dir)
    receipts = rows(kor_dir, "SELECT count(*) FROM receipts")[0][0]
    mid_sync = sum(1 for k in kills if k["before"] < k["after"] < k["expected"])
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": seed,
        "rounds": args.rounds,
        "kills": kills,
        "mid_sync_kills": mid_sync,
        "versions_expected": len(expected),
        "versions_held": len(held),
        "duplicates": len(held) - len(set(held)),
        "lost": len(expected - set(held)),
        "extra": len(set(held) - expected),
        "receipts": receipts,
        "final_sync": final.splitlines()[-1] if final else "",
        "seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS_JSON.write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    report.insert_section(RESULTS_MD, "soak.py", text)
    print(text)


def markdown(result: dict[str, Any]) -> str:
    start, end = report.markers("soak.py")
    exact = not (result["duplicates"] or result["lost"] or result["extra"])
    receivers = sum(1 for k in result["kills"] if k["side"] == "receiver")
    lines = [
        start,
        "## Federation: kill -9 soak (issue 4)",
        "",
        f"Written by `bench/soak.py`. Date: {result['date']}; command: "
        f"`python bench/soak.py --rounds {result['rounds']} --seed {result['seed']}` "
        f"({result['seconds']} s).",
        "",
        f"{len(result['kills'])} kills: {receivers} of the receiving `allyshare sync`, "
        f"{len(result['kills']) - receivers} of the sending node (restarted on its port); "
        f"{result['mid_sync_kills']} of them landed after some of a round's pages were stored "
        "and before all were. Each round added 200 objects (about 70 % shareable) and new "
        "versions of earlier ones; pages of 10.",
        "",
        "| shareable versions | held by KOR | lost | extra | held twice | receipts | exact |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {result['versions_expected']:,} | {result['versions_held']:,} | {result['lost']} | "
        f"{result['extra']} | {result['duplicates']} | {result['receipts']:,} | "
        f"{'yes' if exact and result['receipts'] == result['versions_expected'] else '**no**'} |",
        end,
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
