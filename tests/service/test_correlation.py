"""Correlation through the service, on SQLite and PostgreSQL: a lookup finds the objects a
reader may see that mention a value, however it was written, across collections; hides what
the reader may not see (down to a granular marking on the pattern); reports a value in too
many objects as common; counts hidden holders only where the agreement's k allows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from allyshare.config import Settings
from allyshare.errors import InvalidInput
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, User

from support.agreements import us_rok_tech

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
# A marking no node knows: stored fail-closed, its originator's organization alone reads it.
ORIGINATOR_ONLY = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"


def indicator(number: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [GREEN],
        **extra,
    }


def sco(kind: str, number: int, value: str) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{number:08d}-0000-4000-8000-000000000000",
        "value": value,
        "object_marking_refs": [GREEN],
    }


@dataclass
class Site:
    node: Node
    shared: str
    other: str
    users: dict[str, User]

    def add(self, who: str, collection: str, *objects: dict[str, Any]) -> None:
        status = self.node.add_objects(self.users[who], collection, list(objects))
        assert status.failure_count == 0, status.failures

    def ids(self, who: str, value: str, kind: str | None = None) -> list[str]:
        [found] = self.node.lookup([value], kind, actor=self.users[who])
        return [m["id"] for m in found.as_json()["objects"]]


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(
        Settings(data_dir=tmp_path, database_url=database_url, country="USA", common_after=3)
    )
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"], tlp_ceiling="RED"))
    users = {}
    for name, country in (("cisa", "USA"), ("fbi", "USA"), ("kisa", "KOR"), ("nis", "KOR")):
        organization = node.add_organization(name.upper(), country=country, kind="government")
        node.add_user(name, organization=organization, roles=["contributor"])
        users[name] = node.user(name)
    shared = node.add_collection("Shared", agreement="us-rok-tech").id
    other = node.add_collection("Other", agreement="us-rok-tech").id
    yield Site(node, shared, other, users)
    node.close()


def test_a_value_is_found_however_it_was_written_and_wherever_it_is(site: Site) -> None:
    site.add(
        "cisa",
        site.shared,
        indicator(1, "[domain-name:value = 'Evil.Example.']"),
        indicator(
            2, "[url:value = 'HTTP://EVIL.example:80/x'] OR [ipv4-addr:value = '198.51.100.7']"
        ),
        sco("domain-name", 3, "evil.example"),
    )
    site.add("kisa", site.other, indicator(4, "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"))
    assert site.ids("fbi", "EVIL.EXAMPLE") == [
        "domain-name--00000003-0000-4000-8000-000000000000",
        "indicator--00000001-0000-4000-8000-000000000000",
    ]
    assert site.ids("fbi", "http://evil.example/x") == [
        "indicator--00000002-0000-4000-8000-000000000000"
    ]
    # An address is found where it is named, and in a range that holds it.
    assert site.ids("fbi", "198.51.100.7") == [
        "indicator--00000002-0000-4000-8000-000000000000",
        "indicator--00000004-0000-4000-8000-000000000000",
    ]
    [found] = site.node.lookup(["198.51.100.7"], actor=site.users["fbi"])
    shown = found.as_json()
    assert shown["observables"] == [{"type": "ipv4-addr", "value": "198.51.100.7"}]
    assert {tuple(o["collections"]) for o in shown["objects"]} == {(site.shared,), (site.other,)}
    assert site.ids("fbi", "203.0.113.1") == []


def test_what_the_reader_may_not_see_is_not_found(site: Site) -> None:
    strict = indicator(5, "[ipv4-addr:value = '192.0.2.5']")
    strict["object_marking_refs"] = [ORIGINATOR_ONLY]
    withheld = indicator(
        6,
        "[ipv4-addr:value = '192.0.2.6']",
        granular_markings=[{"marking_ref": ORIGINATOR_ONLY, "selectors": ["pattern"]}],
    )
    site.add("cisa", site.shared, strict, withheld)
    assert site.ids("fbi", "192.0.2.5") == []
    assert site.ids("fbi", "192.0.2.6") == []
    assert site.ids("cisa", "192.0.2.5") == ["indicator--00000005-0000-4000-8000-000000000000"]
    assert site.ids("cisa", "192.0.2.6") == ["indicator--00000006-0000-4000-8000-000000000000"]


def test_hidden_holders_are_counted_only_from_k_organizations(site: Site) -> None:
    for number, who in enumerate(("cisa", "kisa", "nis"), start=10):
        strict = indicator(number, "[domain-name:value = 'quiet.example']")
        strict["object_marking_refs"] = [ORIGINATOR_ONLY]
        site.add(who, site.shared, strict)
        [found] = site.node.lookup(["quiet.example"], actor=site.users["fbi"])
        shown = found.as_json()
        assert shown["objects"] == [] and shown["count"] == 0
        if number < 12:
            assert "organizations_not_shown" not in shown
    assert shown["organizations_not_shown"] == 3


def test_a_value_in_too_many_objects_is_common_and_not_listed(site: Site) -> None:
    site.add(
        "cisa",
        site.shared,
        *(indicator(20 + n, "[domain-name:value = 'cdn.example']") for n in range(4)),
    )
    [found] = site.node.lookup(["cdn.example"], actor=site.users["kisa"])
    assert found.as_json() == {
        "value": "cdn.example",
        "observables": [{"type": "domain-name", "value": "cdn.example"}],
        "count": 4,
        "common": True,
        "objects": [],
    }


def test_a_lookup_is_a_recorded_read_without_the_values(site: Site) -> None:
    site.add("cisa", site.shared, indicator(30, "[domain-name:value = 'seen.example']"))
    site.node.lookup(["seen.example", "unseen.example"], actor=site.users["kisa"])
    [entry] = [
        e
        for e in site.node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
        if "lookup" in e.get("detail", {})
    ]
    assert entry["detail"] == {"lookup": 2}
    assert entry["objects"] == {
        "USA.CISA": [
            ["indicator--00000030-0000-4000-8000-000000000000", "2026-01-01T00:00:00.000Z"]
        ]
    }
    assert b"seen.example" not in str(entry).encode()


def test_values_that_are_no_observable_and_empty_lookups(site: Site) -> None:
    [found] = site.node.lookup(["not a value"], actor=site.users["kisa"])
    assert found.as_json()["observables"] == [] and found.count == 0
    with pytest.raises(InvalidInput):
        site.node.lookup([], actor=site.users["kisa"])
    assert site.ids("kisa", "AS15169", "autonomous-system") == []


def test_a_lookup_of_thousands_of_values_answers_each(site: Site) -> None:
    site.add("cisa", site.shared, indicator(40, "[ipv4-addr:value ISSUBSET '10.9.0.0/16']"))
    site.add("cisa", site.shared, indicator(41, "[ipv4-addr:value = '10.8.3.4']"))
    asked = [f"10.{8 + n // 1000}.{(n // 250) % 4}.{n % 250}" for n in range(1_500)]
    found = site.node.lookup(asked, actor=site.users["kisa"])
    counts = {each.value: each.count for each in found if each.count}
    assert counts == {"10.8.3.4": 1, **{v: 1 for v in asked if v.startswith("10.9.")}}
