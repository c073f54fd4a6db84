"""Node-to-node requests signed with the node's Ed25519 key (HTTP Message Signatures, RFC 9421).

No Python ASGI server reliably hands the application the client's TLS certificate (the ASGI
TLS extension is still unimplemented in uvicorn and hypercorn), so a node proves who it is by
signing each request over the pinned, server-authenticated TLS connection. The key id is the
signer's public key, which the receiving node already holds for exactly one peer. A signature
covers the method, authority, path and query, and the body's digest when there is a body; it
is valid for five minutes, so a replay can only repeat the same request within that window.
"""

from __future__ import annotations

import datetime
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)

from allyshare.errors import AuthenticationFailed
from allyshare.keys import public_key_from_text, public_key_text
from allyshare.storage import PeerRecord

COVERED = ("@method", "@authority", "@path", "@query")
TAG = "allyshare-node"
MAX_AGE = datetime.timedelta(minutes=5)
SIGNATURE_HEADERS = ("signature-input", "signature")


class SignedRequests(httpx.Auth):
    """Signs every request an httpx client sends with this node's key."""

    requires_request_body = True

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key_id = public_key_text(key)
        self._signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={self.key_id: key}),
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        self._signer.sign(
            request,
            key_id=self.key_id,
            tag=TAG,
            covered_component_ids=COVERED,
            body=body or None,
        )
        yield request


@dataclass(frozen=True)
class _Message:
    """The parts of a received request the verifier reads."""

    method: str
    url: str
    headers: Mapping[str, str]


def is_signed(headers: Mapping[str, str]) -> bool:
    return any(name in headers for name in SIGNATURE_HEADERS)


def signing_peer(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    peers: Iterable[PeerRecord],
) -> PeerRecord:
    """The peer whose key signed this request, or :class:`AuthenticationFailed` saying why."""
    known = {peer.signing_key: peer for peer in peers if peer.signing_key}
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={key: public_key_from_text(key) for key in known}, private_keys={}
        ),
    )
    message = _Message(method, url, _Headers(headers))
    try:
        [result] = verifier.verify(
            message,
            max_age=MAX_AGE,
            expect_tag=TAG,
            require_components=COVERED,
            body=body or None,
        )
    except (HTTPMessageSignaturesException, ValueError) as exc:
        raise AuthenticationFailed(f"request signature not accepted: {exc}") from None
    key_id = result.parameters.get("keyid")
    peer = known.get(key_id) if isinstance(key_id, str) else None
    if peer is None:
        raise AuthenticationFailed("request signature not accepted: unknown key")
    return peer


class _Headers(dict[str, str]):
    """Received header lines with lower-case names; repeated fields joined, as RFC 9110 does."""

    def __init__(self, lines: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in lines:
            name = name.lower()
            self[name] = f"{self[name]}, {value}" if name in self else value
