"""A property of correlation: for any objects, markings and readers, a lookup lists exactly the
objects whose version a read would show the reader with the value in it (the model is the read
path itself, then extraction), and never one more; and shows each one's sightings as the
object's own sightings show them to that reader."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.observables import observables_in
from allyshare.service import Node
from allyshare.storage import VersionFilter

from support.agreements import us_rok_tech

ORGANIZATIONS = {"KOR.HANBIT": "KOR", "KOR.KISA": "KOR", "USA.CISA": "USA"}
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
# No node knows it: what it marks only its originator's organization reads.
ORIGINATOR_ONLY = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
VALUES = ["198.51.100.7", "evil.example", "2001:db8::7", "203.0.113.0/24"]
SPELLINGS = {
    "198.51.100.7": "ipv4-addr:value = '198.51.100.7'",
    "evil.example": "domain-name:value = 'EVIL.example.'",
    "2001:db8::7": "ipv6-addr:value = '2001:0db8::0:7'",
    "203.0.113.0/24": "ipv4-addr:value ISSUBSET '203.0.113.0/24'",
}
EVERY = VersionFilter(versions=frozenset({"all"}))

writes = st.lists(
    st.tuples(
        st.sampled_from(sorted(ORGANIZATIONS)),
        st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique=True),
        st.sampled_from(["green", "originator-only", "pattern-withheld"]),
    ),
    min_size=1,
    max_size=8,
)
sightings = st.lists(
    st.tuples(
        st.sampled_from(sorted(ORGANIZATIONS)),
        st.integers(1, 8),
        st.sampled_from(["green", "originator-only", "sighters-withheld"]),
        st.booleans(),
    ),
    max_size=6,
)


def indicator(number: int, values: list[str], marking: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[" + " OR ".join(SPELLINGS[v] for v in values) + "]",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [ORIGINATOR_ONLY if marking == "originator-only" else GREEN],
    }
    if marking == "pattern-withheld":
        obj["granular_markings"] = [{"marking_ref": ORIGINATOR_ONLY, "selectors": ["pattern"]}]
    return obj


def sighting(number: int, of: int, organization: str, marking: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "sighting_of_ref": f"indicator--{of:08d}-0000-4000-8000-000000000000",
        "where_sighted_refs": [identity_of(organization)],
        "count": number,
        "object_marking_refs": [ORIGINATOR_ONLY if marking == "originator-only" else GREEN],
    }
    if marking == "sighters-withheld":
        obj["granular_markings"] = [
            {"marking_ref": ORIGINATOR_ONLY, "selectors": ["where_sighted_refs"]}
        ]
    return obj


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    made=writes,
    sighted=sightings,
    lookups=st.lists(st.sampled_from([*VALUES, "203.0.113.9"]), min_size=1),
)
def test_a_lookup_lists_exactly_what_a_read_shows(
    made: list[tuple[str, list[str], str]],
    sighted: list[tuple[str, int, str, bool]],
    lookups: list[str],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        node = Node.open(Settings(data_dir=Path(directory), country="KOR"))
        try:
            check(node, made, sighted, lookups)
        finally:
            node.close()


def check(
    node: Node,
    made: list[tuple[str, list[str], str]],
    sighted: list[tuple[str, int, str, bool]],
    lookups: list[str],
) -> None:
    for organization, country in ORGANIZATIONS.items():
        node.add_organization(organization.split(".")[1], country=country, kind="company")
        node.add_user(organization, organization=organization, roles=["contributor"])
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"], tlp_ceiling="RED"))
    collection = node.add_collection("Shared", agreement="us-rok-tech").id
    for number, (organization, values, marking) in enumerate(made, start=1):
        status = node.add_objects(
            node.user(organization), collection, [indicator(number, values, marking)]
        )
        assert status.success_count == 1, status.failures
    for number, (organization, of, marking, anonymous) in enumerate(sighted, start=1):
        status = node.add_objects(
            node.user(organization),
            collection,
            [sighting(number, of, organization, marking)],
            anonymous=anonymous,
        )
        assert status.success_count == 1, status.failures
    for organization in ORGANIZATIONS:
        reader = node.user(organization)
        read = node.read_objects(reader, collection, EVERY, limit=1000).items
        mentioned = {item.object_id: observables_in(orjson.loads(item.body)) for item in read}
        for value, found in zip(lookups, node.lookup(lookups, actor=reader), strict=True):
            expected = sorted(
                object_id
                for object_id, observed in mentioned.items()
                if any(_answers(seen, value) for seen in observed)
            )
            listed = found.as_json()["objects"]
            assert [m["id"] for m in listed] == expected, (reader.name, value)
            for mention in listed:
                own = node.sightings(mention["id"], actor=reader)
                shown = own.as_json() if own.total.sightings else None
                assert mention.get("sightings") == shown, (reader.name, mention["id"])


def _answers(seen: tuple[str, str], value: str) -> bool:
    """Whether an observed (type, value) answers a lookup of ``value``: the same, or a range
    holding the address."""
    if seen[1] == value:
        return True
    return seen[1] == "203.0.113.0/24" and value == "203.0.113.9"
