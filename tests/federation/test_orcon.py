"""ORCON between two real node processes: an ORCON object moves only with an approval signed
by its originator's node, and the receiving node enforces the approvals it verified.

Checked on the receiver's database and on what its users read over TAXII.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from allyshare.clock import now_us
from allyshare.demo.content import TLP_GREEN
from allyshare.keys import load_signing_key, public_key_text
from allyshare.orcon.approvals import make_approval, node_recipient

from support.federation import ORCON, TAXII, Pair, federated_pair, indicator, ok
from support.processes import cli, pinned_context

REPORT = indicator(1, object_marking_refs=[TLP_GREEN, ORCON["id"]])
CONTROL = indicator(2, object_marking_refs=[TLP_GREEN])


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        both.post([ORCON, REPORT, CONTROL])
        yield both


def sync(pair: Pair) -> str:
    return ok(cli(pair.kor.data_dir, "sync", "--quiet"))


def kor_reader(pair: Pair, organization: str) -> str:
    org = ok(
        cli(
            pair.kor.data_dir,
            "org",
            "add",
            organization,
            "--country",
            "KOR",
            "--kind",
            "government",
        )
    )
    return ok(
        cli(
            pair.kor.data_dir,
            "user",
            "add",
            f"analyst-{organization.lower()}",
            "--org",
            org,
            "--role",
            "reader",
        )
    )


def read_on_kor(pair: Pair, token: str, added_after: str | None = None) -> set[str]:
    return page_on_kor(pair, token, added_after)[0]


def page_on_kor(pair: Pair, token: str, added_after: str | None = None) -> tuple[set[str], str]:
    """The ids a reader gets from the KOR collection, and the X-TAXII-Date-Added-Last."""
    response = httpx.get(
        f"{pair.kor.url}/taxii2/api/collections/{pair.kor_collection}/objects/",
        params={"added_after": added_after} if added_after else None,
        headers={"Authorization": f"Bearer {token}", "Accept": TAXII},
        verify=pinned_context(pair.kor.data_dir / "node.crt"),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    ids = {obj["id"] for obj in response.json().get("objects", [])}
    return ids, response.headers.get("X-TAXII-Date-Added-Last", "")


def approve(pair: Pair, *recipient: str) -> str:
    return ok(
        cli(pair.usa.data_dir, "orcon", "approve", REPORT["id"], *recipient, "--as", "writer")
    )


def test_orcon_moves_only_with_the_originators_signature(pair: Pair) -> None:
    assert "2 new" in sync(pair)
    assert REPORT["id"] not in pair.received()

    kor_key = load_signing_key(pair.kor.data_dir)
    usa_key_text = public_key_text(load_signing_key(pair.usa.data_dir))
    to_kor = node_recipient(public_key_text(kor_key))
    # KOR approving itself: the signature is good, but KOR is not the originator's node.
    self_approved = make_approval(kor_key, public_key_text(kor_key), REPORT["id"], to_kor, now_us())
    # Claiming to be USA's node with KOR's key: the signature does not verify.
    forged = make_approval(kor_key, public_key_text(kor_key), REPORT["id"], to_kor, now_us())
    forged["approving_node"] = usa_key_text
    status = pair.post([self_approved, forged], all_stored=False)
    assert status["success_count"] == 1
    assert "signature does not verify" in status["failures"][0]["message"]
    assert "1 new" in sync(pair)
    assert REPORT["id"] not in pair.received()

    printed = approve(pair, "--peer", "kor")
    assert "released to node kor" in printed
    assert "2 new" in sync(pair)
    held = pair.received()
    assert held[REPORT["id"]] == REPORT
    approvals = [o for o in held.values() if o["type"] == "x-allyshare-orcon-approval"]
    assert {a["approving_node"] for a in approvals} == {public_key_text(kor_key), usa_key_text}


def test_the_receiver_enforces_the_approvals_it_verified(pair: Pair) -> None:
    approve(pair, "--peer", "kor")
    sync(pair)
    kisa, nis = kor_reader(pair, "KISA"), kor_reader(pair, "NIS")
    # KISA, a named recipient, sees the report and its approval; NIS sees neither.
    assert read_on_kor(pair, kisa) == {ORCON["id"], CONTROL["id"], REPORT["id"]} | _approvals(pair)
    seen, last = page_on_kor(pair, nis)
    assert seen == {ORCON["id"], CONTROL["id"]}

    approval_id = approve(pair, "--organization", "KOR.NIS").split(":")[0]
    sync(pair)
    # NIS's client, paging on from where it was, meets the report it had paged past.
    assert REPORT["id"] in read_on_kor(pair, nis, added_after=last)

    ok(cli(pair.usa.data_dir, "orcon", "revoke", approval_id, "--as", "writer"))
    sync(pair)
    assert REPORT["id"] not in read_on_kor(pair, nis)
    assert REPORT["id"] in read_on_kor(pair, kisa)
    listed = ok(cli(pair.kor.data_dir, "orcon", "list"))
    assert "-> this node" in listed and "signed by usa" in listed
    assert "KOR.NIS" not in listed


def test_only_the_originator_approves(pair: Pair) -> None:
    other = ok(
        cli(pair.usa.data_dir, "org", "add", "DHS", "--country", "USA", "--kind", "government")
    )
    ok(cli(pair.usa.data_dir, "user", "add", "outsider", "--org", other, "--role", "contributor"))
    refused = cli(
        pair.usa.data_dir, "orcon", "approve", REPORT["id"], "--peer", "kor", "--as", "outsider"
    )
    assert refused.returncode == 1
    assert "only the originator approves" in refused.stderr
    plain = cli(
        pair.usa.data_dir, "orcon", "approve", CONTROL["id"], "--peer", "kor", "--as", "writer"
    )
    assert "is not marked ORCON" in plain.stderr
    unknown = cli(pair.usa.data_dir, "orcon", "approve", REPORT["id"], "--organization", "nis")
    assert "not an organization id" in unknown.stderr


def _approvals(pair: Pair) -> set[str]:
    return {
        obj["id"] for obj in pair.received().values() if obj["type"] == "x-allyshare-orcon-approval"
    }


def test_a_revocation_reaches_the_node_it_names(pair: Pair) -> None:
    """The revocation carries the report's ORCON markings, which the USA node no longer lets
    KOR pass; it reaches KOR all the same, as the recipient it names, and KOR then holds the
    report out to none of its members, its named recipient included."""
    approval_id = approve(pair, "--peer", "kor").split(":")[0]
    approve(pair, "--organization", "KOR.NIS")
    sync(pair)
    kisa, nis = kor_reader(pair, "KISA"), kor_reader(pair, "NIS")
    assert REPORT["id"] in read_on_kor(pair, kisa)
    assert REPORT["id"] in read_on_kor(pair, nis)

    ok(cli(pair.usa.data_dir, "orcon", "revoke", approval_id, "--as", "writer"))
    assert "1 new" in sync(pair)

    with sqlite3.connect(pair.kor.data_dir / "allyshare.db") as connection:
        versions = [
            orjson.loads(body)
            for (body,) in connection.execute(
                "SELECT body FROM objects WHERE object_id = ? ORDER BY version_key",
                (approval_id,),
            )
        ]
    assert [version.get("revoked", False) for version in versions] == [False, True]
    assert REPORT["id"] in pair.received()  # kept, as a crash-safe copy, but held out to no one
    listed = ok(cli(pair.kor.data_dir, "orcon", "list"))
    assert approval_id not in listed
    for reader in (kisa, nis):
        assert read_on_kor(pair, reader) == {ORCON["id"], CONTROL["id"]}
    explained = ok(
        cli(pair.kor.data_dir, "policy", "explain", REPORT["id"], "--as", "analyst-kisa")
    )
    assert "no longer approves this node" in explained

    # A new approval for KOR brings it back, to those its markings name.
    approve(pair, "--peer", "kor")
    sync(pair)
    assert REPORT["id"] in read_on_kor(pair, kisa)


def test_an_approval_holds_where_the_receiver_hosts_the_originators_organization(
    pair: Pair,
) -> None:
    """A node with users of the originator's organization does not take a peer's word that
    this organization wrote something (it records only the country); the approval the
    originator's node signed still releases the report there."""
    cisa_here = ok(
        cli(pair.kor.data_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert")
    )
    ok(cli(pair.kor.data_dir, "user", "add", "liaison", "--org", cisa_here, "--role", "reader"))
    approve(pair, "--peer", "kor")
    sync(pair)
    kisa = kor_reader(pair, "KISA")
    assert REPORT["id"] in read_on_kor(pair, kisa)
    explained = ok(
        cli(pair.kor.data_dir, "policy", "explain", REPORT["id"], "--as", "analyst-kisa")
    )
    assert "originator  USA.PEER:usa" in explained
    assert "analyst-kisa sees it:\n    allow: the whole object" in explained
