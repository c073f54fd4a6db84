"""The cross-member views through the service, on SQLite and PostgreSQL: each reader's view
counts only what it may see (a NOFORN incident adds nothing for a Korean reader), a cell of
fewer than k organizations is suppressed, each view is one audited read, and the pattern
alert is written as a note no one reads who could not read its incidents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from allyshare.config import Settings, load_settings
from allyshare.errors import NotFound, PermissionDenied
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, User, VersionFilter

from support.economic_views import (
    COERCION,
    NOFORN,
    TLP_AMBER,
    TLP_GREEN,
    Community,
    add,
    build_community,
    exposure,
    green_only,
    incident,
)

# A marking no node knows: stored fail-closed, its originator's organization alone reads it.
ORIGINATOR_ONLY = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
RARE_EARTHS = ("CHN", "export-restriction", "rare-earths", "2023-Q3")


@pytest.fixture
def community(database_url: str, tmp_path: Path) -> Iterator[Community]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    yield build_community(node)
    node.close()


def cell(view: dict[str, object], key: tuple[str, str, str, str]) -> dict[str, object]:
    cells = view["cells"]
    assert isinstance(cells, list)
    [found] = [
        c for c in cells if (c["coercing_state"], c["measure"], c["sector"], c["quarter"]) == key
    ]
    return found


def test_an_american_reader_counts_the_noforn_incident_and_a_korean_one_does_not(
    community: Community,
) -> None:
    american = community.node.coercion_view(actor=community.acme).as_json()
    assert american["k"] == 2
    assert cell(american, RARE_EARTHS) == {
        "coercing_state": "CHN",
        "measure": "export-restriction",
        "sector": "rare-earths",
        "quarter": "2023-Q3",
        "suppressed": False,
        "incidents": 3,
        "targeted_countries": 2,
        "organizations": 3,
        "impact": [
            {"currency": "USD", "suppressed": False, "min": 110, "max": 220, "organizations": 2}
        ],
    }
    korean = community.node.coercion_view(actor=community.kisa).as_json()
    assert cell(korean, RARE_EARTHS) == {
        "coercing_state": "CHN",
        "measure": "export-restriction",
        "sector": "rare-earths",
        "quarter": "2023-Q3",
        "suppressed": False,
        "incidents": 2,
        "targeted_countries": 2,
        "organizations": 2,
        # ACME's impact alone: one organization's figure, so suppressed.
        "impact": [{"currency": "USD", "suppressed": True}],
    }
    assert korean["totals"] == [
        {
            "coercing_state": "CHN",
            "incidents": 2,
            "targeted_countries": 2,
            "organizations": 2,
            "impact": [],
        }
    ]


def test_a_cell_of_one_contributor_is_suppressed_not_zero(community: Community) -> None:
    view = community.node.coercion_view(actor=community.acme).as_json()
    boycott = cell(view, ("CHN", "boycott", "tourism", "2017-Q1"))
    assert boycott == {
        "coercing_state": "CHN",
        "measure": "boycott",
        "sector": "tourism",
        "quarter": "2017-Q1",
        "suppressed": True,
    }
    assert [t["incidents"] for t in view["totals"]] == [3]


def test_the_supply_chain_view_hides_a_lone_vendor_and_its_complement(
    community: Community,
) -> None:
    view = community.node.supply_chain_view(actor=community.hanbit).as_json()
    [ran] = view["categories"]
    assert ran["category"] == "5g-ran" and ran["members"] == 3
    vendors = {line["name"]: line for line in ran["vendors"]}
    assert vendors["Ericsson"]["share"] == round((0.6 + 0.5 + 0.8) / 3, 4)
    assert vendors["Ericsson"]["members"] == 3
    # Nokia is KISA's alone; Huawei goes with it, or 1 - Ericsson would be KISA's Nokia.
    assert vendors["Nokia"] == {"key": vendors["Nokia"]["key"], "name": "Nokia", "suppressed": True}
    assert vendors["Huawei"]["suppressed"]
    countries = {line["key"]: line for line in ran["countries"]}
    assert not countries["SWE"]["suppressed"]
    assert countries["FIN"]["suppressed"] and countries["CHN"]["suppressed"]
    assert ran["vendor_hhi"] == round((vendors["Ericsson"]["share"] * 100) ** 2, 1)


def test_an_outsider_sees_no_figures(community: Community) -> None:
    node = community.node
    outsider = node.add_organization("FAR", country="FRA", kind="company")
    node.add_user("far", organization=outsider, roles=["reader"])
    far = node.user("far")
    assert node.coercion_view(actor=far).as_json() == {"k": 1, "cells": [], "totals": []}
    assert node.supply_chain_view(actor=far).as_json() == {"k": 1, "categories": []}


def test_each_view_is_one_audited_read_naming_what_it_drew_on(community: Community) -> None:
    node = community.node
    node.coercion_view(actor=community.kisa)
    node.supply_chain_view(actor=community.kisa)
    entries = node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
    views = [e for e in entries if "view" in e.get("detail", {})]
    assert [e["detail"]["view"] for e in views] == ["coercion", "supply-chain"]
    assert all(e["actor"]["name"] == "kisa" for e in views)
    named = sorted(ref[0] for refs in views[0]["objects"].values() for ref in refs)
    noforn = incident(3, "USA", "2023-08-01T00:00:00Z")["id"]
    assert noforn not in named and len(named) == 3


def test_the_pattern_alert_is_a_note_the_parties_read(community: Community) -> None:
    node = community.node
    alerted = node.write_coercion_alerts(community.coercion, actor=community.acme)
    # USGOV's NOFORN incident would lose its NOFORN under ACME's name: it is left out.
    [note] = alerted.notes
    assert note["content"] == (
        "CHN applied export-restriction to KOR (2023-07) and USA (2023-09) within 12 months"
    )
    assert note["object_refs"] == [
        incident(1, "KOR", "")["id"],
        incident(2, "USA", "")["id"],
    ]
    assert note["object_marking_refs"] == [TLP_AMBER]
    assert alerted.status is not None and alerted.status.success_count == 1
    page = node.read_objects(
        community.kisa, community.coercion, VersionFilter(types=("note",)), limit=10
    )
    assert [item.object_id for item in page.items] == [note["id"]]
    again = node.write_coercion_alerts(community.coercion, actor=community.acme)
    assert again.notes == alerted.notes
    assert [o.outcome for o in again.outcomes] == ["already raised"] and again.status is None
    every = VersionFilter(types=("note",), versions=frozenset({"all"}))
    versions = node.read_objects(community.acme, community.coercion, every, limit=10).items
    assert [(v.object_id, v.version) for v in versions] == [(note["id"], note["modified"])]


def test_a_second_organization_finds_the_alert_already_raised(community: Community) -> None:
    node = community.node
    first = node.write_coercion_alerts(community.coercion, actor=community.acme)
    assert [o.outcome for o in first.outcomes] == ["written"]
    second = node.write_coercion_alerts(community.coercion, actor=community.hanbit)
    [raised] = second.outcomes
    assert (raised.outcome, raised.message, raised.note) == ("already raised", None, first.notes[0])
    assert second.failed == [] and second.status is None
    every = VersionFilter(types=("note",), versions=frozenset({"all"}))
    versions = node.read_objects(community.kisa, community.coercion, every, limit=10).items
    assert [v.version for v in versions] == [first.notes[0]["modified"]]


def test_a_note_the_node_refuses_is_a_failure_with_its_message(community: Community) -> None:
    node = community.node
    collection = green_only(community)
    alerted = node.write_coercion_alerts(collection, actor=community.acme)
    [refused] = alerted.failed
    assert refused.outcome == "failed" and refused.note["object_marking_refs"] == [TLP_AMBER]
    assert refused.message is not None and "GREEN" in refused.message
    assert alerted.status is not None and alerted.status.failure_count == 1


def test_a_grown_pattern_is_a_new_version_of_its_note(community: Community) -> None:
    node = community.node
    [first] = node.write_coercion_alerts(community.coercion, actor=community.acme).notes
    joined = {
        **incident(5, "KOR", "2023-10-01T00:00:00Z"),
        "modified": "2026-02-01T00:00:00.000Z",
    }
    add(node, community.kisa, community.coercion, joined)
    grown = node.write_coercion_alerts(community.coercion, actor=community.acme)
    [(note, outcome)] = [(o.note, o.outcome) for o in grown.outcomes]
    assert outcome == "written" and note["id"] == first["id"]
    assert note["object_refs"] == [*first["object_refs"], joined["id"]]
    assert (note["created"], note["modified"]) == (first["created"], joined["modified"])
    every = VersionFilter(types=("note",), versions=frozenset({"all"}))
    versions = node.read_objects(community.acme, community.coercion, every, limit=10).items
    assert sorted(v.version for v in versions) == [first["modified"], note["modified"]]
    assert [alert.note for alert in node.coercion_alerts(actor=community.kisa)] == [note]
    # An incident whose version is older than the note's still makes a newer version of it.
    add(node, community.hanbit, community.coercion, incident(6, "USA", "2023-11-01T00:00:00Z"))
    [later] = node.write_coercion_alerts(community.coercion, actor=community.acme).notes
    assert (later["id"], later["created"]) == (first["id"], first["created"])
    assert later["modified"] == "2026-02-01T00:00:00.001Z" and len(later["object_refs"]) == 4
    assert [alert.note for alert in node.coercion_alerts(actor=community.kisa)] == [later]
    again = node.write_coercion_alerts(community.coercion, actor=community.acme)
    assert [o.outcome for o in again.outcomes] == ["already raised"] and again.status is None


def test_a_note_naming_a_noforn_incident_is_noforn_too(community: Community) -> None:
    node = community.node
    alerted = node.write_coercion_alerts(community.coercion, actor=community.usgov)
    [note] = alerted.notes
    assert len(note["object_refs"]) == 3
    assert note["object_marking_refs"] == sorted([NOFORN["id"], TLP_AMBER])
    assert TLP_GREEN not in note["object_marking_refs"]
    notes = VersionFilter(types=("note",))
    korean = node.read_objects(community.kisa, community.coercion, notes, limit=10)
    assert korean.items == []
    american = node.read_objects(community.acme, community.coercion, notes, limit=10)
    assert [item.object_id for item in american.items] == [note["id"]]


def test_the_window_is_a_setting(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "allyshare.toml").write_text("[views]\npattern_window_months = 1\n")
    settings = load_settings(tmp_path, {})
    assert settings.views_pattern_window_months == 1
    assert (
        load_settings(
            tmp_path, {"ALLYSHARE_VIEWS_PATTERN_WINDOW_MONTHS": "24"}
        ).views_pattern_window_months
        == 24
    )
    node = Node.open(
        Settings(
            data_dir=tmp_path,
            database_url=database_url,
            country="USA",
            views_pattern_window_months=1,
        )
    )
    try:
        community = build_community(node)
        assert node.write_coercion_alerts(community.coercion, actor=community.acme).notes == []
    finally:
        node.close()


def test_alerts_need_a_collection_the_writer_may_write(community: Community) -> None:
    node = community.node
    reader = node.add_user("reader", organization=community.kisa.organization_id, roles=["reader"])
    assert reader
    with pytest.raises(PermissionDenied):
        node.write_coercion_alerts(community.coercion, actor=node.user("reader"))
    with pytest.raises(NotFound):
        node.write_coercion_alerts(
            "collection--00000000-0000-4000-8000-000000000000", actor=community.kisa
        )


def test_a_withheld_impact_counts_for_nothing_but_its_incident_still_counts(
    community: Community,
) -> None:
    """HANBIT's impact is under a marking only HANBIT reads: ACME counts the incident, not
    the impact; HANBIT counts both."""
    node = community.node
    withheld = incident(5, "KOR", "2023-08-20T00:00:00Z", impact=("USD", 5, 6))
    withheld["granular_markings"] = [
        {"marking_ref": ORIGINATOR_ONLY, "selectors": [f"extensions.{COERCION}.estimated_impact"]}
    ]
    status = node.add_objects(community.hanbit, community.coercion, [withheld])
    assert status.failure_count == 0, status.failures
    american = cell(node.coercion_view(actor=community.acme).as_json(), RARE_EARTHS)
    assert american["incidents"] == 4
    assert american["impact"] == [
        {"currency": "USD", "suppressed": False, "min": 110, "max": 220, "organizations": 2}
    ]
    own = cell(node.coercion_view(actor=community.hanbit).as_json(), RARE_EARTHS)
    assert own["incidents"] == 3
    assert own["impact"] == [
        {"currency": "USD", "suppressed": False, "min": 15, "max": 26, "organizations": 2}
    ]


def test_a_view_asked_again_is_kept_until_its_data_changes_and_each_request_is_audited(
    community: Community,
) -> None:
    node = community.node
    first = node.coercion_view(actor=community.acme)
    assert node.coercion_view(actor=community.acme) is first
    # A reader of another standing has its own answer.
    assert cell(node.coercion_view(actor=community.kisa).as_json(), RARE_EARTHS)["incidents"] == 2
    entries = node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
    views = [e for e in entries if e.get("detail", {}).get("view") == "coercion"]
    assert [e["actor"]["name"] for e in views] == ["acme", "acme", "kisa"]
    assert views[0]["objects"] == views[1]["objects"]

    later = incident(6, "KOR", "2023-09-30T00:00:00Z")
    status = node.add_objects(community.kisa, community.coercion, [later])
    assert status.failure_count == 0, status.failures
    after_write = node.coercion_view(actor=community.acme)
    assert after_write is not first
    assert cell(after_write.as_json(), RARE_EARTHS)["incidents"] == 4

    removed = node.delete_objects(
        CONSOLE, community.coercion, VersionFilter(object_ids=(later["id"],))
    )
    assert removed == 1
    assert cell(node.coercion_view(actor=community.acme).as_json(), RARE_EARTHS)["incidents"] == 3


def test_a_kept_supply_chain_view_follows_a_changed_share(community: Community) -> None:
    node = community.node
    before = node.supply_chain_view(actor=community.acme).as_json()
    assert node.supply_chain_view(actor=community.acme).as_json() == before
    changed = exposure(5, "5g-ran", "ERICSSON", 0.2)
    changed["modified"] = "2026-02-01T00:00:00.000Z"
    status = node.add_objects(community.kisa, community.supply, [changed])
    assert status.failure_count == 0, status.failures
    [ran] = node.supply_chain_view(actor=community.acme).as_json()["categories"]
    vendors = {line["name"]: line for line in ran["vendors"]}
    assert vendors["Ericsson"]["share"] == round((0.6 + 0.5 + 0.2) / 3, 4)


def test_a_kept_view_follows_added_versions_as_a_fresh_answer_would(
    community: Community, database_url: str, tmp_path: Path
) -> None:
    node = community.node
    before = node.coercion_view(actor=community.acme)
    newer = incident(2, "USA", "2023-09-12T00:00:00Z", impact=("USD", 5, 7))
    newer["modified"] = "2026-03-01T00:00:00.000Z"
    later = incident(7, "JPN", "2023-08-20T00:00:00Z", impact=("USD", 1, 2))
    add(node, community.hanbit, community.coercion, newer)
    add(node, community.kisa, community.coercion, later)
    followed = node.coercion_view(actor=community.acme)
    assert followed is not before
    again = node.coercion_view(actor=community.acme)
    assert again is followed

    other = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    try:
        fresh = other.coercion_view(actor=other.user("acme"))
        assert followed == fresh
        assert followed.encoded == fresh.encoded
        assert cell(followed.as_json(), RARE_EARTHS)["impact"] == [
            {"currency": "USD", "suppressed": False, "min": 116, "max": 229, "organizations": 4}
        ]
    finally:
        other.close()

    entries = node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
    views = [e for e in entries if e.get("detail", {}).get("view") == "coercion"]
    first, changed, repeated, fresh_entry = views
    assert "objects_as_in" not in first
    assert changed["objects_as_in"] == first["seq"]
    assert changed["objects_dropped"] == {"KOR.HANBIT": [[newer["id"], "2026-01-01T00:00:00.000Z"]]}
    assert sorted(ref[0] for refs in changed["objects_added"].values() for ref in refs) == sorted(
        [newer["id"], later["id"]]
    )
    assert repeated["objects_as_in"] == changed["seq"]
    assert "objects_as_in" not in fresh_entry  # the other node's first answer
    assert "objects_added" not in repeated
    named = [{(o, *ref) for o, refs in e["objects"].items() for ref in refs} for e in views]
    assert named[1] == named[2] == named[3] != named[0]


def test_a_kept_view_is_computed_afresh_when_a_collection_loses_versions(
    community: Community,
) -> None:
    node = community.node
    node.supply_chain_view(actor=community.acme)
    node.delete_objects(
        CONSOLE,
        community.supply,
        VersionFilter(object_ids=(exposure(6, "5g-ran", "NOKIA", 0.2)["id"],)),
    )
    [ran] = node.supply_chain_view(actor=community.acme).as_json()["categories"]
    assert [line["name"] for line in ran["vendors"]] == ["Ericsson", "Huawei"]
    entries = node.audit_entries(CONSOLE, EntryFilter(action="objects:read"), limit=100)
    views = [e for e in entries if e.get("detail", {}).get("view") == "supply-chain"]
    assert ["objects_as_in" in e for e in views] == [False, False]


def test_an_incident_whose_required_property_is_withheld_is_withheld_whole(
    community: Community,
) -> None:
    """Withholding the coercing state would leave no coercion incident, as withholding a
    property STIX requires would leave no object: the reader gets none. An optional property
    withheld leaves the rest."""
    node = community.node
    stateless = incident(8, "KOR", "2023-08-20T00:00:00Z")
    stateless["granular_markings"] = [
        {"marking_ref": ORIGINATOR_ONLY, "selectors": [f"extensions.{COERCION}.coercing_state"]}
    ]
    unexplained = incident(9, "USA", "2023-08-21T00:00:00Z")
    unexplained["granular_markings"] = [
        {"marking_ref": ORIGINATOR_ONLY, "selectors": [f"extensions.{COERCION}.stated_pretext"]}
    ]
    add(node, community.hanbit, community.coercion, stateless, unexplained)

    def read(user: User) -> dict[str, dict[str, Any]]:
        selection = VersionFilter(object_ids=(stateless["id"], unexplained["id"]))
        page = node.read_objects(user, community.coercion, selection, limit=10)
        return {item.object_id: orjson.loads(item.body) for item in page.items}

    seen = read(community.acme)
    assert list(seen) == [unexplained["id"]]
    assert "stated_pretext" not in seen[unexplained["id"]]["extensions"][COERCION]
    assert set(read(community.hanbit)) == {stateless["id"], unexplained["id"]}
    assert cell(node.coercion_view(actor=community.acme).as_json(), RARE_EARTHS)["incidents"] == 4
    assert cell(node.coercion_view(actor=community.hanbit).as_json(), RARE_EARTHS)["incidents"] == 4
    [told] = node.explain(CONSOLE, stateless["id"], "acme")
    assert not told.sees
    assert told.lines[0] == "deny: the object is not shown"
    assert "coercing_state: is required" in told.lines[1]
    assert len(told.lines) > 2  # and why that part is withheld from the reader
    [told] = node.explain(CONSOLE, unexplained["id"], "acme")
    assert told.sees and told.lines[0].startswith("redact: shown without")
