"""Signed node-to-node requests: what the verifier accepts, what it refuses and why.

Requests are signed here as a peer's ``SignedRequests`` signs them, or with one thing changed
(a component left uncovered, another tag, algorithm or time, no nonce), and either checked
with :func:`signing_peer` on a real store or sent through the TAXII app of real nodes.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from http_message_signatures.digests import ContentDigest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.errors import AuthenticationFailed
from allyshare.federation.signatures import COVERED, MAX_AGE, TAG, SignedRequests, signing_peer
from allyshare.keys import public_key_text
from allyshare.service import Node
from allyshare.storage import PeerRecord, Store
from allyshare.taxii import create_app

TAXII = "application/taxii+json;version=2.1"
OBJECTS = "https://usa.example/taxii2/api/collections/c1/objects/"
QUERY = "?match%5Btype%5D=indicator"
KOR_KEY = Ed25519PrivateKey.generate()
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
KOR = PeerRecord(
    name="kor",
    api_root="https://kor.example/taxii2/api/",
    certificate=b"",
    fingerprint="",
    country="KOR",
    agreement_name=AGREEMENT["name"],
    signing_key=public_key_text(KOR_KEY),
    created_at=0,
)


def indicator(number: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=number, version=4)}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '198.51.100.{number}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    }


BODY = orjson.dumps({"objects": [indicator(1)]})


def request(method: str = "POST", url: str = OBJECTS, client: TestClient | None = None) -> Any:
    """An unsigned TAXII request (built by ``client`` to be sent through an app)."""
    body = BODY if method == "POST" else b""
    headers = {"Accept": TAXII} | ({"Content-Type": TAXII} if body else {})
    if client is not None:
        return client.build_request(method, url, content=body, headers=headers)
    return httpx.Request(method, url, content=body, headers=headers)


def signed(method: str = "POST", url: str = OBJECTS, client: TestClient | None = None) -> Any:
    """The request as a peer node signs it."""
    return next(SignedRequests(KOR_KEY).auth_flow(request(method, url, client)))


def signed_with(
    method: str = "POST", url: str = OBJECTS, *, digest_field: bool = False, **change: Any
) -> httpx.Request:
    """The request signed with KOR's key id as ``SignedRequests`` does, but for ``change``
    (signing parameters, or ``algorithm`` and ``secret``); ``digest_field`` adds the body's
    Content-Digest before signing, whether the signature covers it or not."""
    unsigned = request(method, url)
    if digest_field:
        unsigned.headers["Content-Digest"] = ContentDigest.create(unsigned.content)
        change["use_existing_digest"] = True
    key_id = public_key_text(KOR_KEY)
    options: dict[str, Any] = {
        "key_id": key_id,
        "tag": TAG,
        "nonce": secrets.token_urlsafe(16),
        "covered_component_ids": COVERED,
        "body": unsigned.content or None,
    }
    algorithm = change.pop("algorithm", algorithms.ED25519)
    secret = change.pop("secret", KOR_KEY)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: secret}),
    )
    signer.sign(unsigned, **(options | change))
    return unsigned


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'node.db'}")
    store.migrate()
    yield store
    store.close()


def check(
    store: Store,
    sent: httpx.Request,
    *,
    method: str | None = None,
    url: str | None = None,
    body: bytes | None = None,
    headers: httpx.Headers | None = None,
) -> PeerRecord:
    """The peer the node takes ``sent`` to come from, as received (with ``method``, ``url``,
    ``body`` or ``headers`` in place of what was signed)."""
    return signing_peer(
        method or sent.method,
        url or str(sent.url),
        (headers or sent.headers).multi_items(),
        sent.content if body is None else body,
        [KOR],
        store.signatures_seen.remember,
    )


def refused(store: Store, sent: httpx.Request, **received: Any) -> str:
    with pytest.raises(AuthenticationFailed) as failure:
        check(store, sent, **received)
    return str(failure.value)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_request_signed_by_a_peer_names_the_peer(store: Store, method: str) -> None:
    assert check(store, signed(method, OBJECTS + QUERY)) == KOR


@pytest.mark.parametrize(
    "left_out", ["@authority", "@path", "@query", "content-digest", "only-@method"]
)
def test_a_signature_must_cover_every_part_of_the_request(store: Store, left_out: str) -> None:
    every = ["@method", "@authority", "@path", "@query", "content-digest"]
    covered = ["@method", "content-digest"] if left_out == "only-@method" else every
    sent = signed_with(
        url=OBJECTS + QUERY,
        covered_component_ids=[component for component in covered if component != left_out],
        body=None,
        digest_field=True,
    )
    reason = refused(store, sent)
    assert "not covered" in reason or "requires a signed Content-Digest" in reason


def test_a_body_without_a_digest_is_refused(store: Store) -> None:
    sent = signed_with(body=None)
    assert "content-digest" not in sent.headers
    assert "Content-Digest" in refused(store, sent)


TAMPERED = {
    "authority": {"url": (OBJECTS + QUERY).replace("usa.example", "other.example")},
    "path": {"url": (OBJECTS + QUERY).replace("/c1/", "/c2/")},
    "query": {"url": OBJECTS + "?match%5Btype%5D=malware"},
    "body": {"body": orjson.dumps({"objects": [indicator(2)]})},
    "body removed": {"body": b""},
    "method": {"method": "PUT"},
}


@pytest.mark.parametrize("part", TAMPERED)
def test_a_request_changed_after_signing_is_refused(store: Store, part: str) -> None:
    sent = signed(url=OBJECTS + QUERY)
    received = {"url": OBJECTS + QUERY} | TAMPERED[part]
    assert "does not match" in refused(store, sent, **received)


def test_a_body_changed_with_its_digest_is_refused(store: Store) -> None:
    sent = signed()
    other = orjson.dumps({"objects": [indicator(2)]})
    headers = httpx.Headers(sent.headers)
    headers["Content-Digest"] = ContentDigest.create(other)
    assert "does not match the request" in refused(store, sent, body=other, headers=headers)


def test_a_signature_older_than_five_minutes_is_refused(store: Store) -> None:
    created = datetime.datetime.now(datetime.UTC) - MAX_AGE - datetime.timedelta(seconds=30)
    assert "maximum allowable age" in refused(store, signed_with(created=created))


def test_a_signature_dated_in_the_future_is_refused(store: Store) -> None:
    created = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    assert "in the future" in refused(store, signed_with(created=created))


@pytest.mark.parametrize("tag", ["other-application", None])
def test_a_signature_for_another_application_is_refused(store: Store, tag: str | None) -> None:
    assert "tag" in refused(store, signed_with(tag=tag))


def test_a_signature_with_another_algorithm_is_refused(store: Store) -> None:
    """HMAC keyed with the peer's public key, which anyone may read: alg confusion."""
    forged = signed_with(algorithm=algorithms.HMAC_SHA256, secret=public_key_text(KOR_KEY).encode())
    assert "algorithm" in refused(store, forged)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_write_is_accepted_once(store: Store, method: str) -> None:
    sent = signed(method)
    assert check(store, sent) == KOR
    assert "used before" in refused(store, sent)
    assert check(store, signed(method)) == KOR


