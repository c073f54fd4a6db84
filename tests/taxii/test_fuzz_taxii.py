"""A bounded fuzz of the TAXII binding, served as a node serves it, on both backends: generated
filters, cursors, limits, ids, media types and credentials against every endpoint. No answer
is a 5xx, and every error is a TAXII error object naming its own status."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.server import create_server_app
from allyshare.service import Node

TAXII = "application/taxii+json;version=2.1"
EXAMPLES = 400


@dataclass
class Served:
    client: TestClient
    collections: list[str]
    object_ids: list[str]
    tokens: dict[str, str]


def _indicator(n: int, modified: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": modified,
        "pattern": f"[ipv4-addr:value = '198.51.100.{n}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
    }


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    members = node.add_organization("Members", country="USA", kind="cert")
    collections = [node.add_collection(title).id for title in ("Indicators", "Reports")]
    writer = node.add_user("writer", organization=members, roles=["contributor", "curator"])
    tokens = {
        "writer": writer,
        "reader": node.add_user("reader", organization=members, roles=["reader"]),
        "admin": node.add_user("admin", is_admin=True),
    }
    writer_user = node.authenticate_token(writer)
    objects = [
        _indicator(n, f"2026-03-0{day}T00:00:00.000Z") for n in range(1, 6) for day in (1, 2, 3)
    ]
    for collection in collections:
        status = node.add_objects(writer_user, collection, objects)
        assert status.failure_count == 0, status.failures
    with TestClient(create_server_app(node), raise_server_exceptions=False) as client:
        yield Served(client, collections, sorted({o["id"] for o in objects}), tokens)
    node.close()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _cursor(collection: str, position: str) -> str:
    raw = f"a2:{collection}:{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


wild_text = st.text(max_size=40) | st.sampled_from(["\x00", "%00", "\n", "\u00b2", "٣", "'"])
numbers = (
    st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.integers(min_value=2**63 - 2, max_value=10**19).map(str)
    | st.sampled_from(["9" * 5000, "0", "-1", "1e3", " 5", "\u00b2"])
)
timestamps = st.sampled_from(
    [
        "2026-03-01T00:00:00.000Z",
        "2026-03-02T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z",
        "2026-02-30T00:00:00Z",
        "2026-03-01T00:00:00." + "9" * 400 + "Z",
        "2026-03-01",
    ]
)


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Three draws in four from ``valid``."""
    return st.integers(0, 3).flatmap(lambda n: odd if n == 0 else valid)


@st.composite
def cursors(draw: st.DrawFn, served: Served, collection: str) -> str:
    """Cursors as this server writes them, mostly for the collection asked for, at any
    position; and anything else."""
    issued_for = mostly(
        st.just(collection), st.sampled_from([*served.collections, str(uuid.uuid4()), ""])
    )
    forged = st.builds(_cursor, issued_for, numbers)
    raw_bytes = st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode())
    return draw(mostly(forged, raw_bytes | wild_text))


@st.composite
def queries(draw: st.DrawFn, served: Served, collection: str) -> list[str]:
    """Each filter present or not on its own, valid or not; then query text no encoder would
    write (a stray '%', bad escapes, invalid UTF-8)."""
    values = {
        "match[id]": st.sampled_from(served.object_ids) | wild_text,
        "match[type]": st.sampled_from(["indicator", "malware", "x-custom"]) | wild_text,
        "match[version]": st.sampled_from(["last", "first", "all", "bogus"]) | timestamps,
        "match[spec_version]": st.sampled_from(["2.1", "2.0"]) | wild_text,
        "added_after": timestamps | wild_text,
        "limit": numbers,
        "next": cursors(served, collection),
        "unknown": wild_text,
    }
    pairs = [
        f"{quote(name)}={quote(draw(value))}"
        for name, value in values.items()
        if draw(st.integers(0, 3)) == 0
    ]
    odd = draw(st.lists(st.sampled_from(["%", "%zz", "next=%ff%fe", "=", "limit", "&"])))
    return pairs + odd


