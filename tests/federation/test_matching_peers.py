"""Private matching across real node processes: a member of the USA node matches its values
against match-only data held on the KOR node. It learns exactly the intersection; nothing it
receives (the answer, an error, its node's log) carries a holder value it did not ask about;
data NOFORN keeps from it matches nothing; the holder enforces the member organization's
budget; and the holder's organization sees that USA.CISA matched, and how many as its node
reports, not what, and receives its contact request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from allyshare.config import load_settings
from allyshare.federation.signatures import SignedRequests
from allyshare.keys import load_signing_key
from allyshare.policy import ALLYSHARE_EXTENSION_ID
from allyshare.service import Node
from allyshare.storage import EntryFilter

from support.federation import NOFORN, Pair, federated_pair, ok
from support.processes import cli, pinned_context

MATCH_ONLY: dict[str, Any] = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--6c1c1a3e-0000-4000-8000-000000000031",
    "created": "2026-01-01T00:00:00.000Z",
    "name": "Match-only for every member",
    "extensions": {
        ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "match_only": True}
    },
}
SHARED = ["198.51.100.7", "c2.hanbit-lure.example"]
KOREANS_ONLY = "198.51.100.77"
NEVER_ASKED = "192.0.2.199"


def indicator(number: int, value: str, *markings: str) -> dict[str, Any]:
    path = "ipv4-addr" if value[0].isdigit() else "domain-name"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--6c1c1a3e-0000-4000-8000-{number:012d}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[{path}:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": list(markings),
    }


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        kor = both.kor.data_dir
        hanbit = ok(cli(kor, "org", "add", "HANBIT", "--country", "KOR", "--kind", "company"))
        ok(cli(kor, "user", "add", "hanbit", "--org", hanbit, "--role", "contributor"))
        held = [
            MATCH_ONLY,
            NOFORN,
            indicator(1, SHARED[0], MATCH_ONLY["id"]),
            indicator(2, SHARED[1], MATCH_ONLY["id"]),
            indicator(3, KOREANS_ONLY, MATCH_ONLY["id"], NOFORN["id"]),
            indicator(4, NEVER_ASKED, MATCH_ONLY["id"]),
        ]
        bundle = tmp_path / "held.json"
        bundle.write_bytes(orjson.dumps(held))
        ok(cli(kor, "import", str(bundle), "--collection", both.kor_collection, "--as", "hanbit"))
        yield both


def ask(pair: Pair, values: list[str], **extra: str) -> httpx.Response:
    return httpx.post(
        f"{pair.usa.url}/api/v1/match",
        json={"collection": pair.kor_collection, "peer": "kor", "values": values, **extra},
        headers={"Authorization": f"Bearer {pair.writer}"},
        verify=pinned_context(pair.usa.data_dir / "node.crt"),
        timeout=120,
    )


def test_a_member_matches_against_a_peer_and_learns_only_the_intersection(pair: Pair) -> None:
    asked = ["198.51.100.7", "C2.HANBIT-LURE.example.", KOREANS_ONLY, "203.0.113.1"]
    answer = ask(pair, asked, contact="Seen at a US fab too: can we compare notes?")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["matched"] == ["198.51.100.7", "C2.HANBIT-LURE.example."]
    assert (found["asked"], found["budget_left"]) == (4, 9996)
    received = answer.content + (pair.usa.data_dir / "server.log").read_bytes()
    assert NEVER_ASKED.encode() not in received
    assert b"indicator--" not in answer.content

    # The holder enforces the member organization's budget: one request per interval.
    again = ask(pair, ["198.51.100.7"])
    assert again.status_code == 429, again.text
    assert "peer kor" in again.json()["description"] and "one request per" in again.text
    assert NEVER_ASKED.encode() not in again.content

    # The holder's organization sees that USA.CISA matched through peer usa, and how many
    # (its node reports the count), not what,
    # and receives the member's contact request naming its two objects.
    node = Node.open(load_settings(pair.kor.data_dir))
    try:
        hanbit = node.user("hanbit")
        seen = node.audit_entries(hanbit, EntryFilter(action="objects:match"), limit=10)
        [contact] = node.contacts(actor=hanbit)
    finally:
        node.close()
    allowed = [e for e in seen if e["outcome"] == "allowed" and "asked" in e["detail"]]
    assert [e["detail"] for e in allowed] == [
        {"organization": "USA.CISA", "asked": 4},
        {"organization": "USA.CISA", "asked": 4, "matched": 2},
    ]
    assert {e["peer"] for e in allowed} == {"usa"}
    assert (contact.from_organization, contact.from_user) == ("USA.CISA", "writer@usa")
    assert contact.object_ids == (
        "indicator--6c1c1a3e-0000-4000-8000-000000000001",
        "indicator--6c1c1a3e-0000-4000-8000-000000000002",
    )
    assert contact.message.startswith("Seen at a US fab")
    assert not any(v.encode() in orjson.dumps(seen) for v in (*SHARED, KOREANS_ONLY))

    # A report is taken only from the peer, signed, and only when it adds up.
    report = {"collection": pair.kor_collection, "organization": "USA.CISA", "asked": 1}
    where = f"{pair.kor.url}/api/v1/match/report"
    verify = pinned_context(pair.kor.data_dir / "node.crt")
    signer = SignedRequests(load_signing_key(pair.usa.data_dir))
    unsigned = httpx.post(where, json={**report, "matched": 1}, verify=verify, timeout=60)
    assert unsigned.status_code == 401, unsigned.text
    more = httpx.post(where, json={**report, "matched": 2}, auth=signer, verify=verify, timeout=60)
    assert more.status_code == 400 and "matched <= asked" in more.text


def test_a_collection_the_peer_may_not_read_is_not_found(pair: Pair) -> None:
    answer = httpx.post(
        f"{pair.usa.url}/api/v1/match",
        json={"collection": "no-such-collection", "peer": "kor", "values": ["198.51.100.7"]},
        headers={"Authorization": f"Bearer {pair.writer}"},
        verify=pinned_context(pair.usa.data_dir / "node.crt"),
        timeout=60,
    )
    assert answer.status_code == 404, answer.text
    assert "peer kor" in answer.json()["description"]
