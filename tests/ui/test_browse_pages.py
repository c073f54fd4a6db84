"""The object list's filters and the relationship graph's neighbours, on both backends: each
filter alone and together equals the reader's TAXII read narrowed the same way (for a US and
a Korean reader), paging keeps the filters, a withheld field never matches a text filter, and
the neighbours shown are only those the reader may see, down to the ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.policy import TLP_MARKING_IDS, Tlp
from allyshare.server import create_server_app
from allyshare.service import Node
from allyshare.storage import store as store_module

from support.agreements import us_rok_tech
from support.ui_pages import NOFORN, noforn_definition

TAXII = "application/taxii+json;version=2.1"
GREEN, AMBER = (
    next(ref for ref, level in TLP_MARKING_IDS.items() if level is wanted)
    for wanted in (Tlp.GREEN, Tlp.AMBER)
)
HOSTILE = '<script>alert("graph")</script>'
EARLY = int(datetime(2026, 1, 10, 12, tzinfo=UTC).timestamp()) * 1_000_000


def stix_id(kind: str, number: int) -> str:
    return f"{kind}--6c1c1a3e-0000-4000-8000-{number:012d}"


def sdo(kind: str, number: int, markings: list[str], **properties: Any) -> dict[str, Any]:
    made = {
        "type": kind,
        "spec_version": "2.1",
        "id": stix_id(kind, number),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        **properties,
    }
    if markings:
        made["object_marking_refs"] = markings
    return made


def indicator(number: int, name: str, markings: list[str], **properties: Any) -> dict[str, Any]:
    return sdo(
        "indicator",
        number,
        markings,
        name=name,
        pattern=f"[ipv4-addr:value = '198.51.100.{number}']",
        pattern_type="stix",
        valid_from="2026-01-01T00:00:00Z",
        **properties,
    )


def relationship(number: int, source: str, kind: str, target: str, markings: list[str]) -> Any:
    return sdo(
        "relationship",
        number,
        markings,
        relationship_type=kind,
        source_ref=source,
        target_ref=target,
    )


LOADER = indicator(1, "Lazarus loader", [GREEN], description="Seen in Seoul")
BEACON = indicator(2, "Lazarus beacon", [AMBER, NOFORN])
DROPPER = indicator(3, "Kimsuky dropper", [GREEN], description="Mentions LAZARUS in passing")
PARTLY = indicator(
    4,
    "Partly NOFORN",
    [],
    description="Lazarus infrastructure, a US source",
    granular_markings=[{"marking_ref": NOFORN, "selectors": ["description"]}],
)
MALWARE = sdo("malware", 5, [], name="Lazarus malware", is_family=True)
HOSTILE_TOOL = sdo("tool", 6, [GREEN], name=HOSTILE)
LOADER_INDICATES = relationship(7, LOADER["id"], "indicates", MALWARE["id"], [GREEN])
# Shareable itself, but its source is NOFORN: a Korean reader sees no edge, nor the source.
BEACON_INDICATES = relationship(8, BEACON["id"], "indicates", MALWARE["id"], [])
# NOFORN itself: a Korean reader sees nothing of it.
SECRET_LINK = relationship(9, DROPPER["id"], "secretly-uses", MALWARE["id"], [NOFORN])
REPORT = sdo(
    "report",
    10,
    [GREEN],
    name="Lazarus round-up",
    published="2026-01-02T00:00:00Z",
    object_refs=[LOADER["id"], BEACON["id"], MALWARE["id"], HOSTILE_TOOL["id"]],
)
SIGHTING = sdo("sighting", 11, [GREEN], sighting_of_ref=LOADER["id"], count=3)
EARLY_OBJECTS = [noforn_definition(), LOADER, BEACON, DROPPER]
LATER_OBJECTS = [
    PARTLY,
    MALWARE,
    HOSTILE_TOOL,
    LOADER_INDICATES,
    BEACON_INDICATES,
    SECRET_LINK,
    REPORT,
    SIGHTING,
]


@dataclass
class Library:
    client: TestClient
    node: Node
    tokens: dict[str, str]
    collection: str

    def sign_in(self, name: str) -> None:
        self.client.cookies.clear()
        form = self.client.get("/ui/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, form.text
        signed = self.client.post(
            "/ui/sign-in",
            data={"name": name, "token": self.tokens[name], "csrf": csrf[1]},
            follow_redirects=False,
        )
        assert signed.status_code == 303

    def taxii(self, reader: str, path: str) -> list[dict[str, Any]]:
        """Every page of a TAXII list as the reader gets it."""
        found: list[dict[str, Any]] = []
        added_after = ""
        while True:
            answer = self.client.get(
                f"/taxii2/api/collections/{self.collection}/{path}/",
                params={"added_after": added_after} if added_after else {},
                headers={"Authorization": f"Bearer {self.tokens[reader]}", "Accept": TAXII},
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            found += body.get("objects", [])
            if not body.get("more"):
                return found
            added_after = answer.headers["X-TAXII-Date-Added-Last"]

    def listed(self, query: dict[str, str]) -> tuple[list[str], list[str]]:
        """The ids the object list shows over every page, and each next page's link."""
        ids: list[str] = []
        links: list[str] = []
        page = self.client.get(f"/ui/collections/{self.collection}/", params=query)
        while True:
            assert page.status_code == 200, page.text
            ids += re.findall(r'data-object="([^"]+)"', page.text)
            following = re.search(r'<a rel="next" href="\?([^"]+)"', page.text)
            if following is None:
                return ids, links
            link = following[1].replace("&amp;", "&")
            links.append(link)
            page = self.client.get(f"/ui/collections/{self.collection}/?{link}")


