"""Two real nodes, USA and KOR, under one agreement, each pinning the other, KOR subscribed to
a USA collection: what the federation tests start from."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from allyshare.config import load_settings
from allyshare.keys import fingerprint
from allyshare.policy.markings import ACS_EXTENSION_ID, ALLYSHARE_EXTENSION_ID
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
ORCON: dict[str, Any] = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--4c0b3c0e-6c1f-4f55-8e8a-1f7f3a9a0002",
    "created": "2026-01-01T00:00:00.000Z",
    "name": "ORCON: released to KISA",
    "extensions": {
        ALLYSHARE_EXTENSION_ID: {
            "extension_type": "property-extension",
            "orcon": True,
            "recipients": ["KOR.KISA"],
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

    def post(
        self, objects: list[dict[str, Any]], token: str | None = None, *, all_stored: bool = True
    ) -> dict[str, Any]:
        """POST to the USA collection as the CISA writer (or the user of ``token``); the
        status, which must report every object stored unless ``all_stored`` is false."""
        response = httpx.post(
            f"{self.usa.url}/taxii2/api/collections/{self.usa_collection}/objects/",
            content=orjson.dumps({"objects": objects}),
            headers={
                "Authorization": f"Bearer {token or self.writer}",
                "Accept": TAXII,
                "Content-Type": TAXII,
            },
            verify=pinned_context(self.usa.data_dir / "node.crt"),
            timeout=60,
        )
        assert response.status_code == 202, response.text
        status: dict[str, Any] = response.json()
        assert status["failure_count"] == 0 or not all_stored, response.text
        return status

    def received(self) -> dict[str, dict[str, Any]]:
        """What the KOR node's database holds, read as the node itself (no policy)."""
        node = Node.open(load_settings(self.kor.data_dir))
        try:
            every = VersionFilter(versions=frozenset({"all"}))
            versions = node._store.iter_versions(self.kor_collection, every)
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


@contextmanager
def federated_pair(tmp_path: Path, *, sync_interval: int = 86_400) -> Iterator[Pair]:
    """Both nodes served over HTTPS (SQLite; unset ALLYSHARE_DATABASE_URL first). The KOR
    server pulls on its own every ``sync_interval`` seconds; by default only the tests'
    ``allyshare sync`` runs do, so they alone decide what is fetched when."""
    usa_dir, kor_dir = tmp_path / "usa", tmp_path / "kor"
    usa_collection = make_node(usa_dir, "USA", "usa")
    kor_collection = make_node(kor_dir, "KOR", "kor")
    cisa = ok(cli(usa_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert"))
    writer = ok(cli(usa_dir, "user", "add", "writer", "--org", cisa, "--role", "contributor"))
    interval = {"ALLYSHARE_SYNC_INTERVAL": str(sync_interval)}
    with serve(usa_dir, tls=True) as usa, serve(kor_dir, interval, tls=True) as kor:
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


def make_collection(directory: Path) -> str:
    return ok(cli(directory, "collection", "add", "More", "--agreement", "us-rok-tech"))
