"""What a value typed into a lookup is: the observable types it can be, most specific first, each
with its normalized value. A lookup names the type when it knows it (``type=domain-name``);
otherwise ``10.0.0.1`` is an address, ``evil.example`` a domain (a word without a dot is
not), ``d41d8...`` a hash, and so on. A name is looked up as one only when asked for
(``type=name``): any text may be a name.
"""

from __future__ import annotations

import re

from allyshare.observables.extract import NAME, normalize_name
from allyshare.observables.normalize import normalize

__all__ = ["candidates"]

_HASH_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
_HEX = re.compile(r"[0-9a-fA-F]+")
_AS = re.compile(r"AS\s*[0-9]+", re.IGNORECASE)


def candidates(value: str, kind: str | None = None) -> list[tuple[str, str]]:
    """(type, normalized value) pairs ``value`` may be; empty when it is none of them."""
    if kind is not None:
        normalized = normalize_name(value) if kind == NAME else normalize(kind, value)
        return [] if normalized is None else [(kind, normalized)]
    text = value.strip()
    order: tuple[str, ...]
    if "://" in text:
        order = ("url",)
    elif "@" in text:
        order = ("email-addr",)
    elif _HEX.fullmatch(text) and len(text) in _HASH_LENGTHS:
        order = ("file", "x509-certificate")
    elif _AS.fullmatch(text):
        order = ("autonomous-system",)
    elif "." in text.rstrip("."):
        order = ("ipv4-addr", "mac-addr", "domain-name")
    else:  # a name without a dot is a word, not a domain, unless the type says so
        order = ("ipv6-addr", "mac-addr")
    found = []
    for each in order:
        normalized = normalize(each, text)
        if normalized is not None:
            found.append((each, normalized))
            if each not in ("file", "x509-certificate"):
                break
    return found