@pytest.fixture
def library(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Library]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"]))
    collection = node.add_collection(
        "Lazarus", "shared with KOR", agreement="us-rok-tech", category="cyber-threat"
    )
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
    morgan = node.authenticate_token(tokens["morgan"])
    with monkeypatch.context() as earlier:
        earlier.setattr(store_module, "now_us", lambda: EARLY)
        assert node.add_objects(morgan, collection.id, EARLY_OBJECTS).failure_count == 0
    assert node.add_objects(morgan, collection.id, LATER_OBJECTS).failure_count == 0
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield Library(client, node, tokens, collection.id)
    node.close()


def narrowed(library: Library, reader: str, query: dict[str, str]) -> list[str]:
    """The reader's TAXII read narrowed as ``query`` asks, by hand."""
    served = library.taxii(reader, "objects")
    added = {entry["id"]: entry["date_added"] for entry in library.taxii(reader, "manifest")}
    labels = library.node.marking_labels(served)
    kept = []
    for obj, label in zip(served, labels, strict=True):
        words = query.get("q", "").casefold()
        if "type" in query and obj["type"] not in query["type"].replace(",", " ").split():
            continue
        if words and not any(
            words in str(obj.get(name, "")).casefold() for name in ("name", "description")
        ):
            continue
        if "tlp" in query and (label.tlp or Tlp.CLEAR).name != query["tlp"]:
            continue
        if "level" in query and label.classification.name != query["level"]:
            continue
        if "marking" in query and query["marking"] not in obj.get("object_marking_refs", []):
            continue
        if "since" in query and added[obj["id"]][:10] < query["since"]:
            continue
        kept.append(obj["id"])
    return kept


QUERIES = [
    {},
    {"type": "indicator"},
    {"type": "indicator, malware"},
    {"q": "lazarus"},
    {"q": "SEOUL"},
    {"tlp": "GREEN"},
    {"tlp": "AMBER"},
    {"tlp": "CLEAR"},
    {"level": "S"},
    {"level": "U"},
    {"marking": NOFORN},
    {"marking": GREEN, "type": "indicator"},
    {"since": "2026-01-11"},
    {"since": "2026-01-01"},
    {"type": "indicator", "q": "lazarus", "tlp": "GREEN"},
    {"q": "lazarus", "since": "2026-01-11"},
    {"type": "indicator", "level": "U", "since": "2026-01-01"},
]


@pytest.mark.parametrize("reader", ["morgan", "jiwoo"])
def test_each_filter_alone_and_together_is_the_taxii_read_narrowed(
    library: Library, reader: str
) -> None:
    library.sign_in(reader)
    for query in QUERIES:
        listed, _ = library.listed(query)
        assert listed == narrowed(library, reader, query), query


