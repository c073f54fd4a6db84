"""Credentials from the ``Authorization`` header, and the node's one brake on guessing them.

Accepted: HTTP Basic (user name, token as the password), ``Bearer <token>`` and
``Token <token>`` (the scheme the OASIS taxii2-client sends).

Failed logins are counted by one :class:`LoginLimiter` per served node, shared by TAXII and
the management API, so a client gets the same twenty failures a minute across both. Failures
count against the client address and, for Basic, against the user name too (so twenty
failures for one name from many addresses stop further failures for that name as well).
While an address or a name is over the limit, every failing attempt is answered 429 with
``Retry-After`` instead of 401, and counts again, so a client that keeps failing stays
refused. Credentials are still checked during the block, and correct ones are served: a user
behind the same address (a NAT, a proxy) as a guesser, or whose name a guesser is trying, is
never locked out. Checking costs one SHA-256 and one indexed lookup. What the block changes
for a failing client is its answer (429 and when to come back, which clients honour by
backing off); what keeps tokens from being guessed at any rate is their size, 32 random bytes.

The counts live in the serving process (``allyshare serve`` runs one) and are lost on restart.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from allyshare.errors import AuthenticationFailed
from allyshare.federation.signatures import is_signed, signing_peer

if TYPE_CHECKING:
    from allyshare.service import Node
    from allyshare.storage import User

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TokenCredentials:
    token: str


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    name: str
    token: str


Credentials = TokenCredentials | BasicCredentials


def parse_authorization(header: str | None) -> Credentials:
    if not header:
        raise AuthenticationFailed("authentication required")
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme in {"bearer", "token"} and value:
        return TokenCredentials(value)
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed("malformed Basic credentials") from None
        name, sep, token = decoded.partition(":")
        # No user name holds a control character; NUL could not even be looked up.
        if sep and name and token and name.isprintable():
            return BasicCredentials(name, token)
        raise AuthenticationFailed("malformed Basic credentials")
    raise AuthenticationFailed("unsupported authorization scheme; use Basic, Bearer or Token")


class LoginsLimited(AuthenticationFailed):
    """Wrong credentials from an address or for a name already over the limit."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many failed logins; try again later")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.retry_after) + 1)}


class _Failures:
    """Recent failure times per key, at most ``limit`` each; bounded in keys too, so a flood
    of made-up names cannot grow it without end."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._stamps: dict[str, deque[float]] = {}

    def blocked_for(self, key: str, now: float) -> float:
        stamps = self._stamps.get(key)
        if stamps is None or len(stamps) < self.limit:
            return 0.0
        return max(0.0, self.window - (now - stamps[0]))

    def record(self, key: str, now: float) -> None:
        stamps = self._stamps.get(key)
        if stamps is None:
            if len(self._stamps) >= self.max_keys:
                self._forget_expired(now)
            stamps = self._stamps[key] = deque(maxlen=self.limit)
        stamps.append(now)

    def _forget_expired(self, now: float) -> None:
        self._stamps = {k: v for k, v in self._stamps.items() if now - v[-1] <= self.window}
        if len(self._stamps) >= self.max_keys:
            # Still full within one window: drop the keys first seen longest ago.
            keep = list(self._stamps.items())[len(self._stamps) // 2 :]
            self._stamps = dict(keep)


class LoginLimiter:
    """``limit`` failed logins per client address, and per user name, within ``window``
    seconds; shared by every entry point of one node (see the module docstring)."""

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        max_keys: int = 100_000,
        on_burst: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self._addresses = _Failures(limit, window, max_keys)
        self._names = _Failures(limit, window, max_keys)
        self._lock = threading.Lock()
        self._on_burst = on_burst
        """Told when a client or name goes over the limit (the node records it in its audit
        log): once per burst, not once per refused guess."""

    def blocked_for(self, client: str, name: str | None = None) -> float:
        """Seconds until failures from ``client`` (or for ``name``) are answered 401 again."""
        now = time.monotonic()
        with self._lock:
            wait = self._addresses.blocked_for(client, now)
            if name is not None:
                wait = max(wait, self._names.blocked_for(name, now))
            return wait

    def record_failure(self, client: str, name: str | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            self._addresses.record(client, now)
            if name is not None:
                self._names.record(name, now)

    def check(self, client: str, name: str | None, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (which raises AuthenticationFailed on wrong credentials); a failure
        while ``client`` or ``name`` is over the limit raises :class:`LoginsLimited`."""
        was_blocked = self.blocked_for(client, name) > 0
        try:
            return attempt()
        except AuthenticationFailed:
            self.record_failure(client, name)
            if was_blocked:
                raise LoginsLimited(self.blocked_for(client, name)) from None
            if self._on_burst is not None and self.blocked_for(client, name) > 0:
                self._on_burst(client, name)
            raise


async def request_user(
    node: Node, limiter: LoginLimiter, request: Request, authorization: str | None
) -> User:
    """Who sent the request: a peer node by its RFC 9421 signature, else a member by the
    ``Authorization`` header; both through the node's one count of failed logins."""
    client = request.client.host if request.client else "unknown"
    if is_signed(request.headers):
        body = await request.body() if request.method == "POST" else b""

        def signer() -> User:
            peer = signing_peer(
                request.method,
                str(request.url),
                request.headers.items(),
                body,
                node.peers(),
                node.remember_signature,
            )
            return node.peer_user(peer)

        return await run_in_threadpool(limiter.check, client, None, signer)
    return await run_in_threadpool(
        limiter.check,
        client,
        basic_name(authorization),
        lambda: authenticate(node, authorization),
    )


def authenticate(node: Node, header: str | None) -> User:
    """The user an ``Authorization`` header names; AuthenticationFailed if none."""
    credentials = parse_authorization(header)
    if isinstance(credentials, BasicCredentials):
        return node.authenticate_basic(credentials.name, credentials.token)
    return node.authenticate_token(credentials.token)


def basic_name(header: str | None) -> str | None:
    """The user name of Basic credentials, or None; never raises."""
    try:
        credentials = parse_authorization(header)
    except AuthenticationFailed:
        return None
    return credentials.name if isinstance(credentials, BasicCredentials) else None
