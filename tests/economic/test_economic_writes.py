"""Incidents and exposures written through the node, on SQLite and PostgreSQL: TAXII POST
holds them to their rules per object, and spreadsheets import through the management API all
or nothing, every object passing the same gate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.economic import EXPOSURE_TYPE
from allyshare.economic.spreadsheets import identity_for
from allyshare.policy import Tlp
from allyshare.server import create_server_app
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter

from support.economic import exposure, incident

TAXII = "application/taxii+json;version=2.1"
AGREEMENT: dict[str, Any] = {
    "name": "economic-security",
    "version": 1,
    "parties": {"countries": ["USA", "KOR", "JPN"], "organizations": []},
    "categories": ["economic-coercion", "supply-chain"],
    "max_classification": "S",
    "tlp_ceiling": "AMBER",
    "propin_match_only": True,
    "aggregate_k": 2,
}
EXPOSURES = (
    "component_category,vendor,vendor_country,share,criticality,substitutes,markings\n"
    "5g-ran,Example Networks,CHN,40%,high,Other Radio,TLP:GREEN\n"
    "5g-core,Example Networks,CHN,0.25,critical,,\n"
    "semiconductor-lithography,Lens Works,NLD,0.9,critical,,TLP:AMBER\n"
)


@dataclass
class Site:
    client: TestClient
    node: Node
    collection: str
    tokens: dict[str, str]

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def post(self, objects: list[dict[str, Any]], who: str = "kor") -> dict[str, Any]:
        response = self.client.post(
            f"/taxii2/api/collections/{self.collection}/objects/",
            content=orjson.dumps({"objects": objects}),
            headers=self.headers(who, Accept=TAXII, **{"Content-Type": TAXII}),
        )
        assert response.status_code == 202, response.text
        status: dict[str, Any] = response.json()
        return status

    def served(self, who: str = "kor", **params: str) -> list[dict[str, Any]]:
        response = self.client.get(
            f"/taxii2/api/collections/{self.collection}/objects/",
            headers=self.headers(who, Accept=TAXII),
            params=params,
        )
        assert response.status_code == 200, response.text
        objects: list[dict[str, Any]] = response.json().get("objects", [])
        return objects

    def import_csv(self, kind: str, text: str, who: str = "kor", **params: str) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/collections/{self.collection}/import/csv",
            params={"kind": kind, **params},
            content=text.encode(),
            headers=self.headers(who, **{"Content-Type": "text/csv; charset=utf-8"}),
        )
        assert response.status_code == 200, response.text
        outcome: dict[str, Any] = response.json()
        return outcome


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection(
        "Economic security", agreement="economic-security", category="economic-coercion"
    ).id
    kor = node.add_organization("Korea Trade Office", country="KOR", kind="government")
    jpn = node.add_organization("Japan Trade Office", country="JPN", kind="government")
    roles = ["contributor", "curator"]
    tokens = {
        "kor": node.add_user("kor-analyst", organization=kor, roles=roles),
        "jpn": node.add_user("jpn-analyst", organization=jpn, roles=roles),
        "reader": node.add_user("kor-reader", organization=kor, roles=["reader"]),
    }
    with TestClient(create_server_app(node)) as client:
        yield Site(client, node, collection, tokens)
    node.close()


def test_valid_objects_are_stored_and_served_as_sent(site: Site) -> None:
    objects = [incident(1), exposure(2)]
    status = site.post(objects)
    assert status["success_count"] == 2, status
    assert all(s["message"] == "stored" for s in status["successes"])
    served = {obj["id"]: obj for obj in site.served()}
    for obj in objects:
        assert served[obj["id"]] == obj


def test_each_broken_object_is_refused_alone_with_its_reason(site: Site) -> None:
    status = site.post(
        [
            exposure(1, share=7),
            incident(2, targeted_country="CHN"),
            incident(3, end="2017-01-01T00:00:00Z"),
            exposure(4, criticality="severe"),
            incident(5),
        ]
    )
    assert status["success_count"] == 1 and status["failure_count"] == 4
    messages = [failure["message"] for failure in status["failures"]]
    assert messages[0].endswith("property 'share': must be more than 0 and at most 1, not 7")
    assert "'targeted_country': must not be the coercing state" in messages[1]
    assert "'end': 2017-01-01T00:00:00Z must not be earlier than start" in messages[2]
    assert "'criticality': must be one of low, medium, high, critical" in messages[3]
    assert [obj["id"] for obj in site.served()] == [incident(5)["id"]]


def test_an_unknown_term_is_stored_with_a_warning(site: Site) -> None:
    status = site.post([incident(1, measures=["port-access-denial"])])
    [success] = status["successes"]
    assert success["message"].startswith("stored; warning: 'measures' value 'port-access-denial'")


def test_a_spreadsheet_imports_through_the_api(site: Site) -> None:
    outcome = site.import_csv("exposures", EXPOSURES, markings="TLP:GREEN")
    assert outcome["refused"] is False and outcome["errors"] == []
    # three exposures and three named vendors (Example Networks once)
    assert (outcome["stored"], outcome["duplicate"], outcome["rows"]) == (6, 0, 3)
    served = site.served()
    exposures = {o["id"]: o for o in served if o["type"] == EXPOSURE_TYPE}
    assert set(exposures) == set(outcome["objects"].values())
    by_row = {row: exposures[object_id] for row, object_id in outcome["objects"].items()}
    assert by_row["2"]["object_marking_refs"] == [Tlp.GREEN.marking_id]
    assert by_row["3"]["object_marking_refs"] == [Tlp.GREEN.marking_id]  # the default
    assert by_row["4"]["object_marking_refs"] == [Tlp.AMBER.marking_id]
    names = {o["name"] for o in served if o["type"] == "identity"}
    assert names == {"Example Networks", "Other Radio", "Lens Works"}


def test_a_bad_row_refuses_the_whole_spreadsheet_unless_skipped(site: Site) -> None:
    bad = EXPOSURES + "5g-ran,Another,CHN,7,high,,\n"
    outcome = site.import_csv("exposures", bad)
    assert outcome["refused"] is True and outcome["stored"] == 0
    assert outcome["errors"] == [
        {
            "row": 5,
            "column": "share",
            "message": "'share' must be more than 0 and at most 1, not 7",
        }
    ]
    assert site.served() == []
    skipped = site.import_csv("exposures", bad, skip_bad="true")
    assert skipped["refused"] is False and skipped["stored"] == 6
    assert [error["row"] for error in skipped["errors"]] == [5]
    assert sorted(skipped["objects"]) == ["2", "3", "4"]


def test_what_the_node_refuses_refuses_the_whole_spreadsheet(site: Site) -> None:
    # TLP:RED is above the agreement's ceiling: the gate, not the reader, refuses that row.
    red = EXPOSURES + "5g-ran,Another,CHN,0.1,high,,TLP:RED\n"
    outcome = site.import_csv("exposures", red)
    assert outcome["refused"] is True and outcome["stored"] == 0
    assert outcome["objects"] == {}  # nothing was stored, so no row has an object
    assert [(e["row"], e["column"]) for e in outcome["errors"]] == [(5, None)] * 2
    assert all("refused by policy" in e["message"] for e in outcome["errors"])
    assert site.served() == []
    skipped = site.import_csv("exposures", red, skip_bad="true")
    assert skipped["stored"] == 6 and {e["row"] for e in skipped["errors"]} == {5}


def test_importing_again_duplicates_nothing(site: Site) -> None:
    first = site.import_csv("exposures", EXPOSURES)
    again = site.import_csv("exposures", EXPOSURES)
    assert again["objects"] == first["objects"]
    # the vendors are seen and not sent; the exposures are held as they are
    assert (again["stored"], again["duplicate"]) == (0, 3)
    every = site.served(**{"match[version]": "all"})
    assert len([o for o in every if o["type"] == EXPOSURE_TYPE]) == 3
    assert len([o for o in every if o["type"] == "identity"]) == 3


def test_a_changed_row_is_a_new_version_created_when_the_first_was(site: Site) -> None:
    first = site.import_csv("exposures", EXPOSURES)
    [held] = [o for o in site.served() if o["id"] == first["objects"]["4"]]
    changed = EXPOSURES.replace("Lens Works,NLD,0.9", "Lens Works,NLD,0.8")
    again = site.import_csv("exposures", changed)
    assert (again["stored"], again["duplicate"]) == (1, 2)
    versions = [o for o in site.served(**{"match[version]": "all"}) if o["id"] == held["id"]]
    assert [o["share"] for o in versions] == [0.9, 0.8]
    assert {o["created"] for o in versions} == {held["created"]}
    assert versions[1]["modified"] > held["modified"]
    assert again["warnings"] == []


def test_a_new_version_that_drops_the_held_markings_is_warned_of(site: Site) -> None:
    site.import_csv("exposures", EXPOSURES)
    unmarked = EXPOSURES.replace(
        "Lens Works,NLD,0.9,critical,,TLP:AMBER", "Lens Works,NLD,0.8,critical,,"
    )
    again = site.import_csv("exposures", unmarked)
    assert (again["stored"], again["duplicate"]) == (1, 2)
    [warning] = again["warnings"]
    assert (warning["row"], warning["column"]) == (4, "markings")
    assert "no longer carries TLP:AMBER" in warning["message"]


def test_a_vendor_a_member_shared_is_referred_to_by_name(site: Site) -> None:
    theirs = {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--6a1e7c52-5f0f-4d58-8b57-7c7b2c0c1a01",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "EXAMPLE  networks",
        "identity_class": "organization",
    }
    newer = theirs | {
        "id": "identity--0b6c1c2e-7a43-4e8e-9d55-0c6a3f1e9b02",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "name": "Example Networks",
    }
    assert site.post([newer, theirs], who="jpn")["success_count"] == 2
    outcome = site.import_csv("exposures", EXPOSURES)
    assert outcome["refused"] is False, outcome["errors"]
    served = site.served()
    exposures = [o for o in served if o["type"] == EXPOSURE_TYPE]
    vendors = {o["vendor_name"]: o["vendor_ref"] for o in exposures}
    assert vendors["Example Networks"] == theirs["id"]  # the oldest of the name
    names = sorted(o["name"] for o in served if o["type"] == "identity")
    assert names == ["EXAMPLE  networks", "Example Networks", "Lens Works", "Other Radio"]


def test_an_import_records_only_the_reads_it_made(site: Site) -> None:
    site.import_csv("exposures", EXPOSURES, who="jpn")
    header, theirs = EXPOSURES.splitlines(keepends=True)[:2]
    mine = header + "semiconductor-wafers,Wafer Co,JPN,0.3,medium,,\n"
    site.import_csv("exposures", mine)
    again = site.import_csv("exposures", mine.replace("0.3", "0.4") + theirs)
    assert (again["stored"], again["duplicate"]) == (2, 0), again["errors"]
    reads = [
        entry
        for entry in site.node.audit_entries(CONSOLE, EntryFilter())
        if entry["action"] == "objects:read" and entry["actor"]["name"] == "kor-analyst"
    ]
    named = {ref[0] for entry in reads for refs in entry["objects"].values() for ref in refs}
    # the vendors it named (two as the other member shared them), and its own exposure
    vendors = {identity_for(name)["id"] for name in ("Example Networks", "Other Radio", "Wafer Co")}
    assert named == vendors | {again["objects"]["2"]}
    assert all(entry["detail"] == {"import": "csv", "kind": "exposures"} for entry in reads)


def test_a_header_without_rows_is_refused(site: Site) -> None:
    response = site.client.post(
        f"/api/v1/collections/{site.collection}/import/csv",
        params={"kind": "exposures"},
        content=EXPOSURES.splitlines(keepends=True)[0].encode(),
        headers=site.headers("kor", **{"Content-Type": "text/csv"}),
    )
    assert response.status_code == 400
    assert "the file has a header but no rows" in response.json()["description"]


def test_another_member_reuses_the_vendors_identity(site: Site) -> None:
    site.import_csv("exposures", EXPOSURES)
    other = site.import_csv("exposures", EXPOSURES, who="jpn")
    assert other["refused"] is False, other["errors"]
    assert other["stored"] == 3  # its own exposures; the identities are the first writer's
    vendor = identity_for("Example Networks")["id"]
    mine = [o for o in site.served("jpn") if o["type"] == EXPOSURE_TYPE]
    assert len(mine) == 6 and {o["vendor_ref"] for o in mine} >= {vendor}


def test_incidents_import_with_their_companies(site: Site) -> None:
    text = (
        "name,coercing_state,targeted_country,targeted_sectors,targeted_companies,measures,"
        "start,end,impact_currency,impact_min,impact_max,markings\n"
        "Tours halted,CHN,KOR,tourism;retail,Example Retail Co,tourism-restriction,"
        "2017-03-15,2017-12-31,USD,5000000000,15000000000,TLP:GREEN\n"
        "Lumber held,CHN,AUS,agriculture,,customs-inspection;port-delay,2020-11-01,,,,,\n"
    )
    outcome = site.import_csv("incidents", text, markings="TLP:AMBER")
    assert outcome["refused"] is False and outcome["stored"] == 3
    [warning] = outcome["warnings"]
    assert warning["row"] == 3 and "'port-delay'" in warning["message"]
    incidents = [o for o in site.served() if o["type"] == "incident"]
    assert len(incidents) == 2


def test_the_api_refuses_what_is_not_a_spreadsheet(site: Site) -> None:
    path = f"/api/v1/collections/{site.collection}/import/csv"
    wrong_type = site.client.post(
        path,
        params={"kind": "exposures"},
        content=EXPOSURES.encode(),
        headers=site.headers("kor", **{"Content-Type": "application/json"}),
    )
    assert wrong_type.status_code == 415
    wrong_kind = site.client.post(
        path,
        params={"kind": "tariffs"},
        content=EXPOSURES.encode(),
        headers=site.headers("kor", **{"Content-Type": "text/csv"}),
    )
    assert wrong_kind.status_code == 400
    not_utf8 = site.client.post(
        path,
        params={"kind": "exposures"},
        content="vendor\nM\xfcller".encode("latin-1"),
        headers=site.headers("kor", **{"Content-Type": "text/csv"}),
    )
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.json()["description"]
    bad_marking = site.client.post(
        path,
        params={"kind": "exposures", "markings": "TLP:PURPLE"},
        content=EXPOSURES.encode(),
        headers=site.headers("kor", **{"Content-Type": "text/csv"}),
    )
    assert bad_marking.status_code == 400
    unknown = site.client.post(
        "/api/v1/collections/nope/import/csv",
        params={"kind": "exposures"},
        content=EXPOSURES.encode(),
        headers=site.headers("kor", **{"Content-Type": "text/csv"}),
    )
    assert unknown.status_code == 404
    reader = site.client.post(
        path,
        params={"kind": "exposures"},
        content=EXPOSURES.encode(),
        headers=site.headers("reader", **{"Content-Type": "text/csv"}),
    )
    assert reader.status_code == 403
    assert site.served() == []
