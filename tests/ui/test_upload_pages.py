"""Uploading a bundle or a spreadsheet through the web UI, on both backends: a bundle stored as
TAXII's POST stores it, with the status resource's per-object results; a spreadsheet (CSV)
imported as the CLI and the API import it, all or nothing unless the good rows are to be
stored, with every problem by row and column; a file that is not a JSON bundle or UTF-8 text,
or one over the node's limit, is refused in words with nothing written; only a user who may
write to the collection may upload, and only with the session's CSRF token."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.policy import Tlp
from allyshare.server import create_server_app
from allyshare.service import CONSOLE, Node
from allyshare.storage import VersionFilter

from support.agreements import us_rok_tech
from support.ui_pages import (
    HOSTILE,
    NOFORN,
    csrf_of,
    indicator,
    indicator_id,
    noforn_definition,
    sign_in,
)

LIMIT = 20_000


@dataclass
class Site:
    client: TestClient
    node: Node
    tokens: dict[str, str]
    collection: str

    def as_user(self, name: str) -> TestClient:
        sign_in(self.client, name, self.tokens[name])
        return self.client

    def upload(self, content: bytes, name: str = "bundle.json", **data: str) -> Any:
        return self.client.post(
            f"/ui/collections/{self.collection}/upload",
            data={"csrf": csrf_of(self.client), **data},
            files={"bundle": (name, content, "application/json")},
        )

    def upload_csv(
        self, content: bytes, name: str = "incidents.csv", kind: str = "incidents", **data: str
    ) -> Any:
        return self.client.post(
            f"/ui/collections/{self.collection}/upload/csv",
            data={"csrf": csrf_of(self.client), "kind": kind, **data},
            files={"spreadsheet": (name, content, "text/csv")},
        )

    def stored(self) -> set[str]:
        return set(self.objects())

    def objects(self) -> dict[str, dict[str, Any]]:
        page = self.node.read_objects(CONSOLE, self.collection, VersionFilter(), limit=100)
        return {item.object_id: orjson.loads(item.body) for item in page.items}

    def incidents(self) -> dict[str, str]:
        """The stored incidents' ids, by name."""
        found = self.objects().values()
        return {obj["name"]: obj["id"] for obj in found if obj["type"] == "incident"}


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, country="USA", max_body_bytes=LIMIT
    )
    node = Node.open(settings)
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"]))
    collection = node.add_collection("Indicators", agreement="us-rok-tech", category="cyber-threat")
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    tokens = {
        "morgan": node.add_user(
            "morgan", organization=cisa, nationality="USA", clearance="S", roles=("contributor",)
        ),
        "jiwoo": node.add_user(
            "jiwoo", organization=kisa, nationality="KOR", clearance="S", roles=("reader",)
        ),
    }
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield Site(client, node, tokens, collection.id)
    node.close()


# The README's incident header; the second row's company becomes an identity, and its
# measure port-delay is outside the vocabulary: stored, with a warning.
INCIDENTS = (
    "name,coercing_state,targeted_country,targeted_sectors,targeted_companies,measures,"
    "start,end,markings\n"
    "Group tours halted,CHN,KOR,tourism;retail,Example Retail Co,"
    "tourism-restriction;sanitary-inspection,2017-03-15,2017-12-31,\n"
    "Lumber held,CHN,AUS,agriculture,,customs-inspection;port-delay,2020-11-01,,TLP:GREEN\n"
)
UNKNOWN_COUNTRY = "Rare earths held,CHN,XYZ,manufacturing,,export-restriction,2023-07-03,,\n"


def bundle(*objects: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"type": "bundle", "id": "bundle--6c1c1a3e-0000-4000-8000-000000000001", "objects": objects}
    )


def test_a_bundle_is_stored_with_each_objects_result(site: Site) -> None:
    broken = {**indicator(3, "No pattern", "198.51.100.3")}
    del broken["pattern"]
    page = site.as_user("morgan")
    form = page.get(f"/ui/collections/{site.collection}/upload")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    sent = bundle(
        noforn_definition(),
        indicator(1, HOSTILE, "198.51.100.1"),
        indicator(2, "US eyes only", "198.51.100.2", NOFORN),
        broken,
    )
    done = site.upload(sent)
    assert done.status_code == 200, done.text
    assert "4 objects: 3 succeeded, 1 failed, 0 pending (complete)" in done.text
    failure = re.search(rf'data-failure="{indicator_id(3)}">(.*?)</tr>', done.text, re.DOTALL)
    assert failure is not None and "pattern" in failure[1]
    for number in (1, 2):
        assert f'data-success="{indicator_id(number)}"' in done.text
    assert f"/ui/collections/{site.collection}/objects/{indicator_id(1)}/" in done.text
    # The page names a NOFORN object: its banner says so.
    assert re.search(r"data-banner>SECRET//NOFORN<", done.text)
    assert HOSTILE not in done.text
    assert site.stored() == {NOFORN, indicator_id(1), indicator_id(2)}
    # Sent again: each object is reported as the status resource reports a duplicate.
    again = site.upload(sent)
    assert "3 succeeded" in again.text and len(site.stored()) == 3


