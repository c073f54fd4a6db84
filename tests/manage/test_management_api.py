"""The management API at /api/v1, served with TAXII by ``create_server_app``, on both backends.

The node starts with what only the operator's console can make (the first admin) and one
agreement-bound collection; everything else the tests create through the API itself.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.policy import ALLYSHARE_EXTENSION_ID
from allyshare.server import create_server_app
from allyshare.service import Node

API = "/api/v1"
TAXII = "application/taxii+json;version=2.1"
AGREEMENT: dict[str, Any] = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat", "supply-chain"],
    "max_classification": "S",
    "tlp_ceiling": "AMBER",
    "propin_match_only": True,
    "aggregate_k": 3,
    "retention_days": 730,
}
KRCERT = {"name": "KrCERT", "country": "KOR", "kind": "cert", "sectors": ["government"]}


@dataclass
class Site:
    client: TestClient
    node: Node
    tokens: dict[str, str]
    collection: str

    def call(
        self, method: str, path: str, who: str | None = "root", body: Any = None
    ) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        extra: dict[str, Any] = {} if body is None else {"json": body}
        return self.client.request(method, API + path, headers=headers, **extra)

    def add_organization(self, **fields: Any) -> str:
        made = self.call("POST", "/organizations", body={**KRCERT, **fields})
        assert made.status_code == 201, made.text
        organization: str = made.json()["id"]
        return organization

    def add_user(self, name: str, **fields: Any) -> str:
        """A user made through the API, remembered so tests can act as it."""
        made = self.call("POST", "/users", body={"name": name, **fields})
        assert made.status_code == 201, made.text
        self.tokens[name] = made.json()["token"]
        return self.tokens[name]


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection(
        "Indicators", "shared with KOR", agreement="us-rok-tech", category="cyber-threat"
    )
    tokens = {"root": node.add_user("root", is_admin=True)}
    with TestClient(create_server_app(node)) as client:
        yield Site(client, node, tokens, collection.id)
    node.close()


@pytest.fixture
def analyst(site: Site) -> str:
    """A non-admin member of a party organization; returns its name."""
    organization = site.add_organization()
    site.add_user("analyst", organization=organization, roles=["reader"])
    return "analyst"


@pytest.fixture
def manage_log() -> Iterator[list[logging.LogRecord]]:
    """What the management API logs, caught at its own logger (CLI tests may stop propagation)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("allyshare.manage")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def problem(response: httpx2.Response, status: int) -> str:
    """The description of an error answer, after checking its status and shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"title", "description"}, body
    description: str = body["description"]
    assert description
    return description


def basic(name: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{token}".encode()).decode()


# the caller and authentication


def test_me_describes_the_caller_with_every_scheme(site: Site) -> None:
    organization = site.add_organization()
    token = site.add_user("analyst", organization=organization, clearance="S", roles=["reader"])
    expected = {
        "name": "analyst",
        "organization": "KOR.KRCERT",
        "nationality": "KOR",
        "clearance": "S",
        "roles": ["reader"],
        "is_admin": False,
    }
    for header in (f"Bearer {token}", f"Token {token}", basic("analyst", token)):
        response = site.client.get(f"{API}/me", headers={"Authorization": header})
        assert response.status_code == 200, response.text
        assert response.json() == expected
    assert site.call("GET", "/me").json()["is_admin"] is True


@pytest.mark.parametrize(
    "header",
    [None, "Bearer not-a-token", "Token ", "Digest abc", "Basic !!!", basic("root", "wrong")],
)
def test_missing_or_wrong_credentials_are_401(site: Site, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = site.client.get(f"{API}/me", headers=headers)
    description = problem(response, 401)
    assert "Basic" in response.headers["WWW-Authenticate"]
    assert "not-a-token" not in description and "wrong" not in description


def test_failed_logins_are_refused_but_a_correct_token_still_passes(site: Site) -> None:
    for _ in range(20):
        problem(site.client.get(f"{API}/me", headers={"Authorization": "Bearer guess"}), 401)
    blocked = site.client.get(f"{API}/me", headers={"Authorization": "Bearer guess"})
    assert "too many" in problem(blocked, 429)
    assert int(blocked.headers["Retry-After"]) > 0
    assert site.call("GET", "/me").status_code == 200


def test_one_limit_counts_failures_at_taxii_and_the_management_api_together(
    site: Site,
) -> None:
    guess = {"Authorization": "Bearer guess", "Accept": TAXII}
    for _ in range(10):
        assert site.client.get("/taxii2/", headers=guess).status_code == 401
        assert site.client.get(f"{API}/me", headers=guess).status_code == 401
    assert site.client.get(f"{API}/me", headers=guess).status_code == 429
    assert site.client.get("/taxii2/", headers=guess).status_code == 429
    valid = {"Authorization": f"Bearer {site.tokens['root']}", "Accept": TAXII}
    assert site.client.get("/taxii2/", headers=valid).status_code == 200
    assert site.client.get(f"{API}/me", headers=valid).status_code == 200


ADMIN_ONLY = [
    ("GET", "/organizations", None),
    ("POST", "/organizations", {**KRCERT, "name": "Sneaky"}),
    ("PATCH", "/organizations/KOR.KRCERT", {"disabled": True}),
    ("GET", "/users", None),
    ("POST", "/users", {"name": "sneaky", "roles": ["admin"]}),
    ("PATCH", "/users/analyst", {"roles": ["admin"]}),
    ("POST", "/users/root/token", None),
    ("POST", "/agreements", {**AGREEMENT, "version": 2}),
    ("POST", "/collections", {"title": "Sneaky"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_non_admins_get_403_and_change_nothing(
    site: Site, analyst: str, method: str, path: str, body: Any
) -> None:
    before = (site.node.organizations(), site.node.users(), site.node.agreements())
    assert "administrators" in problem(site.call(method, path, analyst, body), 403)
    assert (site.node.organizations(), site.node.users(), site.node.agreements()) == before
    assert site.call("GET", "/me", analyst).status_code == 200
    assert len(site.node.collections_for(site.node.authenticate_token(site.tokens["root"]))) == 1


# organizations


def test_organizations_are_created_listed_and_changed(site: Site) -> None:
    made = site.call("POST", "/organizations", body=KRCERT)
    assert made.status_code == 201, made.text
    assert made.json() == {
        "id": "KOR.KRCERT",
        "identity": identity_of("KOR.KRCERT"),
        "name": "KrCERT",
        "country": "KOR",
        "kind": "cert",
        "sectors": ["government"],
        "disabled": False,
    }
    listed = site.call("GET", "/organizations").json()["organizations"]
    assert listed == [made.json()]

    changed = site.call(
        "PATCH", "/organizations/KOR.KRCERT", body={"name": "KISA KrCERT", "sectors": ["telecom"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"name": "KrCERT", "sectors": ["government"]} == made.json()
    assert (changed.json()["name"], changed.json()["sectors"]) == ("KISA KrCERT", ["telecom"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**KRCERT, "country": "Korea"}, "ISO 3166-1 alpha-3"),
        ({**KRCERT, "kind": "club"}, "organization kind 'club'"),
        ({**KRCERT, "name": "!!!"}, "no letters or digits"),
        ({**KRCERT, "sectors": "government"}, "body.sectors"),
        ({**KRCERT, "members": 3}, "body.members: Extra inputs are not permitted"),
        ({"name": "KrCERT", "kind": "cert"}, "body.country: Field required"),
    ],
)
def test_bad_organizations_are_400_with_the_reason(
    site: Site, body: dict[str, Any], expected: str
) -> None:
    assert expected in problem(site.call("POST", "/organizations", body=body), 400)
    assert site.node.organizations() == []


def test_organization_errors(site: Site) -> None:
    site.add_organization()
    assert "already exists" in problem(site.call("POST", "/organizations", body=KRCERT), 409)
    missing = site.call("PATCH", "/organizations/KOR.NOBODY", body={"name": "x"})
    assert "KOR.NOBODY" in problem(missing, 404)
    assert problem(site.call("PATCH", "/organizations/KOR.NOBODY", body={"disabled": True}), 404)
    # A refused change is refused whole: the valid part of the request is not applied.
    refused = site.call("PATCH", "/organizations/KOR.KRCERT", body={"name": " ", "disabled": True})
    assert "needs a name" in problem(refused, 400)
    assert site.node.organizations()[0].disabled is False


def test_disabling_an_organization_cuts_its_users_off(site: Site) -> None:
    organization = site.add_organization()
    site.add_user("analyst", organization=organization, roles=["reader"])
    site.add_user("bystander")
    assert site.call("GET", "/me", "analyst").status_code == 200

    disabled = site.call("PATCH", f"/organizations/{organization}", body={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    problem(site.call("GET", "/me", "analyst"), 401)
    assert site.call("GET", "/me", "bystander").status_code == 200
    users = {u["name"]: u["disabled"] for u in site.call("GET", "/users").json()["users"]}
    assert users == {"analyst": True, "bystander": False, "root": False}

    site.call("PATCH", f"/organizations/{organization}", body={"disabled": False})
    assert site.call("GET", "/me", "analyst").status_code == 200


# users and tokens


def test_users_are_created_with_a_token_shown_once(site: Site) -> None:
    organization = site.add_organization()
    made = site.call(
        "POST",
        "/users",
        body={"name": "kim", "organization": organization, "clearance": "C", "roles": ["reader"]},
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert made.json() == {
        "name": "kim",
        "organization": "KOR.KRCERT",
        "nationality": "KOR",
        "clearance": "C",
        "roles": ["reader"],
        "is_admin": False,
        "disabled": False,
        "token": token,
    }
    me = site.client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "kim"

    listed = site.call("GET", "/users")
    assert token not in listed.text and site.tokens["root"] not in listed.text
    users = listed.json()["users"]
    assert [u["name"] for u in users] == ["kim", "root"]
    assert all(set(u) == set(made.json()) - {"token"} for u in users)

    admin = site.call("POST", "/users", body={"name": "ops", "roles": ["admin"]})
    assert admin.json()["is_admin"] is True


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"name": "has space"}, 400, "user name 'has space'"),
        ({"name": "a:b"}, 400, "no spaces or ':'"),
        ({"name": "kim", "roles": ["boss"]}, 400, "unknown roles ['boss']"),
        ({"name": "kim", "clearance": "SECRET"}, 400, "'SECRET' is not a classification"),
        ({"name": "kim", "nationality": "KR"}, 400, "ISO 3166-1 alpha-3"),
        ({"name": "kim", "roles": "reader"}, 400, "body.roles"),
        ({"name": "kim", "token": "chosen"}, 400, "body.token: Extra inputs"),
        ({"roles": ["reader"]}, 400, "body.name: Field required"),
        ({"name": "kim", "organization": "KOR.NOBODY"}, 404, "no organization 'KOR.NOBODY'"),
        ({"name": "root"}, 409, "user 'root' already exists"),
    ],
)
def test_bad_users_are_refused_with_the_reason(
    site: Site, body: dict[str, Any], status: int, expected: str
) -> None:
    assert expected in problem(site.call("POST", "/users", body=body), status)
    assert [u.name for u in site.node.users()] == ["root"]


def test_malformed_json_is_400(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.tokens['root']}", "Content-Type": "application/json"}
    response = site.client.post(f"{API}/users", content=b'{"name": ', headers=headers)
    assert "not valid JSON" in problem(response, 400)


def test_users_are_changed_and_disabled_at_once(site: Site) -> None:
    organization = site.add_organization()
    site.add_user("kim")
    changed = site.call(
        "PATCH",
        "/users/kim",
        body={"organization": organization, "clearance": "TS", "roles": ["contributor"]},
    )
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("organization", "clearance", "roles")} == {
        "organization": "KOR.KRCERT",
        "clearance": "TS",
        "roles": ["contributor"],
    }
    assert site.call("GET", "/me", "kim").json()["clearance"] == "TS"

    disabled = site.call("PATCH", "/users/kim", body={"disabled": True})
    assert disabled.json()["disabled"] is True
    problem(site.call("GET", "/me", "kim"), 401)
    site.call("PATCH", "/users/kim", body={"disabled": False})
    assert site.call("GET", "/me", "kim").status_code == 200

    promoted = site.call("PATCH", "/users/kim", body={"roles": ["admin"]})
    assert promoted.json()["is_admin"] is True
    assert site.call("GET", "/users", "kim").status_code == 200


def test_user_change_errors(site: Site) -> None:
    site.add_user("kim")
    missing = site.call("PATCH", "/users/lee", body={"clearance": "S"})
    assert "no user 'lee'" in problem(missing, 404)
    assert problem(site.call("PATCH", "/users/lee", body={"disabled": True}), 404)
    assert problem(site.call("PATCH", "/users/kim", body={"organization": "KOR.NOBODY"}), 404)
    refused = site.call("PATCH", "/users/kim", body={"roles": ["boss"], "disabled": True})
    assert "unknown roles" in problem(refused, 400)
    assert site.call("GET", "/me", "kim").status_code == 200
    not_a_flag = site.call("PATCH", "/users/kim", body={"disabled": "yes"})
    assert "body.disabled" in problem(not_a_flag, 400)


def test_rotating_a_token_retires_the_old_one(site: Site) -> None:
    old = site.add_user("kim")
    rotated = site.call("POST", "/users/kim/token")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["token"]
    assert rotated.json() == {"name": "kim", "token": new} and new != old
    problem(site.client.get(f"{API}/me", headers={"Authorization": f"Bearer {old}"}), 401)
    assert site.client.get(f"{API}/me", headers={"Authorization": f"Bearer {new}"}).is_success
    assert "no user 'lee'" in problem(site.call("POST", "/users/lee/token"), 404)


def test_tokens_never_reach_the_log(site: Site, manage_log: list[logging.LogRecord]) -> None:
    token = site.add_user("kim")
    rotated = site.call("POST", "/users/kim/token").json()["token"]
    site.client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    messages = [(r.getMessage(), r.__dict__) for r in manage_log]
    assert [m for m, _ in messages] == ["user added", "token rotated"]
    assert all(token not in str(d) and rotated not in str(d) for _, d in messages)


# agreements


def test_agreements_are_applied_once_per_version(site: Site, analyst: str) -> None:
    same = site.call("POST", "/agreements", body=AGREEMENT)
    assert same.status_code == 200, same.text
    newer = {**AGREEMENT, "version": 2, "tlp_ceiling": "GREEN"}
    applied = site.call("POST", "/agreements", body=newer)
    assert applied.status_code == 201, applied.text
    assert applied.json() == {
        "name": "us-rok-tech",
        "version": 2,
        "parties": {"countries": ["KOR", "USA"], "organizations": []},
        "categories": ["cyber-threat", "supply-chain"],
        "max_classification": "S",
        "tlp_ceiling": "TLP:GREEN",
        "propin_match_only": True,
        "aggregate_k": 3,
        "retention_days": 730,
        "anonymous_by_default": False,
        "reveal_approvals": 1,
        "scrub_pii": False,
        "match_budget": 10000,
    }
    # Members read the rules they share by; only admins set them.
    listed = site.call("GET", "/agreements", analyst)
    assert listed.json() == {"agreements": [applied.json()]}

    changed_in_place = site.call("POST", "/agreements", body={**newer, "aggregate_k": 5})
    assert "version 3 or later" in problem(changed_in_place, 409)

    brief = {k: v for k, v in AGREEMENT.items() if k != "retention_days"}
    made = site.call("POST", "/agreements", body={**brief, "name": "nato-cyber", "version": 1})
    assert made.status_code == 201 and made.json()["retention_days"] is None
    assert site.call("POST", "/agreements", body={**brief, "name": "nato-cyber"}).status_code == 200


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"categories": ["gossip"]}, "agreement refused"),
        ({"tlp_ceiling": "PURPLE"}, "'PURPLE' is not a TLP level"),
        ({"parties": {"countries": []}}, "at least one party"),
        ({"version": "2"}, "body.version"),
        ({"signed_by": "me"}, "body.signed_by: Extra inputs"),
        ({"parties": {"countries": ["USA"], "others": []}}, "body.parties.others"),
    ],
)
def test_bad_agreements_are_400_and_kept_out(
    site: Site, change: dict[str, Any], expected: str
) -> None:
    body = {**AGREEMENT, "name": "other", **change}
    assert expected in problem(site.call("POST", "/agreements", body=body), 400)
    assert [a.name for a in site.node.agreements()] == ["us-rok-tech"]


def test_a_missing_agreement_field_is_named(site: Site) -> None:
    body = {k: v for k, v in AGREEMENT.items() if k != "tlp_ceiling"}
    assert "body.tlp_ceiling: Field required" in problem(
        site.call("POST", "/agreements", body=body), 400
    )


# collections


def test_collections_follow_agreement_and_roles(site: Site) -> None:
    korean = site.add_organization()
    company = site.add_organization(name="Acme", country="DEU", kind="company")
    site.add_user("reader", organization=korean, roles=["reader"])
    site.add_user("writer", organization=korean, roles=["contributor"])
    site.add_user("outsider", organization=company, roles=["contributor"])

    def seen(who: str) -> list[tuple[str, bool, bool]]:
        found = site.call("GET", "/collections", who).json()["collections"]
        return [(c["id"], c["can_read"], c["can_write"]) for c in found]

    assert seen("reader") == [(site.collection, True, False)]
    assert seen("writer") == [(site.collection, True, True)]
    assert seen("outsider") == []
    [shown] = site.call("GET", "/collections", "reader").json()["collections"]
    # What a user may do, never how much a collection holds: counts would leak hidden objects.
    assert shown == {
        "id": site.collection,
        "title": "Indicators",
        "description": "shared with KOR",
        "agreement": "us-rok-tech",
        "category": "cyber-threat",
        "anonymous_by_default": False,
        "can_read": True,
        "can_write": False,
    }


def test_admins_add_collections(site: Site) -> None:
    body = {"title": "Coercion", "agreement": "us-rok-tech", "category": "supply-chain"}
    made = site.call("POST", "/collections", body=body)
    assert made.status_code == 201, made.text
    assert made.json() | {"id": ""} == {
        "id": "",
        "title": "Coercion",
        "description": "",
        "agreement": "us-rok-tech",
        "category": "supply-chain",
        "anonymous_by_default": False,
        "can_read": True,
        "can_write": True,
    }
    uncovered = site.call("POST", "/collections", body={**body, "category": "economic-coercion"})
    assert "does not cover 'economic-coercion'" in problem(uncovered, 400)
    listed = site.call("GET", "/collections").json()["collections"]
    assert made.json() in listed and len(listed) == 2

    unknown = site.call("POST", "/collections", body={"title": "X", "agreement": "nope"})
    assert "no agreement 'nope'" in problem(unknown, 404)
    assert "needs a title" in problem(site.call("POST", "/collections", body={"title": " "}), 400)
    assert "body.title" in problem(site.call("POST", "/collections", body={}), 400)
    assert len(site.call("GET", "/collections").json()["collections"]) == 2


# the API as a whole, and TAXII beside it


def test_unknown_paths_and_methods_are_json_problems(site: Site) -> None:
    assert problem(site.call("GET", "/nothing-here"), 404)
    assert problem(site.call("DELETE", "/me"), 405)


def test_openapi_documents_every_endpoint_and_docs_render(site: Site) -> None:
    document = site.client.get("/openapi.json")
    assert document.status_code == 200
    schema = document.json()
    assert schema["servers"] == [{"url": API}]
    operations = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert operations == {
        ("GET", "/me"),
        ("GET", "/organizations"),
        ("POST", "/organizations"),
        ("PATCH", "/organizations/{organization_id}"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("PATCH", "/users/{name}"),
        ("POST", "/users/{name}/token"),
        ("GET", "/agreements"),
        ("POST", "/agreements"),
        ("GET", "/collections"),
        ("POST", "/collections"),
        ("POST", "/collections/{collection_id}/import/csv"),
        ("GET", "/policy/explain"),
        ("GET", "/node"),
        ("GET", "/peers"),
        ("POST", "/peers"),
        ("DELETE", "/peers/{name}"),
        ("POST", "/peers/{name}/subscriptions"),
        ("GET", "/orcon-approvals"),
        ("POST", "/orcon-approvals"),
        ("DELETE", "/orcon-approvals/{approval_id}"),
        ("GET", "/audit"),
        ("GET", "/audit/proof"),
        ("GET", "/audit/consistency"),
        ("GET", "/audit/checkpoint"),
        ("GET", "/audit/cosignatures"),
        ("POST", "/audit/cosignatures"),
        ("POST", "/reveal"),
        ("POST", "/reveal/{reveal_id}/confirm"),
        ("GET", "/sightings"),
        ("GET", "/observables"),
        ("POST", "/observables/lookup"),
        ("POST", "/match"),
        ("POST", "/match/psi"),
        ("POST", "/match/contact"),
        ("POST", "/match/report"),
        ("GET", "/contacts"),
        ("GET", "/views/coercion"),
        ("GET", "/views/supply-chain"),
        ("POST", "/views/coercion/alerts"),
    }
    add_user = schema["paths"]["/users"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(add_user["responses"])
    assert "422" not in add_user["responses"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in operation["responses"], (method, path)
    assert schema["components"]["securitySchemes"]["allyshare token"]["name"] == "Authorization"
    assert "token" in schema["components"]["schemas"]["UserCreated"]["properties"]
    assert schema["paths"]["/node"]["get"]["security"] == []


class _PageParts(HTMLParser):
    """Every URL a page makes the browser load, and the text of any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "data-openapi-url"):
            if values.get(name):
                self.urls.append(values[name] or "")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def test_docs_load_everything_from_the_node_under_a_strict_policy(site: Site) -> None:
    docs = site.client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in docs.headers["Content-Security-Policy"].split(";")
        if directive.strip()
    }
    assert policy["default-src"] == ["'none'"]
    for directive in ("script-src", "style-src", "connect-src"):
        assert policy[directive] == ["'self'"], directive
    assert policy["img-src"] == ["'self'", "data:"]
    parts = _PageParts()
    parts.feed(docs.text)
    assert parts.inline_scripts == []
    assert "/openapi.json" in parts.urls
    assert any(url.endswith(".js") for url in parts.urls)
    assert any(url.endswith(".css") for url in parts.urls)
    for url in parts.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        served = site.client.get(url)
        assert served.status_code == 200, url
        assert served.content, url
    assert "SwaggerUIBundle" in site.client.get("/docs/init.js").text


