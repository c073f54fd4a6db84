"""Correlation through the service, on SQLite and PostgreSQL: a lookup finds the objects a
reader may see that mention a value, however it was written, across collections; hides what
the reader may not see (down to a granular marking on the pattern); reports a value in too
many objects as common; counts hidden holders only where the agreement's k allows; shows each
listed object's sightings as the reader may see them, read once per lookup. Names of named
objects are found whole, in any case, only when asked for, and never where a granular marking
withholds the name from the reader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.errors import InvalidInput
from allyshare.policy import ACS_EXTENSION_ID
from allyshare.service import CONSOLE, Node
from allyshare.service.reads import Reads
from allyshare.storage import EntryFilter, User, VersionFilter

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


def sighting(number: int, of: int, where: str, count: int, seen: str) -> dict[str, Any]:
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "sighting_of_ref": f"indicator--{of:08d}-0000-4000-8000-000000000000",
        "where_sighted_refs": [identity_of(where)],
        "count": count,
        "first_seen": f"{seen}T00:00:00Z",
        "last_seen": f"{seen}T12:00:00Z",
        "object_marking_refs": [GREEN],
    }


@dataclass
class Site:
    node: Node
    shared: str
    other: str
    users: dict[str, User]

    def add(
        self, who: str, collection: str, *objects: dict[str, Any], anonymous: bool = False
    ) -> None:
        status = self.node.add_objects(
            self.users[who], collection, list(objects), anonymous=anonymous
        )
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


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The collections whose sightings were read, in order, one entry per query."""
    scans: list[str] = []
    seen = Reads.seen

    def counting(reads: Reads, user: User, collection_id: str, *args: Any) -> Any:
        scans.append(collection_id)
        return seen(reads, user, collection_id, *args)

    monkeypatch.setattr(Reads, "seen", counting)
    return scans


def sighted_site(site: Site) -> None:
    """Indicator 50 sighted by KISA itself, by NIS (named, in the other collection), by CISA
    anonymously, and by CISA under a marking only CISA reads; indicator 51, with the same
    value, never sighted; indicator 52, with another value, sighted by NIS."""
    site.add(
        "cisa",
        site.shared,
        indicator(50, "[domain-name:value = 'watched.example']"),
        indicator(51, "[domain-name:value = 'watched.example']"),
        indicator(52, "[domain-name:value = 'elsewhere.example']"),
    )
    site.add("kisa", site.shared, sighting(1, 50, "KOR.KISA", 2, "2026-02-01"))
    site.add(
        "nis",
        site.other,
        sighting(2, 50, "KOR.NIS", 3, "2026-03-01"),
        sighting(5, 52, "KOR.NIS", 9, "2026-03-02"),
    )
    site.add("cisa", site.shared, sighting(3, 50, "USA.CISA", 5, "2026-01-10"), anonymous=True)
    site.add(
        "cisa",
        site.shared,
        {
            **sighting(4, 50, "USA.CISA", 100, "2026-06-01"),
            "object_marking_refs": [ORIGINATOR_ONLY],
        },
    )


