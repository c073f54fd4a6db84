"""The node's enforcement end to end: rights from agreements, write checks, the showcase read
four ways over TAXII, and `policy explain`, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.errors import NotFound, PermissionDenied
from allyshare.policy import (
    ACS_EXTENSION_ID,
    ALLYSHARE_EXTENSION_ID,
    Agreement,
    MarkingRegistry,
    Organization,
    Tlp,
)
from allyshare.server import create_server_app
from allyshare.service import Node, WriteRules, prepare, received_originators
from allyshare.storage import User, VersionFilter

TAXII = "application/taxii+json;version=2.1"
SYSTEM = User("system:test", is_admin=True, disabled=False, is_system=True)


def marking(digit: str, extension: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{digit * 8}-4444-4444-8444-444444444444",
        "created": "2024-01-01T00:00:00.000Z",
        "extensions": {extension: {"extension_type": "property-extension", **body}},
    }


def acs(digit: str, **control_set: Any) -> dict[str, Any]:
    return marking(digit, ACS_EXTENSION_ID, {"control_set": control_set})


REL_TO = acs("1", classification="C", permitted_nationalities=["USA", "KOR"])
NOFORN = acs("2", classification="C", formal_determination=["NF"])
PROPRIETARY = acs(
    "3",
    classification="U",
    caveat=["CISAPROPRIETARY"],
    permitted_organizations=["USA.DHS", "KOR.KISA"],
)
SECRET = acs("4", classification="S")
TOP_SECRET = acs("5", classification="TS")
RED_TO_KISA = marking("6", ALLYSHARE_EXTENSION_ID, {"recipients": ["KOR.KISA"]})
DEFINITIONS = [REL_TO, NOFORN, PROPRIETARY, SECRET, TOP_SECRET, RED_TO_KISA]

INDICATOR_ID = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def indicator(
    number: int = 0, modified: str = "2024-05-02T08:00:00.000Z", **extra: Any
) -> dict[str, Any]:
    object_id = (
        INDICATOR_ID if number == 0 else f"indicator--{number:08d}-1111-4111-8111-111111111111"
    )
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id,
        "created": "2024-05-02T08:00:00.000Z",
        "modified": modified,
        "name": "Kimsuky C2 server",
        "pattern": "[ipv4-addr:value = '198.51.100.23']",
        "pattern_type": "stix",
        "valid_from": "2024-05-01T00:00:00Z",
        **extra,
    }


SHOWCASE = indicator(
    description="Reported by a US source in the actor's infrastructure.",
    external_references=[
        {"source_name": "victim incident report", "url": "https://victim.example/ir/1"},
        {"source_name": "public write-up", "url": "https://blog.example/kimsuky"},
    ],
    object_marking_refs=[Tlp.AMBER.marking_id, REL_TO["id"]],
    granular_markings=[
        {"marking_ref": NOFORN["id"], "selectors": ["description"]},
        {"marking_ref": PROPRIETARY["id"], "selectors": ["external_references.[0]"]},
    ],
)


@dataclass
class Community:
    node: Node
    client: TestClient
    collection: str
    tokens: dict[str, str]

    def user(self, name: str) -> User:
        return self.node.user(name)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", "Accept": TAXII}

    def objects(self, who: str, suffix: str = "", **params: str) -> Any:
        path = f"/taxii2/api/collections/{self.collection}/objects/{suffix}"
        return self.client.get(path, headers=self.headers(who), params=params)

    def post(self, who: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        response = self.client.post(
            f"/taxii2/api/collections/{self.collection}/objects/",
            content=orjson.dumps({"objects": objects}),
            headers={**self.headers(who), "Content-Type": TAXII},
        )
        assert response.status_code == 202, response.text
        status: dict[str, Any] = response.json()
        return status


@pytest.fixture
def community(database_url: str, tmp_path: Path) -> Iterator[Community]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    dhs = node.add_organization("DHS", country="USA", kind="government")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    acme = node.add_organization("Acme Semiconductors", country="USA", kind="company")
    ncsc = node.add_organization("NCSC", country="GBR", kind="cert")
    node.apply_agreement(
        {
            "name": "us-rok-tech",
            "version": 1,
            "parties": {"countries": ["USA", "KOR"], "organizations": []},
            "categories": ["cyber-threat"],
            "max_classification": "S",
            "tlp_ceiling": "RED",
            "propin_match_only": True,
            "aggregate_k": 3,
        }
    )
    collection = node.add_collection("Cyber threats", agreement="us-rok-tech").id
    tokens = {
        "cisa": node.add_user("cisa", organization=cisa, clearance="S", roles=["contributor"]),
        "kor": node.add_user("kor", organization=kisa, clearance="S", roles=["reader"]),
        "usa": node.add_user("usa", organization=dhs, clearance="S", roles=["curator"]),
        "company": node.add_user("company", organization=acme, clearance="C", roles=["reader"]),
        "uncleared": node.add_user("uncleared", organization=dhs, roles=["reader"]),
        "gbr": node.add_user("gbr", organization=ncsc, clearance="TS", roles=["reader"]),
        "norole": node.add_user("norole", organization=dhs, clearance="S", roles=[]),
        "admin": node.add_user("admin", is_admin=True),
    }
    with TestClient(create_server_app(node)) as client:
        yield Community(node, client, collection, tokens)
    node.close()


def test_rights_follow_the_agreement_and_roles(community: Community) -> None:
    node = community.node
    readable = {
        name: [a.collection.id for a in node.collections_for(community.user(name))]
        for name in community.tokens
    }
    assert readable["gbr"] == readable["norole"] == []
    assert readable["kor"] == readable["admin"] == [community.collection]
    with pytest.raises(PermissionDenied):
        node.collection_for(community.user("kor"), community.collection, "write")
    with pytest.raises(NotFound):
        node.collection_for(community.user("gbr"), community.collection, "read")
    with pytest.raises(PermissionDenied, match="curator"):
        node.delete_objects(community.user("cisa"), community.collection, VersionFilter())
    listed = community.client.get("/api/v1/collections", headers=community.headers("gbr"))
    assert listed.json() == {"collections": []}


def test_writes_are_checked_per_object(community: Community) -> None:
    status = community.post(
        "cisa",
        [
            *DEFINITIONS,
            indicator(1, object_marking_refs=[SECRET["id"]]),
            indicator(2, object_marking_refs=[TOP_SECRET["id"]]),
            indicator(3, object_marking_refs=[Tlp.RED.marking_id]),
            indicator(4, object_marking_refs=[Tlp.RED.marking_id, RED_TO_KISA["id"]]),
            indicator(5, created_by_ref=identity_of("KOR.KISA")),
            indicator(6, created_by_ref=identity_of("USA.CISA")),
            # A vendor's indicator, re-shared with its author.
            indicator(7, created_by_ref="identity--9d0c6b7a-3a1e-4e8f-8f5e-5b7c1f2e3d4a"),
        ],
    )
    failures = {failure["id"][11:19]: failure["message"] for failure in status["failures"]}
    assert status["success_count"] == len(DEFINITIONS) + 4
    assert sorted(failures) == ["00000002", "00000003", "00000005"]
    assert "classification TS is above S" in failures["00000002"]
    assert "TLP:RED needs named recipients" in failures["00000003"]
    assert failures["00000005"] == (
        f"refused by policy: created_by_ref {identity_of('KOR.KISA')} is the identity of member "
        "KOR.KISA: USA.CISA may not write in another member's name"
    )


def test_only_the_originator_adds_versions(community: Community) -> None:
    community.post("cisa", [indicator(1)])
    kisa_writer = community.node.add_user(
        "kisa-writer", organization="KOR.KISA", roles=["contributor"]
    )
    community.tokens["kisa-writer"] = kisa_writer
    status = community.post("kisa-writer", [indicator(1, modified="2024-06-01T00:00:00.000Z")])
    assert status["failures"][0]["message"] == (
        "only the originator of this object may add versions of it"
    )
    newer = community.post("cisa", [indicator(1, modified="2024-06-01T00:00:00.000Z")])
    assert newer["success_count"] == 1


def test_a_write_does_not_tell_whether_a_hidden_object_has_its_id(community: Community) -> None:
    """KISA cannot see CISA's NOFORN indicator; posting one with its id is answered as for
    an unused id, and the version is kept apart for KISA: nobody else reads it as a version
    of CISA's object, and KISA does not see CISA's."""
    node = community.node
    hidden = indicator(1, object_marking_refs=[NOFORN["id"]], description="CISA's")
    community.post("cisa", [*DEFINITIONS, hidden])
    community.tokens["kisa-writer"] = node.add_user(
        "kisa-writer", organization="KOR.KISA", roles=["contributor"]
    )
    reused = indicator(1, modified="2024-06-01T00:00:00.000Z", description="KISA's")
    unused = indicator(2, modified="2024-06-01T00:00:00.000Z", description="KISA's")

    status = community.post("kisa-writer", [reused, unused])

    first, second = status["successes"]
    assert status["failure_count"] == 0
    assert {**first, "id": ""} == {**second, "id": ""}
    again = community.post("kisa-writer", [reused, unused])["successes"]
    assert {**again[0], "id": ""} == {**again[1], "id": ""}
    newer = indicator(1, modified="2024-07-01T00:00:00.000Z", description="KISA's too")
    assert community.post("kisa-writer", [newer])["success_count"] == 1

    def versions(who: str, object_id: str = hidden["id"]) -> list[str]:
        answer = community.objects(who, f"{object_id}/versions/")
        return answer.json()["versions"] if answer.status_code == 200 else []

    def read(who: str) -> list[str]:
        answer = community.objects(who, f"{hidden['id']}/", **{"match[version]": "all"})
        objects = answer.json().get("objects", []) if answer.status_code == 200 else []
        return [obj["description"] for obj in objects]

    assert read("kisa-writer") == ["KISA's", "KISA's too"]
    first_version = versions("kisa-writer", unused["id"])[0]
    assert versions("kisa-writer") == [first_version, newer["modified"]]
    assert read("kor") == read("kisa-writer")  # set apart for KISA, its readers included
    assert read("cisa") == read("usa") == read("company") == ["CISA's"]
    assert read("admin") == []
    # The very version CISA stored, with other content, by one more organization.
    community.tokens["acme-writer"] = node.add_user(
        "acme-writer", organization="USA.ACME-SEMICONDUCTORS", roles=["contributor"]
    )
    lone = indicator(4, object_marking_refs=[NOFORN["id"]], description="CISA's")
    community.post("cisa", [lone])
    same = community.post("acme-writer", [{**lone, "description": "ACME's"}, indicator(3)])
    assert {**same["successes"][0], "id": ""} == {**same["successes"][1], "id": ""}
    # The one who may see CISA's object is told, as before.
    community.tokens["dhs-writer"] = node.add_user(
        "dhs-writer", organization="USA.DHS", clearance="C", roles=["contributor"]
    )
    refused = community.post("dhs-writer", [reused])
    assert refused["failures"][0]["message"] == (
        "only the originator of this object may add versions of it"
    )
    [cisas, kisas, *_] = node.explain(SYSTEM, hidden["id"], "usa")
    assert cisas.sees and not kisas.sees
    assert "set apart: writer only" in kisas.markings
    assert any("set apart for its writer KOR.KISA" in line for line in kisas.lines)


def test_the_same_object_read_four_ways(community: Community) -> None:
    community.post("cisa", [*DEFINITIONS, SHOWCASE])

    kor = community.objects("kor", f"{INDICATOR_ID}/").json()["objects"]
    # Redaction drops the granular entries that marked what was removed.
    noforn_entry, proprietary_entry = SHOWCASE["granular_markings"]
    expected_kor = {k: v for k, v in SHOWCASE.items() if k != "description"}
    assert kor == [
        {
            **expected_kor,
            "granular_markings": [proprietary_entry],
            "x_allyshare_redacted": ["description"],
        }
    ]
    usa = community.objects("usa", f"{INDICATOR_ID}/").json()["objects"]
    assert usa == [SHOWCASE]
    company = community.objects("company", f"{INDICATOR_ID}/").json()["objects"]
    expected_company = {**SHOWCASE, "external_references": SHOWCASE["external_references"][1:]}
    assert company == [
        {
            **expected_company,
            "granular_markings": [noforn_entry],
            "x_allyshare_redacted": ["external_references.[0]"],
        }
    ]
    assert community.objects("uncleared", f"{INDICATOR_ID}/").status_code == 404


def test_a_hidden_object_answers_as_a_missing_one(community: Community) -> None:
    community.post("cisa", [*DEFINITIONS, indicator(1, object_marking_refs=[NOFORN["id"]])])
    hidden = community.objects("kor", f"{indicator(1)['id']}/")
    missing = community.objects("kor", f"{indicator(2)['id']}/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert hidden.headers.keys() == missing.headers.keys()
    versions = community.objects("kor", f"{indicator(1)['id']}/versions/")
    assert versions.status_code == 404
    seen = community.objects("usa", f"{indicator(1)['id']}/")
    assert seen.status_code == 200


def test_last_is_the_newest_version_the_reader_may_see(community: Community) -> None:
    later = "2024-06-01T00:00:00.000Z"
    community.post(
        "cisa",
        [
            *DEFINITIONS,
            indicator(1),
            indicator(1, modified=later, object_marking_refs=[NOFORN["id"]]),
        ],
    )
    kor = community.objects("kor", f"{indicator(1)['id']}/").json()["objects"]
    usa = community.objects("usa", f"{indicator(1)['id']}/").json()["objects"]
    assert [o["modified"] for o in kor] == ["2024-05-02T08:00:00.000Z"]
    assert [o["modified"] for o in usa] == [later]
    manifest = community.client.get(
        f"/taxii2/api/collections/{community.collection}/manifest/",
        headers=community.headers("kor"),
        params={"match[id]": indicator(1)["id"]},
    ).json()["objects"]
    assert [m["version"] for m in manifest] == ["2024-05-02T08:00:00.000Z"]


def test_explain_is_for_admins_and_the_originator(community: Community) -> None:
    community.post("cisa", [*DEFINITIONS, SHOWCASE])
    node = community.node
    [for_kor] = node.explain(community.user("cisa"), INDICATOR_ID, "kor")
    assert for_kor.sees and for_kor.originator == "USA.CISA"
    assert for_kor.markings == "C//REL TO KOR, USA; TLP:AMBER"
    assert for_kor.lines == (
        "redact: shown without description",
        "  - description: NOFORN: releasable to USA nationals only, not to nationality KOR",
    )
    [for_gbr] = node.explain(community.user("admin"), INDICATOR_ID, "gbr")
    assert not for_gbr.sees
    assert for_gbr.lines[0] == (
        "no access to collection 'Cyber threats': GBR.NCSC is not a party of agreement "
        "'us-rok-tech' v1"
    )
    with pytest.raises(NotFound, match="no object"):
        node.explain(community.user("usa"), INDICATOR_ID, "kor")
    answer = community.client.get(
        "/api/v1/policy/explain",
        headers=community.headers("kor"),
        params={"object_id": INDICATOR_ID, "as_user": "uncleared"},
    )
    assert answer.status_code == 404
    answer = community.client.get(
        "/api/v1/policy/explain",
        headers=community.headers("cisa"),
        params={"object_id": INDICATOR_ID, "as_user": "uncleared"},
    )
    assert answer.status_code == 200
    [version] = answer.json()["versions"]
    assert not version["sees"]
    assert version["reasons"][1] == "  - classification C: clearance U is lower"


def test_export_is_what_the_reader_may_see(community: Community) -> None:
    community.post(
        "cisa", [*DEFINITIONS, SHOWCASE, indicator(1, object_marking_refs=[NOFORN["id"]])]
    )
    node = community.node
    kor = [
        orjson.loads(b)
        for b in node.export(community.user("kor"), community.collection, VersionFilter())
    ]
    everything = [
        orjson.loads(b) for b in node.export(SYSTEM, community.collection, VersionFilter())
    ]
    assert {o["id"] for o in everything} - {o["id"] for o in kor} == {indicator(1)["id"]}
    [showcase] = [o for o in kor if o["id"] == INDICATOR_ID]
    assert showcase["x_allyshare_redacted"] == ["description"]


def test_a_peer_answers_only_for_its_own_members() -> None:
    """An organization is taken only when it is of the peer's country, not a member here,
    and the object's author; otherwise only its country is recorded, with a note."""

    def authored(organization: str | None) -> dict[str, Any]:
        return indicator(1, created_by_ref=identity_of(organization)) if organization else {}

    claims: list[object] = [
        "USA.CISA",  # of the peer's country, the author: taken
        "USA.CISA",  # not named as author
        "USA.NSA",  # one of this node's own
        "KOR.NIS",  # another country's organization
        "KOR",  # a country alone
        None,
        "node:key",
        7,
        "usa.cisa",
        "USA.CISA.PEER:jpn",
    ]
    objects = [
        authored("USA.CISA"),
        authored(None),
        authored("USA.NSA"),
        authored("KOR.NIS"),
        *[authored(None)] * 6,
    ]
    attested = received_originators("USA", "usa", claims, objects, {"USA.NSA"})
    assert attested.originators == [
        "USA.CISA.PEER:usa",
        "USA.PEER:usa",
        "USA.PEER:usa",
        "KOR.PEER:usa",
        "KOR.PEER:usa",
        *["USA.PEER:usa"] * 5,
    ]
    assert "does not name it as author" in attested.notes[1]
    assert "one of this node's own organizations" in attested.notes[2]
    assert "not an organization of USA" in attested.notes[3]
    assert sorted(attested.notes) == [1, 2, 3, 6, 7, 8, 9]
    fewer = received_originators("USA", "usa", ["USA.CISA"], [{}, {}], set())
    assert fewer.originators == ["USA.PEER:usa"] * 2
    assert received_originators("USA", "usa", {"USA.CISA": [0]}, [{}], set()).originators == [
        "USA.PEER:usa"
    ]


def test_a_number_beyond_64_bits_is_a_per_object_failure() -> None:
    """JSON allows it and a pulled page may hold one; storage cannot keep it."""
    cisa = Organization("USA.CISA", "CISA", "USA")
    rules = WriteRules(cisa, cisa.id, Agreement("a", 1), MarkingRegistry([]), operator=True)
    prepared = prepare([indicator(1, x_count=10**30), indicator(2)], rules)
    assert [version.object_id for version in prepared.versions] == [indicator(2)["id"]]
    assert "numbers must fit in 64 bits" in prepared.failures[0]["message"]
