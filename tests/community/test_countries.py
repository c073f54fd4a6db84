"""Country codes are checked against the ISO 3166-1 list, not only by their shape."""

from __future__ import annotations

import pytest

from allyshare.community import (
    agreement_from_document,
    check_country,
    country_problem,
    is_country,
    organization_id,
)
from allyshare.errors import InvalidInput


@pytest.mark.parametrize("code", ["USA", "KOR", "GBR", "JPN", "DEU", "TWN"])
def test_countries_are_accepted(code: str) -> None:
    assert is_country(code) and country_problem(code) is None and check_country(code) == code


@pytest.mark.parametrize("code", ["XXX", "AAA", "ZZZ", "usa", "US", "USAA", " USA", "", None, 840])
def test_codes_that_name_no_country_are_refused(code: object) -> None:
    problem = country_problem(code, "nationality")
    assert problem is not None and problem.startswith(f"nationality {code!r} is not")
    assert "ISO 3166-1 alpha-3" in problem


def test_agreements_and_organizations_take_only_countries() -> None:
    document = {
        "name": "us-rok-tech",
        "version": 1,
        "parties": {"countries": ["USA", "XXX", "KOR", "QQQ"], "organizations": []},
        "categories": ["cyber-threat"],
        "max_classification": "S",
        "tlp_ceiling": "AMBER",
        "propin_match_only": True,
        "aggregate_k": 3,
    }
    with pytest.raises(InvalidInput, match=r"not \['XXX', 'QQQ'\]"):
        agreement_from_document(document)
    with pytest.raises(InvalidInput, match="'XXX' is not an ISO 3166-1 alpha-3 country code"):
        organization_id("Nowhere", "XXX")
