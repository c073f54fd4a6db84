"""Node-to-node requests signed with the node's Ed25519 key (HTTP Message Signatures, RFC 9421).

No Python ASGI server reliably hands the application the client's TLS certificate (the ASGI
TLS extension is still unimplemented in uvicorn and hypercorn), so a node proves who it is by
signing each request over the pinned, server-authenticated TLS connection. The key id is the
signer's public key, which the receiving node already holds for exactly one peer.

A signature must cover the method, authority, path and query, and the body's digest
(``Content-Digest``, RFC 9530) whenever there is a body; the verifier checks the digest against
the body received. It must carry this application's tag, be made with Ed25519, and have been
created within the last five minutes (five seconds of clock difference are allowed either way,
so a signature dated later than that is refused too).

Within that window a write (any method but GET and HEAD) is accepted once. The signer puts a
random ``nonce`` in every signature, so two identical writes are two signatures; a write signed
without one is refused. The receiving node remembers each signer key and nonce it accepted, in
its database, until the signature expires, so every process serving that database refuses a
second copy. Reads are not remembered: a replayed GET changes nothing and reads only what the
peer itself read within those five minutes, and the signed request travels only inside TLS to
the pinned node, so a copy would have to come from one of the two nodes.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Callable, Generator, Iterable, Mapping
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
CLOCK_SKEW = datetime.timedelta(seconds=5)
READ_METHODS = frozenset({"GET", "HEAD"})
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
            nonce=secrets.token_urlsafe(16),
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
    remember: Callable[[str, int], bool],
) -> PeerRecord:
    """The peer whose key signed this request, or :class:`AuthenticationFailed` saying why.

    ``body`` is the body as received (empty when there is none). ``remember(id, until)``
    keeps an accepted write's signature id until ``until`` (microseconds since the epoch) and
    answers False if it was kept already, as :class:`allyshare.storage.Store`'s
    ``signatures_seen.remember`` does.
    """
    known = {peer.signing_key: peer for peer in peers if peer.signing_key}
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={key: public_key_from_text(key) for key in known}, private_keys={}
        ),
    )
    verifier.max_clock_skew = CLOCK_SKEW
    message = _Message(method, url, _Headers(headers))
    try:
        [result] = verifier.verify(
            message,
            max_age=MAX_AGE,
            expect_tag=TAG,
            require_components=COVERED,
            body=body,
        )
    except (HTTPMessageSignaturesException, ValueError) as exc:
        reason = str(exc) or "it does not match the request"
        raise AuthenticationFailed(f"request signature not accepted: {reason}") from None
    key_id = result.parameters.get("keyid")
    peer = known.get(key_id) if isinstance(key_id, str) else None
    if peer is None or peer.signing_key is None:
        raise AuthenticationFailed("request signature not accepted: unknown key")
    if method.upper() not in READ_METHODS:
        _accept_once(peer.signing_key, result.parameters, remember)
    return peer


def _accept_once(
    key_id: str, parameters: Mapping[str, object], remember: Callable[[str, int], bool]
) -> None:
    """Refuse a write whose signature was accepted before (a replay) or that has no nonce."""
    nonce = parameters.get("nonce")
    created = parameters.get("created")
    if not isinstance(nonce, str) or not nonce:
        raise AuthenticationFailed("request signature not accepted: a write must carry a nonce")
    if not isinstance(created, int):
        raise AuthenticationFailed("request signature not accepted: no creation time")
    # Valid until created + MAX_AGE, give or take CLOCK_SKEW: remembered for as long.
    lifetime = (MAX_AGE + CLOCK_SKEW) // datetime.timedelta(microseconds=1)
    until = created * 1_000_000 + lifetime
    signature_id = hashlib.sha256(f"{key_id}\n{nonce}".encode()).hexdigest()
    if not remember(signature_id, until):
        raise AuthenticationFailed("request signature not accepted: it was used before")


class _Headers(dict[str, str]):
    """Received header lines with lower-case names; repeated fields joined, as RFC 9110 does."""

    def __init__(self, lines: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in lines:
            name = name.lower()
            self[name] = f"{self[name]}, {value}" if name in self else value
