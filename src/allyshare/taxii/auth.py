"""Credentials from the ``Authorization`` header, and a brake on guessing.

Accepted: HTTP Basic (user name, token as the password), ``Bearer <token>`` and
``Token <token>`` (the scheme the OASIS taxii2-client sends). Failed attempts are counted per
client address; past the limit the client waits, whatever it sends.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections import deque
from dataclasses import dataclass

from allyshare.errors import AuthenticationFailed


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
        if sep and name and token:
            return BasicCredentials(name, token)
        raise AuthenticationFailed("malformed Basic credentials")
    raise AuthenticationFailed("unsupported authorization scheme; use Basic, Bearer or Token")


class FailureLimiter:
    """Allows ``limit`` failed logins per client within ``window`` seconds."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        stamps = self._failures.setdefault(client, deque())
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        return stamps

    def blocked_for(self, client: str) -> float:
        """Seconds the client must wait before trying again (0 when it may try now)."""
        now = time.monotonic()
        with self._lock:
            stamps = self._recent(client, now)
            if len(stamps) < self.limit:
                return 0.0
            return max(0.0, self.window - (now - stamps[0]))

    def record_failure(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 100_000:
                self._failures = {k: v for k, v in self._failures.items() if v}
