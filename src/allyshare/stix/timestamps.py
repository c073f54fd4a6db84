"""STIX 2.1 timestamps kept as the strings the producer wrote.

Objects are stored and compared with their timestamps exactly as given (a version is keyed by
its `modified` string), so these helpers check and order the strings themselves instead of
converting to `datetime`, which would also lose digits beyond the microsecond.
"""

from __future__ import annotations

import re

# RFC 3339 in UTC with a literal `Z`, as STIX 2.1 requires, with the ranges of
# stix2-validator 3.2.0's JSON schema; `[0-9]` rather than `\d`, which takes any Unicode digit.
# Year 0000 and leap seconds (`:60`) are refused: RFC 3339 allows the latter, but neither
# stix2-validator nor Python's datetime can represent either, so accepting them would only move
# the failure to whoever reads the object next.
_TIMESTAMP_RE = re.compile(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?Z"
)
_LEAP_SECOND_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:60(?:\.[0-9]+)?Z")

_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def timestamp_error(value: object) -> str | None:
    """Say what is wrong with a STIX timestamp, or None when it is valid."""
    if type(value) is not str:
        return f"must be a timestamp string, not {type(value).__name__}"
    if _TIMESTAMP_RE.fullmatch(value) is None:
        if _LEAP_SECOND_RE.fullmatch(value) is not None:
            return f"{value!r} is a leap second, which is not supported; use :59.999Z"
        if value.startswith("0000"):
            return f"{value!r} has year 0000, which is not supported"
        return (
            f"{value[:40]!r} is not a STIX timestamp; use RFC 3339 in UTC, "
            "YYYY-MM-DDTHH:MM:SS[.fraction]Z"
        )
    day = value[8:10]
    if day > "28":
        year = int(value[:4])
        month = int(value[5:7])
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        last = 28 if month == 2 and not leap else _DAYS_IN_MONTH[month]
        if int(day) > last:
            return f"{value!r} is not a calendar date"
    return None


def has_millisecond_precision(value: str) -> bool:
    """Whether a valid timestamp carries at least three fractional digits.

    STIX 2.1 wants `created` and `modified` precise to the millisecond; stix2-validator's
    `timestamp_millis` rule reads that as "three or more digits", and so do we.
    """
    return len(value) >= 24 and value[19] == "."


def timestamp_order_key(value: str) -> tuple[str, str]:
    """A key that sorts valid timestamps chronologically.

    Plain string order fails when fractions differ in length ("…00Z" sorts after "…00.5Z"), so
    the fraction is compared separately with its trailing zeros dropped, which makes the
    digit strings compare like the numbers they spell.
    """
    return value[:19], value[20:-1].rstrip("0")


def is_later_or_equal(later: str, earlier: str) -> bool:
    """Whether valid timestamp `later` is at or after `earlier`."""
    if len(later) == len(earlier):
        return later >= earlier
    return timestamp_order_key(later) >= timestamp_order_key(earlier)


def is_later(later: str, earlier: str) -> bool:
    """Whether valid timestamp `later` is strictly after `earlier`."""
    if len(later) == len(earlier):
        return later > earlier
    return timestamp_order_key(later) > timestamp_order_key(earlier)
