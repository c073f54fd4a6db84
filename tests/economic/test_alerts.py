"""The pattern alert, on incidents written as the data model has them: one coercing state,
one measure, two or more parties within the window, from at least k organizations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from allyshare.economic.alerts import add_months, patterns
from allyshare.economic.views import COERCION_EXTENSION_ID, Contribution

PARTIES = {"KOR", "JPN", "USA", "AUS"}
COLLECTION = "collection--6d0b2f5e-0000-4000-8000-000000000001"


def incident(
    number: int, target: str, start: str, measures: tuple[str, ...] = ("export-restriction",)
) -> dict[str, Any]:
    return {
        "type": "incident",
        "spec_version": "2.1",
        "id": f"incident--{number:08d}-0000-4000-8000-000000000000",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": f"measure against {target}",
        "extensions": {
            COERCION_EXTENSION_ID: {
                "extension_type": "property-extension",
                "coercing_state": "CHN",
                "targeted_country": target,
                "targeted_sectors": ["rare-earths"],
                "measures": list(measures),
                "start": start,
            }
        },
    }


def test_two_parties_within_the_window_from_k_organizations_make_a_pattern() -> None:
    found = patterns(
        [
            Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
            Contribution(incident(2, "JPN", "2023-10-20T00:00:00Z"), "JPN.B"),
        ],
        PARTIES,
        k=2,
        months=12,
    )
    assert len(found) == 1
    note = found[0].note(COLLECTION, "2024-02-01T00:00:00.000Z", ["marking-definition--x"])
    assert note["content"] == (
        "CHN applied export-restriction to KOR (2023-07) and JPN (2023-10) within 12 months"
    )
    assert note["abstract"] == "CHN export-restriction against 2 parties within 12 months"
    assert note["object_refs"] == [
        "incident--00000001-0000-4000-8000-000000000000",
        "incident--00000002-0000-4000-8000-000000000000",
    ]
    assert note["object_marking_refs"] == ["marking-definition--x"]
    assert (note["created"], note["modified"]) == (
        "2023-10-20T00:00:00.000Z",
        "2024-02-01T00:00:00.000Z",
    )
    again = patterns(
        [
            Contribution(incident(2, "JPN", "2023-10-20T00:00:00Z"), "JPN.B"),
            Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
        ],
        PARTIES,
        k=2,
        months=12,
    )
    assert again[0].note_id(COLLECTION) == found[0].note_id(COLLECTION) == note["id"]


def test_a_grown_pattern_keeps_its_note_id_in_its_collection() -> None:
    first = [
        Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
        Contribution(incident(2, "JPN", "2023-10-20T00:00:00Z"), "JPN.B"),
    ]
    joined = Contribution(incident(3, "USA", "2023-12-01T00:00:00Z"), "USA.C")
    [pattern] = patterns(first, PARTIES, k=2, months=12)
    [grown] = patterns([*first, joined], PARTIES, k=2, months=12)
    assert len(grown.incidents) == 3
    assert grown.note_id(COLLECTION) == pattern.note_id(COLLECTION)
    assert grown.note_id("collection--elsewhere") != pattern.note_id(COLLECTION)
    kept = grown.note(COLLECTION, "2024-02-01T00:00:00.000Z", [], pattern.created)
    assert kept["created"] == pattern.created != grown.created


def test_fewer_than_k_organizations_make_no_pattern() -> None:
    reported = [
        Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
        Contribution(incident(2, "JPN", "2023-10-20T00:00:00Z"), "KOR.A"),
    ]
    assert patterns(reported, PARTIES, k=2, months=12) == []
    assert len(patterns(reported, PARTIES, k=1, months=12)) == 1


@pytest.mark.parametrize(
    ("second", "months", "alerted"),
    [
        ("2024-07-03T00:00:00Z", 12, True),
        ("2024-07-04T00:00:00Z", 12, False),
        ("2023-12-01T00:00:00Z", 6, True),
        ("2024-01-04T00:00:00Z", 6, False),
    ],
)
def test_the_window_is_counted_in_months(second: str, months: int, alerted: bool) -> None:
    reported = [
        Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
        Contribution(incident(2, "JPN", second), "JPN.B"),
    ]
    assert bool(patterns(reported, PARTIES, k=2, months=months)) == alerted


def test_one_country_twice_a_non_party_or_another_measure_is_no_pattern() -> None:
    same_country = [
        Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
        Contribution(incident(2, "KOR", "2023-08-03T00:00:00Z"), "USA.B"),
    ]
    not_a_party = [
        Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
        Contribution(incident(2, "LTU", "2023-08-03T00:00:00Z"), "USA.B"),
    ]
    other_measure = [
        Contribution(incident(1, "KOR", "2023-07-03T00:00:00Z"), "KOR.A"),
        Contribution(incident(2, "JPN", "2023-08-03T00:00:00Z", ("tariff",)), "JPN.B"),
    ]
    for reported in (same_country, not_a_party, other_measure):
        assert patterns(reported, PARTIES, k=2, months=12) == []


def test_a_window_inside_another_pattern_is_not_told_again() -> None:
    reported = [
        Contribution(incident(1, "KOR", "2023-01-03T00:00:00Z"), "KOR.A"),
        Contribution(incident(2, "JPN", "2023-03-03T00:00:00Z"), "JPN.B"),
        Contribution(incident(3, "AUS", "2023-05-03T00:00:00Z"), "AUS.C"),
        Contribution(incident(4, "USA", "2024-09-03T00:00:00Z"), "USA.D"),
    ]
    found = patterns(reported, PARTIES, k=2, months=12)
    assert [len(p.incidents) for p in found] == [3]
    assert found[0].content == (
        "CHN applied export-restriction to KOR (2023-01), JPN (2023-03) and AUS (2023-05) "
        "within 12 months"
    )


def test_a_month_without_the_day_ends_at_its_last_day() -> None:
    assert add_months(datetime(2023, 1, 31, tzinfo=UTC), 1) == datetime(2023, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2023, 11, 5, tzinfo=UTC), 14) == datetime(2025, 1, 5, tzinfo=UTC)
