"""An anonymous contribution over real node processes: posted over TAXII with
``x_allyshare_anonymous=true``, read back by another member, pulled by the partner node; no
byte of the contributor's organization leaves the node, and only an audited reveal tells it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from allyshare.community import identity_of
from allyshare.demo.content import TLP_GREEN
from allyshare.sources import IDENTIFYING, community_identity_id

from support.federation import TAXII, Pair, federated_pair, indicator, ok
from support.processes import cli, pinned_context

PSEUDONYM = community_identity_id("us-rok-tech")


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        yield both


def post(pair: Pair, objects: list[dict[str, object]], query: str) -> httpx.Response:
    return httpx.post(
        f"{pair.usa.url}/taxii2/api/collections/{pair.usa_collection}/objects/{query}",
        content=orjson.dumps({"objects": objects}),
        headers={"Authorization": f"Bearer {pair.writer}", "Accept": TAXII, "Content-Type": TAXII},
        verify=pinned_context(pair.usa.data_dir / "node.crt"),
        timeout=60,
    )


def database_bytes(data_dir: Path) -> bytes:
    """Every value in every table of a node's database, as bytes."""
    connection = sqlite3.connect(data_dir / "allyshare.db")
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        found = []
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                found.extend(v if isinstance(v, bytes) else str(v).encode() for v in row)
        return b"\n".join(found)
    finally:
        connection.close()


def test_no_byte_of_the_contributor_leaves_the_node(pair: Pair) -> None:
    cisa = identity_of("USA.CISA")
    contributed = indicator(
        7,
        object_marking_refs=[TLP_GREEN],
        created_by_ref=cisa,
        x_cisa_ticket="CISA-TICKET-991",
        **{IDENTIFYING: ["x_cisa_ticket"]},
    )
    refused = post(pair, [contributed], "?x_allyshare_anonymous=maybe")
    assert refused.status_code == 400 and "true or false" in refused.text
    accepted = post(pair, [contributed], "?x_allyshare_anonymous=true")
    assert accepted.status_code == 202 and accepted.json()["success_count"] == 1, accepted.text

    read = httpx.get(
        f"{pair.usa.url}/taxii2/api/collections/{pair.usa_collection}/objects/",
        headers={"Authorization": f"Bearer {pair.writer}", "Accept": TAXII},
        verify=pinned_context(pair.usa.data_dir / "node.crt"),
    )
    [shown] = [o for o in read.json()["objects"] if o["id"] == contributed["id"]]
    assert shown["created_by_ref"] == PSEUDONYM and "x_cisa_ticket" not in shown

    ok(cli(pair.kor.data_dir, "sync", "--quiet"))
    received = pair.received()
    assert received[contributed["id"]]["created_by_ref"] == PSEUDONYM
    on_kor = database_bytes(pair.kor.data_dir)
    for secret in (b"USA.CISA", b"CISA-TICKET-991", cisa.encode()):
        assert secret not in on_kor, secret

    usa_db = database_bytes(pair.usa.data_dir)
    assert b"CISA-TICKET-991" not in usa_db, "sealed at rest, not stored in the clear"

    revealed = cli(
        pair.usa.data_dir, "reveal", contributed["id"], "--reason", "incident response 12"
    )
    [record] = [orjson.loads(line) for line in ok(revealed).splitlines()]
    assert record["organization"] == "USA.CISA"
    assert record["withheld"]["removed"] == {"x_cisa_ticket": "CISA-TICKET-991"}
    trail = ok(cli(pair.usa.data_dir, "audit", "show", "--action", "sources:reveal"))
    assert "incident response 12" in trail and "USA.CISA" not in trail
