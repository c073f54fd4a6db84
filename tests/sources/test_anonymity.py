"""Making a contribution anonymous: the community pseudonym replaces the contributor's traces,
what the contributor lists is taken out, and everything taken out is kept for sealing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from allyshare.community import identity_of
from allyshare.errors import InvalidObject
from allyshare.sources import IDENTIFYING, anonymize, community_identity, community_identity_id

CISA = identity_of("USA.CISA")
PSEUDONYM = community_identity_id("us-rok-tech")


def report(**extra: Any) -> dict[str, Any]:
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": "report--0b6a2e0c-6a47-4f3e-9d4b-54c9b0a1c111",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Wafer-fab phishing",
        "published": "2026-01-01T00:00:00Z",
        "object_refs": ["indicator--0b6a2e0c-6a47-4f3e-9d4b-54c9b0a1c112"],
        "created_by_ref": CISA,
        **extra,
    }


def test_the_community_identity_is_valid_stix_and_the_same_everywhere() -> None:
    identity = community_identity("us-rok-tech")
    assert identity["id"] == PSEUDONYM == community_identity_id("us-rok-tech")
    assert community_identity_id("usa-national") != PSEUDONYM
    assert validate_instance(identity, ValidationOptions(version="2.1")).is_valid


def test_the_author_and_what_the_contributor_lists_are_taken_out() -> None:
    obj = report(
        x_acme_case="ACME-2231",
        external_references=[
            {"source_name": "acme-ticket", "external_id": "T-1"},
            {"source_name": "cve", "external_id": "CVE-2026-0001"},
        ],
        **{IDENTIFYING: ["x_acme_case", "external_references.[0]"]},
    )
    done = anonymize(obj, CISA, PSEUDONYM)
    assert done.public["created_by_ref"] == PSEUDONYM
    assert "x_acme_case" not in done.public and IDENTIFYING not in done.public
    assert done.public["external_references"] == [
        {"source_name": "cve", "external_id": "CVE-2026-0001"}
    ]
    assert done.withheld == {
        "created_by_ref": CISA,
        "removed": {
            "x_acme_case": "ACME-2231",
            "external_references.[0]": {"source_name": "acme-ticket", "external_id": "T-1"},
        },
    }
    assert validate_instance(done.public, ValidationOptions(version="2.1")).is_valid
    assert obj["created_by_ref"] == CISA, "the submitted object is left as it was"


def test_a_sighting_names_the_community_where_it_was_sighted() -> None:
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--0b6a2e0c-6a47-4f3e-9d4b-54c9b0a1c113",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "sighting_of_ref": "indicator--0b6a2e0c-6a47-4f3e-9d4b-54c9b0a1c112",
        "where_sighted_refs": [CISA, identity_of("USA.CISA-LAB")],
    }
    done = anonymize(sighting, CISA, PSEUDONYM)
    assert done.public["where_sighted_refs"] == [PSEUDONYM]
    assert done.public["created_by_ref"] == PSEUDONYM
    assert done.withheld == {
        "created_by_ref": None,
        "where_sighted_refs": [CISA, identity_of("USA.CISA-LAB")],
    }


def test_an_observable_has_no_author_to_replace() -> None:
    address = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--0b6a2e0c-6a47-4f3e-9d4b-54c9b0a1c114",
        "value": "198.51.100.7",
    }
    assert anonymize(address, CISA, PSEUDONYM).public == address


@pytest.mark.parametrize(
    ("listed", "problem"),
    [
        ("x_acme_case", "must be a list"),
        (["name"], "'name' is not an x_ property"),
        (["x_missing"], "'x_missing' is not"),
        (["external_references.[5]"], r"'external_references\.\[5\]' is not"),
        (["x_acme_case", "x_marked"], "which a granular marking selects"),
    ],
)
def test_what_cannot_be_taken_out_is_refused_with_the_reason(listed: object, problem: str) -> None:
    obj = report(
        x_acme_case="ACME-2231",
        x_marked="kept",
        granular_markings=[
            {
                "marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                "selectors": ["x_marked"],
            }
        ],
        **{IDENTIFYING: listed},
    )
    with pytest.raises(InvalidObject, match=problem):
        anonymize(obj, CISA, PSEUDONYM)


def test_the_contributors_own_identity_object_is_refused() -> None:
    identity = {**community_identity("x"), "id": CISA, "name": "CISA"}
    with pytest.raises(InvalidObject, match="cannot carry its contributor's identity"):
        anonymize(identity, CISA, PSEUDONYM)


@given(
    extra=st.dictionaries(
        st.from_regex(r"x_[a-z]{1,8}", fullmatch=True),
        st.text(min_size=1, max_size=20),
        min_size=1,
        max_size=5,
    ),
    data=st.data(),
)
def test_nothing_listed_survives_and_everything_taken_out_is_kept(
    extra: dict[str, str], data: st.DataObject
) -> None:
    listed = data.draw(st.lists(st.sampled_from(sorted(extra)), unique=True, min_size=1))
    obj = report(**extra, **{IDENTIFYING: listed})
    done = anonymize(obj, CISA, PSEUDONYM)
    public_text = str(done.public)
    assert CISA not in public_text
    for name in listed:
        assert name not in done.public
        assert done.withheld["removed"][name] == extra[name]
    for name in set(extra) - set(listed):
        assert done.public[name] == extra[name]
