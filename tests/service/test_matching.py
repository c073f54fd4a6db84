"""Private matching through the service, on SQLite and PostgreSQL: a member learns exactly which
of its values the match-only data it may not read holds; nothing else leaks to it; data
another rule keeps from it matches nothing; the budget holds, across a restart; and the
holder's organization sees who matched how many of its values, never which."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

import allyshare.service.matching
from allyshare.config import Settings
from allyshare.errors import InvalidInput, OverBudget, PermissionDenied
from allyshare.policy import ACS_EXTENSION_ID, ALLYSHARE_EXTENSION_ID
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, User, VersionFilter

from support.agreements import us_rok_tech

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
MATCH_ONLY = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--6c1c1a3e-0000-4000-8000-000000000001",
    "created": "2026-01-01T00:00:00.000Z",
    "name": "Match-only: KISA reads it, other members may only match against it",
    "extensions": {
        ALLYSHARE_EXTENSION_ID: {
            "extension_type": "property-extension",
            "match_only": True,
            "recipients": ["KOR.KISA"],
        }
    },
}
HELD = ["198.51.100.7", "c2.hanbit-lure.example", "203.0.113.44"]
"""What Hanbit shares match-only; the last only in a GREEN indicator others may read."""
SECRET_ONLY = "192.0.2.99"
"""A value Hanbit holds match-only that no one asks about: it must never reach a matcher."""


def indicator(number: int, value: str, marking: str) -> dict[str, Any]:
    path = "ipv4-addr" if value[0].isdigit() else "domain-name"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[{path}:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking],
    }


@dataclass
class Site:
    node: Node
    collection: str
    settings: Settings

    def user(self, name: str) -> User:
        return self.node.user(name)


def open_node(settings: Settings) -> Node:
    return Node.open(settings)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, country="KOR")
    node = open_node(settings)
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"], match_budget=8))
    for name, country, kind in (
        ("HANBIT", "KOR", "company"),
        ("KISA", "KOR", "cert"),
        ("CISA", "USA", "cert"),
    ):
        organization = node.add_organization(name, country=country, kind=kind)
        node.add_user(name.lower(), organization=organization, roles=["contributor"])
    collection = node.add_collection("Shared", agreement="us-rok-tech").id
    objects = [
        MATCH_ONLY,
        indicator(1, HELD[0], MATCH_ONLY["id"]),
        indicator(2, HELD[1], MATCH_ONLY["id"]),
        indicator(3, HELD[2], GREEN),
        indicator(4, SECRET_ONLY, MATCH_ONLY["id"]),
    ]
    status = node.add_objects(node.user("hanbit"), collection, objects)
    assert status.failure_count == 0, status.failures
    site = Site(node, collection, settings)
    yield site
    site.node.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The matching service's clock, moved by the test (microseconds)."""
    now = [1_800_000_000_000_000]
    monkeypatch.setattr(allyshare.service.matching, "now_us", lambda: now[0])
    return now


def test_a_member_learns_exactly_which_of_its_values_are_held(site: Site, clock: list[int]) -> None:
    asked = ["198.51.100.7", "C2.Hanbit-Lure.Example.", "203.0.113.44", "198.51.100.8"]
    found = site.node.match(site.collection, asked, actor=site.user("cisa"))
    assert found.matched == ["198.51.100.7", "C2.Hanbit-Lure.Example."]
    assert (found.asked, found.budget_left) == (4, 4)
    told = orjson.dumps(found.as_json())
    assert SECRET_ONLY.encode() not in told and b"indicator--" not in told


def test_who_may_read_or_wrote_it_matches_nothing(site: Site, clock: list[int]) -> None:
    for reader in ("kisa", "hanbit"):
        assert site.node.match(site.collection, HELD, actor=site.user(reader)).matched == []
    with pytest.raises(PermissionDenied):
        site.node.match(site.collection, HELD, actor=CONSOLE)


def test_match_only_data_another_rule_keeps_out_matches_nothing(
    site: Site, clock: list[int]
) -> None:
    match_only = {
        **MATCH_ONLY,
        "id": "marking-definition--6c1c1a3e-0000-4000-8000-000000000003",
        "name": "Match-only for every member",
        "extensions": {
            ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "match_only": True}
        },
    }
    noforn = {
        **MATCH_ONLY,
        "id": "marking-definition--6c1c1a3e-0000-4000-8000-000000000004",
        "name": "U//NOFORN",
        "extensions": {
            ACS_EXTENSION_ID: {
                "extension_type": "property-extension",
                "identifier": "isa:guide.19001.ACS3-6c1c1a3e-0000-4000-8000-000000000004",
                "create_date_time": "2026-01-01T00:00:00Z",
                "name": "U//NOFORN",
                "policy_reference": "urn:isa:policy:acs:ns:v3.0?privdefault=permit",
                "responsible_entity_custodian": "KOR.HANBIT",
                "control_set": {"classification": "U", "formal_determination": ["NF"]},
            }
        },
    }
    kept = indicator(5, "198.51.100.200", match_only["id"])
    kept["object_marking_refs"] = [match_only["id"], noforn["id"]]
    status = site.node.add_objects(site.user("hanbit"), site.collection, [match_only, noforn, kept])
    assert status.failure_count == 0, status.failures
    # NOFORN keeps the US member out: it matches nothing; a Korean member may match.
    assert (
        site.node.match(site.collection, ["198.51.100.200"], actor=site.user("cisa")).matched == []
    )
    assert site.node.match(
        site.collection, ["198.51.100.200"], actor=site.user("kisa")
    ).matched == ["198.51.100.200"]


