"""Connections to peers, pinned to the certificate recorded for each.

A peer's self-signed certificate is the only trust anchor its connections accept, and host
names are not checked against it: the certificate itself is what was agreed on, wherever the
peer answers from. Plain HTTP is only for servers on a loopback address (a TAXII server
beside the node, as in tests); anything else must be HTTPS.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from urllib.parse import urlsplit

import httpx

from allyshare.errors import InvalidInput
from allyshare.keys import fingerprint

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """The URL with a trailing slash, if it may be used for a peer; else why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidInput(f"{url!r}: a peer off this machine must be reached over https")
    return url if url.endswith("/") else url + "/"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def presented_certificate(url: str) -> bytes:
    """The certificate the server at ``url`` presents, unverified: only its fingerprint,
    compared with the one the operator was given, makes it trusted."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        pem = ssl.get_server_certificate((host, port), timeout=10)
    except OSError as exc:
        raise InvalidInput(f"could not fetch the certificate of {host}:{port}: {exc}") from None
    return pem.encode()


def pin(url: str, certificate: bytes | None, expected_fingerprint: str | None) -> bytes:
    """The certificate to pin for ``url``: the given one, or the one the server presents, and
    in either case only if it has the expected fingerprint (when one is given)."""
    if urlsplit(url).scheme == "http":
        if certificate or expected_fingerprint:
            raise InvalidInput("a certificate is pinned only for an https URL")
        return b""
    if certificate is None:
        if expected_fingerprint is None:
            raise InvalidInput("give the peer's certificate fingerprint or certificate file")
        certificate = presented_certificate(url)
    found = fingerprint(certificate)
    if expected_fingerprint is not None and found != expected_fingerprint:
        log.warning(
            "peer certificate refused",
            extra={"url": url, "presented": found, "expected": expected_fingerprint},
        )
        raise InvalidInput(
            f"{url} presents a certificate with fingerprint {found}, not {expected_fingerprint}"
        )
    return certificate


def pinned_client(certificate: bytes) -> httpx.Client:
    """An HTTP client that trusts exactly ``certificate`` (any client for plain HTTP)."""
    verify: ssl.SSLContext | bool = True
    if certificate:
        context = ssl.create_default_context(cadata=certificate.decode())
        context.check_hostname = False
        verify = context
    return httpx.Client(verify=verify, timeout=TIMEOUT)