def test_the_filters_narrow_as_an_analyst_expects(library: Library) -> None:
    library.sign_in("morgan")
    assert set(library.listed({"q": "lazarus"})[0]) == {
        LOADER["id"],
        BEACON["id"],
        DROPPER["id"],
        PARTLY["id"],
        MALWARE["id"],
        REPORT["id"],
    }
    assert library.listed({"tlp": "AMBER"})[0] == [BEACON["id"]]
    assert library.listed({"marking": NOFORN})[0] == [BEACON["id"], SECRET_LINK["id"]]
    assert library.listed({"since": "2026-01-11", "type": "indicator"})[0] == [PARTLY["id"]]
    # A Korean reader: the NOFORN beacon is not there, and the description withheld from it
    # (NOFORN, granular) does not match, though the US reader's does.
    library.sign_in("jiwoo")
    found = set(library.listed({"q": "lazarus"})[0])
    assert BEACON["id"] not in found and PARTLY["id"] not in found
    assert library.listed({"q": "us source"})[0] == []
    assert library.listed({"tlp": "AMBER"})[0] == []
    assert library.listed({"marking": NOFORN})[0] == []


def test_the_form_shows_the_filters_and_ignores_values_it_does_not_offer(
    library: Library,
) -> None:
    library.sign_in("morgan")
    page = library.client.get(
        f"/ui/collections/{library.collection}/",
        params={"q": "lazarus", "tlp": "GREEN", "level": "XX", "since": "not a day"},
    ).text
    assert 'value="lazarus"' in page
    assert re.search(r'<option value="GREEN" selected>TLP:GREEN</option>', page)
    assert "selected>" not in page.split('id="level"', 1)[1].split("</select>", 1)[0]
    assert 'id="since" name="since" type="date" value=""' in page


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.sampled_from(QUERIES),
    page_size=st.integers(min_value=1, max_value=4),
    budget=st.integers(min_value=1, max_value=6),
)
def test_paging_keeps_the_filters_and_misses_nothing(
    library: Library,
    monkeypatch: pytest.MonkeyPatch,
    query: dict[str, str],
    page_size: int,
    budget: int,
) -> None:
    """Small pages, and a text search that may read only a few versions per page: following
    the next-page links gives exactly the narrowed read, every link keeping the filters."""
    monkeypatch.setattr("allyshare.ui.browse.PAGE_SIZE", page_size)
    monkeypatch.setattr("allyshare.service.browsing.SCAN_BUDGET", budget)
    library.sign_in("jiwoo")
    listed, links = library.listed(query)
    assert listed == narrowed(library, "jiwoo", query)
    for link in links:
        kept = dict(part.split("=", 1) for part in link.split("&"))
        assert {name: unquote_plus(kept[name]) for name in query} == {
            name: value.strip() for name, value in query.items()
        }
        assert kept["after"].isdigit()


def neighbours(library: Library, object_id: str) -> tuple[dict[str, Any], str]:
    answer = library.client.get(f"/ui/objects/{object_id}/neighbours")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    return answer.json(), answer.text


def test_the_neighbours_are_those_the_reader_may_see(library: Library) -> None:
    library.sign_in("morgan")
    us, _ = neighbours(library, MALWARE["id"])
    assert {node["id"] for node in us["nodes"]} == {
        LOADER["id"],
        BEACON["id"],
        DROPPER["id"],
        REPORT["id"],
    }
    assert {(edge["from"], edge["label"], edge["to"]) for edge in us["edges"]} == {
        (LOADER["id"], "indicates", MALWARE["id"]),
        (BEACON["id"], "indicates", MALWARE["id"]),
        (DROPPER["id"], "secretly-uses", MALWARE["id"]),
        (REPORT["id"], "object", MALWARE["id"]),
    }
    library.sign_in("jiwoo")
    korean, text = neighbours(library, MALWARE["id"])
    assert {node["id"] for node in korean["nodes"]} == {LOADER["id"], REPORT["id"]}
    # Neither the NOFORN indicator nor the NOFORN relationship leaves a trace.
    for withheld in (BEACON["id"], SECRET_LINK["id"], DROPPER["id"], "secretly-uses"):
        assert withheld not in text
    assert all(node["href"].startswith("/ui/collections/") for node in korean["nodes"])