def test_the_budget_holds_and_says_when_it_resets_across_a_restart(
    site: Site, clock: list[int]
) -> None:
    cisa = site.user("cisa")
    site.node.match(site.collection, ["198.51.100.1"] * 5, actor=cisa)
    with pytest.raises(OverBudget, match="one request per 5 s") as soon:
        site.node.match(site.collection, ["198.51.100.7"], actor=cisa)
    assert soon.value.retry_at == clock[0] + 5_000_000
    clock[0] += 6_000_000
    with pytest.raises(OverBudget, match="8 values a day; 5 used today, 4 asked") as spent:
        site.node.match(site.collection, ["198.51.100.7"] * 4, actor=cisa)
    assert spent.value.retry_at % 86_400_000_000 == 0 and spent.value.retry_at > clock[0]
    site.node.close()
    site.node = open_node(site.settings)
    cisa = site.user("cisa")
    with pytest.raises(OverBudget):
        site.node.match(site.collection, ["198.51.100.7"] * 4, actor=cisa)
    clock[0] = spent.value.retry_at
    assert site.node.match(site.collection, ["198.51.100.7"], actor=cisa).matched == [
        "198.51.100.7"
    ]
    # KISA's budget is its own.
    assert site.node.match(site.collection, ["x.example"] * 8, actor=site.user("kisa"))


def test_the_holder_sees_who_matched_how_many_of_its_values_never_which(
    site: Site, clock: list[int]
) -> None:
    site.node.match(site.collection, [HELD[0], HELD[1], "x.example"], actor=site.user("cisa"))
    [theirs] = site.node.audit_entries(
        site.user("hanbit"), EntryFilter(action="objects:match"), limit=10
    )
    assert theirs["actor"]["organization"] == "USA.CISA"
    assert theirs["detail"] == {"asked": 3, "matched_of_yours": 2}
    assert HELD[0].encode() not in orjson.dumps(theirs)
    assert (
        site.node.audit_entries(site.user("kisa"), EntryFilter(action="objects:match"), limit=10)
        == []
    )
    every = site.node.audit_entries(CONSOLE, EntryFilter(action="objects:match"), limit=10)
    assert {e["detail"].get("matched") for e in every} == {2, None}
    assert not any(HELD[0].encode() in orjson.dumps(e) for e in every)


def test_a_contact_request_reaches_the_originator_and_tells_the_matcher_nothing_more(
    site: Site, clock: list[int]
) -> None:
    found = site.node.match(
        site.collection,
        [HELD[0], "203.0.113.250"],
        contact="We saw this address in our network on 1 March; can we compare notes?",
        actor=site.user("cisa"),
    )
    assert found.matched == [HELD[0]]
    told = orjson.dumps(found.as_json())
    assert b"HANBIT" not in told and b"indicator--" not in told
    [received] = site.node.contacts(actor=site.user("hanbit"))
    assert received.object_ids == ("indicator--00000001-0000-4000-8000-000000000000",)
    assert (received.from_organization, received.from_user) == ("USA.CISA", "cisa")
    assert received.message.startswith("We saw this address")
    assert site.node.contacts(actor=site.user("kisa")) == []
    assert site.node.contacts(actor=site.user("cisa")) == []
    [entry] = [
        e
        for e in site.node.audit_entries(
            site.user("hanbit"), EntryFilter(action="objects:match"), limit=10
        )
        if "contact" in e["detail"]
    ]
    assert entry["detail"] == {"contact": received.id, "objects": 1}


def test_no_match_sends_no_contact_and_an_empty_message_is_refused(
    site: Site, clock: list[int]
) -> None:
    site.node.match(site.collection, ["203.0.113.250"], contact="hello", actor=site.user("cisa"))
    assert site.node.contacts(actor=site.user("hanbit")) == []
    clock[0] += 10_000_000
    with pytest.raises(InvalidInput):
        site.node.match(site.collection, [HELD[0]], contact="  ", actor=site.user("cisa"))


def test_a_removed_version_no_longer_matches(site: Site, clock: list[int]) -> None:
    cisa = site.user("cisa")
    assert site.node.match(site.collection, [HELD[0]], actor=cisa).matched == [HELD[0]]
    removed = VersionFilter(
        object_ids=("indicator--00000001-0000-4000-8000-000000000000",),
        versions=frozenset({"all"}),
    )
    assert site.node.delete_objects(CONSOLE, site.collection, removed) == 1
    clock[0] += 10_000_000
    assert site.node.match(site.collection, [HELD[0]], actor=cisa).matched == []


def test_names_are_never_offered_to_match(site: Site, clock: list[int]) -> None:
    """Names are indexed beside the values, and a recipient finds them by a lookup; matching
    offers none, not even a name that reads as a domain."""
    named = [
        {
            "type": kind,
            "spec_version": "2.1",
            "id": f"{kind}--{number:08d}-0000-4000-8000-00000000000b",
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "name": name,
            "object_marking_refs": [MATCH_ONLY["id"]],
            **extra,
        }
        for kind, number, name, extra in (
            ("malware", 1, "lure.example", {"is_family": True}),
            ("campaign", 2, "Hanbit Lure", {}),
        )
    ]
    status = site.node.add_objects(site.user("hanbit"), site.collection, named)
    assert status.failure_count == 0, status.failures
    [found] = site.node.lookup(["LURE.example"], "name", actor=site.user("kisa"))
    assert [m.object_id for m in found.mentions.values()] == [named[0]["id"]]
    asked = ["lure.example", "Hanbit Lure", "hanbit lure", HELD[0]]
    assert site.node.match(site.collection, asked, actor=site.user("cisa")).matched == [HELD[0]]
    clock[0] += 10_000_000
    with pytest.raises(InvalidInput, match="unknown observable type 'name'"):
        site.node.match(site.collection, ["Hanbit Lure"], "name", actor=site.user("cisa"))
