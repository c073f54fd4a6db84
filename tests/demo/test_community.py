"""The demo US-ROK community: it builds through the node's own checks, on every backend, and
the same collection reads differently for each member, exactly as the policy says.

The showcase mirrors ``tests/policy/test_policy_showcase.py`` end to end: the same kind of
report, written by CISA through `Node.add_objects`, read back through `Node.read_objects`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from allyshare.config import Settings
from allyshare.demo.community import (
    COLLECTIONS,
    FAB_WRITER,
    PARTNER_COUNTRY,
    USERS,
    DemoCommunity,
    build_demo_community,
    build_partner_community,
    collection_writes,
    cyber_threats,
)
from allyshare.demo.content import TLP_AMBER_STRICT, TLP_CLEAR, TLP_RED, demo_objects
from allyshare.demo.marked import (
    CISA_FAB_VALUES,
    HANBIT,
    MEMBERS,
    PROPIN_HANBIT_TRADE,
    REL_S,
    SHOWCASE_ID,
    fab_intrusion,
    released_to_cisa,
    stix_id,
)
from allyshare.economic.alerts import PATTERN_LABEL
from allyshare.errors import NotFound
from allyshare.policy import REDACTED_PROPERTY
from allyshare.service import CONSOLE, Node
from allyshare.storage import User, VersionFilter

OPTIONS = ValidationOptions(version="2.1")
ALL_VERSIONS = VersionFilter(versions=frozenset({"all"}))


@pytest.fixture
def built(database_url: str, tmp_path: Path) -> Iterator[tuple[Node, DemoCommunity]]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    try:
        yield node, build_demo_community(node)
    finally:
        node.close()


def as_user(node: Node, community: DemoCommunity, name: str) -> User:
    return node.authenticate_token(community.tokens[name])


def read(node: Node, user: User, collection_id: str, selection: VersionFilter) -> list[Any]:
    page = node.read_objects(user, collection_id, selection, limit=10000)
    assert not page.more
    return [orjson.loads(item.body) for item in page.items]


def canonical(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def written_objects(key: str) -> list[dict[str, Any]]:
    [collection] = [c for c in COLLECTIONS if c.key == key]
    prelude, objects = collection_writes(collection)
    return [written.obj for written in (*prelude, *objects)]


def test_every_demo_object_is_stored_as_written(built: tuple[Node, DemoCommunity]) -> None:
    node, community = built
    assert set(community.collections) == {c.key for c in COLLECTIONS}
    for key, collection_id in community.collections.items():
        stored = read(node, CONSOLE, collection_id, ALL_VERSIONS)
        # Beside what the members wrote: the pattern alert the set-up wrote from it.
        alerts = [obj for obj in stored if PATTERN_LABEL in obj.get("labels", [])]
        assert len(alerts) == (1 if key == "economic-coercion" else 0), key
        written = [obj for obj in stored if obj not in alerts]
        assert sorted(map(canonical, written)) == sorted(map(canonical, written_objects(key))), key


def test_members_and_users_are_registered(built: tuple[Node, DemoCommunity]) -> None:
    node, community = built
    assert community.organizations == tuple(member.id for member in MEMBERS)
    assert {o.id: (o.country, o.kind) for o in node.organizations()} == {
        member.id: (member.country, member.kind) for member in MEMBERS
    }
    assert {o.id: o.sectors for o in node.organizations()}[HANBIT.id] == ("semiconductors",)
    users = {user.name: user for user in node.users()}
    for demo in USERS:
        user = users[demo.name]
        assert (user.organization_id, user.nationality, user.clearance, user.roles) == (
            demo.member.id,
            demo.member.country,
            demo.clearance,
            frozenset(demo.roles),
        )
    assert {"analyst", "morgan@cisa", "jiwoo@kisa", "seoyeon@hanbit", "riley@commerce"} <= set(
        community.tokens
    )


def test_collections_follow_the_agreements(built: tuple[Node, DemoCommunity]) -> None:
    node, community = built
    titles = {c.key: c.title for c in COLLECTIONS}
    for name, expected in (
        ("morgan@cisa", set(titles)),
        ("riley@commerce", set(titles)),
        ("jiwoo@kisa", set(titles) - {"usa-national"}),
        ("seoyeon@hanbit", set(titles) - {"usa-national"}),
    ):
        seen = {
            access.collection.title
            for access in node.collections_for(as_user(node, community, name))
        }
        assert seen == {titles[key] for key in expected}, name
    riley = node.collections_for(as_user(node, community, "riley@commerce"))
    assert all(access.can_read and not access.can_write for access in riley)


def test_served_objects_pass_the_oasis_validator(built: tuple[Node, DemoCommunity]) -> None:
    node, community = built
    readers = [CONSOLE] + [
        as_user(node, community, name)
        for name in ("morgan@cisa", "jiwoo@kisa", "seoyeon@hanbit", "riley@commerce")
    ]
    bodies: dict[bytes, None] = {}
    for reader in readers:
        for access in node.collections_for(reader):
            page = node.read_objects(reader, access.collection.id, ALL_VERSIONS, limit=10000)
            bodies.update(dict.fromkeys(item.body for item in page.items))
    problems = []
    for body in bodies:
        obj = orjson.loads(body)
        result = validate_instance(obj, OPTIONS)
        problems.extend(f"{obj['id']}: {error}" for error in result.errors)
    assert problems == []
    assert any(REDACTED_PROPERTY in orjson.loads(body) for body in bodies)


def references(value: Any, name: str = "") -> Iterator[str]:
    """Every id held in a ``*_ref`` or ``*_refs`` property, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from references(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from references(item, name)
    elif isinstance(value, str) and name.endswith(("_ref", "_refs")):
        yield value


@pytest.mark.parametrize("key", [c.key for c in COLLECTIONS])
def test_every_reference_resolves_within_its_collection(key: str) -> None:
    objects = written_objects(key)
    known = {obj["id"] for obj in objects}
    dangling = {(obj["id"], ref) for obj in objects for ref in references(obj) if ref not in known}
    assert dangling == set()


def test_the_curated_content_is_kept_within_the_agreement_ceiling() -> None:
    adapted = {written.obj["id"]: written.obj for written in cyber_threats()}
    content = demo_objects()
    assert {obj["id"] for obj in content if obj["type"] != "identity"} <= set(adapted)
    above = {TLP_AMBER_STRICT, TLP_RED}
    for obj in adapted.values():
        refs = set(obj.get("object_marking_refs", []))
        refs.update(entry["marking_ref"] for entry in obj.get("granular_markings", []))
        assert not refs & above, obj["id"]


def showcase(node: Node, community: DemoCommunity, name: str) -> list[Any]:
    user = as_user(node, community, name)
    selection = VersionFilter(object_ids=(SHOWCASE_ID,))
    return read(node, user, community.collections["cyber-threat"], selection)


@pytest.fixture
def original() -> dict[str, Any]:
    [obj] = [w.obj for w in cyber_threats() if w.obj["id"] == SHOWCASE_ID]
    return obj


def test_showcase_usa_analyst_sees_it_whole(
    built: tuple[Node, DemoCommunity], original: dict[str, Any]
) -> None:
    # ORCON names KISA and Hanbit only: seeing it proves the node recorded CISA, the
    # writer's organization, as the originator.
    assert showcase(*built, "morgan@cisa") == [original]


def test_showcase_kor_analyst_sees_it_without_the_noforn_description(
    built: tuple[Node, DemoCommunity], original: dict[str, Any]
) -> None:
    expected = {key: value for key, value in original.items() if key != "description"}
    expected["granular_markings"] = [
        {"marking_ref": REL_S, "selectors": ["external_references.[0]"]},
        {"marking_ref": TLP_CLEAR, "selectors": ["external_references.[1].url"]},
    ]
    expected[REDACTED_PROPERTY] = ["description"]
    assert showcase(*built, "jiwoo@kisa") == [expected]


def test_showcase_company_analyst_sees_it_without_the_classified_parts(
    built: tuple[Node, DemoCommunity], original: dict[str, Any]
) -> None:
    expected = {key: value for key, value in original.items() if key != "description"}
    expected["external_references"] = [original["external_references"][1]]
    # The TLP:CLEAR marking of the public URL still marks it, at its new index.
    expected["granular_markings"] = [
        {"marking_ref": TLP_CLEAR, "selectors": ["external_references.[0].url"]}
    ]
    expected[REDACTED_PROPERTY] = ["description", "external_references.[0]"]
    assert showcase(*built, "seoyeon@hanbit") == [expected]


def test_showcase_uncleared_official_does_not_see_it(built: tuple[Node, DemoCommunity]) -> None:
    assert showcase(*built, "riley@commerce") == []


def test_showcase_four_readers_four_answers(built: tuple[Node, DemoCommunity]) -> None:
    answers = {
        name: repr(showcase(*built, name))
        for name in ("morgan@cisa", "jiwoo@kisa", "seoyeon@hanbit", "riley@commerce")
    }
    assert len(set(answers.values())) == 4


# Who sees which other demo object, and what each reader misses of it (WHOLE: nothing).
# A user not listed does not see the object at all.
WHOLE: tuple[str, ...] = ()
WHO_SEES = [
    # A company's PROPIN report names KISA, MOTIE and Commerce, not CISA.
    (
        "sensitive-technology",
        ("report", "hanbit-insider"),
        dict.fromkeys(
            ["seoyeon@hanbit", "jiwoo@kisa", "minho@motie", "analyst", "riley@commerce"], WHOLE
        ),
    ),
    # C//REL TO USA, KOR for cleared readers of both countries; the case file is NOFORN.
    (
        "sensitive-technology",
        ("report", "euv-diversion"),
        {
            "analyst": WHOLE,
            "morgan@cisa": WHOLE,
            "casey@cisa": WHOLE,
            "jiwoo@kisa": ("external_references.[0]",),
            "minho@motie": ("external_references.[0]",),
        },
    ),
    # A company's impact figures, PROPIN to the trade ministries, inside a shared report.
    (
        "economic-coercion",
        ("report", "hanbit-duties"),
        dict.fromkeys(["seoyeon@hanbit", "minho@motie", "analyst", "riley@commerce"], WHOLE)
        | dict.fromkeys(
            [
                "morgan@cisa",
                "jiwoo@kisa",
                "dana@pacificcrest",
                "casey@cisa",
                "jordan@ustr",
                "yuna@kotra",
                "sora@kto",
                "alex@cascade",
                "hyun@hangang",
                "sam@prairielink",
            ],
            ("description", "external_references.[0]"),
        ),
    ),
    # ORCON for the national CERTs: the originator and the CERTs only.
    (
        "supply-chain",
        ("note", "hanbit-inspection-tool"),
        dict.fromkeys(["seoyeon@hanbit", "morgan@cisa", "jiwoo@kisa", "casey@cisa"], WHOLE),
    ),
    # US only, S//NOFORN and AMBER+STRICT: cleared US readers.
    (
        "usa-national",
        ("report", "attribution-assessment"),
        dict.fromkeys(["analyst", "morgan@cisa", "casey@cisa"], WHOLE),
    ),
    # RED: the originator and the named recipient, cleared or not.
    (
        "usa-national",
        ("note", "attribution-timing"),
        dict.fromkeys(["analyst", "riley@commerce", "morgan@cisa", "casey@cisa"], WHOLE),
    ),
]


@pytest.mark.parametrize(("key", "object_key", "readers"), WHO_SEES)
def test_who_sees_what(
    built: tuple[Node, DemoCommunity],
    key: str,
    object_key: tuple[str, str],
    readers: dict[str, tuple[str, ...]],
) -> None:
    node, community = built
    selection = VersionFilter(object_ids=(stix_id(*object_key),))
    seen = {}
    for user in USERS:
        reader = as_user(node, community, user.name)
        try:
            found = read(node, reader, community.collections[key], selection)
        except NotFound:
            found = []
        for obj in found:
            seen[user.name] = tuple(obj.get(REDACTED_PROPERTY, WHOLE))
    assert seen == readers


def test_a_proprietary_part_is_redacted_for_members_it_does_not_name(
    built: tuple[Node, DemoCommunity],
) -> None:
    node, community = built
    report = stix_id("report", "hanbit-duties")
    selection = VersionFilter(object_ids=(report,))
    collection_id = community.collections["economic-coercion"]
    [whole] = read(node, as_user(node, community, "minho@motie"), collection_id, selection)
    [redacted] = read(node, as_user(node, community, "jiwoo@kisa"), collection_id, selection)
    assert whole["granular_markings"] == [
        {
            "marking_ref": PROPIN_HANBIT_TRADE,
            "selectors": ["description", "external_references.[0]"],
        }
    ]
    # The only granular marking went with its content, so granular_markings goes too.
    gone = ("description", "external_references", "granular_markings")
    assert redacted == {
        **{key: value for key, value in whole.items() if key not in gone},
        REDACTED_PROPERTY: ["description", "external_references.[0]"],
    }


def test_the_partner_node_holds_hanbits_indicators_match_only(
    database_url: str, tmp_path: Path
) -> None:
    """On the KOR node, Hanbit's fab-intrusion indicators are its own to read; KISA, named
    by nothing, reads none of them and matches exactly the values it holds too."""
    settings = Settings(data_dir=tmp_path, database_url=database_url, country=PARTNER_COUNTRY)
    node = Node.open(settings)
    try:
        community = build_partner_community(node)
        collection = community.collections["cyber-threat"]
        _, indicators = fab_intrusion()
        selection = VersionFilter(object_ids=tuple(w.obj["id"] for w in indicators))
        hanbit = as_user(node, community, FAB_WRITER)
        kisa = as_user(node, community, "jiwoo@kisa")
        assert read(node, hanbit, collection, selection) == [w.obj for w in indicators]
        assert read(node, kisa, collection, selection) == []
        found = node.match(collection, [*CISA_FAB_VALUES, "sso-hanbit-fab.example"], actor=kisa)
        assert found.matched == [*CISA_FAB_VALUES[:2], "sso-hanbit-fab.example"]
    finally:
        node.close()


def test_the_private_matching_scene_passes_the_oasis_validator() -> None:
    prelude, indicators = fab_intrusion()
    objects = [w.obj for w in (*prelude, *indicators)] + released_to_cisa()
    problems = [
        f"{obj['id']}: {error}"
        for obj in objects
        for error in validate_instance(obj, OPTIONS).errors
    ]
    assert problems == []


def test_the_views_show_shown_cells_a_suppressed_one_and_the_pattern_alert(
    built: tuple[Node, DemoCommunity],
) -> None:
    """On the USA node alone: three members' April 2025 rare-earth records make a cell, a
    member's own record stays suppressed, the alert names both parties, and a Korean
    reader's view leaves out the NOFORN incident; three carriers make the 5G index."""
    node, community = built
    morgan = as_user(node, community, "morgan@cisa")
    view = node.coercion_view(actor=morgan)
    shown = {cell.key: cell for cell in view.cells if not cell.suppressed}
    rare_earths = shown["CHN", "export-restriction", "rare-earths", "2025-Q2"]
    assert (rare_earths.incidents, rare_earths.organizations) == (3, 3)
    suppressed = [cell.key for cell in view.cells if cell.suppressed]
    assert ("CHN", "export-restriction", "rare-earths", "2010-Q3") in suppressed
    assert ("CHN", "regulatory-investigation", "semiconductors", "2023-Q1") in suppressed
    korean = node.coercion_view(actor=as_user(node, community, "jiwoo@kisa"))
    assert ("CHN", "regulatory-investigation", "semiconductors", "2023-Q1") not in {
        cell.key for cell in korean.cells
    }
    [alert] = node.coercion_alerts(actor=as_user(node, community, "jiwoo@kisa"))
    assert alert.note["content"] == (
        "CHN applied export-restriction to USA (2024-12, 2025-04, 2025-10) and KOR (2025-04, "
        "2025-10) within 12 months"
    )
    supply = {c.category: c for c in node.supply_chain_view(actor=morgan).categories}
    assert supply["5g-ran"].vendor_hhi == 3050.0
    assert supply["photoresists"].suppressed


def test_the_partner_node_shows_its_own_members_cells(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, country=PARTNER_COUNTRY)
    node = Node.open(settings)
    try:
        community = build_partner_community(node)
        view = node.coercion_view(actor=as_user(node, community, "jiwoo@kisa"))
        shown = {cell.key for cell in view.cells if not cell.suppressed}
        assert shown == {
            ("CHN", "tourism-restriction", "tourism", "2017-Q1"),
            ("JPN", "export-restriction", "semiconductors", "2019-Q3"),
        }
    finally:
        node.close()