def test_a_report_and_a_sighting_are_neighbours_both_ways(library: Library) -> None:
    library.sign_in("jiwoo")
    report, text = neighbours(library, REPORT["id"])
    assert {node["id"] for node in report["nodes"]} == {
        LOADER["id"],
        MALWARE["id"],
        HOSTILE_TOOL["id"],
    }
    assert BEACON["id"] not in text
    loader, _ = neighbours(library, LOADER["id"])
    assert {(edge["from"], edge["label"], edge["to"]) for edge in loader["edges"]} == {
        (LOADER["id"], "indicates", MALWARE["id"]),
        (REPORT["id"], "object", LOADER["id"]),
        (SIGHTING["id"], "sighting of", LOADER["id"]),
    }


def test_the_object_page_lists_the_neighbours_and_carries_them_escaped(
    library: Library,
) -> None:
    library.sign_in("jiwoo")
    page = library.client.get(f"/ui/collections/{library.collection}/objects/{REPORT['id']}/")
    assert page.status_code == 200
    listed = re.findall(r'data-neighbour="([^"]+)"><a href="([^"]+)"', page.text)
    assert {object_id for object_id, _ in listed} == {
        LOADER["id"],
        MALWARE["id"],
        HOSTILE_TOOL["id"],
    }
    for object_id, href in listed:
        assert href == f"/ui/collections/{library.collection}/objects/{object_id}/"
        assert library.client.get(href).status_code == 200
    assert "<script>alert" not in page.text
    assert '<script src="/ui/vendor/vis-network.min.js" defer></script>' in page.text
    carried = re.search(r"data-graph='([^']*)'", page.text)
    assert carried is not None and "<" not in carried[1] and HOSTILE_TOOL["id"] in carried[1]
    assert "<script>" not in page.text.split("<main", 1)[1]
    # The report's own object_refs name the NOFORN indicator, as TAXII shows them; the graph
    # and its list do not.
    related = page.text.split('id="related-heading"', 1)[1].split("<h2>Versions</h2>", 1)[0]
    assert BEACON["id"] not in related


def test_what_the_reader_may_not_see_has_no_neighbours_and_no_graph(library: Library) -> None:
    library.sign_in("jiwoo")
    assert library.client.get(f"/ui/objects/{BEACON['id']}/neighbours").status_code == 404
    assert library.client.get(f"/ui/objects/{stix_id('malware', 99)}/neighbours").status_code == 404
    library.client.cookies.clear()
    asked = library.client.get(f"/ui/objects/{MALWARE['id']}/neighbours", follow_redirects=False)
    assert asked.status_code == 303


def test_the_graph_library_is_served_from_the_installed_package(library: Library) -> None:
    served = library.client.get("/ui/vendor/vis-network.min.js")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert "vis-network" in served.text[:200]
    assert library.client.get("/ui/vendor/vis-network.css").status_code == 200
    assert library.client.get("/ui/vendor/other.js").status_code == 404
    assert library.client.get("/ui/static/graph.js").status_code == 200


def test_a_graph_is_cut_only_among_what_the_reader_may_see(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four objects refer to the malware for the US reader, three the Korean reader may read
    (the NOFORN relationship is not one): a cut at three cuts the US reader's graph and
    tells the Korean reader nothing of the fourth; a cut at one keeps the newest."""
    monkeypatch.setattr("allyshare.service.browsing.MAX_NEIGHBOURS", 3)
    library.sign_in("morgan")
    us, _ = neighbours(library, MALWARE["id"])
    assert us["truncated"]
    library.sign_in("jiwoo")
    whole, _ = neighbours(library, MALWARE["id"])
    assert not whole["truncated"]
    assert {node["id"] for node in whole["nodes"]} == {LOADER["id"], REPORT["id"]}
    monkeypatch.setattr("allyshare.service.browsing.MAX_NEIGHBOURS", 1)
    cut, _ = neighbours(library, MALWARE["id"])
    assert cut["truncated"]
    assert [node["id"] for node in cut["nodes"]] == [REPORT["id"]]
    assert all(MALWARE["id"] in (edge["from"], edge["to"]) for edge in cut["edges"])
