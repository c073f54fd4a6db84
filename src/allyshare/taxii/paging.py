"""Query parameters of TAXII reads: filters, ``limit`` and the opaque ``next`` cursor.

``next`` carries the collection it was issued for and the ``date_added`` of the last version
returned; the following page is the same query strictly after it (keyset pagination), so a
page costs the same wherever it lies. A cursor is refused on any other collection: it names a
position in one collection's ``date_added`` order and means nothing elsewhere.

Every number a request carries (``limit``, the cursor's position) is read as ASCII digits that
fit in a signed 64-bit integer, the widest the databases hold; anything else is a 400, never a
number the store cannot bind. Within that range a ``limit`` above the largest page is cut to it
(TAXII 2.1 section 3.4: a server may return fewer objects than asked).
"""

from __future__ import annotations

import base64
import binascii
import re

from starlette.datastructures import QueryParams

from allyshare.clock import parse_us
from allyshare.errors import InvalidInput
from allyshare.stix.versions import version_key
from allyshare.storage import VersionFilter

_CURSOR_PREFIX = "a2"
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
LARGEST_NUMBER = 2**63 - 1
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


def encode_cursor(collection_id: str, date_added: int) -> str:
    raw = f"{_CURSOR_PREFIX}:{collection_id}:{date_added}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, collection_id: str) -> int:
    """The ``date_added`` a cursor issued for ``collection_id`` points after."""
    refused = InvalidInput(f"'next' is not a cursor this server issued: {_shown(token)}")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    prefix, _, rest = raw.partition(":")
    issued_for, _, position = rest.rpartition(":")
    if (
        prefix != _CURSOR_PREFIX
        or _WHOLE_NUMBER.fullmatch(position) is None
        or int(position) > LARGEST_NUMBER
    ):
        raise refused
    if issued_for != collection_id:
        raise InvalidInput("'next' is a cursor of another collection; page each one on its own")
    return int(position)


def _shown(value: str) -> str:
    """A request's value quoted in an error, cut short so an answer never echoes a flood."""
    return repr(value) if len(value) <= 80 else repr(value[:77]) + "..."


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
            continue
        try:
            parse_us(value)
        except InvalidInput as exc:
            raise InvalidInput(
                f"match[version] takes last, first, all or RFC 3339 UTC timestamps: {exc}"
            ) from None
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
    if _WHOLE_NUMBER.fullmatch(raw) is None or not 1 <= int(raw) <= LARGEST_NUMBER:
        raise InvalidInput(
            f"'limit' must be a whole number from 1 to {LARGEST_NUMBER}, got {_shown(raw)}"
        )
    return min(int(raw), maximum)


def read_next(params: QueryParams, collection_id: str) -> int | None:
    token = params.get("next")
    return None if token is None else decode_cursor(token, collection_id)