def test_taxii_is_served_beside_the_api(site: Site) -> None:
    """A member made through the management API works over TAXII at the same paths as ever."""
    organization = site.add_organization()
    token = site.add_user("writer", organization=organization, roles=["contributor"])
    headers = {"Authorization": f"Bearer {token}", "Accept": TAXII}

    discovery = site.client.get("/taxii2/", headers=headers)
    assert discovery.status_code == 200 and discovery.headers["content-type"] == TAXII
    assert discovery.json()["api_roots"] == ["http://testserver/taxii2/api/"]

    objects = f"/taxii2/api/collections/{site.collection}/objects/"
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
    }
    posted = site.client.post(
        objects, json={"objects": [indicator]}, headers={**headers, "Content-Type": TAXII}
    )
    assert posted.status_code == 202, posted.text
    assert posted.json()["success_count"] == 1, posted.json()
    served = site.client.get(objects, headers=headers)
    assert served.status_code == 200 and served.headers["content-type"] == TAXII
    assert [o["id"] for o in served.json()["objects"]] == [indicator["id"]]

    missing = site.client.get("/taxii2/api/collections/nope/", headers=headers)
    assert missing.json()["http_status"] == "404"


def test_orcon_approvals_are_made_listed_and_revoked(site: Site, tmp_path: Path) -> None:
    """The originator's contributor releases an ORCON report to one more organization and
    withdraws it; readers of that organization see the report exactly meanwhile."""
    writer = site.add_user("writer", organization=site.add_organization(), roles=["contributor"])
    nis = site.add_organization(name="NIS", kind="government", sectors=[])
    site.add_user("reader", organization=nis, roles=["reader"])
    objects = f"/taxii2/api/collections/{site.collection}/objects/"
    orcon = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--7d3c1f2a-1b6e-4c1d-9a0e-3f2b1c0d9e01",
        "created": "2026-01-01T00:00:00.000Z",
        "extensions": {
            ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "orcon": True}
        },
    }
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": "report--0c6f8a52-9a4e-4a8e-8d3e-2f6b5f0e7a11",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "name": "ORCON report",
        "published": "2026-03-01T00:00:00Z",
        "object_refs": ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"],
        "object_marking_refs": [orcon["id"]],
    }
    taxii = {"Accept": TAXII, "Content-Type": TAXII}
    posted = site.client.post(
        objects,
        json={"objects": [orcon, report]},
        headers={**taxii, "Authorization": f"Bearer {writer}"},
    )
    assert posted.json()["success_count"] == 2, posted.text

    def reader_sees_it() -> bool:
        served = site.client.get(
            objects, headers={**taxii, "Authorization": f"Bearer {site.tokens['reader']}"}
        )
        return report["id"] in {o["id"] for o in served.json().get("objects", [])}

    assert not reader_sees_it()
    body = {"object_id": report["id"], "organization": nis}
    made = site.call("POST", "/orcon-approvals", "writer", body)
    assert made.status_code == 201, made.text
    approval = made.json()
    assert approval["recipient"] == nis and approval["signed_by"] == "this node"
    assert reader_sees_it()
    listed = site.call("GET", "/orcon-approvals", "writer").json()["approvals"]
    assert [entry["id"] for entry in listed] == [approval["id"]]
    # The admin, like the reader, may not read the ORCON report, so not its approvals either.
    for who in ("root", "reader"):
        assert site.call("GET", "/orcon-approvals", who).json()["approvals"] == []
    assert site.call("POST", "/orcon-approvals", "reader", body).status_code == 403

    revoked = site.call("DELETE", f"/orcon-approvals/{approval['id']}", "writer")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert not reader_sees_it()
    assert site.call("GET", "/orcon-approvals").json()["approvals"] == []
    again = site.call("DELETE", f"/orcon-approvals/{approval['id']}", "writer")
    assert "already revoked" in problem(again, 400)
    neither = site.call("POST", "/orcon-approvals", "writer", {"object_id": report["id"]})
    assert "name one recipient" in problem(neither, 400)
    unknown = {"object_id": report["id"], "peer": "jpn"}
    assert "no peer 'jpn'" in problem(site.call("POST", "/orcon-approvals", "writer", unknown), 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/organizations/USA.CISA", {"sectors": ["\x00"]}),
        ("POST", "/organizations", {**KRCERT, "name": "Kr\x00CERT"}),
        ("PATCH", "/users/ro%00ot", {"clearance": "S"}),
        ("GET", "/policy/explain?object_id=indicator--%00&as_user=root", None),
        ("DELETE", "/peers/a%00b", None),
        ("POST", "/agreements", {**AGREEMENT, "version": 2**63}),
    ],
)
def test_values_no_column_can_hold_are_400_not_500(
    site: Site, method: str, path: str, body: Any
) -> None:
    assert "\x00" not in problem(site.call(method, path, body=body), 400)


