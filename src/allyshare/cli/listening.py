"""Binding the ports a command serves on before it says anything about them.

``serve`` and ``demo`` take their listening sockets first and hand them to the server, so a
busy port is one line naming it, before any URL or token is printed that would point at
whatever else listens there, and nothing can take the port between the check and the serving.
"""

from __future__ import annotations

import errno
import socket

from allyshare.errors import ConfigError


def listen(host: str, port: int, *, choose: str) -> socket.socket:
    """A socket bound to ``host:port`` as uvicorn binds one (``SO_REUSEADDR``, so a port left
    in TIME_WAIT is free); ConfigError naming the port otherwise, with ``choose`` saying how
    to pick another."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"port {port} is not between 1 and 65535; {choose}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use by another program; {choose}"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
