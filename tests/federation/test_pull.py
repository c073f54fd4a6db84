"""Pulling between two real node processes over pinned HTTPS with signed requests: the USA
node shares what the agreement and markings allow to a KOR node, and nothing else reaches it.

Checked on the receiver's database, not only on what the commands print.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from allyshare.community import identity_of
from allyshare.demo.content import TLP_AMBER_STRICT, TLP_GREEN
from allyshare.federation.signatures import SignedRequests
from allyshare.keys import load_signing_key
from allyshare.policy import REDACTED_PROPERTY

from support.federation import (
    NOFORN,
    TAXII,
    Pair,
    federated_pair,
    indicator,
    make_collection,
    make_node,
    ok,
)
from support.processes import cli, pinned_context


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        yield both


def test_only_what_the_agreement_and_markings_allow_reaches_the_peer(pair: Pair) -> None:
    green = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(1, 31)]
    noforn = [indicator(n, object_marking_refs=[NOFORN["id"]]) for n in range(31, 51)]
    strict = [indicator(n, object_marking_refs=[TLP_AMBER_STRICT]) for n in range(51, 61)]
    partly = [
        indicator(
            n,
            object_marking_refs=[TLP_GREEN],
            granular_markings=[{"marking_ref": NOFORN["id"], "selectors": ["description"]}],
        )
        for n in range(61, 66)
    ]
    pair.post([NOFORN, *green, *noforn, *strict, *partly])

    synced = cli(pair.kor.data_dir, "sync", "--quiet")
    assert "36 new, 0 already held, 0 refused" in ok(synced)
    held = pair.received()
    assert set(held) == {NOFORN["id"], *(o["id"] for o in green + partly)}
    for obj in green:
        assert held[obj["id"]] == obj
    for obj in partly:
        copy = held[obj["id"]]
        assert "description" not in copy
        assert copy[REDACTED_PROPERTY] == ["description"]
        assert copy["pattern"] == obj["pattern"]

    again = cli(pair.kor.data_dir, "sync", "--quiet")
    assert "0 new" in ok(again)
    later = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(66, 71)]
    pair.post(later)
    assert "5 new" in ok(cli(pair.kor.data_dir, "sync", "usa", "--quiet"))
    assert len(pair.received()) == 41
    listed = ok(cli(pair.kor.data_dir, "peer", "list"))
    assert "41 in, 0 out" in listed


def test_unsigned_and_unknown_signers_get_nothing(pair: Pair, tmp_path: Path) -> None:
    pair.post([indicator(1, object_marking_refs=[TLP_GREEN])])
    url = f"{pair.usa.url}/taxii2/api/collections/{pair.usa_collection}/objects/"
    verify = pinned_context(pair.usa.data_dir / "node.crt")
    unsigned = httpx.get(url, headers={"Accept": TAXII}, verify=verify)
    assert unsigned.status_code == 401
    stranger_dir = tmp_path / "stranger"
    make_node(stranger_dir, "KOR", "stranger")
    ok(
        cli(
            stranger_dir,
            "peer",
            "add",
            "usa",
            "--url",
            f"{pair.usa.url}/taxii2/api/",
            "--cert-file",
            str(pair.usa.data_dir / "node.crt"),
            "--country",
            "USA",
            "--agreement",
            "us-rok-tech",
        )
    )
    collection = make_collection(stranger_dir)
    refused = cli(
        stranger_dir,
        "peer",
        "subscribe",
        "usa",
        "--remote-collection",
        pair.usa_collection,
        "--into",
        collection,
    )
    assert refused.returncode == 1
    assert "usa answered 401" in refused.stderr and "signature not accepted" in refused.stderr
    assert "must pin this node first, so on usa run: allyshare peer add stranger" in refused.stderr
    assert "nothing to sync" in ok(cli(stranger_dir, "sync", "--quiet"))


def test_a_serving_node_pulls_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path, sync_interval=1) as pair:
        shared = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(1, 21)]
        kept = [indicator(n, object_marking_refs=[NOFORN["id"]]) for n in range(21, 31)]
        pair.post([NOFORN, *shared, *kept])
        expected = {NOFORN["id"], *(obj["id"] for obj in shared)}
        deadline = time.monotonic() + 60
        while set(pair.received()) != expected:
            assert time.monotonic() < deadline, f"after a minute: {sorted(pair.received())}"
            time.sleep(0.2)
        listed = ok(cli(pair.kor.data_dir, "peer", "list"))
        assert "21 in, 0 out, last success 20" in listed


def test_both_ways_a_cycle_converges(pair: Pair) -> None:
    """KOR pulls USA's collection and USA pulls KOR's: what KOR got from USA goes back to USA
    and is recognised there (same id and version), so a second round moves nothing."""
    kor_dir, usa_dir = pair.kor.data_dir, pair.usa.data_dir
    kisa = ok(cli(kor_dir, "org", "add", "KISA", "--country", "KOR", "--kind", "cert"))
    kor_writer = ok(cli(kor_dir, "user", "add", "kw", "--org", kisa, "--role", "contributor"))
    ok(
        cli(
            usa_dir,
            "peer",
            "subscribe",
            "kor",
            "--remote-collection",
            pair.kor_collection,
            "--into",
            pair.usa_collection,
        )
    )
    pair.post([indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(1, 11)])
    korean = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(101, 106)]
    response = httpx.post(
        f"{pair.kor.url}/taxii2/api/collections/{pair.kor_collection}/objects/",
        content=orjson.dumps({"objects": korean}),
        headers={"Authorization": f"Bearer {kor_writer}", "Accept": TAXII, "Content-Type": TAXII},
        verify=pinned_context(kor_dir / "node.crt"),
    )
    assert response.status_code == 202 and response.json()["failure_count"] == 0
    for _ in range(2):
        ok(cli(kor_dir, "sync", "--quiet"))
        ok(cli(usa_dir, "sync", "--quiet"))
    assert "0 new" in ok(cli(kor_dir, "sync", "--quiet"))
    assert "0 new" in ok(cli(usa_dir, "sync", "--quiet"))
    for data_dir in (kor_dir, usa_dir):
        with sqlite3.connect(data_dir / "allyshare.db") as connection:
            rows = list(connection.execute("SELECT object_id, version FROM objects"))
        assert len(rows) == len(set(rows)) == 15


def test_received_versions_keep_who_wrote_them(pair: Pair, tmp_path: Path) -> None:
    """The USA node tells the KOR node who wrote each version (the organization when the
    version names its author, else its country); the KOR node records it with the peer and
    enforces by it, as the USA node does: a KISA member's NOFORN report (written on the USA
    node) is for Korean nationals on the KOR node too."""
    usa_dir, kor_dir = pair.usa.data_dir, pair.kor.data_dir
    kisa = ok(cli(usa_dir, "org", "add", "KISA", "--country", "KOR", "--kind", "cert"))
    kisa_writer = ok(cli(usa_dir, "user", "add", "kw", "--org", kisa, "--role", "contributor"))
    # CISA signs its report (created_by_ref); KISA's goes without an author, so the USA node
    # tells only KISA's country (source protection), which is what NOFORN needs.
    by_cisa = indicator(1, object_marking_refs=[TLP_GREEN], created_by_ref=identity_of("USA.CISA"))
    by_kisa = indicator(2, object_marking_refs=[NOFORN["id"]])
    imported = indicator(3, object_marking_refs=[TLP_GREEN])
    pair.post([NOFORN, by_cisa])
    pair.post([by_kisa], token=kisa_writer)
    feed = tmp_path / "feed.json"
    feed.write_bytes(orjson.dumps(imported))
    ok(cli(usa_dir, "import", str(feed), "--collection", pair.usa_collection, "--quiet"))
    ok(cli(kor_dir, "sync", "--quiet"))

    with sqlite3.connect(kor_dir / "allyshare.db") as connection:
        recorded = dict(
            connection.execute(
                "SELECT object_id, originator_id FROM objects "
                "JOIN access_keys ON access_keys.seq = objects.label_seq"
            )
        )
    assert recorded[by_cisa["id"]] == "USA.CISA.PEER:usa"
    assert recorded[by_kisa["id"]] == "KOR.PEER:usa"
    assert recorded[imported["id"]] == "USA.PEER:usa"

    nis = ok(cli(kor_dir, "org", "add", "NIS", "--country", "KOR", "--kind", "government"))
    korean = ok(cli(kor_dir, "user", "add", "ko", "--org", nis, "--role", "reader"))
    liaison = ok(
        cli(kor_dir, "user", "add", "li", "--org", nis, "--nationality", "USA", "--role", "reader")
    )

    def seen(token: str) -> set[str]:
        response = httpx.get(
            f"{pair.kor.url}/taxii2/api/collections/{pair.kor_collection}/objects/",
            headers={"Authorization": f"Bearer {token}", "Accept": TAXII},
            verify=pinned_context(kor_dir / "node.crt"),
        )
        return {obj["id"] for obj in response.json()["objects"]}

    assert by_kisa["id"] in seen(korean)
    assert by_kisa["id"] not in seen(liaison)
    assert by_cisa["id"] in seen(liaison)
    explained = ok(cli(kor_dir, "policy", "explain", by_kisa["id"], "--as", "li"))
    assert "originator  KOR.PEER:usa" in explained and "NOFORN" in explained


def test_on_the_wire_the_peer_gets_only_what_it_may_have(pair: Pair) -> None:
    """A request signed with the KOR node's key, as its sync sends them, read directly."""
    green = indicator(1, object_marking_refs=[TLP_GREEN])
    noforn = indicator(2, object_marking_refs=[NOFORN["id"]])
    partly = indicator(
        3,
        object_marking_refs=[TLP_GREEN],
        granular_markings=[{"marking_ref": NOFORN["id"], "selectors": ["description"]}],
    )
    pair.post([NOFORN, green, noforn, partly])
    signer = SignedRequests(load_signing_key(pair.kor.data_dir))
    base = f"{pair.usa.url}/taxii2/api/collections/{pair.usa_collection}"
    verify = pinned_context(pair.usa.data_dir / "node.crt")
    listed = httpx.get(f"{base}/objects/", headers={"Accept": TAXII}, auth=signer, verify=verify)
    assert listed.status_code == 200
    served = {obj["id"]: obj for obj in listed.json()["objects"]}
    assert set(served) == {NOFORN["id"], green["id"], partly["id"]}
    assert "description" not in served[partly["id"]]
    hidden = httpx.get(
        f"{base}/objects/{noforn['id']}/", headers={"Accept": TAXII}, auth=signer, verify=verify
    )
    assert hidden.status_code == 404
    posted = httpx.post(
        f"{base}/objects/",
        content=orjson.dumps({"objects": [indicator(4, object_marking_refs=[TLP_GREEN])]}),
        headers={"Accept": TAXII, "Content-Type": TAXII},
        auth=signer,
        verify=verify,
    )
    assert posted.status_code == 202, posted.text
    assert httpx.delete(
        f"{base}/objects/{green['id']}/", headers={"Accept": TAXII}, auth=signer, verify=verify
    ).status_code in (401, 403)
