"""The search page on both backends: a lookup of a value, a name or an object id lists only
what the reader may see, in the collections it may read (never a NOFORN object to a Korean
reader, nor an object by a name withheld from it as NOFORN),
with each object's markings and a banner of what is shown; empty and bad searches are
answered in words; private matching shows which of the member's values matched, the budget
left, sends the holders a request to get in touch, and is refused when the budget is spent,
the list is too long or the form carries no CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.policy import ALLYSHARE_EXTENSION_ID
from allyshare.server import create_server_app
from allyshare.service import Node

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

MATCH_ONLY = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--6c1c1a3e-0000-4000-8000-00000000b001",
    "created": "2026-01-01T00:00:00.000Z",
    "name": "Match-only: Hanbit's alone, other members may only match against it",
    "extensions": {
        ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", "match_only": True}
    },
}
LOADER = {
    "type": "malware",
    "spec_version": "2.1",
    "id": "malware--6c1c1a3e-0000-4000-8000-0000000d0001",
    "created": "2026-01-01T00:00:00.000Z",
    "modified": "2026-01-01T00:00:00.000Z",
    "name": "Hanbit Loader",
    "is_family": True,
}
INSIDE_LOADER = "malware--6c1c1a3e-0000-4000-8000-0000000d0002"
WITHHELD_NAME = {
    "type": "malware",
    "spec_version": "2.1",
    "id": "malware--6c1c1a3e-0000-4000-8000-0000000d0003",
    "created": "2026-01-01T00:00:00.000Z",
    "modified": "2026-01-01T00:00:00.000Z",
    "name": "Quiet Dropper",
    "description": "Seen at two fabs.",
    "is_family": False,
    "granular_markings": [{"marking_ref": NOFORN, "selectors": ["name"]}],
}
NAMED = [LOADER, WITHHELD_NAME]
HELD = ("203.0.113.44", "c2.hanbit-lure.example")
HELD_UNASKED = "192.0.2.99"
BUDGET = 6


@dataclass
class Site:
    client: TestClient
    node: Node
    tokens: dict[str, str]
    shared: str
    internal: str

    def as_user(self, name: str) -> TestClient:
        sign_in(self.client, name, self.tokens[name])
        return self.client

    def search(self, name: str, query: str) -> Any:
        return self.as_user(name).get("/ui/search", params={"q": query})

    def match(self, values: str, *, contact: str = "", **sent: Any) -> Any:
        return self.client.post(
            "/ui/search/match",
            data={
                "csrf": csrf_of(self.client),
                "target": f"local:{self.shared}",
                "values": values,
                "contact": contact,
                **sent,
            },
            files={"values_file": ("", b"", "application/octet-stream")},
        )


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, country="USA", match_interval=0
    )
    node = Node.open(settings)
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"], match_budget=BUDGET))
    shared = node.add_collection("Indicators", agreement="us-rok-tech", category="cyber-threat")
    internal = node.add_collection("Internal", "this node's country only")
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    hanbit = node.add_organization("Hanbit", country="KOR", kind="company")
    tokens = {
        "morgan": node.add_user(
            "morgan", organization=cisa, nationality="USA", clearance="S", roles=("contributor",)
        ),
        "jiwoo": node.add_user(
            "jiwoo", organization=kisa, nationality="KOR", clearance="S", roles=("reader",)
        ),
        "seoyeon": node.add_user(
            "seoyeon", organization=hanbit, nationality="KOR", roles=("contributor",)
        ),
    }
    morgan = node.authenticate_token(tokens["morgan"])
    written = [
        noforn_definition(),
        indicator(1, "Shared with both", "198.51.100.1"),
        indicator(2, "US eyes only", "198.51.100.2", NOFORN),
        indicator(3, HOSTILE, "198.51.100.3"),
    ]
    assert node.add_objects(morgan, shared.id, written).failure_count == 0
    assert node.add_objects(morgan, shared.id, NAMED).failure_count == 0
    inside = [indicator(9, "Kept inside", "198.51.100.1"), {**LOADER, "id": INSIDE_LOADER}]
    assert node.add_objects(morgan, internal.id, inside).failure_count == 0
    seoyeon = node.authenticate_token(tokens["seoyeon"])
    held = [
        MATCH_ONLY,
        *(indicator(20 + i, f"Held {i}", value, MATCH_ONLY["id"]) for i, value in enumerate(HELD)),
        indicator(29, "Held, never asked", HELD_UNASKED, MATCH_ONLY["id"]),
    ]
    assert node.add_objects(seoyeon, shared.id, held).failure_count == 0
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield Site(client, node, tokens, shared.id, internal.id)
    node.close()


def found_ids(text: str) -> set[str]:
    return set(re.findall(r'data-found="([^"]+)"', text))


def test_a_value_lists_what_the_reader_may_see_in_every_collection_it_may_read(
    site: Site,
) -> None:
    page = site.search("morgan", "198.51.100.1")
    assert page.status_code == 200
    assert found_ids(page.text) == {indicator_id(1), indicator_id(9)}
    assert f"/ui/collections/{site.shared}/objects/{indicator_id(1)}/" in page.text
    assert f"/ui/collections/{site.internal}/objects/{indicator_id(9)}/" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    # The Korean reader may not read the collection kept to this node's country.
    page = site.search("jiwoo", "198.51.100.1")
    assert found_ids(page.text) == {indicator_id(1)}
    assert site.internal not in page.text and "Kept inside" not in page.text


def test_a_noforn_object_is_never_shown_to_a_korean_reader(site: Site) -> None:
    noforn_id = indicator_id(2)
    for query in ("198.51.100.2", noforn_id):
        page = site.search("morgan", query)
        assert found_ids(page.text) == {noforn_id}
        assert "US eyes only" in page.text
        assert re.search(r"data-banner>SECRET//NOFORN<", page.text)
        assert '<span class="chip chip-caveat">NOFORN</span>' in page.text
        page = site.search("jiwoo", query)
        assert page.status_code == 200
        assert found_ids(page.text) == set()
        assert "US eyes only" not in page.text and "data-found-none" in page.text
        assert re.search(r"data-banner>UNCLASSIFIED<", page.text)


def test_an_id_is_found_in_each_collection_the_reader_may_read(site: Site) -> None:
    shared_id = indicator_id(1)
    page = site.search("jiwoo", shared_id)
    assert found_ids(page.text) == {shared_id}
    assert "Shared with both" in page.text
    assert site.search("jiwoo", indicator_id(9)).text.count("data-found=") == 0


def test_what_objects_say_is_shown_as_text(site: Site) -> None:
    page = site.search("morgan", "198.51.100.3")
    assert found_ids(page.text) == {indicator_id(3)}
    assert HOSTILE not in page.text
    assert "&lt;script&gt;" in page.text


def test_empty_and_bad_searches_are_answered_in_words(site: Site) -> None:
    client = site.as_user("morgan")
    assert "data-searched" not in client.get("/ui/search").text
    empty = client.get("/ui/search", params={"q": "  "})
    assert empty.status_code == 400
    assert "type a value, a name or an object id" in empty.text
    long = client.get("/ui/search", params={"q": "a" * 3000})
    assert long.status_code == 400 and "at most 2,048 characters" in long.text
    nul = client.get("/ui/search", params={"q": "a\x00b"})
    assert nul.status_code == 400 and "NUL" in nul.text
    # An indicator's name is not indexed: the page says what it searches.
    named = client.get("/ui/search", params={"q": "Shared with both"})
    assert named.status_code == 200 and found_ids(named.text) == set()
    assert "Nothing you may see mentions it or is named so" in named.text
    assert "Names match whole, in any case" in named.text
    nothing = client.get("/ui/search", params={"q": "192.0.2.250"})
    assert "Nothing you may see mentions it" in nothing.text


def test_a_name_lists_what_is_so_named_where_the_reader_may_read(site: Site) -> None:
    page = site.search("morgan", "  hanbit   LOADER ")
    assert page.status_code == 200
    assert found_ids(page.text) == {LOADER["id"], INSIDE_LOADER}
    assert f"/ui/collections/{site.shared}/objects/{LOADER['id']}/" in page.text
    assert f"/ui/collections/{site.internal}/objects/{INSIDE_LOADER}/" in page.text
    assert ">Hanbit Loader</a>" in page.text and "<td>malware</td>" in page.text
    page = site.search("jiwoo", "Hanbit Loader")
    assert found_ids(page.text) == {LOADER["id"]}
    # Whole names only.
    assert found_ids(site.search("morgan", "Hanbit").text) == set()


def test_a_name_withheld_from_a_korean_reader_does_not_find_the_object(site: Site) -> None:
    object_id = WITHHELD_NAME["id"]
    page = site.search("morgan", "quiet dropper")
    assert found_ids(page.text) == {object_id}
    assert ">Quiet Dropper</a>" in page.text
    page = site.search("jiwoo", "quiet dropper")
    assert found_ids(page.text) == set() and "data-found-none" in page.text
    assert "Quiet Dropper" not in page.text.replace("quiet dropper", "")
    # The rest of the malware is the Korean reader's: found by its id, without the name.
    page = site.search("jiwoo", object_id)
    assert found_ids(page.text) == {object_id}
    assert "Quiet Dropper" not in page.text
    shown = site.client.get(f"/ui/collections/{site.shared}/objects/{object_id}/")
    assert shown.status_code == 200
    assert "Seen at two fabs." in shown.text and "Quiet Dropper" not in shown.text
    assert 'data-withheld="name"' in shown.text


def test_the_search_page_asks_for_sign_in(site: Site) -> None:
    asked = site.client.get("/ui/search?q=198.51.100.1", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/ui/sign-in?next=%2Fsearch%3Fq%3D198.51.100.1"


def test_matching_shows_the_values_matched_and_the_budget_and_asks_for_contact(
    site: Site,
) -> None:
    site.as_user("morgan")
    asked = "203.0.113.44\nC2.Hanbit-Lure.Example.\n\n198.51.100.99\n203.0.113.44\n"
    page = site.match(asked, contact="CISA saw these too; can we talk?")
    assert page.status_code == 200, page.text
    assert "2 of 3 matched" in page.text
    matched = re.findall(r"<li data-matched-value>([^<]+)</li>", page.text)
    assert matched == ["203.0.113.44", "C2.Hanbit-Lure.Example."]
    assert f"Budget left: {BUDGET - 3} values today" in page.text
    assert "data-contacted" in page.text
    # Only what matched is told: nothing of the other values held, nor of the objects.
    assert HELD_UNASKED not in page.text and "Held 0" not in page.text
    seoyeon = site.node.user("seoyeon")
    [contact] = site.node.contacts(actor=seoyeon)
    assert contact.from_user == "morgan" and contact.message.startswith("CISA saw these")
    assert set(contact.object_ids) == {indicator_id(20), indicator_id(21)}


def test_a_file_of_values_is_matched_with_those_pasted(site: Site) -> None:
    site.as_user("morgan")
    page = site.client.post(
        "/ui/search/match",
        data={"csrf": csrf_of(site.client), "target": f"local:{site.shared}", "values": ""},
        files={"values_file": ("values.txt", b"\xef\xbb\xbf203.0.113.44\r\n10.0.0.1\r\n")},
    )
    assert page.status_code == 200, page.text
    assert "1 of 2 matched" in page.text
    assert "data-contacted" not in page.text
    binary = site.client.post(
        "/ui/search/match",
        data={"csrf": csrf_of(site.client), "target": f"local:{site.shared}", "values": ""},
        files={"values_file": ("values.bin", b"\xff\xfe\x00\x01")},
    )
    assert binary.status_code == 400 and "is not UTF-8 text" in binary.text


def test_matching_is_refused_when_the_budget_is_spent(site: Site) -> None:
    site.as_user("morgan")
    assert (
        "Budget left: 2 values today" in site.match("10.0.0.1\n10.0.0.2\n10.0.0.3\n10.0.0.4").text
    )
    refused = site.match("10.0.0.5\n10.0.0.6\n10.0.0.7")
    assert refused.status_code == 429
    assert "over your organization&#39;s matching budget" in refused.text
    assert "the budget is 6 values a day; 4 used today, 3 asked" in refused.text
    # What was typed stays in the form, to send again another day.
    assert "10.0.0.5\n10.0.0.6\n10.0.0.7</textarea>" in refused.text
    assert "Budget left: 0 values today" in site.match("10.0.0.5\n10.0.0.6").text


def test_a_list_too_long_or_empty_or_nowhere_is_refused_in_words(site: Site) -> None:
    site.as_user("morgan")
    many = "\n".join(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(10_001))
    too_many = site.match(many)
    assert too_many.status_code == 400
    assert "at most 10,000 values per match; this list has 10,001" in too_many.text
    empty = site.match(" \n \n")
    assert empty.status_code == 400 and "at least one value" in empty.text
    nowhere = site.match("10.0.0.1", target="somewhere")
    assert nowhere.status_code == 400 and "choose a collection to match against" in nowhere.text
    unknown = site.match("10.0.0.1", target="peer:nowhere:collection")
    assert unknown.status_code == 400 and "no peer &#39;nowhere&#39;" in unknown.text
    # None of these spent any of the budget.
    assert f"Budget left: {BUDGET - 1} values today" in site.match("10.0.0.1").text


def test_a_match_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    site.as_user("morgan")
    refused = site.client.post(
        "/ui/search/match",
        data={"target": f"local:{site.shared}", "values": "203.0.113.44"},
        files={"values_file": ("", b"")},
    )
    assert refused.status_code == 403
    assert "this form is out of date" in refused.text
    assert f"Budget left: {BUDGET - 1} values today" in site.match("203.0.113.44").text


def test_the_search_page_offers_the_collections_to_match_against(site: Site) -> None:
    page = site.as_user("jiwoo").get("/ui/search")
    assert f'value="local:{site.shared}"' in page.text
    assert f'value="local:{site.internal}"' not in page.text
    assert 'href="/ui/search"' in page.text
