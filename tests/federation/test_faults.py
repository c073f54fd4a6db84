"""kill -9 during a sync, on either side: the receiving ``allyshare sync`` and the sending node
are killed at random points, restarted, and the sync run to the end. The receiver must then
hold exactly what the policy lets it have: nothing lost, nothing twice, nothing extra.

Three kills in four wait until the sync has committed a page and then strike at a random
moment after it; the rest strike at a random moment from the start (often before the first
request). The kill points are random per run; the seed is in the failure message.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from allyshare.demo.content import TLP_GREEN

from support.federation import NOFORN, federated_pair, indicator, ok
from support.processes import cli, serve

RECEIVER_KILLS = 12
SENDER_KILLS = 8
PAGE_SIZE = "10"


def sync_process(data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allyshare.cli.main",
            "sync",
            "--quiet",
            "--page-size",
            PAGE_SIZE,
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stored_rows(data_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "allyshare.db") as connection:
        return list(connection.execute("SELECT object_id, version FROM objects"))


def wait_for_progress(data_dir: Path, before: int, sync: subprocess.Popen[bytes]) -> None:
    """Until the sync has committed a page (or ended), so the kill lands inside it."""
    deadline = time.monotonic() + 60
    while len(stored_rows(data_dir)) == before and sync.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError("the sync made no progress in a minute")
        time.sleep(0.01)


def receipts(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "allyshare.db") as connection:
        count: int = connection.execute("SELECT count(*) FROM receipts").fetchone()[0]
        return count


def batch(round_number: int, size: int = 200) -> list[dict[str, Any]]:
    """New objects for one round (seven in ten shareable) and new versions of some earlier
    ones, so every round leaves the receiver something to fetch."""
    first = round_number * size
    made: list[dict[str, Any]] = []
    for number in range(first + 1, first + size + 1):
        marking = TLP_GREEN if number % 10 < 7 else NOFORN["id"]
        made.append(indicator(number, object_marking_refs=[marking]))
        if round_number and number % 9 == 0:
            earlier = number - size
            marking = TLP_GREEN if earlier % 10 < 7 else NOFORN["id"]
            made.append(
                indicator(
                    earlier,
                    object_marking_refs=[marking],
                    modified=f"2026-04-{round_number:02d}T00:00:00.000Z",
                    description=f"revised in round {round_number}",
                )
            )
    return made


def shareable(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (obj["id"], obj.get("modified") or obj["created"])
        for obj in objects
        if NOFORN["id"] not in obj.get("object_marking_refs", [])
    }


def test_nothing_lost_or_duplicated_when_either_side_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    seed = int(os.environ.get("ALLYSHARE_FAULT_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    with federated_pair(tmp_path) as pair, ExitStack() as restarted:
        kor_dir, usa_dir = pair.kor.data_dir, pair.usa.data_dir
        usa_port = int(pair.usa.url.rsplit(":", 1)[1])
        usa_process = pair.usa.process
        posted = [NOFORN, *batch(0)]
        pair.post(posted)
        began = time.monotonic()
        assert sync_process(kor_dir).wait(timeout=120) == 0
        full_sync = time.monotonic() - began
        expected = shareable(posted)
        assert set(stored_rows(kor_dir)) == expected

        kills: list[str] = []
        for round_number in range(1, RECEIVER_KILLS + SENDER_KILLS + 1):
            fresh = batch(round_number)
            pair.post(fresh)
            posted += fresh
            expected |= shareable(fresh)
            before = len(stored_rows(kor_dir))
            sync = sync_process(kor_dir)
            if rng.random() < 0.75:
                wait_for_progress(kor_dir, before, sync)
                time.sleep(rng.uniform(0, 0.3))
            else:
                time.sleep(rng.uniform(0.1, full_sync))
            if round_number <= RECEIVER_KILLS:
                sync.kill()
                sync.wait()
                side = "receiver"
            else:
                usa_process.kill()
                usa_process.wait()
                sync.wait(timeout=120)
                side = "sender"
                usa_process = restarted.enter_context(
                    serve(usa_dir, tls=True, port=usa_port)
                ).process
            kills.append(f"{side}: {before} -> {len(stored_rows(kor_dir))} of {len(expected)}")

        finished = cli(kor_dir, "sync", "--quiet")
        context = f"seed {seed}; full sync {full_sync:.2f} s; kills: {kills}"
        assert "0 refused" in ok(finished), context
        rows = stored_rows(kor_dir)
        assert len(rows) == len(set(rows)), f"duplicates; {context}"
        assert set(rows) == expected, f"lost or extra versions; {context}"
        assert receipts(kor_dir) == len(expected), context
        assert f"{len(expected)} in, 0 out" in ok(cli(kor_dir, "peer", "list")), context