# Which part of a request is made odd; the others stay valid, so most requests reach the part
# being fuzzed (filters, cursors and limits are fuzzed in every request).
ODD_PARTS = ["none", "none", "collection", "object", "status", "root", "accept", "credentials"]


@st.composite
def requests(draw: st.DrawFn, served: Served) -> tuple[str, str, dict[str, str], bytes | None]:
    odd = draw(st.sampled_from(ODD_PARTS))

    def part(name: str, valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
        return draw(other if odd == name else valid)

    collection = part("collection", st.sampled_from(served.collections), wild_text)
    object_id = part("object", st.sampled_from(served.object_ids), wild_text)
    status_id = part("status", st.just(str(uuid.uuid4())), wild_text)
    root = part("root", st.just("api"), st.just("other"))
    accept = part(
        "accept",
        st.sampled_from([TAXII, "application/taxii+json", "*/*"]),
        st.sampled_from(
            [
                *("application/taxii+json;version=2.0", "application/json", "", ";;;"),
                *("a/b;q=x", "text/html;q=0.9, */*;q=0"),
            ]
        ),
    )
    credentials = part(
        "credentials",
        st.sampled_from([f"Bearer {token}" for token in served.tokens.values()]),
        st.sampled_from(["Bearer", "Basic", "Basic !!!", "Token x", "Digest y"])
        | st.builds(
            lambda name, token: "Basic " + _b64(f"{name}:{token}"),
            wild_text,
            st.sampled_from(list(served.tokens.values())) | wild_text,
        ),
    )
    base = f"/taxii2/{root}/collections/{quote(collection, safe='')}"
    one = f"{base}/objects/{quote(object_id, safe='')}/"
    path, method = draw(
        st.sampled_from(
            [
                ("/taxii2/", "GET"),
                (f"/taxii2/{root}/", "GET"),
                (f"/taxii2/{root}/collections/", "GET"),
                (f"{base}/", "GET"),
                (f"{base}/objects/", "GET"),
                (f"{base}/objects/", "GET"),
                (f"{base}/objects/", "POST"),
                (one, "GET"),
                (one, "DELETE"),
                (f"{one}versions/", "GET"),
                (f"{base}/manifest/", "GET"),
                (f"/taxii2/{root}/status/{quote(status_id, safe='')}/", "GET"),
                (f"{base}/objects/", "PUT"),
            ]
        )
    )
    headers = {"Accept": accept, "Authorization": credentials}
    body = None
    if method in {"POST", "PUT"}:
        headers["Content-Type"] = draw(
            mostly(
                st.sampled_from([TAXII, "application/taxii+json"]),
                st.sampled_from(["application/json", "", "x/y", "application/taxii+json;v"]),
            )
        )
        objects = st.lists(
            st.builds(_indicator, st.integers(1, 9), timestamps)
            | st.dictionaries(st.sampled_from(["type", "id", "spec_version"]), wild_text),
            max_size=3,
        )
        body = draw(
            mostly(
                st.builds(lambda o: orjson.dumps({"objects": o}), objects),
                st.sampled_from([b"", b"{", b"[]", b'{"objects": 5}', b"\xff\xfe"]),
            )
        )
    query = draw(queries(served, collection))
    return method, path + ("?" + "&".join(query) if query else ""), headers, body


def test_the_taxii_binding_under_fuzzing(served: Served) -> None:
    @given(request=requests(served))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_without_a_server_error(request: tuple[str, str, dict[str, str], bytes]) -> None:
        method, url, headers, body = request
        response = served.client.request(method, url, headers=headers, content=body)
        assert response.status_code < 500, (method, url, response.text)
        if response.status_code >= 400:
            error = response.json()
            assert error["http_status"] == str(response.status_code), (method, url, error)
            assert error["title"] and error["description"]

    answers_without_a_server_error()
