"""Version keys: how object versions are ordered and matched.

STIX timestamps may carry any number of fractional digits (``...:00Z``, ``...:00.1Z``,
``...:00.123456Z``), so comparing the strings as written orders them wrongly. The key drops the
``Z`` and trailing zeros and pads the fraction to at least nine digits, which sorts as text in
time order on every database, and makes ``...:00.5Z`` and ``...:00.500Z`` the same version.
Objects without
``modified`` or ``created`` (most SCOs) have a single, unversioned copy, keyed by the empty
string.
"""

from __future__ import annotations

UNVERSIONED = ""


def version_of(obj: dict[str, object]) -> str:
    """The timestamp that names this version: ``modified``, else ``created``, else none."""
    value = obj.get("modified") or obj.get("created")
    return value if isinstance(value, str) else UNVERSIONED


def version_key(timestamp: str) -> str:
    """A text key that sorts in time order; ``timestamp`` must already be valid RFC 3339 UTC."""
    if not timestamp:
        return UNVERSIONED
    body = timestamp[:-1] if timestamp.endswith("Z") else timestamp
    seconds, _, fraction = body.partition(".")
    return f"{seconds}.{fraction.rstrip('0').ljust(9, '0')}"