def test_paths_no_route_matches_are_answered_in_each_api_s_form(site: Site) -> None:
    # A line break in a path segment matches no route pattern, so no mounted app sees it.
    assert problem(site.call("PATCH", "/users/a%0Ab", body={"clearance": "S"}), 404)
    assert problem(site.call("GET", "/a%0Ab"), 404)
    taxii = site.client.get("/taxii2/a%0Ab/", headers={"Accept": TAXII})
    assert taxii.status_code == 404 and taxii.json()["http_status"] == "404"
    # One with the line break last once bounced between two routers' slash redirects forever.
    headers = {"Accept": TAXII, "Authorization": f"Bearer {site.tokens['root']}"}
    for path in ("/taxii2/api/collections/%0A/", "/taxii2/api/collections/x/objects/a%0A/"):
        looped = site.client.get(path, headers=headers)
        assert looped.status_code == 404 and looped.json()["http_status"] == "404"
    assets = site.client.get("/docs/assets/nothing-here.js")
    assert assets.status_code == 404 and assets.json()["http_status"] == "404"


def test_sightings_are_aggregated_for_a_reader_who_may_see_the_object(
    site: Site, analyst: str
) -> None:
    indicator_id = "indicator--7d3a1c2e-0000-4000-8000-000000000001"
    green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    common = {"spec_version": "2.1", "object_marking_refs": [green]}
    stamp = {"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z"}
    objects = [
        {
            "type": "indicator",
            "id": indicator_id,
            "pattern": "[domain-name:value = 'c2.example']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
            **common,
            **stamp,
        },
        {
            "type": "sighting",
            "id": "sighting--7d3a1c2e-0000-4000-8000-000000000002",
            "sighting_of_ref": indicator_id,
            "count": 4,
            "first_seen": "2026-01-02T00:00:00Z",
            **common,
            **stamp,
        },
    ]
    assert site.node.add_objects(site.node.user("root"), site.collection, objects).success_count
    seen = site.call("GET", f"/sightings?of={indicator_id}", analyst)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert (body["sightings"], body["count"], body["countries"]) == (1, 4, ["USA"])
    assert body["others"]["sightings"] == 1 and body["sighters"] == []
    missing = site.call("GET", "/sightings?of=indicator--7d3a1c2e-0000-4000-8000-000000000009")
    assert "no object" in problem(missing, 404)
    assert problem(site.call("GET", "/sightings", analyst), 400)


