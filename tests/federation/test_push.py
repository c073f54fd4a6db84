"""Push: a write on the USA node reaches the KOR node without waiting for a pull, as the
USA node's egress decision allows, with the peer's status followed to completion."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from allyshare.demo.content import TLP_GREEN

from support.federation import NOFORN, ORCON, Pair, federated_pair, indicator, ok
from support.processes import cli, pinned_context


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        ok(
            cli(
                both.usa.data_dir,
                "peer",
                "subscribe",
                "kor",
                "--remote-collection",
                both.kor_collection,
                "--into",
                both.usa_collection,
                "--push",
            )
        )
        yield both


def rows(data_dir: Path, table: str = "objects") -> list[tuple[str, ...]]:
    with sqlite3.connect(data_dir / "allyshare.db") as connection:
        if table == "receipts":
            return list(connection.execute("SELECT peer_name FROM receipts"))
        return list(connection.execute("SELECT object_id, version FROM objects"))


def test_a_write_is_pushed_to_the_peer_as_its_policy_allows(pair: Pair) -> None:
    shared = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(1, 21)]
    kept = [indicator(n, object_marking_refs=[NOFORN["id"]]) for n in range(21, 31)]
    pair.post([NOFORN, *shared, *kept])
    expected = {(NOFORN["id"], NOFORN["created"])} | {(o["id"], o["modified"]) for o in shared}
    deadline = time.monotonic() + 60
    while set(rows(pair.kor.data_dir)) != expected:
        assert time.monotonic() < deadline, rows(pair.kor.data_dir)
        time.sleep(0.1)
    assert rows(pair.kor.data_dir, "receipts") == [("usa",)] * len(expected)
    listed = ok(cli(pair.usa.data_dir, "peer", "list"))
    assert f"0 in, {len(expected)} out" in listed
    # What the KOR node received by push is not pushed or pulled back as new.
    assert "pushed 0" in ok(cli(pair.usa.data_dir, "sync", "--quiet"))
    assert len(rows(pair.usa.data_dir)) == 1 + len(shared) + len(kept)


def test_an_orcon_approval_pushes_the_object_it_releases(pair: Pair) -> None:
    """The approval (made through the API of the serving node) and the object it releases,
    which was held back before, reach the peer by push, without a pull."""
    orcon, report = ORCON, indicator(1, object_marking_refs=[TLP_GREEN, ORCON["id"]])
    pair.post([orcon, report])
    deadline = time.monotonic() + 60
    while (orcon["id"], orcon["created"]) not in set(rows(pair.kor.data_dir)):
        assert time.monotonic() < deadline, rows(pair.kor.data_dir)
        time.sleep(0.1)
    assert (report["id"], report["modified"]) not in set(rows(pair.kor.data_dir))
    approved = httpx.post(
        f"{pair.usa.url}/api/v1/orcon-approvals",
        json={"object_id": report["id"], "peer": "kor"},
        headers={"Authorization": f"Bearer {pair.writer}"},
        verify=pinned_context(pair.usa.data_dir / "node.crt"),
        timeout=60,
    )
    assert approved.status_code == 201, approved.text
    approval = approved.json()
    expected = {(report["id"], report["modified"]), (approval["id"], approval["modified"])}
    while not expected <= set(rows(pair.kor.data_dir)):
        assert time.monotonic() < deadline, rows(pair.kor.data_dir)
        time.sleep(0.1)