def test_each_listed_object_shows_the_sightings_the_reader_may_see(site: Site) -> None:
    sighted_site(site)
    [found] = site.node.lookup(["watched.example"], actor=site.users["kisa"])
    watched, unseen = found.as_json()["objects"]
    assert watched["id"] == "indicator--00000050-0000-4000-8000-000000000000"
    assert watched["sightings"] == {
        "sighting_of_ref": watched["id"],
        "sightings": 3,
        "count": 10,
        "first_seen": "2026-01-10T00:00:00Z",
        "last_seen": "2026-03-01T12:00:00Z",
        "countries": ["KOR", "USA"],
        "own": {
            "sightings": 1,
            "count": 2,
            "first_seen": "2026-02-01T00:00:00Z",
            "last_seen": "2026-02-01T12:00:00Z",
        },
        "sighters": [
            {
                "where_sighted_refs": [identity_of("KOR.NIS")],
                "sightings": 1,
                "count": 3,
                "first_seen": "2026-03-01T00:00:00Z",
                "last_seen": "2026-03-01T12:00:00Z",
            }
        ],
        "others": {
            "sightings": 1,
            "count": 5,
            "first_seen": "2026-01-10T00:00:00Z",
            "last_seen": "2026-01-10T12:00:00Z",
            "countries": ["USA"],
        },
    }
    assert "sightings" not in unseen
    # The same aggregate as the object's own sightings, for each reader: CISA counts its
    # originator-only sighting (its own, as the anonymous one is), KISA does not.
    shown: dict[str, dict[str, Any]] = {}
    for reader in ("kisa", "cisa", "fbi"):
        [found] = site.node.lookup(["watched.example"], actor=site.users[reader])
        shown[reader] = found.as_json()["objects"][0]["sightings"]
        assert (
            shown[reader] == site.node.sightings(watched["id"], actor=site.users[reader]).as_json()
        )
    cisa, fbi = shown["cisa"], shown["fbi"]
    assert (cisa["sightings"], cisa["count"], cisa["own"]["count"]) == (4, 110, 105)
    assert (fbi["sightings"], fbi["count"], fbi["own"]["sightings"]) == (3, 10, 0)


def test_the_sightings_shown_are_a_recorded_read_of_those_the_index_names(
    site: Site, scanned: list[str]
) -> None:
    sighted_site(site)
    site.node.lookup(["watched.example", "elsewhere.example"], actor=site.users["kisa"])
    assert sorted(scanned) == sorted([site.shared, site.other])
    [entry] = [
        e
        for e in site.node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
        if "lookup" in e.get("detail", {})
    ]
    assert entry["actor"]["name"] == "kisa"
    assert entry["detail"] == {"lookup": 2}
    read = sorted(ref[0] for refs in entry["objects"].values() for ref in refs)
    listed = [f"indicator--{n:08d}-0000-4000-8000-000000000000" for n in (50, 51, 52)]
    counted = [f"sighting--{n:08d}-0000-4000-8000-000000000000" for n in (1, 2, 3, 5)]
    assert read == listed + counted
    assert any(name.startswith("anonymous:") for name in entry["objects"])


def test_a_lookup_that_lists_nothing_reads_no_sightings(site: Site, scanned: list[str]) -> None:
    sighted_site(site)
    site.add(
        "cisa",
        site.shared,
        *(indicator(60 + n, "[domain-name:value = 'watched.example']") for n in range(2)),
    )
    # Common (four objects, over common_after), absent, and no observable at all.
    found = site.node.lookup(
        ["watched.example", "absent.example", "not a value"], actor=site.users["kisa"]
    )
    assert [each.as_json()["objects"] for each in found] == [[], [], []]
    assert found[0].common
    assert scanned == []
    entries = site.node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
    [entry] = [e for e in entries if "lookup" in e.get("detail", {})]
    assert "objects" not in entry


# --- names --------------------------------------------------------------------------------

NOFORN = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--6c1c1a3e-0000-4000-8000-0000000c0001",
    "created": "2026-01-01T00:00:00.000Z",
    "name": "U//NOFORN",
    "extensions": {
        ACS_EXTENSION_ID: {
            "extension_type": "property-extension",
            "identifier": "isa:guide.19001.ACS3-6c1c1a3e-0000-4000-8000-0000000c0001",
            "create_date_time": "2026-01-01T00:00:00Z",
            "name": "U//NOFORN",
            "policy_reference": "urn:isa:policy:acs:ns:v3.0?privdefault=permit",
            "responsible_entity_custodian": "USA.CISA",
            "control_set": {"classification": "U", "formal_determination": ["NF"]},
        }
    },
}


def sdo(kind: str, number: int, name: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{number:08d}-0000-4000-8000-00000000000a",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        **({"name": name} if name is not None else {}),
        "object_marking_refs": [GREEN],
        **extra,
    }