def test_observables_are_looked_up_as_the_caller_may_see_them(site: Site, analyst: str) -> None:
    green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--7d3a1c2e-0000-4000-8000-000000000011",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[domain-name:value = 'C2.Example.']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [green],
    }
    quiet = {
        **indicator,
        "id": "indicator--7d3a1c2e-0000-4000-8000-000000000012",
        "pattern": "[domain-name:value = 'quiet.example']",
    }
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--7d3a1c2e-0000-4000-8000-000000000013",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "sighting_of_ref": indicator["id"],
        "count": 4,
        "first_seen": "2026-01-02T00:00:00Z",
        "object_marking_refs": [green],
    }
    root = site.node.user("root")
    assert site.node.add_objects(root, site.collection, [indicator, quiet, sighting]).success_count
    found = site.call("GET", "/observables?value=c2.example&value=absent.example", analyst)
    assert found.status_code == 200, found.text
    first, second = found.json()["results"]
    assert first["observables"] == [{"type": "domain-name", "value": "c2.example"}]
    assert [o["id"] for o in first["objects"]] == [indicator["id"]]
    assert first["objects"][0]["collections"] == [site.collection]
    sighted = first["objects"][0]["sightings"]
    assert sighted["sighting_of_ref"] == indicator["id"]
    assert (sighted["sightings"], sighted["count"]) == (1, 4)
    assert sighted["others"]["countries"] == ["USA"]
    assert (second["count"], second["objects"], second["common"]) == (0, [], False)
    many = site.call(
        "POST",
        "/observables/lookup",
        analyst,
        body={"values": ["C2.EXAMPLE", "quiet.example"], "type": "domain-name"},
    )
    sighted_too, unsighted = many.json()["results"]
    assert sighted_too["count"] == 1 and sighted_too["objects"][0]["sightings"] == sighted
    assert "sightings" not in unsighted["objects"][0]
    assert "unknown observable type" in problem(
        site.call("GET", "/observables?value=x&type=nonsense", analyst), 400
    )
    assert problem(site.call("POST", "/observables/lookup", analyst, body={"values": []}), 400)
    # Names, when asked for (type=name): whole, in any case.
    group = {
        "type": "intrusion-set",
        "spec_version": "2.1",
        "id": "intrusion-set--7d3a1c2e-0000-4000-8000-000000000014",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Lazarus Group",
        "object_marking_refs": [green],
    }
    assert site.node.add_objects(root, site.collection, [group]).success_count
    by_name = site.call("GET", "/observables?value=LAZARUS%20group&type=name", analyst)
    [named] = by_name.json()["results"]
    assert named["observables"] == [{"type": "name", "value": "lazarus group"}]
    assert [o["id"] for o in named["objects"]] == [group["id"]]
    unasked = site.call("GET", "/observables?value=Lazarus%20Group", analyst).json()
    assert unasked["results"][0]["count"] == 0


