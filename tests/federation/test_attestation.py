"""A peer answers only for its own members: what it attests about who wrote the objects it
sends is taken only for organizations of its country that are not members of the receiving
node and that the objects name as their author. Two real node processes; the KOR node's
signed POST is built here, as a hostile KOR node would send it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from allyshare.community import identity_of
from allyshare.demo.content import TLP_GREEN
from allyshare.federation.signatures import SignedRequests
from allyshare.keys import load_signing_key

from support.federation import ORCON, TAXII, Pair, federated_pair, indicator, ok
from support.processes import cli, pinned_context


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        both.post([ORCON])
        yield both


def post_as_kor(pair: Pair, objects: list[dict[str, Any]], claims: list[str]) -> dict[str, Any]:
    response = httpx.post(
        f"{pair.usa.url}/taxii2/api/collections/{pair.usa_collection}/objects/",
        content=orjson.dumps({"x_allyshare_originators": claims, "objects": objects}),
        headers={"Accept": TAXII, "Content-Type": TAXII},
        auth=SignedRequests(load_signing_key(pair.kor.data_dir)),
        verify=pinned_context(pair.usa.data_dir / "node.crt"),
        timeout=60,
    )
    assert response.status_code == 202, response.text
    status: dict[str, Any] = response.json()
    return status


def recorded_originators(data_dir: Path) -> dict[str, str]:
    with sqlite3.connect(data_dir / "allyshare.db") as connection:
        return dict(
            connection.execute(
                "SELECT object_id, originator_id FROM objects "
                "JOIN access_keys ON access_keys.seq = objects.label_seq"
            )
        )


def test_a_peer_cannot_credit_its_objects_to_the_receivers_members(pair: Pair) -> None:
    marked = [TLP_GREEN, ORCON["id"]]
    as_cisa = indicator(1, object_marking_refs=marked, created_by_ref=identity_of("USA.CISA"))
    as_nsa = indicator(2, object_marking_refs=marked, created_by_ref=identity_of("USA.NSA"))
    unsigned_kisa = indicator(3, object_marking_refs=marked)
    by_nis = indicator(4, object_marking_refs=marked, created_by_ref=identity_of("KOR.NIS"))
    claims = ["USA.CISA", "USA.NSA", "KOR.KISA", "KOR.NIS"]

    status = post_as_kor(pair, [as_cisa, as_nsa, unsigned_kisa, by_nis], claims)

    assert status["success_count"] == 4
    messages = [success["message"] for success in status["successes"]]
    assert "one of this node's own organizations" in messages[0]
    assert "not an organization of KOR" in messages[1]
    assert "does not name it as author" in messages[2]
    assert messages[3] == "stored"
    recorded = recorded_originators(pair.usa.data_dir)
    assert recorded[as_cisa["id"]] == "USA.PEER:kor"
    assert recorded[as_nsa["id"]] == "USA.PEER:kor"
    assert recorded[unsigned_kisa["id"]] == "KOR.PEER:kor"
    assert recorded[by_nis["id"]] == "KOR.NIS.PEER:kor"

    explained = ok(cli(pair.usa.data_dir, "policy", "explain", as_cisa["id"], "--as", "writer"))
    assert "originator  USA.PEER:kor" in explained
    assert "USA.CISA" not in explained.split("markings")[0]
    assert "writer does not see it" in explained
    # CISA's writer is no originator of what KOR sent: ORCON holds for it.
    response = httpx.get(
        f"{pair.usa.url}/taxii2/api/collections/{pair.usa_collection}/objects/",
        headers={"Authorization": f"Bearer {pair.writer}", "Accept": TAXII},
        verify=pinned_context(pair.usa.data_dir / "node.crt"),
        timeout=60,
    )
    seen = {obj["id"] for obj in response.json()["objects"]}
    assert seen == {ORCON["id"]}
