"""Sightings aggregated per object, on SQLite and PostgreSQL: each reader sees its own
organization's sightings as its own, sighters it may see by name, every other sighter as
"others" with a country, and nothing at all of a sighting it may not read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.errors import NotFound
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, User

from support.agreements import us_rok_tech

AGREEMENT = us_rok_tech(categories=["cyber-threat"], tlp_ceiling="RED")
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
# A marking no node knows: stored fail-closed, its originator's organization alone reads it.
ORIGINATOR_ONLY = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
INDICATOR = "indicator--00000001-0000-4000-8000-000000000000"
OTHER_INDICATOR = "indicator--00000002-0000-4000-8000-000000000000"


def indicator(object_id: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [TLP_GREEN],
    }


def sighting(number: int, where: str, count: int, seen: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "sighting_of_ref": INDICATOR,
        "where_sighted_refs": [where],
        "count": count,
        "first_seen": f"{seen}T00:00:00Z",
        "last_seen": f"{seen}T12:00:00Z",
        "object_marking_refs": [TLP_GREEN],
        **extra,
    }


@dataclass
class Site:
    node: Node
    collection: str
    kisa: User
    hanbit: User
    acme: User
    outsider: User


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="KOR"))
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    hanbit = node.add_organization("HANBIT", country="KOR", kind="company")
    acme = node.add_organization("ACME", country="USA", kind="company")
    outsider = node.add_organization("FAR", country="FRA", kind="company")
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection("Shared", agreement="us-rok-tech").id
    node.add_user("kisa", organization=kisa, roles=["contributor"])
    node.add_user("hanbit", organization=hanbit, roles=["contributor"])
    node.add_user("acme", organization=acme, roles=["contributor"])
    node.add_user("far", organization=outsider, roles=["contributor"])
    users = [node.user(name) for name in ("kisa", "hanbit", "acme", "far")]
    site = Site(node, collection, *users)
    add(site, site.kisa, indicator(INDICATOR), indicator(OTHER_INDICATOR))
    add(site, site.hanbit, sighting(1, identity_of(hanbit), 3, "2026-02-01"))
    add(site, site.hanbit, sighting(2, identity_of(hanbit), 2, "2026-03-01"), anonymous=True)
    add(
        site,
        site.acme,
        sighting(
            3,
            identity_of(acme),
            4,
            "2026-01-15",
            granular_markings=[
                {"marking_ref": ORIGINATOR_ONLY, "selectors": ["where_sighted_refs"]}
            ],
        ),
        # Only ACME may read this one: to anyone else it adds nothing.
        {
            **sighting(4, identity_of(acme), 50, "2025-06-01"),
            "object_marking_refs": [ORIGINATOR_ONLY],
        },
        {**sighting(5, identity_of(acme), 7, "2026-04-01"), "sighting_of_ref": OTHER_INDICATOR},
    )
    yield site
    node.close()


def add(site: Site, user: User, *objects: dict[str, Any], anonymous: bool = False) -> None:
    status = site.node.add_objects(user, site.collection, list(objects), anonymous=anonymous)
    assert status.failure_count == 0, status.failures


def test_a_partner_sees_named_sighters_it_may_see_and_others_by_country(site: Site) -> None:
    seen = site.node.sightings(INDICATOR, actor=site.kisa).as_json()
    assert seen == {
        "sighting_of_ref": INDICATOR,
        "sightings": 3,
        "count": 9,
        "first_seen": "2026-01-15T00:00:00Z",
        "last_seen": "2026-03-01T12:00:00Z",
        "countries": ["KOR", "USA"],
        "own": {"sightings": 0, "count": 0, "first_seen": None, "last_seen": None},
        "sighters": [
            {
                "where_sighted_refs": [identity_of("KOR.HANBIT")],
                "sightings": 1,
                "count": 3,
                "first_seen": "2026-02-01T00:00:00Z",
                "last_seen": "2026-02-01T12:00:00Z",
            }
        ],
        "others": {
            "sightings": 2,
            "count": 6,
            "first_seen": "2026-01-15T00:00:00Z",
            "last_seen": "2026-03-01T12:00:00Z",
            "countries": ["KOR", "USA"],
        },
    }
    text = orjson.dumps(seen)
    assert identity_of("USA.ACME").encode() not in text


def test_own_sightings_are_ones_own_anonymous_ones_too(site: Site) -> None:
    seen = site.node.sightings(INDICATOR, actor=site.hanbit)
    assert (seen.own.sightings, seen.own.count) == (2, 5)
    assert seen.named == {}
    assert (seen.others.sightings, seen.others.count) == (1, 4)
    assert seen.other_countries == {"USA"}
    acme = site.node.sightings(INDICATOR, actor=site.acme)
    assert (acme.own.sightings, acme.own.count) == (2, 54)
    assert list(acme.named) == [(identity_of("KOR.HANBIT"),)]
    assert (acme.others.sightings, acme.other_countries) == (1, {"KOR"})


def test_only_the_latest_version_of_a_sighting_counts(site: Site) -> None:
    newer = {
        **sighting(1, identity_of("KOR.HANBIT"), 10, "2026-02-01"),
        "modified": "2026-05-01T00:00:00.000Z",
    }
    add(site, site.hanbit, newer)
    seen = site.node.sightings(INDICATOR, actor=site.kisa)
    assert (seen.total.sightings, seen.total.count) == (3, 16)


def test_an_object_the_reader_may_not_see_is_not_found(site: Site) -> None:
    with pytest.raises(NotFound) as missing:
        site.node.sightings(INDICATOR, actor=site.outsider)
    with pytest.raises(NotFound) as absent:
        site.node.sightings("indicator--00000009-0000-4000-8000-000000000000", actor=site.kisa)
    assert str(missing.value).replace(INDICATOR, "X") == str(absent.value).replace(
        "indicator--00000009-0000-4000-8000-000000000000", "X"
    )


def test_the_aggregate_is_a_recorded_read_naming_anonymous_sighters_by_pseudonym(
    site: Site,
) -> None:
    site.node.sightings(INDICATOR, actor=site.kisa)
    [entry] = [
        e
        for e in site.node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
        if e.get("detail", {}).get("sightings_of") == INDICATOR
    ]
    assert entry["actor"]["name"] == "kisa"
    originators = set(entry["objects"])
    assert "USA.ACME" in originators and "KOR.HANBIT" in originators
    assert any(name.startswith("anonymous:") for name in originators)
    counted = sorted(ref[0] for refs in entry["objects"].values() for ref in refs)
    assert counted == [f"sighting--{n:08d}-0000-4000-8000-000000000000" for n in (1, 2, 3)]
