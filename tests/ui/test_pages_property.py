"""No object page shows anything the TAXII read of the same user would not.

Each example writes a few random marking definitions (`support.reference`: ACS with
classifications, REL TO, NOFORN, caveats and denials; allyshare recipients, ORCON and
match-only; TLP:RED to named organizations; statements; broken and missing ones) and one or two
versions of a few indicators with random object and granular markings, as a contributor of a
US or a Korean organization. Then random members of every organization open each object's
page in the UI and read it through TAXII (every version). The page must answer 404 exactly
when TAXII shows no version; otherwise its properties are the newest version TAXII gives
(each value as the page prints it), its withheld parts are the ones TAXII names, and its
version list is TAXII's.

One node serves the whole test (SQLite; a UI session per member, opened once), so examples
add to what earlier ones wrote under fresh ids: readers' cached views must follow.
"""

from __future__ import annotations

import html
import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.policy import REDACTED_PROPERTY
from allyshare.server import create_server_app
from allyshare.service import Node
from allyshare.stix.versions import version_key
from allyshare.ui.web import shown_value

from support.agreements import us_rok_tech
from support.reference import ORGANIZATIONS, Near, definition, indicators, specs

TAXII = "application/taxii+json;version=2.1"
HOST = "testserver.local"
CLEARANCES = ("U", "S")
WRITERS = ("USA.CISA", "KOR.KISA")
_ROW = re.compile(
    r'<tr><th scope="row" class="mono">(.*?)</th><td>(?:<pre>)?(.*?)(?:</pre>)?</td></tr>',
    re.DOTALL,
)
_numbers = itertools.count(1)


@dataclass
class World:
    client: TestClient
    node: Node
    collection: str
    tokens: dict[str, str]
    sessions: dict[str, str] = field(default_factory=dict)

    def as_member(self, name: str) -> None:
        """The client carries ``name``'s UI session (signed in on first use)."""
        self.client.cookies.clear()
        if name not in self.sessions:
            form = self.client.get("/ui/sign-in")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf is not None
            answer = self.client.post(
                "/ui/sign-in",
                data={"name": name, "token": self.tokens[name], "csrf": csrf[1]},
                follow_redirects=False,
            )
            assert answer.status_code == 303, answer.text
            issued = self.client.cookies.get("allyshare_session", domain=HOST, path="/ui")
            assert issued is not None
            self.sessions[name] = issued
            self.client.cookies.clear()
        self.client.cookies.set("allyshare_session", self.sessions[name], HOST, "/ui")


def member_name(organization: str, clearance: str) -> str:
    return f"{organization.lower()}-{clearance.lower()}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("ui-property")
    url = f"sqlite:///{data_dir / 'allyshare.db'}"
    node = Node.open(Settings(data_dir=data_dir, database_url=url, country="USA"))
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"], aggregate_k=1))
    collection = node.add_collection(
        "Indicators", "shared with KOR", agreement="us-rok-tech", category="cyber-threat"
    )
    tokens = {}
    for organization in ORGANIZATIONS:
        short = organization.id.split(".", 1)[1]
        made = node.add_organization(
            short, country=organization.country, kind=organization.kind,
            sectors=organization.sectors,
        )  # fmt: skip
        assert made == organization.id
        for clearance in CLEARANCES:
            roles = ("contributor",) if organization.id in WRITERS else ("reader",)
            name = member_name(organization.id, clearance)
            tokens[name] = node.add_user(
                name,
                organization=organization.id,
                nationality=organization.country,
                clearance=clearance,
                roles=roles,
            )
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield World(client, node, collection.id, tokens)
    node.close()


@st.composite
def objects(draw: st.DrawFn, writer: str) -> list[dict[str, Any]]:
    """Marking definitions, then one or two versions of one to three indicators."""
    near = Near(country=writer.split(".")[0], organization=writer)
    marked = [draw(specs(next(_numbers) + 10_000, near)) for _ in range(draw(st.integers(1, 3)))]
    written: list[dict[str, Any]] = [
        found for found in (definition(spec) for spec in marked) if found is not None
    ]
    refs = [spec.ref for spec in marked]
    for _ in range(draw(st.integers(1, 3))):
        object_id = f"indicator--{uuid.UUID(int=next(_numbers), version=4)}"
        for version in range(draw(st.integers(1, 2))):
            obj = {**draw(indicators(refs)), "id": object_id}
            stamp = f"2024-03-0{version + 1}T10:00:00.000Z"
            obj["modified"] = stamp
            written.append(obj)
    return written


def page_view(world: World, object_id: str) -> tuple[int, dict[str, str], list[str], list[str]]:
    """The object page's status, properties (as printed), withheld parts and versions."""
    page = world.client.get(f"/ui/collections/{world.collection}/objects/{object_id}/")
    if page.status_code != 200:
        return page.status_code, {}, [], []
    properties = {
        html.unescape(key): html.unescape(value) for key, value in _ROW.findall(page.text)
    }
    withheld = [html.unescape(s) for s in re.findall(r'data-withheld="([^"]*)"', page.text)]
    listed = re.search(r"<h2>Versions</h2>\s*<ul class=\"mono\">(.*?)</ul>", page.text, re.DOTALL)
    assert listed is not None, page.text
    versions = [html.unescape(v) for v in re.findall(r"<li>(.*?)</li>", listed[1])]
    return 200, properties, withheld, versions


def taxii_view(world: World, name: str, object_id: str) -> list[dict[str, Any]]:
    answer = world.client.get(
        f"/taxii2/api/collections/{world.collection}/objects/{object_id}/",
        params={"match[version]": "all"},
        headers={"Authorization": f"Bearer {world.tokens[name]}", "Accept": TAXII},
    )
    if answer.status_code == 404:
        return []
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json().get("objects", [])
    return sorted(found, key=lambda obj: version_key(obj.get("modified", "")))


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_object_pages_show_exactly_the_taxii_read(world: World, data: st.DataObject) -> None:
    writer_organization = data.draw(st.sampled_from(WRITERS), label="writer")
    writer = world.node.authenticate_token(world.tokens[member_name(writer_organization, "S")])
    written = data.draw(objects(writer_organization), label="written")
    status = world.node.add_objects(writer, world.collection, written)
    event(f"written {status.success_count}, refused {status.failure_count}")
    # The writers' colleagues see most; anyone else is drawn.
    readers = {member_name(organization, "S") for organization in WRITERS} | set(
        data.draw(
            st.lists(st.sampled_from(sorted(world.tokens)), max_size=2, unique=True),
            label="readers",
        )
    )
    ids = sorted({obj["id"] for obj in written if obj["type"] == "indicator"})
    for name in sorted(readers):
        world.as_member(name)
        for object_id in ids:
            status, properties, withheld, versions = page_view(world, object_id)
            served = taxii_view(world, name, object_id)
            if not served:
                assert status == 404, (name, object_id)
                event("not shown")
                continue
            event("redacted" if served[-1].get(REDACTED_PROPERTY) else "shown whole")
            assert status == 200, (name, object_id)
            newest = served[-1]
            assert properties == {
                key: shown_value(value) for key, value in newest.items() if key != REDACTED_PROPERTY
            }, (name, object_id)
            assert withheld == newest.get(REDACTED_PROPERTY, []), (name, object_id)
            assert versions == [obj["modified"] for obj in reversed(served)], (name, object_id)
