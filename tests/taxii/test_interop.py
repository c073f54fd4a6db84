"""The OASIS taxii2-client drives a real server process, over HTTPS with the node's pinned
certificate, through every endpoint and filter; everything served validates with
stix2-validator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from allyshare.demo.content import demo_objects
from allyshare.policy import REDACTED_PROPERTY, TLP_MARKING_IDS, Tlp, redact
from allyshare.stix.reading import read_objects
from allyshare.stix.versions import version_of
from allyshare.storage import markings_in

from support.processes import RunningNode, cli, let_requests_pin, serve


@pytest.fixture
def running(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningNode, str, str]]:
    let_requests_pin(monkeypatch)
    env = {"ALLYSHARE_DATABASE_URL": database_url}
    data_dir = tmp_path / "node"
    assert cli(data_dir, "init", "--country", "KOR", "--name", "kr-cert", env=env).returncode == 0
    made = cli(data_dir, "collection", "add", "Indicators", env=env)
    assert made.returncode == 0, made.stderr
    collection_id = made.stdout.strip()
    org = cli(data_dir, "org", "add", "KrCERT", "--country", "KOR", "--kind", "cert", env=env)
    assert org.returncode == 0, org.stderr
    user = cli(
        data_dir,
        "user",
        "add",
        "analyst",
        "--org",
        org.stdout.strip(),
        "--role",
        "contributor",
        "--role",
        "curator",
        env=env,
    )
    assert user.returncode == 0, user.stderr
    with serve(data_dir, env=env, tls=True) as node:
        yield node, collection_id, user.stdout.strip()


def pinned(node: RunningNode) -> str:
    """The node's own certificate as the client's only trust anchor (served over HTTPS)."""
    return str(node.data_dir / "node.crt")


def valid_stix(objects: list[dict[str, Any]]) -> None:
    options = ValidationOptions(version="2.1")
    for obj in objects:
        result = validate_instance(obj, options)
        assert result.is_valid, [str(e) for e in result.errors]


def test_taxii2_client_against_the_server(running: tuple[RunningNode, str, str]) -> None:
    node, collection_id, token = running
    server = Server(f"{node.url}/taxii2/", user="analyst", password=token, verify=pinned(node))
    assert server.title.startswith("allyshare")
    [root] = server.api_roots
    assert isinstance(root, ApiRoot) and root.versions == ["application/taxii+json;version=2.1"]
    [collection] = root.collections
    assert isinstance(collection, Collection) and collection.id == collection_id
    assert collection.can_read and collection.can_write

    # A member writes in its own name only (the demo's authors are other organizations),
    # and TLP:RED only with named recipients.
    objects = [
        {key: value for key, value in obj.items() if key != "created_by_ref"}
        for obj in demo_objects()
        if Tlp.RED not in {TLP_MARKING_IDS.get(ref) for refs in markings_in(obj) for ref in refs}
    ]
    status = collection.add_objects({"objects": objects})
    assert status.status == "complete"
    assert status.failure_count == 0, status.failures
    assert status.success_count == len(objects)
    fetched = root.get_status(status.id)
    assert fetched.total_count == len(objects)

    served: list[dict[str, Any]] = []
    for envelope in as_pages(collection.get_objects, per_request=50):
        served.extend(envelope.get("objects", []))
    latest = {o["id"]: o for o in objects}
    for obj in objects:
        current = latest[obj["id"]]
        if obj.get("modified", "") > current.get("modified", ""):
            latest[obj["id"]] = obj
    assert len(served) == len(latest)
    valid_stix(served)

    every = [
        o
        for page in as_pages(collection.get_objects, per_request=40, version="all")
        for o in page.get("objects", [])
    ]
    assert len(every) == len(objects)

    manifest = [
        r
        for page in as_pages(collection.get_manifest, per_request=30)
        for r in page.get("objects", [])
    ]
    assert len(manifest) == len(latest)
    middle = manifest[len(manifest) // 2]["date_added"]
    after = collection.get_objects(added_after=middle)["objects"]
    assert len(after) == len(manifest) - len(manifest) // 2 - 1

    indicators = collection.get_objects(type="indicator")["objects"]
    assert indicators and all(o["type"] == "indicator" for o in indicators)
    multi = max(latest, key=lambda i: sum(o["id"] == i for o in objects))
    versions = collection.object_versions(multi)["versions"]
    assert len(versions) == sum(o["id"] == multi for o in objects) > 1
    first = collection.get_object(multi, version="first")["objects"]
    assert [o["modified"] for o in first] == [min(versions)]
    by_id = collection.get_object(multi)["objects"]
    valid_stix(by_id)
    assert collection.get_objects(id=multi, spec_version="2.1")["objects"] == by_id

    collection.delete_object(multi)
    assert not any(o["id"] == multi for o in collection.get_objects(limit=10000)["objects"])


def test_served_shared_data_validates_where_the_input_did(
    running: tuple[RunningNode, str, str], shared_data: Path, database_url: str
) -> None:
    node, collection_id, token = running
    sources = [
        shared_data / "oasis" / "cti-documentation" / "examples",
        shared_data / "oasis" / "cti-stix2-json-schemas" / "examples",
        shared_data / "vendor-reports" / "sekoia" / "2021-11-10-apt31-stix2.jsonl",
        shared_data / "attack-flow" / "corpus",
    ]
    imported = cli(
        node.data_dir,
        "import",
        *map(str, sources),
        "--collection",
        collection_id,
        "--quiet",
        env={"ALLYSHARE_DATABASE_URL": database_url},
    )
    assert imported.returncode in (0, 2), imported.stderr
    originals: dict[tuple[str, str], dict[str, Any]] = {}
    options = ValidationOptions(version="2.1")
    for source in sources:
        for obj, _ in read_objects(source):
            assert isinstance(obj, dict)
            originals[(obj["id"], version_of(obj))] = obj
    collection = (
        Server(f"{node.url}/taxii2/", user="analyst", password=token, verify=pinned(node))
        .api_roots[0]
        .collections[0]
    )
    served = [
        o
        for page in as_pages(collection.get_objects, per_request=500, version="all")
        for o in page.get("objects", [])
    ]
    assert len(served) > 400
    checked = redacted = 0
    for obj in served:
        original = originals[(obj["id"], version_of(obj))]
        if REDACTED_PROPERTY in obj:
            # Granular TLP:RED parts of the examples are not for this reader.
            redacted += 1
            assert obj == redact(original, tuple(obj[REDACTED_PROPERTY]))
        else:
            assert obj == original
        if validate_instance(original, options).is_valid:
            assert validate_instance(obj, options).is_valid
            checked += 1
    assert checked > 300 and redacted > 0
