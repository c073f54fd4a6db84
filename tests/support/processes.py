"""Real ``allyshare`` processes on loopback, for tests that drive the node from outside."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process and return its result."""
    return subprocess.run(
        [sys.executable, "-m", "allyshare.cli.main", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


@dataclass
class RunningNode:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]


def let_requests_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify``
    (which is how taxii2-client pins), so tests that pin take them out of the environment."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def pinned_context(certificate: Path) -> ssl.SSLContext:
    """Trust exactly this self-signed certificate, as a partner who pinned it does."""
    return ssl.create_default_context(cafile=str(certificate))


@contextmanager
def serve(
    data_dir: Path,
    env: dict[str, str] | None = None,
    *,
    tls: bool = False,
    port: int | None = None,
) -> Iterator[RunningNode]:
    """A node serving on a loopback port (a free one unless given): HTTPS with its own
    certificate when ``tls``, else plain HTTP (clients pin ``data_dir/node.crt``)."""
    port = port or free_port()
    log_path = data_dir / "server.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allyshare.cli.main",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            *(() if tls else ("--plain-http",)),
        ],
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify: ssl.SSLContext | bool = False
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.flush()
                raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                if tls and verify is False:
                    verify = pinned_context(data_dir / "node.crt")
                httpx.get(f"{url}/taxii2/", timeout=1, verify=verify)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield RunningNode(url, data_dir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