def test_private_matching_answers_a_member_and_says_when_to_come_back(
    site: Site, analyst: str
) -> None:
    match_only = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--6c1c1a3e-0000-4000-8000-000000000021",
        "created": "2026-01-01T00:00:00.000Z",
        "name": "match-only",
        "extensions": {
            ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "match_only": True}
        },
    }
    held = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--6c1c1a3e-0000-4000-8000-000000000022",
        "value": "198.51.100.7",
        "object_marking_refs": [match_only["id"]],
    }
    assert site.node.add_objects(site.node.user("root"), site.collection, [match_only, held])
    body = {"collection": site.collection, "values": ["198.51.100.7", "198.51.100.8"]}
    found = site.call("POST", "/match", analyst, body=body)
    assert found.status_code == 200, found.text
    assert found.json()["matched"] == ["198.51.100.7"]
    assert found.json()["budget_left"] == 9998
    again = site.call("POST", "/match", analyst, body=body)
    assert "one request per 5 s" in problem(again, 429)
    assert 1 <= int(again.headers["retry-after"]) <= 5
    assert problem(site.call("POST", "/match", analyst, body={**body, "values": []}), 400)
    unknown = {**body, "collection": "no-such-collection"}
    assert problem(site.call("POST", "/match", analyst, body=unknown), 404)
    # The node wrote what matched: no member organization to contact, nothing received.
    assert site.call("GET", "/contacts", analyst).json() == {"contacts": []}
    assert problem(site.call("GET", "/contacts"), 403)