def test_what_is_not_a_json_bundle_is_refused_and_nothing_is_written(site: Site) -> None:
    site.as_user("morgan")
    for content, said in (
        (b"\x89PNG\r\n\x1a\n", "is not JSON"),
        (b'{"type": "indicator", "id": "x"}', "is not a STIX bundle"),
        (orjson.dumps([indicator(1, "A list", "198.51.100.1")]), "is not a STIX bundle"),
        (b'{"type": "bundle", "objects": []}', "holds no objects"),
        (b'{"type": "bundle", "objects": {"a": 1}}', "holds no objects"),
    ):
        refused = site.upload(content, "sent.json")
        assert refused.status_code == 400, content
        assert said in refused.text and "nothing was stored" in refused.text
    no_file = site.client.post(
        f"/ui/collections/{site.collection}/upload",
        data={"csrf": csrf_of(site.client)},
        files={"bundle": ("", b"", "application/octet-stream")},
    )
    assert no_file.status_code == 400 and "choose a file" in no_file.text
    assert site.stored() == set()


def test_a_file_over_the_nodes_limit_is_refused(site: Site) -> None:
    site.as_user("morgan")
    padded = {**indicator(1, "Padded", "198.51.100.1"), "description": "x" * LIMIT}
    refused = site.upload(bundle(padded))
    assert refused.status_code == 413
    assert f"larger than this node takes at once ({LIMIT:,} bytes)" in refused.text
    assert site.stored() == set()


def test_only_a_writer_may_upload(site: Site) -> None:
    reader = site.as_user("jiwoo")
    collections = reader.get("/ui/")
    assert "Indicators" in collections.text and "/upload" not in collections.text
    assert reader.get(f"/ui/collections/{site.collection}/upload").status_code == 404
    refused = site.upload(bundle(indicator(1, "From a reader", "198.51.100.1")))
    assert refused.status_code == 404
    assert site.stored() == set()
    writer = site.as_user("morgan")
    assert f"/ui/collections/{site.collection}/upload" in writer.get("/ui/").text


