"""Pulling between two real node processes over pinned HTTPS with signed requests: the USA
node shares what the agreement and markings allow to a KOR node, and nothing else reaches it.

Checked on the receiver's database, not only on what the commands print.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from allyshare.config import load_settings
from allyshare.demo.content import TLP_AMBER_STRICT, TLP_GREEN
from allyshare.keys import fingerprint
from allyshare.policy import REDACTED_PROPERTY
from allyshare.policy.markings import ACS_EXTENSION_ID
from allyshare.service import Node
from allyshare.storage import VersionFilter

from support.processes import RunningNode, cli, pinned_context, serve

TAXII = "application/taxii+json;version=2.1"
AGREEMENT: dict[str, Any] = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "S",
    "tlp_ceiling": "AMBER+STRICT",
    "propin_match_only": True,
    "aggregate_k": 3,
}
NOFORN: dict[str, Any] = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--4c0b3c0e-6c1f-4f55-8e8a-1f7f3a9a0001",
    "created": "2026-01-01T00:00:00.000Z",
    "extensions": {
        ACS_EXTENSION_ID: {
            "extension_type": "property-extension",
            "control_set": {"classification": "U", "formal_determination": ["NF"]},
        }
    },
}


def indicator(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=number, version=4)}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "name": f"indicator {number}",
        "description": f"seen at site {number}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{number % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
        **extra,
    }


@dataclass
class Pair:
    usa: RunningNode
    kor: RunningNode
    usa_collection: str
    kor_collection: str
    writer: str

    def post(self, objects: list[dict[str, Any]]) -> None:
        response = httpx.post(
            f"{self.usa.url}/taxii2/api/collections/{self.usa_collection}/objects/",
            content=orjson.dumps({"objects": objects}),
            headers={
                "Authorization": f"Bearer {self.writer}",
                "Accept": TAXII,
                "Content-Type": TAXII,
            },
            verify=pinned_context(self.usa.data_dir / "node.crt"),
            timeout=60,
        )
        assert response.status_code == 202, response.text
        assert response.json()["failure_count"] == 0, response.text

    def received(self) -> dict[str, dict[str, Any]]:
        """What the KOR node's database holds, read as the node itself (no policy)."""
        node = Node.open(load_settings(self.kor.data_dir))
        try:
            every = VersionFilter(versions=frozenset({"all"}))
            versions = node.store.iter_versions(self.kor_collection, every)
            return {item.object_id: orjson.loads(item.body) for item in versions}
        finally:
            node.close()


def ok(result: Any) -> str:
    assert result.returncode == 0, result.stderr + result.stdout
    return str(result.stdout.strip())


def make_node(directory: Path, country: str, name: str) -> str:
    """A node with the agreement and one collection under it; returns the collection id."""
    ok(cli(directory, "init", "--country", country, "--name", name))
    agreement = directory.parent / f"{name}-agreement.json"
    agreement.write_bytes(orjson.dumps(AGREEMENT))
    ok(cli(directory, "agreement", "apply", str(agreement)))
    return ok(cli(directory, "collection", "add", "Shared", "--agreement", "us-rok-tech"))


def pin(here: Path, name: str, there: RunningNode, country: str) -> None:
    print_out = fingerprint((there.data_dir / "node.crt").read_bytes())
    ok(
        cli(
            here,
            "peer",
            "add",
            name,
            "--url",
            f"{there.url}/taxii2/api/",
            "--cert-fingerprint",
            print_out,
            "--country",
            country,
            "--agreement",
            "us-rok-tech",
        )
    )


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    usa_dir, kor_dir = tmp_path / "usa", tmp_path / "kor"
    usa_collection = make_node(usa_dir, "USA", "usa")
    kor_collection = make_node(kor_dir, "KOR", "kor")
    cisa = ok(cli(usa_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert"))
    writer = ok(cli(usa_dir, "user", "add", "writer", "--org", cisa, "--role", "contributor"))
    with serve(usa_dir, tls=True) as usa, serve(kor_dir, tls=True) as kor:
        pin(usa_dir, "kor", kor, "KOR")
        pin(kor_dir, "usa", usa, "USA")
        ok(
            cli(
                kor_dir,
                "peer",
                "subscribe",
                "usa",
                "--remote-collection",
                usa_collection,
                "--into",
                kor_collection,
            )
        )
        yield Pair(usa, kor, usa_collection, kor_collection, writer)


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
    ok(
        cli(
            stranger_dir,
            "peer",
            "subscribe",
            "usa",
            "--remote-collection",
            pair.usa_collection,
            "--into",
            collection,
        )
    )
    refused = cli(stranger_dir, "sync", "--quiet")
    assert refused.returncode == 1
    assert "401" in refused.stderr and "signature not accepted" in refused.stderr
    assert "0 new" in refused.stdout


def make_collection(directory: Path) -> str:
    return ok(cli(directory, "collection", "add", "More", "--agreement", "us-rok-tech"))
