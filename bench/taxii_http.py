"""A minimal keep-alive HTTP client for 127.0.0.1, timing each exchange.

``http.client`` keeps the client's own cost small and predictable; every call has a timeout,
so a server that stops answering cannot stall the run.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass

TAXII_21 = "application/taxii+json;version=2.1"
HOST = "127.0.0.1"
# A keep-alive connection the server closed while idle fails on first use; one retry is safe
# because the server never saw the request.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class BenchError(Exception):
    """Something the benchmark cannot measure through (a server error, a failed setup)."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    seconds: float


class Client:
    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self._port = port
        self._headers = {"Accept": TAXII_21, **headers}
        self._connection = http.client.HTTPConnection(HOST, port)

    def call(self, method: str, target: str, body: bytes | None, timeout: float) -> Reply:
        """One exchange; raises ``TimeoutError`` when no answer comes within ``timeout`` s."""
        headers = dict(self._headers)
        if body is not None:
            headers.setdefault("Content-Type", TAXII_21)
        try:
            return self._send(method, target, body, headers, timeout)
        except _STALE:
            return self._send(method, target, body, headers, timeout)

    def expect(self, method: str, target: str, body: bytes | None, timeout: float) -> Reply:
        """Like :meth:`call`, but a status other than 200 or 202 is a :class:`BenchError`."""
        reply = self.call(method, target, body, timeout)
        if reply.status not in (200, 202):
            raise BenchError(f"{method} {target} -> {reply.status}: {reply.body[:300]!r}")
        return reply

    def close(self) -> None:
        self._connection.close()

    def _send(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str], timeout: float
    ) -> Reply:
        try:
            return self._exchange(method, target, body, headers, timeout)
        except (OSError, http.client.HTTPException):
            self._reconnect()
            raise

    def _exchange(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str], timeout: float
    ) -> Reply:
        self._connection.timeout = timeout
        if self._connection.sock is not None:
            self._connection.sock.settimeout(timeout)
        started = time.perf_counter()
        self._connection.request(method, target, body=body, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        return Reply(response.status, data, time.perf_counter() - started)

    def _reconnect(self) -> None:
        self._connection.close()
        self._connection = http.client.HTTPConnection(HOST, self._port)
