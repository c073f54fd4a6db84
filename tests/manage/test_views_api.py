"""The cross-member views over the management API, on both backends: each caller gets the
fixed cells of what it may see, suppressed cells carry no figure (not even a null), and the
pattern alert is written as a note into a collection the caller may write."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.server import create_server_app
from allyshare.service import Node

from support.economic_views import Community, build_community, green_only

API = "/api/v1"


@dataclass
class Site:
    client: TestClient
    community: Community
    tokens: dict[str, str]

    def call(self, method: str, path: str, who: str, body: Any = None) -> httpx2.Response:
        extra: dict[str, Any] = {} if body is None else {"json": body}
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, API + path, headers=headers, **extra)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    community = build_community(node)
    tokens = {name: node.rotate_token(name) for name in ("kisa", "acme", "usgov")}
    with TestClient(create_server_app(node)) as client:
        yield Site(client, community, tokens)
    node.close()


def test_the_coercion_view_counts_what_the_caller_may_see(site: Site) -> None:
    american = site.call("GET", "/views/coercion", "acme")
    korean = site.call("GET", "/views/coercion", "kisa")
    assert american.status_code == korean.status_code == 200
    assert [t["incidents"] for t in american.json()["totals"]] == [3]
    assert [t["incidents"] for t in korean.json()["totals"]] == [2]
    suppressed = [c for c in korean.json()["cells"] if c["suppressed"]]
    assert suppressed and all(
        set(c) == {"coercing_state", "measure", "sector", "quarter", "suppressed"}
        for c in suppressed
    )
    [shown] = [c for c in korean.json()["cells"] if not c["suppressed"]]
    assert shown["impact"] == [{"currency": "USD", "suppressed": True}]


def test_the_supply_chain_view_names_vendors_and_hides_their_lone_users(site: Site) -> None:
    answer = site.call("GET", "/views/supply-chain", "kisa")
    assert answer.status_code == 200
    [ran] = answer.json()["categories"]
    shown = [line["name"] for line in ran["vendors"] if not line["suppressed"]]
    assert shown == ["Ericsson"] and ran["members"] == 3
    assert ran["vendor_hhi"] > 4000


def test_alerts_are_written_as_notes(site: Site) -> None:
    coercion = site.community.coercion
    written = site.call("POST", "/views/coercion/alerts", "acme", {"collection": coercion})
    assert written.status_code == 201, written.text
    [note] = written.json()["notes"]
    assert note["type"] == "note" and len(note["object_refs"]) == 2
    assert written.json()["outcomes"] == [{"id": note["id"], "outcome": "written", "message": None}]
    assert written.json()["status_id"]
    unknown = {"collection": "collection--00000000-0000-4000-8000-000000000000"}
    assert site.call("POST", "/views/coercion/alerts", "acme", unknown).status_code == 404
    extra = {"collection": coercion, "k": 1}
    assert site.call("POST", "/views/coercion/alerts", "acme", extra).status_code == 400


def test_an_alert_already_raised_is_no_failure_and_a_refused_one_is(site: Site) -> None:
    coercion = site.community.coercion
    written = site.call("POST", "/views/coercion/alerts", "acme", {"collection": coercion})
    assert written.status_code == 201, written.text
    raised = site.call("POST", "/views/coercion/alerts", "kisa", {"collection": coercion})
    assert raised.status_code == 200, raised.text
    assert raised.json()["notes"] == written.json()["notes"]
    assert [o["outcome"] for o in raised.json()["outcomes"]] == ["already raised"]
    assert raised.json()["status_id"] is None
    green = {"collection": green_only(site.community)}
    refused = site.call("POST", "/views/coercion/alerts", "acme", green)
    assert refused.status_code == 207, refused.text
    [outcome] = refused.json()["outcomes"]
    assert outcome["outcome"] == "failed" and "GREEN" in outcome["message"]
    assert outcome["id"] == refused.json()["notes"][0]["id"]
