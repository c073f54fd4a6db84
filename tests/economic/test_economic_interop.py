"""Incidents and exposures round-trip through a real node with the OASIS taxii2-client, over
HTTPS with the pinned certificate: served as sent, markings kept, and what is served (the
extension definitions too) passes stix2-validator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Server, as_pages

from allyshare.economic import EXPOSURE_TYPE, extension_definitions
from allyshare.economic.spreadsheets import identity_for
from allyshare.policy import Tlp

from support.economic import COMPANY, VENDOR, exposure, incident
from support.processes import RunningNode, cli, let_requests_pin, serve


@pytest.fixture
def running(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningNode, str]]:
    let_requests_pin(monkeypatch)
    env = {"ALLYSHARE_DATABASE_URL": database_url}
    data_dir = tmp_path / "node"
    assert cli(data_dir, "init", "--country", "KOR", "--name", "kr", env=env).returncode == 0
    assert cli(data_dir, "collection", "add", "Economic security", env=env).returncode == 0
    org = cli(
        data_dir, "org", "add", "Trade Office", "--country", "KOR", "--kind", "government", env=env
    )
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
        env=env,
    )
    assert user.returncode == 0, user.stderr
    with serve(data_dir, env=env, tls=True) as node:
        yield node, user.stdout.strip()


def marked(obj: dict[str, Any], level: Tlp) -> dict[str, Any]:
    return {**obj, "object_marking_refs": [level.marking_id]}


def test_incidents_and_exposures_round_trip_with_their_markings(
    running: tuple[RunningNode, str],
) -> None:
    node, token = running
    server = Server(
        f"{node.url}/taxii2/",
        user="analyst",
        password=token,
        verify=str(node.data_dir / "node.crt"),
    )
    [collection] = server.api_roots[0].collections
    vendor = {**identity_for("Example Networks"), "id": VENDOR}
    company = {**identity_for("Example Retail Co"), "id": COMPANY}
    sent = [
        *extension_definitions(),
        marked(vendor, Tlp.GREEN),
        marked(company, Tlp.GREEN),
        marked(incident(1), Tlp.GREEN),
        marked(incident(2, measures=["port-access-denial"]), Tlp.AMBER),
        marked(exposure(3), Tlp.AMBER),
        marked(exposure(4, share=1, component_category="semiconductor-wafers"), Tlp.CLEAR),
    ]
    status = collection.add_objects({"objects": sent})
    assert status.failure_count == 0, status.failures
    assert status.success_count == len(sent)

    served = [
        obj
        for page in as_pages(collection.get_objects, per_request=3)
        for obj in page.get("objects", [])
    ]
    assert sorted(served, key=lambda o: o["id"]) == sorted(sent, key=lambda o: o["id"])
    options = ValidationOptions(version="2.1")
    for obj in served:
        result = validate_instance(obj, options)
        assert result.is_valid, (obj["id"], [str(error) for error in result.errors])

    [only] = collection.get_objects(type=EXPOSURE_TYPE, id=exposure(3)["id"])["objects"]
    assert only["object_marking_refs"] == [Tlp.AMBER.marking_id]
    assert only == marked(exposure(3), Tlp.AMBER)