def test_a_read_may_be_repeated_within_its_window(store: Store) -> None:
    sent = signed("GET")
    assert check(store, sent) == check(store, sent) == KOR


def test_a_write_signed_without_a_nonce_is_refused(store: Store) -> None:
    assert "nonce" in refused(store, signed_with(nonce=None))
    assert check(store, signed_with("GET", nonce=None)) == KOR


# Through the TAXII app of two nodes serving one database.


def open_node(directory: Path, database_url: str) -> Node:
    return Node.open(Settings(data_dir=directory, database_url=database_url))


@pytest.fixture
def nodes(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, TestClient, str]]:
    """Two nodes (two processes' worth of state) on one database, KOR pinned as a peer."""
    first = open_node(tmp_path / "one", database_url)
    first.apply_agreement(AGREEMENT)
    collection = first.add_collection("Shared", agreement=AGREEMENT["name"]).id
    first.add_peer(KOR)
    second = open_node(tmp_path / "two", database_url)
    with TestClient(create_app(first)) as one, TestClient(create_app(second)) as two:
        yield one, two, f"http://testserver/taxii2/api/collections/{collection}/objects/"
    first.close()
    second.close()


def test_a_replayed_write_is_refused_by_every_node_on_the_database(
    nodes: tuple[TestClient, TestClient, str],
) -> None:
    one, two, objects = nodes
    post = signed(url=objects, client=one)
    assert one.send(post).status_code == 202
    replayed = two.send(post)
    assert replayed.status_code == 401
    assert "used before" in replayed.json()["description"]
    again = two.send(signed(url=objects, client=two))
    assert again.status_code == 202, again.text
    read = signed("GET", objects, client=one)
    assert one.send(read).status_code == two.send(read).status_code == 200


def test_a_body_changed_on_the_way_is_refused_by_the_app(
    nodes: tuple[TestClient, TestClient, str],
) -> None:
    one, _, objects = nodes
    post = signed(url=objects, client=one)
    changed = orjson.dumps({"objects": [indicator(2)]})
    tampered = one.build_request("POST", objects, headers=post.headers, content=changed)
    answer = one.send(tampered)
    assert answer.status_code == 401
    assert "Content-Digest does not match" in answer.json()["description"]
