"""The TAXII 2.1 binding in-process, on SQLite and PostgreSQL: every endpoint, filter and error."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.service import Node
from allyshare.taxii import create_app

TAXII = "application/taxii+json;version=2.1"


@dataclass
class World:
    client: TestClient
    node: Node
    collection: str
    other_collection: str
    tokens: dict[str, str]

    def headers(self, who: str = "writer", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", "Accept": TAXII, **extra}

    def get(self, path: str, who: str = "writer", **params: Any) -> Any:
        return self.client.get(path, headers=self.headers(who), params=params)

    def post(self, objects: list[dict[str, Any]], who: str = "writer") -> Any:
        return self.client.post(
            self.objects_path,
            content=orjson.dumps({"objects": objects}),
            headers=self.headers(who, **{"Content-Type": TAXII}),
        )

    @property
    def objects_path(self) -> str:
        return f"/taxii2/api/collections/{self.collection}/objects/"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, max_body_bytes=200_000)
    node = Node.open(settings)
    members = node.add_organization("Members", country="USA", kind="cert")
    outsiders = node.add_organization("Outsiders", country="USA", kind="company")
    nobody = node.add_organization("Nobody", country="USA", kind="company")
    for name, parties in (("indicators", [members]), ("hidden", [nobody])):
        node.apply_agreement(
            {
                "name": name,
                "version": 1,
                "parties": {"countries": [], "organizations": parties},
                "categories": ["cyber-threat"],
                "max_classification": "S",
                "tlp_ceiling": "AMBER",
                "propin_match_only": True,
                "aggregate_k": 3,
            }
        )
    collection = node.add_collection("Indicators", "shared", agreement="indicators").id
    other = node.add_collection("Hidden", agreement="hidden").id
    tokens = {
        "admin": node.add_user("admin", is_admin=True),
        "writer": node.add_user("writer", organization=members, roles=["contributor", "curator"]),
        "reader": node.add_user("reader", organization=members, roles=["reader"]),
        "outsider": node.add_user("outsider", organization=outsiders, roles=["reader"]),
    }
    with TestClient(create_app(node)) as client:
        yield World(client, node, collection, other, tokens)
    node.close()


def indicator(n: int, modified: str = "2026-03-01T00:00:00.000Z", **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": modified,
        "name": f"C2 address {n}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
        **extra,
    }


def malware(n: int) -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": f"malware--{uuid.UUID(int=n, version=4)}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "name": "FALLCHILL",
        "is_family": True,
    }


def test_discovery_and_api_root(world: World) -> None:
    discovery = world.get("/taxii2/")
    assert discovery.status_code == 200
    assert discovery.headers["content-type"] == TAXII
    assert discovery.json()["api_roots"] == ["http://testserver/taxii2/api/"]
    root = world.get("/taxii2/api/").json()
    assert root["versions"] == [TAXII]
    assert root["max_content_length"] == 200_000
    assert world.get("/taxii2/nope/").status_code == 404


def test_collections_show_only_what_the_user_holds_rights_on(world: World) -> None:
    listed = world.get("/taxii2/api/collections/", who="reader").json()["collections"]
    assert [(c["id"], c["can_read"], c["can_write"]) for c in listed] == [
        (world.collection, True, False)
    ]
    assert world.get("/taxii2/api/collections/", who="outsider").json() == {"collections": []}
    assert len(world.get("/taxii2/api/collections/", who="admin").json()["collections"]) == 2
    hidden = world.get(f"/taxii2/api/collections/{world.other_collection}/", who="reader")
    missing = world.get(f"/taxii2/api/collections/{uuid.uuid4()}/", who="reader")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["http_status"] == "404"


def test_add_objects_stores_valid_and_reports_each_failure(world: World) -> None:
    bad = indicator(2, pattern="[ipv4-addr:value = '1.2.3.4'")
    no_id = {"type": "malware", "spec_version": "2.1"}
    response = world.post([indicator(1), bad, no_id, malware(3), indicator(1)])
    assert response.status_code == 202
    status = response.json()
    assert status["status"] == "complete"
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (5, 3, 2)
    failed = {f["id"]: f["message"] for f in status["failures"]}
    assert "pattern" in failed[bad["id"]]
    assert "id" in failed[""]
    messages = [s["message"] for s in status["successes"]]
    assert messages.count("stored") == 2
    again = world.get(f"/taxii2/api/status/{status['id']}/").json()
    assert again == status
    assert world.get(f"/taxii2/api/status/{status['id']}/", who="reader").status_code == 404
    stored = world.get(world.objects_path).json()["objects"]
    assert sorted(o["id"] for o in stored) == sorted([indicator(1)["id"], malware(3)["id"]])


def test_stix_20_content_is_refused_with_a_reason(world: World) -> None:
    old = indicator(1)
    del old["spec_version"]
    status = world.post([old]).json()
    assert status["failure_count"] == 1
    assert "2.0" in status["failures"][0]["message"]


def test_pagination_headers_and_filters(world: World) -> None:
    world.post([indicator(n) for n in range(1, 8)] + [malware(100)])
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        response = world.get(world.objects_path, **params)
        body = response.json()
        pages.append([o["id"] for o in body["objects"]])
        assert (
            response.headers["X-TAXII-Date-Added-First"]
            <= response.headers["X-TAXII-Date-Added-Last"]
        )
        if not body["more"]:
            assert "next" not in body
            break
        params = {"limit": 3, "next": body["next"]}
    assert [len(p) for p in pages] == [3, 3, 2]
    assert len({i for p in pages for i in p}) == 8
    typed = world.get(world.objects_path, **{"match[type]": "malware"}).json()["objects"]
    assert [o["id"] for o in typed] == [malware(100)["id"]]
    two = f"{indicator(1)['id']},{indicator(2)['id']}"
    assert len(world.get(world.objects_path, **{"match[id]": two}).json()["objects"]) == 2
    manifest = world.get(f"/taxii2/api/collections/{world.collection}/manifest/", limit=2).json()
    assert manifest["more"] is True
    first_added = manifest["objects"][0]["date_added"]
    later = world.get(world.objects_path, added_after=first_added).json()["objects"]
    assert len(later) == 7
    assert manifest["objects"][0]["media_type"] == "application/stix+json;version=2.1"


def test_versions_and_version_matching(world: World) -> None:
    versions = ["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z", "2026-03-03T00:00:00.000Z"]
    world.post([indicator(1, modified=v) for v in reversed(versions)])
    object_path = f"{world.objects_path}{indicator(1)['id']}/"
    listed = world.get(f"{object_path}versions/").json()
    assert sorted(listed["versions"]) == versions and listed["more"] is False

    def modified(**params: str) -> list[str]:
        return sorted(o["modified"] for o in world.get(object_path, **params).json()["objects"])

    assert modified() == [versions[2]]
    assert modified(**{"match[version]": "first"}) == [versions[0]]
    assert modified(**{"match[version]": "all"}) == versions
    assert modified(**{"match[version]": f"{versions[1]},last"}) == versions[1:]
    assert world.get(f"{world.objects_path}indicator--{uuid.uuid4()}/").status_code == 404


def test_delete_removes_versions(world: World) -> None:
    world.post([indicator(1), indicator(1, modified="2026-04-01T00:00:00.000Z")])
    object_path = f"{world.objects_path}{indicator(1)['id']}/"
    refused = world.client.delete(object_path, headers=world.headers("reader"))
    assert refused.status_code == 403
    one = world.client.delete(
        object_path, headers=world.headers(), params={"match[version]": "2026-04-01T00:00:00.000Z"}
    )
    assert one.status_code == 200
    left = world.get(object_path).json()["objects"]
    assert [o["modified"] for o in left] == ["2026-03-01T00:00:00.000Z"]
    assert world.client.delete(object_path, headers=world.headers()).status_code == 200
    assert world.get(object_path).status_code == 404


def test_readers_cannot_write(world: World) -> None:
    response = world.post([indicator(1)], who="reader")
    assert response.status_code == 403
    assert world.get(world.objects_path).json()["objects"] == []


def test_authentication_schemes(world: World) -> None:
    basic = base64.b64encode(f"reader:{world.tokens['reader']}".encode()).decode()
    for header in (f"Basic {basic}", f"Token {world.tokens['reader']}"):
        response = world.client.get(
            "/taxii2/api/collections/", headers={"Authorization": header, "Accept": TAXII}
        )
        assert response.status_code == 200
    for header in (None, "Bearer wrong", f"Basic {base64.b64encode(b'reader:nope').decode()}"):
        headers = {"Accept": TAXII} | ({"Authorization": header} if header else {})
        response = world.client.get("/taxii2/", headers=headers)
        assert response.status_code == 401
        assert response.json()["http_status"] == "401"


def test_failed_logins_are_rate_limited(world: World) -> None:
    for _ in range(20):
        world.client.get("/taxii2/", headers={"Authorization": "Bearer guess", "Accept": TAXII})
    blocked = world.client.get("/taxii2/", headers=world.headers())
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("malformed json", 400),
        ("not an envelope", 400),
        ("wrong content type", 415),
        ("wrong accept", 406),
        ("too large", 413),
    ],
)
def test_bad_requests_get_taxii_errors_and_write_nothing(
    world: World, case: str, expected: int
) -> None:
    headers = world.headers(**{"Content-Type": TAXII})
    body = orjson.dumps({"objects": [indicator(1)]})
    if case == "malformed json":
        body = body[:-3]
    elif case == "not an envelope":
        body = orjson.dumps([indicator(1)])
    elif case == "wrong content type":
        headers["Content-Type"] = "application/json"
    elif case == "wrong accept":
        headers["Accept"] = "application/xml"
    elif case == "too large":
        body = orjson.dumps({"objects": [indicator(n) for n in range(1, 1000)]})
    response = world.client.post(world.objects_path, content=body, headers=headers)
    assert response.status_code == expected
    error = response.json()
    assert error["http_status"] == str(expected) and error["title"] and error["description"]
    assert world.get(world.objects_path).json()["objects"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"next": "garbage!"},
        {"next": base64.urlsafe_b64encode(b"a1:xyz").decode()},
        {"added_after": "yesterday"},
        {"added_after": "2026-13-01T00:00:00Z"},
        {"limit": "0"},
        {"limit": "ten"},
        {"match[version]": "2026-01-01"},
    ],
)
def test_bad_query_parameters_are_400(world: World, params: dict[str, str]) -> None:
    response = world.get(world.objects_path, **params)
    assert response.status_code == 400
    assert response.json()["http_status"] == "400"


def test_unsupported_method_is_a_taxii_error(world: World) -> None:
    response = world.client.put(world.objects_path, headers=world.headers())
    assert response.status_code == 405
    assert response.json()["http_status"] == "405"


def test_long_timestamps_and_ids_are_stored_not_crashed_on(world: World) -> None:
    fine = "2026-03-01T00:00:00." + "1" * 80 + "Z"
    custom = {
        "type": "x-" + "a" * 240,
        "spec_version": "2.1",
        "id": f"x-{'a' * 240}--{uuid.uuid4()}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": fine,
    }
    status = world.post([indicator(1, modified=fine), custom]).json()
    assert status["success_count"] == 2, status
    assert len(world.get(world.objects_path).json()["objects"]) == 2
