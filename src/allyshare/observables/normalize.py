"""One spelling per observable value, so that the same address, domain or hash written two ways
is one value in the index and in a lookup.

- ``ipv4-addr``, ``ipv6-addr``: the address as :mod:`ipaddress` writes it (IPv6 compressed,
  lower case, an IPv4-mapped address stays IPv6); a CIDR range is kept as a range, its network
  address with the prefix (``10.0.0.0/8``; ``10.0.0.7/8`` is that range too), and a ``/32`` or
  ``/128`` is the address itself.
- ``domain-name``: lower case, without the trailing dot of a fully qualified name;
  internationalised names in their ASCII (IDNA) form.
- ``url``: scheme and host in lower case (the host as a domain above), the default port of
  ``http``/``https`` dropped; path, query and fragment kept as written, being case-sensitive.
- ``email-addr``: lower case, the domain as above (mail systems treat local parts alike
  whatever their case, and partners write them both ways).
- ``mac-addr``: lower case, colon-separated (``-`` and ``.`` forms accepted).
- ``autonomous-system``: the number, as decimal (``AS15169`` and ``15169`` alike).
- ``file`` and ``x509-certificate`` hashes: lower-case hexadecimal (ssdeep and TLSH kept as
  written, their letters being meaningful).

A value that does not parse as its type is not indexed (None): the index is for lookups, and a
malformed value found nowhere else would only add noise.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["KINDS", "Range", "normalize", "range_of"]

_HEX = re.compile(r"[0-9a-fA-F]+")
_MAC = re.compile(r"[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}|[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}")
_AS = re.compile(r"(?:as)?\s*([0-9]{1,10})", re.IGNORECASE)
_DOMAIN = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Range(tuple[str, str]):
    """An address range as its lowest and highest address, each as 32 hexadecimal digits, so
    that text comparison orders them as numbers."""


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")
"""An IPv4 address as `ipaddress` writes it (no leading zeros): most are, and are kept as
they are without parsing."""


def _ip(value: str, version: int) -> str | None:
    text = value.strip()
    if _CANONICAL_IPV4.fullmatch(text):
        return text if version == 4 else None
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            if network.version != version:
                return None
            if network.num_addresses == 1:
                return str(network.network_address)
            return str(network)
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return str(address) if address.version == version else None


def _domain(value: str) -> str | None:
    text = value.strip().rstrip(".").lower()
    if not text:
        return None
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return text if _DOMAIN.fullmatch(text) else None


def _url(value: str) -> str | None:
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = _ip(parts.hostname, 4) or _ip(parts.hostname, 6) or _domain(parts.hostname)
    if host is None:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password else "")
        host = f"{credentials}@{host}"
    return urlunsplit((scheme, host, parts.path, parts.query, parts.fragment))


def _email(value: str) -> str | None:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return None
    normalized = _domain(domain)
    return None if normalized is None else f"{local.lower()}@{normalized}"


def _mac(value: str) -> str | None:
    text = value.strip().lower()
    if not _MAC.fullmatch(text):
        return None
    digits = re.sub(r"[^0-9a-f]", "", text)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _asn(value: str) -> str | None:
    found = _AS.fullmatch(value.strip())
    if found is None or int(found.group(1)) > 0xFFFFFFFF:
        return None
    return str(int(found.group(1)))


def _hash(value: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    return text.lower() if _HEX.fullmatch(text) else text


KINDS: Final[dict[str, Callable[[str], str | None]]] = {
    "ipv4-addr": lambda value: _ip(value, 4),
    "ipv6-addr": lambda value: _ip(value, 6),
    "domain-name": _domain,
    "url": _url,
    "email-addr": _email,
    "mac-addr": _mac,
    "autonomous-system": _asn,
    "file": _hash,
    "x509-certificate": _hash,
}
"""Each observable type the index holds, and how its values are normalized."""


def normalize(kind: str, value: object) -> str | None:
    """The value as the index spells it, or None if it is not one of ``kind``."""
    normalizer = KINDS.get(kind)
    if normalizer is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or len(value) > 2048:
        return None
    return normalizer(value)


def range_of(kind: str, value: str) -> Range | None:
    """The range a normalized address value covers, if it is a CIDR range."""
    if kind not in ("ipv4-addr", "ipv6-addr") or "/" not in value:
        return None
    network = ipaddress.ip_network(value)
    low, high = int(network.network_address), int(network.broadcast_address)
    return Range((f"{low:032x}", f"{high:032x}"))


def address_key(kind: str, value: str) -> str | None:
    """A single address as the 32 hexadecimal digits ranges are compared with."""
    if kind not in ("ipv4-addr", "ipv6-addr") or "/" in value:
        return None
    return f"{int(ipaddress.ip_address(value)):032x}"
