"""Uploading a bundle through the web UI, on both backends: stored as TAXII's POST stores it,
with the status resource's per-object results; a file that is not a JSON bundle, or one over
the node's limit, is refused in words with nothing written; only a user who may write to
the collection may upload, and only with the session's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.server import create_server_app
from allyshare.service import CONSOLE, Node
from allyshare.storage import VersionFilter

from support.agreements import us_rok_tech
from support.ui_pages import (
    HOSTILE,
    NOFORN,
    csrf_of,
    indicator,
    indicator_id,
    noforn_definition,
    sign_in,
)

LIMIT = 20_000


@dataclass
class Site:
    client: TestClient
    node: Node
    tokens: dict[str, str]
    collection: str

    def as_user(self, name: str) -> TestClient:
        sign_in(self.client, name, self.tokens[name])
        return self.client

    def upload(self, content: bytes, name: str = "bundle.json", **data: str) -> Any:
        return self.client.post(
            f"/ui/collections/{self.collection}/upload",
            data={"csrf": csrf_of(self.client), **data},
            files={"bundle": (name, content, "application/json")},
        )

    def stored(self) -> set[str]:
        page = self.node.read_objects(CONSOLE, self.collection, VersionFilter(), limit=100)
        return {item.object_id for item in page.items}


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, country="USA", max_body_bytes=LIMIT
    )
    node = Node.open(settings)
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"]))
    collection = node.add_collection("Indicators", agreement="us-rok-tech", category="cyber-threat")
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    tokens = {
        "morgan": node.add_user(
            "morgan", organization=cisa, nationality="USA", clearance="S", roles=("contributor",)
        ),
        "jiwoo": node.add_user(
            "jiwoo", organization=kisa, nationality="KOR", clearance="S", roles=("reader",)
        ),
    }
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield Site(client, node, tokens, collection.id)
    node.close()


def bundle(*objects: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"type": "bundle", "id": "bundle--6c1c1a3e-0000-4000-8000-000000000001", "objects": objects}
    )


def test_a_bundle_is_stored_with_each_objects_result(site: Site) -> None:
    broken = {**indicator(3, "No pattern", "198.51.100.3")}
    del broken["pattern"]
    page = site.as_user("morgan")
    form = page.get(f"/ui/collections/{site.collection}/upload")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    sent = bundle(
        noforn_definition(),
        indicator(1, HOSTILE, "198.51.100.1"),
        indicator(2, "US eyes only", "198.51.100.2", NOFORN),
        broken,
    )
    done = site.upload(sent)
    assert done.status_code == 200, done.text
    assert "4 objects: 3 succeeded, 1 failed, 0 pending (complete)" in done.text
    failure = re.search(rf'data-failure="{indicator_id(3)}">(.*?)</tr>', done.text, re.DOTALL)
    assert failure is not None and "pattern" in failure[1]
    for number in (1, 2):
        assert f'data-success="{indicator_id(number)}"' in done.text
    assert f"/ui/collections/{site.collection}/objects/{indicator_id(1)}/" in done.text
    # The page names a NOFORN object: its banner says so.
    assert re.search(r"data-banner>SECRET//NOFORN<", done.text)
    assert HOSTILE not in done.text
    assert site.stored() == {NOFORN, indicator_id(1), indicator_id(2)}
    # Sent again: each object is reported as the status resource reports a duplicate.
    again = site.upload(sent)
    assert "3 succeeded" in again.text and len(site.stored()) == 3


def test_what_is_not_a_json_bundle_is_refused_and_nothing_is_written(site: Site) -> None:
    site.as_user("morgan")
    for content, said in (
        (b"\x89PNG\r\n\x1a\n", "is not JSON"),
        (b'{"type": "indicator", "id": "x"}', "is not a STIX bundle"),
        (orjson.dumps([indicator(1, "A list", "198.51.100.1")]), "is not a STIX bundle"),
        (b'{"type": "bundle", "objects": []}', "holds no objects"),
        (b'{"type": "bundle", "objects": {"a": 1}}', "holds no objects"),
    ):
        refused = site.upload(content, "sent.json")
        assert refused.status_code == 400, content
        assert said in refused.text and "nothing was stored" in refused.text
    no_file = site.client.post(
        f"/ui/collections/{site.collection}/upload",
        data={"csrf": csrf_of(site.client)},
        files={"bundle": ("", b"", "application/octet-stream")},
    )
    assert no_file.status_code == 400 and "choose a file" in no_file.text
    assert site.stored() == set()


def test_a_file_over_the_nodes_limit_is_refused(site: Site) -> None:
    site.as_user("morgan")
    padded = {**indicator(1, "Padded", "198.51.100.1"), "description": "x" * LIMIT}
    refused = site.upload(bundle(padded))
    assert refused.status_code == 413
    assert f"larger than this node takes at once ({LIMIT:,} bytes)" in refused.text
    assert site.stored() == set()


def test_only_a_writer_may_upload(site: Site) -> None:
    reader = site.as_user("jiwoo")
    collections = reader.get("/ui/")
    assert "Indicators" in collections.text and "/upload" not in collections.text
    assert reader.get(f"/ui/collections/{site.collection}/upload").status_code == 404
    refused = site.upload(bundle(indicator(1, "From a reader", "198.51.100.1")))
    assert refused.status_code == 404
    assert site.stored() == set()
    writer = site.as_user("morgan")
    assert f"/ui/collections/{site.collection}/upload" in writer.get("/ui/").text


def test_an_upload_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    site.as_user("morgan")
    refused = site.client.post(
        f"/ui/collections/{site.collection}/upload",
        data={"csrf": "guess"},
        files={"bundle": ("bundle.json", bundle(indicator(1, "Forged", "198.51.100.1")))},
    )
    assert refused.status_code == 403
    assert site.stored() == set()
    foreign = site.client.post(
        f"/ui/collections/{site.collection}/upload",
        data={"csrf": csrf_of(site.client)},
        files={"bundle": ("bundle.json", bundle(indicator(1, "Forged", "198.51.100.1")))},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert foreign.status_code == 403
    assert site.stored() == set()
