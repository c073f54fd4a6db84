"""Agreement documents: the issue's example loads; every broken field is named."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from allyshare.community import (
    agreement_from_document,
    agreement_toml,
    organization_id,
    read_agreement_file,
)
from allyshare.errors import InvalidInput
from allyshare.policy import Classification, Organization, Tlp

from support.agreements import US_ROK_TECH


def test_the_example_agreement_loads_from_toml_and_json(tmp_path: Path) -> None:
    toml_file = tmp_path / "us-rok.toml"
    toml_file.write_text(US_ROK_TECH)
    agreement = read_agreement_file(toml_file)
    assert agreement.name == "us-rok-tech" and agreement.version == 1
    assert agreement.party_countries == {"USA", "KOR"}
    assert agreement.max_classification is Classification.S
    assert agreement.tlp_ceiling is Tlp.AMBER
    assert agreement.propin_match_only and agreement.aggregate_k == 3
    assert agreement.retention_days == 730
    assert agreement.has_party(Organization("KOR.KRCERT", "KrCERT", "KOR"))
    assert not agreement.has_party(Organization("JPN.JPCERT", "JPCERT", "JPN"))
    json_file = tmp_path / "us-rok.json"
    json_file.write_text(json.dumps({**_document(), "retention_days": 730}))
    assert read_agreement_file(json_file) == agreement


def _document() -> dict[str, object]:
    return {
        "name": "us-rok-tech",
        "version": 1,
        "parties": {"countries": ["USA", "KOR"], "organizations": []},
        "categories": ["cyber-threat", "sensitive-technology", "supply-chain", "economic-coercion"],
        "max_classification": "S",
        "tlp_ceiling": "AMBER",
        "propin_match_only": True,
        "aggregate_k": 3,
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"version": 0}, "'version'"),
        ({"version": True}, "'version'"),
        ({"name": "US ROK"}, "'name'"),
        ({"parties": {"countries": ["usa"]}}, "alpha-3"),
        ({"parties": {"countries": [], "organizations": []}}, "at least one party"),
        ({"categories": ["gossip"]}, "gossip"),
        ({"max_classification": "SECRET"}, "classification"),
        ({"tlp_ceiling": "PURPLE"}, "TLP"),
        ({"aggregate_k": 0}, "aggregate_k"),
        ({"surprise": 1}, "unknown fields"),
    ],
)
def test_each_problem_is_named(change: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidInput, match="agreement refused") as caught:
        agreement_from_document({**_document(), **change})
    assert named in str(caught.value)


def test_missing_fields_are_all_listed() -> None:
    with pytest.raises(InvalidInput) as caught:
        agreement_from_document({"name": "x"})
    for name in ("version", "parties", "categories", "max_classification", "tlp_ceiling"):
        assert f"'{name}' is required" in str(caught.value)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(InvalidInput, match=r"broken\.toml"):
        read_agreement_file(broken)


def test_organization_ids_follow_acs_style() -> None:
    assert organization_id("KrCERT/CC", "KOR") == "KOR.KRCERT-CC"
    with pytest.raises(InvalidInput):
        organization_id("x", "Korea")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"retention_days": None, "tlp_ceiling": "AMBER+STRICT", "reveal_approvals": 2},
        {"parties": {"countries": [], "organizations": ['KOR.Quote"d\\Name']}},
    ],
)
def test_an_agreement_written_as_toml_reads_back_as_the_same_agreement(
    changes: dict[str, object],
) -> None:
    agreement = agreement_from_document({**tomllib.loads(US_ROK_TECH), **changes})
    assert agreement_from_document(tomllib.loads(agreement_toml(agreement))) == agreement
