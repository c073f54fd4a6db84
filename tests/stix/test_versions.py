"""Version keys sort in time order whatever the number of fractional digits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from allyshare.stix.versions import UNVERSIONED, version_key, version_of

moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.replace(microsecond=0, tzinfo=UTC)
)
fractions = st.text(alphabet="0123456789", max_size=12)


def stamp(moment: datetime, fraction: str) -> str:
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def instant(moment: datetime, fraction: str) -> tuple[datetime, Decimal]:
    return moment, Decimal(f"0.{fraction or '0'}")


@given(moments, fractions, moments, fractions)
def test_key_order_is_time_order(a: datetime, fa: str, b: datetime, fb: str) -> None:
    ka, kb = version_key(stamp(a, fa)), version_key(stamp(b, fb))
    ia, ib = instant(a, fa), instant(b, fb)
    assert (ka < kb) == (ia < ib)
    assert (ka == kb) == (ia == ib)


def test_same_instant_written_differently_is_one_version() -> None:
    assert version_key("2026-01-01T00:00:00.5Z") == version_key("2026-01-01T00:00:00.500Z")
    assert version_key("2026-01-01T00:00:00Z") == version_key("2026-01-01T00:00:00.000Z")


def test_version_prefers_modified_then_created() -> None:
    assert version_of({"created": "a", "modified": "b"}) == "b"
    assert version_of({"created": "a"}) == "a"
    assert version_of({"type": "ipv4-addr"}) == UNVERSIONED
    assert version_key(UNVERSIONED) == UNVERSIONED
