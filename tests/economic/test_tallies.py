"""The tallies that keep the views as incidents and exposures come and go give, after any
sequence of additions, removals and new versions, the view computed afresh from what is
left, cell for cell and byte for byte."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from allyshare.economic.views import (
    CoercionTally,
    CoercionView,
    Exposure,
    Impact,
    Incident,
    SupplyChainTally,
    SupplyChainView,
    coercion_view_of,
    supply_chain_view_of,
)

IDS = [f"incident--{n}" for n in range(8)]
ORGANIZATIONS = ["KOR.A", "KOR.B", "USA.C", "JPN.D"]
STARTS = [datetime(2023, 2, 1, tzinfo=UTC), datetime(2023, 8, 1, tzinfo=UTC)]

incidents = st.builds(
    Incident,
    id=st.sampled_from(IDS),
    organization=st.sampled_from(ORGANIZATIONS),
    coercing_state=st.sampled_from(["CHN", "RUS"]),
    measures=st.sets(st.sampled_from(["tariff", "boycott", "import-ban"]), min_size=1).map(
        lambda found: tuple(sorted(found))
    ),
    sectors=st.sets(st.sampled_from(["steel", "tourism"]), min_size=1).map(
        lambda found: tuple(sorted(found))
    ),
    start=st.sampled_from(STARTS),
    targeted_country=st.sampled_from([None, "KOR", "USA", "AUS"]),
    impact=st.one_of(
        st.none(),
        st.builds(
            Impact,
            currency=st.sampled_from(["USD", "KRW"]),
            low=st.integers(0, 50).map(float),
            high=st.integers(50, 100).map(float),
        ),
    ),
)
exposures = st.builds(
    Exposure,
    id=st.sampled_from([f"exposure--{n}" for n in range(8)]),
    organization=st.sampled_from(ORGANIZATIONS),
    category=st.sampled_from(["5g-ran", "photoresists"]),
    vendor=st.sampled_from(["identity--a", "identity--b", "identity--c"]),
    vendor_name=st.sampled_from([None, "Vendor"]),
    vendor_country=st.sampled_from(["CHN", "SWE", "JPN"]),
    share=st.integers(1, 100).map(lambda n: n / 100),
)


class Counted(Protocol):
    id: str


class Tally(Protocol):
    def add(self, item: Any, /) -> None: ...
    def remove(self, item: Any, /) -> None: ...
    def view(self) -> CoercionView | SupplyChainView: ...


def follow(
    tally: Tally,
    fresh: Callable[[Iterable[Any]], CoercionView | SupplyChainView],
    batches: list[list[tuple[bool, Counted]]],
) -> None:
    """Feed the batches (an item kept, or only its earlier version taken away) and compare
    the tally with a view computed afresh after each."""
    held: dict[str, Counted] = {}
    for batch in batches:
        for keep, item in batch:
            earlier = held.pop(item.id, None)
            if earlier is not None:
                tally.remove(earlier)
            if keep:
                held[item.id] = item
                tally.add(item)
        kept, computed = tally.view(), fresh(held.values())
        assert kept == computed
        assert kept.encoded == orjson.dumps(computed.as_json())


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(1, 3),
    batches=st.lists(st.lists(st.tuples(st.booleans(), incidents), max_size=6), max_size=5),
)
def test_a_coercion_tally_is_the_view_of_what_it_holds(
    k: int, batches: list[list[tuple[bool, Counted]]]
) -> None:
    follow(CoercionTally(k), lambda held: coercion_view_of(held, k), batches)


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(1, 3),
    batches=st.lists(st.lists(st.tuples(st.booleans(), exposures), max_size=6), max_size=5),
)
def test_a_supply_chain_tally_is_the_view_of_what_it_holds(
    k: int, batches: list[list[tuple[bool, Counted]]]
) -> None:
    follow(SupplyChainTally(k), lambda held: supply_chain_view_of(held, k), batches)