def test_an_upload_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    site.as_user("morgan")
    refused = site.client.post(
        f"/ui/collections/{site.collection}/upload",
        data={"csrf": "guess"},
        files={"bundle": ("bundle.json", bundle(indicator(1, "Forged", "198.51.100.1")))},
    )
    assert refused.status_code == 403
    assert site.stored() == set()
    foreign = site.client.post(
        f"/ui/collections/{site.collection}/upload",
        data={"csrf": csrf_of(site.client)},
        files={"bundle": ("bundle.json", bundle(indicator(1, "Forged", "198.51.100.1")))},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert foreign.status_code == 403
    assert site.stored() == set()


def rows_of(page: str, kind: str) -> dict[str, str]:
    """The page's spreadsheet rows of one kind (stored, error, warning): the row's cells, by row."""
    return dict(re.findall(rf'data-sheet-{kind}="(\d+)"[^>]*>(.*?)</tr>', page, re.DOTALL))


def test_a_spreadsheet_is_imported_and_each_rows_object_linked(site: Site) -> None:
    page = site.as_user("morgan")
    form = page.get(f"/ui/collections/{site.collection}/upload")
    assert f'action="/ui/collections/{site.collection}/upload/csv"' in form.text
    for field in ("sheet-kind", "sheet-markings", "sheet-skip-bad", "spreadsheet"):
        assert f'<label for="{field}">' in form.text
    assert "targeted_country" in form.text and "component_category" in form.text
    assert site.upload(bundle(noforn_definition())).status_code == 200
    # Excel's "CSV UTF-8" starts with a byte order mark; the empty markings cell takes NOFORN.
    done = site.upload_csv(("\ufeff" + INCIDENTS).encode(), markings=f" {NOFORN} ")
    assert done.status_code == 200, done.text
    assert 'data-sheet-outcome="imported"' in done.text
    assert "3 objects stored and 0 already held" in done.text and "from 2 rows." in done.text
    incidents = site.incidents()
    assert set(incidents) == {"Group tours halted", "Lumber held"}
    stored = rows_of(done.text, "stored")
    assert set(stored) == {"2", "3"}
    for row, name in (("2", "Group tours halted"), ("3", "Lumber held")):
        link = f"/ui/collections/{site.collection}/objects/{incidents[name]}/"
        assert f'href="{link}"' in stored[row]
    assert "port-delay" in rows_of(done.text, "warning")["3"]
    assert rows_of(done.text, "error") == {}
    objects = site.objects()
    assert objects[incidents["Group tours halted"]]["object_marking_refs"] == [NOFORN]
    assert objects[incidents["Lumber held"]]["object_marking_refs"] == [Tlp.GREEN.marking_id]
    # The page names a NOFORN object: its banner says so.
    assert re.search(r"data-banner>SECRET//NOFORN<", done.text)


def test_a_bad_row_refuses_the_whole_spreadsheet_unless_skipped(site: Site) -> None:
    site.as_user("morgan")
    sheet = (INCIDENTS + UNKNOWN_COUNTRY).encode()
    refused = site.upload_csv(sheet)
    assert refused.status_code == 200, refused.text
    assert 'data-sheet-outcome="refused"' in refused.text
    assert "Nothing was stored: 1 problem." in refused.text
    [bad] = re.findall(r'data-sheet-error="(\d+)" data-column="([^"]*)"', refused.text)
    assert bad == ("4", "targeted_country")
    assert "XYZ" in rows_of(refused.text, "error")["4"]
    assert rows_of(refused.text, "stored") == {}
    assert site.stored() == set()
    # The form comes back as it was sent.
    assert 'value="incidents" selected' in refused.text
    assert re.search(r'id="sheet-skip-bad"[^>]*checked', refused.text) is None

    skipped = site.upload_csv(sheet, skip_bad="yes")
    assert 'data-sheet-outcome="imported"' in skipped.text
    assert "3 objects stored and 0 already held" in skipped.text
    assert "from 2 rows; 1 row with problems." in skipped.text
    assert set(rows_of(skipped.text, "error")) == {"4"}
    assert set(rows_of(skipped.text, "stored")) == {"2", "3"}
    assert re.search(r'id="sheet-skip-bad"[^>]*checked', skipped.text)
    assert set(site.incidents()) == {"Group tours halted", "Lumber held"}


def test_a_row_the_node_refuses_is_never_shown_as_stored(site: Site) -> None:
    site.as_user("morgan")
    # TLP:RED is above the agreement's ceiling: the node, not the reader, refuses the row.
    red = "Ports closed,CHN,JPN,fisheries,,port-access-denial,2023-08-24,,TLP:RED\n"
    refused = site.upload_csv((INCIDENTS + red).encode())
    assert 'data-sheet-outcome="refused"' in refused.text
    assert set(rows_of(refused.text, "error")) == {"4"}
    assert rows_of(refused.text, "stored") == {}
    assert site.stored() == set()
    skipped = site.upload_csv((INCIDENTS + red).encode(), skip_bad="yes")
    assert set(rows_of(skipped.text, "error")) == {"4"}
    assert set(rows_of(skipped.text, "stored")) == {"2", "3"}
    assert set(site.incidents()) == {"Group tours halted", "Lumber held"}


def test_what_cannot_be_read_as_a_spreadsheet_is_refused_and_nothing_is_written(
    site: Site,
) -> None:
    site.as_user("morgan")
    sheet = INCIDENTS.encode()
    for sent, said in (
        (site.upload_csv(sheet, markings="TLP:GREEN; TLP:PURPLE"), "'TLP:PURPLE' is not a TLP"),
        (site.upload_csv(sheet, kind="tariffs"), "choose what each row is"),
        (
            site.upload_csv("name\nM\xfcller\n".encode("latin-1"), "latin.csv"),
            "latin.csv is not UTF-8 text",
        ),
        (
            site.upload_csv(INCIDENTS.splitlines(keepends=True)[0].encode()),
            "the file has a header but no rows",
        ),
    ):
        assert sent.status_code == 400, said
        found = re.search(r"data-sheet-problem>(.*?)</p>", sent.text, re.DOTALL)
        assert found is not None, sent.text
        problem = html.unescape(found[1])
        assert said in problem and "nothing was stored" in problem.lower(), problem
    bad_markings = site.upload_csv(sheet, markings="TLP:PURPLE")
    assert 'value="TLP:PURPLE"' in bad_markings.text
    no_file = site.client.post(
        f"/ui/collections/{site.collection}/upload/csv",
        data={"csrf": csrf_of(site.client), "kind": "incidents"},
        files={"spreadsheet": ("", b"", "application/octet-stream")},
    )
    assert no_file.status_code == 400 and "choose a file" in no_file.text
    too_large = site.upload_csv(INCIDENTS.encode() * (LIMIT // len(INCIDENTS) + 1))
    assert too_large.status_code == 413
    assert f"({LIMIT:,} bytes); split the spreadsheet" in too_large.text
    assert site.stored() == set()


def test_only_a_writer_may_import_a_spreadsheet(site: Site) -> None:
    site.as_user("jiwoo")
    refused = site.upload_csv(INCIDENTS.encode())
    assert refused.status_code == 404
    assert site.stored() == set()


def test_a_spreadsheet_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    site.as_user("morgan")
    path = f"/ui/collections/{site.collection}/upload/csv"
    files = {"spreadsheet": ("incidents.csv", INCIDENTS.encode(), "text/csv")}
    missing = site.client.post(path, data={"kind": "incidents"}, files=files)
    assert missing.status_code == 403
    foreign = site.client.post(
        path,
        data={"csrf": csrf_of(site.client), "kind": "incidents"},
        files=files,
        headers={"Origin": "https://elsewhere.example"},
    )
    assert foreign.status_code == 403
    assert site.stored() == set()
