"""Server timestamps as integer microseconds, and their RFC 3339 form.

``date_added`` and status request times are assigned by this node; integers make them cheap to
index, compare and keep strictly increasing.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from allyshare.errors import InvalidInput

_TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    return time.time_ns() // 1000


def format_us(microseconds: int) -> str:
    """RFC 3339 UTC with six fractional digits, the precision ``date_added`` is kept at."""
    seconds, fraction = divmod(microseconds, 1_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{fraction:06d}Z"


def parse_us(text: str) -> int:
    """Microseconds since the epoch; digits beyond the microsecond are dropped (floor)."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise InvalidInput(f"not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z): {text!r}")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError as exc:
        raise InvalidInput(f"not a valid date and time: {text!r} ({exc})") from None
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + micro
