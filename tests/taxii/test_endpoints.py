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


def test_failed_logins_are_refused_but_a_correct_token_still_passes(world: World) -> None:
    guess = {"Authorization": "Bearer guess", "Accept": TAXII}
    answers = [world.client.get("/taxii2/", headers=guess).status_code for _ in range(20)]
    assert answers == [401] * 20
    blocked = world.client.get("/taxii2/", headers=guess)
    assert blocked.status_code == 429
    assert blocked.json()["http_status"] == "429"
    assert int(blocked.headers["Retry-After"]) > 0
    # A user behind the same address is not locked out with the guesser...
    assert world.get("/taxii2/").status_code == 200
    # ...and the guesser is still refused after it.
    assert world.client.get("/taxii2/", headers=guess).status_code == 429


def _basic(name: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{token}".encode()).decode()


def test_failures_for_one_name_from_many_addresses_stop_further_failures_for_it(
    world: World,
) -> None:
    def from_address(n: int) -> TestClient:
        return TestClient(world.client.app, client=(f"192.0.2.{n}", 50000))

    def login(client: TestClient, name: str, token: str) -> int:
        headers = {"Authorization": _basic(name, token), "Accept": TAXII}
        return client.get("/taxii2/", headers=headers).status_code

    assert [login(from_address(n), "reader", "guess") for n in range(20)] == [401] * 20
    fresh = from_address(99)
    assert login(fresh, "reader", "guess") == 429
    assert login(fresh, "writer", "guess") == 401
    assert login(fresh, "reader", world.tokens["reader"]) == 200


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


def _forged(cursor: str, position: str) -> str:
    """A cursor the server issued, with its position replaced (the encoding is no secret)."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    kept, _, _ = raw.rpartition(":")
    return base64.urlsafe_b64encode(f"{kept}:{position}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("endpoint", ["objects", "manifest", "object", "versions"])
@pytest.mark.parametrize(
    "params",
    [
        {"next": str(2**63)},
        {"next": "9" * 5000},
        {"next": "\u00b2"},
        {"limit": str(2**63)},
        {"limit": "9" * 5000},
        {"limit": "\u00b2"},
    ],
)
def test_out_of_range_numbers_are_400_on_every_read(
    world: World, endpoint: str, params: dict[str, str]
) -> None:
    world.post(
        [indicator(1, modified=m) for m in ("2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z")]
    )
    object_path = f"{world.objects_path}{indicator(1)['id']}/"
    path = {
        "objects": world.objects_path,
        "manifest": f"/taxii2/api/collections/{world.collection}/manifest/",
        "object": object_path,
        "versions": f"{object_path}versions/",
    }[endpoint]
    if "next" in params:
        issued = world.get(path, limit=1, **{"match[version]": "all"}).json()["next"]
        params = {"next": _forged(issued, params["next"])}
    response = world.get(path, **params)
    assert response.status_code == 400, response.text
    assert response.json()["http_status"] == "400"
    # The connection stays usable: the next request on it is answered normally.
    assert world.get(path).status_code == 200


def test_a_cursor_is_accepted_only_on_the_collection_it_was_issued_for(world: World) -> None:
    world.post([indicator(1), indicator(2)])
    first = world.get(world.objects_path, who="admin", limit=1).json()
    assert first["more"] is True
    following = world.get(world.objects_path, who="admin", limit=1, next=first["next"])
    assert following.status_code == 200
    elsewhere = world.get(
        f"/taxii2/api/collections/{world.other_collection}/objects/",
        who="admin",
        limit=1,
        next=first["next"],
    )
    assert elsewhere.status_code == 400, elsewhere.text
    assert "collection" in elsewhere.json()["description"]


@pytest.mark.parametrize("declared", ["9" * 5000, "\u00b2"])
def test_a_declared_length_that_is_no_number_is_not_a_crash(world: World, declared: str) -> None:
    body = orjson.dumps({"objects": [indicator(1)]})
    headers: dict[str, str | bytes] = {**world.headers(**{"Content-Type": TAXII})}
    headers["Content-Length"] = declared.encode("latin-1")
    response = world.client.post(world.objects_path, content=body, headers=headers)
    # In-process nothing stands in front of the app to refuse the header (uvicorn would).
    assert response.status_code in {202, 413}, response.text


def test_a_bad_version_filter_names_every_form_it_takes(world: World) -> None:
    response = world.get(world.objects_path, **{"match[version]": "bogus"})
    assert response.status_code == 400
    description = response.json()["description"]
    assert all(word in description for word in ("last", "first", "all", "RFC 3339"))


def test_a_failure_for_a_malformed_id_reports_the_id_sent(world: World) -> None:
    malformed = {**indicator(1), "id": "indicator--not-a-uuid"}
    flood = {**indicator(2), "id": "indicator--" + "x" * 5000}
    status = world.post([malformed, flood]).json()
    reported = [failure["id"] for failure in status["failures"]]
    assert reported[0] == "indicator--not-a-uuid"
    assert reported[1].startswith("indicator--xxx") and len(reported[1]) <= 300


@pytest.mark.parametrize(
    "path",
    [
        "/taxii2/api/collections/a%00b/",
        "/taxii2/api/collections/COLLECTION/objects/?match[id]=%00",
        "/taxii2/api/collections/COLLECTION/objects/?match[type]=x%00",
        "/taxii2/api/collections/COLLECTION/objects/?match[id]=a&match[id]=%00&match[id]=b",
        "/taxii2/api/collections/COLLECTION/objects/indicator--%00/versions/",
        "/taxii2/api/status/%00/",
    ],
)
def test_nul_in_an_id_or_filter_is_400_not_500(world: World, path: str) -> None:
    response = world.client.get(
        path.replace("COLLECTION", world.collection), headers=world.headers()
    )
    assert response.status_code == 400, response.text
    assert response.json()["http_status"] == "400"


def test_a_basic_user_name_with_nul_is_refused_as_credentials(world: World) -> None:
    headers = {"Authorization": _basic("read\x00er", world.tokens["reader"]), "Accept": TAXII}
    response = world.client.get("/taxii2/", headers=headers)
    assert response.status_code == 401
    assert response.json()["http_status"] == "401"
