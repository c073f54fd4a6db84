"""Pulling from the OASIS reference TAXII server (medallion) as from any TAXII 2.1 source: a
real medallion process with HTTP Basic users, read by ``allyshare sync`` page by page."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from allyshare.demo.content import TLP_GREEN

from support.federation import TAXII, indicator, make_node, ok
from support.processes import cli, free_port

MEDALLION = Path(sys.executable).parent / "medallion"


@dataclass
class Medallion:
    root: str
    collection: str
    auth: str
    password_file: Path

    def post(self, objects: list[dict[str, Any]]) -> None:
        response = httpx.post(
            f"{self.root}collections/{self.collection}/objects/",
            content=orjson.dumps({"objects": objects}),
            headers={"Authorization": self.auth, "Accept": TAXII, "Content-Type": TAXII},
            timeout=30,
        )
        assert response.status_code == 202, response.text


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[Medallion]:
    port = free_port()
    root = f"http://127.0.0.1:{port}/api/"
    collection = str(uuid.uuid4())
    data = {
        "/discovery": {"title": "medallion", "default": root, "api_roots": [root]},
        "api": {
            "information": {
                "title": "reference",
                "versions": [TAXII],
                "max_content_length": 10_000_000,
            },
            "status": [],
            "collections": [
                {
                    "id": collection,
                    "title": "indicators",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    password = uuid.uuid4().hex
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(tmp_path / "medallion-data.json"),
        },
        "users": {"reader": password},
        "taxii": {"max_page_size": 100},
    }
    (tmp_path / "medallion-data.json").write_text(json.dumps(data))
    (tmp_path / "medallion.json").write_text(json.dumps(config))
    password_file = tmp_path / "medallion-password"
    password_file.write_text(password + "\n")
    log = (tmp_path / "medallion.log").open("wb")
    process = subprocess.Popen(
        [
            str(MEDALLION),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            str(tmp_path / "medallion.json"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    auth = "Basic " + base64.b64encode(f"reader:{password}".encode()).decode()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{root}collections/", headers={"Authorization": auth, "Accept": TAXII})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "medallion.log").read_text()
                time.sleep(0.1)
        yield Medallion(root, collection, auth, password_file)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def held(data_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "allyshare.db") as connection:
        return list(connection.execute("SELECT object_id, version FROM objects"))


def subscribe_to(
    medallion: Medallion, kor_dir: Path, into: str, password_file: Path, url: str = ""
) -> None:
    """Pin medallion (plain HTTP on loopback, at ``url`` or its API root) as a peer read as
    ``reader``, and subscribe."""
    ok(
        cli(
            kor_dir,
            "peer",
            "add",
            "reference",
            "--url",
            url or medallion.root,
            "--country",
            "USA",
            "--agreement",
            "us-rok-tech",
            "--username",
            "reader",
            "--password-file",
            str(password_file),
        )
    )
    subscribed = ("--remote-collection", medallion.collection, "--into", into)
    ok(cli(kor_dir, "peer", "subscribe", "reference", *subscribed))


def test_a_node_pulls_a_medallion_collection(
    medallion: Medallion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    kor_dir = tmp_path / "kor"
    into = make_node(kor_dir, "KOR", "kor")
    first = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(1, 61)]
    revised = [
        indicator(n, object_marking_refs=[TLP_GREEN], modified="2026-05-01T00:00:00.000Z")
        for n in range(1, 61, 5)
    ]
    for start in range(0, 60, 20):
        medallion.post(first[start : start + 20])
    medallion.post(revised)
    subscribe_to(medallion, kor_dir, into, medallion.password_file)
    pulled = ok(cli(kor_dir, "sync", "--quiet", "--page-size", "7"))
    posted = {(o["id"], o["modified"]) for o in first + revised}
    rows = held(kor_dir)
    assert len(rows) == len(set(rows)) and set(rows) == posted, pulled
    assert f"{len(posted)} new" in pulled

    later = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(61, 71)]
    medallion.post(later)
    again = ok(cli(kor_dir, "sync", "--quiet", "--page-size", "7"))
    assert "10 new" in again
    assert set(held(kor_dir)) == posted | {(o["id"], o["modified"]) for o in later}
    secret = kor_dir / "peer-credentials" / "reference.json"
    assert secret.stat().st_mode & 0o077 == 0
    assert medallion.password_file.read_text().strip() not in ok(cli(kor_dir, "peer", "list"))
    ok(cli(kor_dir, "peer", "remove", "reference"))
    assert not secret.exists()


def test_wrong_credentials_are_reported_and_nothing_is_stored(
    medallion: Medallion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    kor_dir = tmp_path / "kor"
    into = make_node(kor_dir, "KOR", "kor")
    medallion.post([indicator(1, object_marking_refs=[TLP_GREEN])])
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password")
    with pytest.raises(AssertionError, match="answered 401"):
        subscribe_to(medallion, kor_dir, into, wrong)
    assert "nothing to sync" in ok(cli(kor_dir, "sync", "--quiet"))
    assert held(kor_dir) == []


def test_a_discovery_url_leads_to_its_default_api_root(
    medallion: Medallion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    kor_dir = tmp_path / "kor"
    into = make_node(kor_dir, "KOR", "kor")
    discovery = medallion.root.replace("/api/", "/taxii2/")
    subscribe_to(medallion, kor_dir, into, medallion.password_file, url=discovery)
    assert f"reference  USA  us-rok-tech  {medallion.root}" in ok(cli(kor_dir, "peer", "list"))
