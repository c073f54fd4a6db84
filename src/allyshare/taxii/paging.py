"""Query parameters of TAXII reads: filters, ``limit`` and the opaque ``next`` cursor.

``next`` carries the ``date_added`` of the last version returned; the following page is the
same query strictly after it (keyset pagination), so a page costs the same wherever it lies.
"""

from __future__ import annotations

import base64
import binascii

from starlette.datastructures import QueryParams

from allyshare.clock import parse_us
from allyshare.errors import InvalidInput
from allyshare.stix.versions import version_key
from allyshare.storage import VersionFilter

_CURSOR_PREFIX = "a1:"
_VERSION_WORDS = {"last", "first", "all"}
KNOWN_PARAMETERS = {
    "added_after",
    "limit",
    "next",
    "match[id]",
    "match[type]",
    "match[version]",
    "match[spec_version]",
}


def encode_cursor(date_added: int) -> str:
    raw = f"{_CURSOR_PREFIX}{date_added}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(f"'next' is not a cursor this server issued: {token!r}") from None
    if not raw.startswith(_CURSOR_PREFIX) or not raw[len(_CURSOR_PREFIX) :].isdigit():
        raise InvalidInput(f"'next' is not a cursor this server issued: {token!r}")
    return int(raw[len(_CURSOR_PREFIX) :])


def _values(params: QueryParams, name: str) -> tuple[str, ...]:
    values: list[str] = []
    for raw in params.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return tuple(values)


def read_filter(params: QueryParams, *, object_id: str | None = None) -> VersionFilter:
    """The version filter a request asks for; bad values raise :class:`InvalidInput`.

    ``object_id`` comes from the path of the per-object endpoints and replaces ``match[id]``.
    """
    ids = _values(params, "match[id]") if object_id is None else (object_id,)
    versions: set[str] = set()
    for value in _values(params, "match[version]"):
        if value in _VERSION_WORDS:
            versions.add(value)
        else:
            parse_us(value)
            versions.add(version_key(value))
    added_after = params.get("added_after")
    return VersionFilter(
        object_ids=ids,
        types=_values(params, "match[type]"),
        spec_versions=_values(params, "match[spec_version]"),
        versions=frozenset(versions) or frozenset({"last"}),
        added_after=parse_us(added_after) if added_after else None,
    )


def read_limit(params: QueryParams, default: int, maximum: int) -> int:
    raw = params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(f"'limit' must be a positive whole number, got {raw!r}")
    return min(int(raw), maximum)


def read_next(params: QueryParams) -> int | None:
    token = params.get("next")
    return None if token is None else decode_cursor(token)