def test_a_name_is_found_whole_in_any_case_where_the_reader_may_read(site: Site) -> None:
    internal = site.node.add_collection("Internal", "this node's country only").id
    malware = sdo("malware", 1, "WannaCry", is_family=True)
    lazarus = sdo("intrusion-set", 2, "Lazarus  Group")
    actor = sdo("threat-actor", 3, "WANNACRY")
    tool = sdo("tool", 4, "wannacry")
    named = indicator(60, "[ipv4-addr:value = '192.0.2.60']", name="WannaCry")
    site.add("cisa", site.shared, malware, named)
    site.add("kisa", site.other, lazarus, actor)
    site.add("cisa", internal, tool)
    # Not the indicator, whose name is not indexed, nor what the reader may not read.
    assert site.ids("kisa", " wannaCRY ", "name") == [malware["id"], actor["id"]]
    assert site.ids("fbi", "wannacry", "name") == [malware["id"], actor["id"], tool["id"]]
    assert site.ids("nis", "lazarus group", "name") == [lazarus["id"]]
    [found] = site.node.lookup(["Lazarus\u00a0GROUP"], "name", actor=site.users["nis"])
    assert found.as_json()["observables"] == [{"type": "name", "value": "lazarus group"}]
    assert found.as_json()["objects"][0]["collections"] == [site.other]
    # Whole names only, and a lookup of values never answers with names.
    assert site.ids("nis", "lazarus", "name") == []
    assert site.ids("nis", "Lazarus Group") == []


def test_a_value_is_looked_up_as_a_name_only_when_asked(site: Site) -> None:
    named_like = sdo("malware", 5, "Evil.Example", is_family=True)
    site.add("cisa", site.shared, named_like, sco("domain-name", 70, "evil.example"))
    domain = "domain-name--00000070-0000-4000-8000-000000000000"
    assert site.ids("kisa", "evil.example") == [domain]
    assert site.ids("kisa", "evil.example", "name") == [named_like["id"]]
    [both] = site.node.lookup(["EVIL.example"], names=True, actor=site.users["kisa"])
    assert [m["id"] for m in both.as_json()["objects"]] == [domain, named_like["id"]]
    assert both.as_json()["observables"] == [
        {"type": "domain-name", "value": "evil.example"},
        {"type": "name", "value": "evil.example"},
    ]
    with pytest.raises(InvalidInput, match="or name"):
        site.node.lookup(["evil.example"], "names", actor=site.users["kisa"])


def test_a_name_withheld_by_a_granular_marking_is_not_found(site: Site) -> None:
    """The malware's name is NOFORN: a Korean reader reads the malware, without its name, and
    does not find it by that name; a US reader does."""
    loader = sdo(
        "malware",
        6,
        "Hanbit Loader",
        is_family=False,
        description="A loader seen at a supplier.",
        granular_markings=[{"marking_ref": NOFORN["id"], "selectors": ["name"]}],
    )
    site.add("cisa", site.shared, NOFORN, loader)
    assert site.ids("fbi", "hanbit loader", "name") == [loader["id"]]
    assert site.ids("kisa", "hanbit loader", "name") == []
    [found] = site.node.lookup(["hanbit loader"], names=True, actor=site.users["kisa"])
    assert found.count == 0
    # The rest of the malware is the Korean reader's to read.
    page = site.node.read_objects(
        site.users["kisa"], site.shared, VersionFilter(object_ids=(loader["id"],)), limit=1
    )
    [item] = page.items
    shown = orjson.loads(item.body)
    assert "name" not in shown and shown["description"] == "A loader seen at a supplier."


def test_a_name_no_database_text_holds_is_stored_and_not_indexed(site: Site) -> None:
    site.add("cisa", site.shared, sdo("campaign", 7, "Operation\x00Null"))
    assert site.ids("cisa", "Operation Null", "name") == []
    assert site.ids("cisa", "operation\x00null", "name") == []
