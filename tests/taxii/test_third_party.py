"""A member re-shares third-party intelligence over TAXII: vendor reports (Unit 42, Talos,
SEKOIA), MITRE ATT&CK and attack flows keep their authors (``created_by_ref``), and every
valid object is stored and reads back equal. Real published bundles, posted as they are (STIX
2.0 ones upgraded first, as a member's tooling does before a TAXII 2.1 POST)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.errors import InvalidObject
from allyshare.server import create_server_app
from allyshare.service import Node
from allyshare.stix.reading import read_objects
from allyshare.stix.upgrade import upgrade_object
from allyshare.stix.validation import check_object
from allyshare.stix.versions import version_of

TAXII = "application/taxii+json;version=2.1"
PUBLISHED = [
    "vendor-reports/unit42/moldypisces.json",
    "vendor-reports/unit42/playful-taurus.json",
    "vendor-reports/talos/lazarus-three-rats.json",
    "vendor-reports/talos/new-sugargh0st-rat.json",
    "vendor-reports/sekoia/2021-11-10-apt31-stix2.jsonl",
    "attack/ics-attack-18.1.json",
    "attack-flow/corpus/sony-malware.json",
    "attack-flow/corpus/equifax-breach.json",
    "attack-flow/attack-flow-example.json",
]


@pytest.fixture
def member(tmp_path: Path) -> Iterator[tuple[TestClient, str, str]]:
    node = Node.open(Settings(data_dir=tmp_path, country="USA"))
    cert = node.add_organization("CERT", country="USA", kind="cert")
    node.add_organization("KISA", country="KOR", kind="cert")
    collection = node.add_collection("Threat reports").id
    token = node.add_user("analyst", organization=cert, roles=["contributor"])
    with TestClient(create_server_app(node)) as client:
        yield client, collection, token
    node.close()


def published(shared_data: Path, name: str) -> list[dict[str, Any]]:
    """The file's objects as STIX 2.1 (JSON objects only: what a TAXII envelope carries)."""
    found = []
    for obj, spec_version in read_objects(shared_data / name):
        if isinstance(obj, dict):
            try:
                found.append(upgrade_object(obj, spec_version))
            except InvalidObject:
                continue
    return found


def is_valid(obj: dict[str, Any]) -> bool:
    try:
        check_object(obj)
    except InvalidObject:
        return False
    return True


@pytest.mark.parametrize("name", PUBLISHED)
def test_a_member_re_shares_what_others_wrote(
    member: tuple[TestClient, str, str], shared_data: Path, name: str
) -> None:
    client, collection, token = member
    headers = {"Authorization": f"Bearer {token}", "Accept": TAXII}
    objects = published(shared_data, name)
    valid = [obj for obj in objects if is_valid(obj)]
    assert any("created_by_ref" in obj for obj in valid)

    response = client.post(
        f"/taxii2/api/collections/{collection}/objects/",
        content=orjson.dumps({"objects": objects}),
        headers={**headers, "Content-Type": TAXII},
    )

    assert response.status_code == 202, response.text
    status = response.json()
    assert not any("policy" in f["message"] for f in status.get("failures", [])), status
    assert status["success_count"] == len(valid)
    posted = {(obj["id"], version_of(obj)): obj for obj in valid}
    served: dict[tuple[str, str], Any] = {}
    query: dict[str, str] = {"match[version]": "all", "limit": "1000"}
    while True:
        page = client.get(
            f"/taxii2/api/collections/{collection}/objects/", headers=headers, params=query
        ).json()
        served.update({(obj["id"], version_of(obj)): obj for obj in page.get("objects", [])})
        if not page["more"]:
            break
        query["next"] = page["next"]
    assert served == posted
