"""The cross-member views' pages, on both backends: each reader's page shows the view as the
API gives it to that reader (a Korean reader's without the NOFORN incident), a suppressed
cell or line never shows a figure, in the table or the chart, every chart draws exactly the
rows of its table, the pattern alerts link to their notes, and the banner carries the
markings of what the view drew on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.server import create_server_app
from allyshare.service import Node
from allyshare.ui.views import SUPPRESSED

from support.economic_views import Community, build_community
from support.ui_pages import sign_in

VOID = {"area", "br", "col", "hr", "img", "input", "link", "meta", "source", "wbr"}
MARKED = (
    "data-cell",
    "data-total",
    "data-bar",
    "data-line",
    "data-alert",
    "data-category",
    "data-view-tlp",
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: list[str] = field(default_factory=list)
    children: list[Element] = field(default_factory=list)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


class Marked(HTMLParser):
    """The page's elements that carry one of the ``MARKED`` attributes, with their text and
    their elements (a row's cells, a bar's ``rect``), and the banner's text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[Element] = []
        self.banner = ""
        self._open: list[Element] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        for holder in self._open:
            holder.children.append(element)
        if tag in VOID:
            return
        self._open.append(element)
        if any(name in element.attrs for name in MARKED) or "data-banner" in element.attrs:
            self.found.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        for holder in self._open:
            holder.children.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self._open:
            closed = self._open.pop()
            if "data-banner" in closed.attrs:
                self.banner = closed.words
            if closed.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for holder in self._open:
            holder.text.append(data)

    def having(self, name: str) -> list[Element]:
        return [element for element in self.found if name in element.attrs]


@dataclass
class Site:
    client: TestClient
    community: Community
    tokens: dict[str, str]

    def page(self, who: str, path: str) -> Marked:
        self.client.cookies.clear()
        sign_in(self.client, who, self.tokens[who])
        shown = self.client.get(f"/ui/views/{path}")
        assert shown.status_code == 200, shown.text
        assert "style=" not in shown.text and "<style" not in shown.text
        assert "<script" not in shown.text
        return Marked(shown.text)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    community = build_community(node)
    alerted = node.write_coercion_alerts(community.coercion, actor=community.acme)
    assert len(alerted.notes) == 1
    tokens = {name: node.rotate_token(name) for name in ("kisa", "acme", "usgov")}
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield Site(client, community, tokens)
    node.close()


def figures(row: Element) -> list[str]:
    """A table row's cells after the four that name its coercion cell."""
    return [cell.words for cell in row.children if cell.tag == "td"][4:]


@pytest.mark.parametrize("who", ["acme", "usgov", "kisa"])
def test_a_suppressed_cell_never_shows_a_figure(site: Site, who: str) -> None:
    page = site.page(who, "coercion")
    rows = page.having("data-cell")
    suppressed = [row for row in rows if "data-suppressed" in row.attrs]
    assert suppressed, "the one-contributor boycott cell of 2017"
    for row in suppressed:
        assert "data-incidents" not in row.attrs
        assert figures(row) == [SUPPRESSED]
    bars = {bar.attrs["data-bar"]: bar for bar in page.having("data-bar")}
    for row in suppressed:
        bar = bars[row.attrs["data-cell"]]
        assert "data-value" not in bar.attrs
        assert [child.tag for child in bar.children] == ["text", "text"]
        assert bar.words.endswith(SUPPRESSED)
    # A suppressed impact line inside a shown cell says so, with no figure either.
    for row in rows:
        if "data-suppressed" not in row.attrs:
            impact = figures(row)[-1]
            assert impact.startswith("USD ")
            assert impact == f"USD {SUPPRESSED}" or SUPPRESSED not in impact


def test_the_korean_reader_sees_no_noforn_incident(site: Site) -> None:
    american = site.page("usgov", "coercion")
    korean = site.page("kisa", "coercion")
    [us_row] = [row for row in american.having("data-cell") if "data-incidents" in row.attrs]
    [kr_row] = [row for row in korean.having("data-cell") if "data-incidents" in row.attrs]
    assert (us_row.attrs["data-incidents"], kr_row.attrs["data-incidents"]) == ("3", "2")
    assert figures(us_row)[-1] == "USD 110–220"
    assert figures(kr_row)[-1] == f"USD {SUPPRESSED}"
    assert [row.attrs["data-incidents"] for row in korean.having("data-total")] == ["2"]
    # The banner carries what each view drew on: NOFORN for the American reader only.
    assert american.banner == "UNCLASSIFIED//NOFORN"
    assert korean.banner == "UNCLASSIFIED"


@pytest.mark.parametrize("who", ["acme", "kisa"])
def test_the_chart_bars_match_the_table(site: Site, who: str) -> None:
    coercion = site.page(who, "coercion")
    bars = coercion.having("data-bar")
    rows = coercion.having("data-cell") + coercion.having("data-total")
    assert [bar.attrs["data-bar"] for bar in bars] == [
        row.attrs.get("data-cell") or row.attrs["data-total"] for row in rows
    ]
    assert [bar.attrs.get("data-value") for bar in bars] == [
        row.attrs.get("data-incidents") for row in rows
    ]
    widths = [
        int(str(child.attrs["width"]))
        for bar in bars
        for child in bar.children
        if child.tag == "rect"
    ]
    assert len(widths) == sum("data-value" in bar.attrs for bar in bars)
    supply = site.page(who, "supply-chain")
    lines = supply.having("data-line")
    shares = supply.having("data-bar")
    assert [bar.attrs["data-bar"] for bar in shares] == [line.attrs["data-line"] for line in lines]
    assert [bar.attrs.get("data-value") for bar in shares] == [
        line.attrs.get("data-share") for line in lines
    ]
    for line in lines:
        if "data-suppressed" in line.attrs:
            assert line.words == f"{line.attrs['data-line']} {SUPPRESSED}"


def test_the_supply_chain_page_shows_the_concentration(site: Site) -> None:
    page = site.page("acme", "supply-chain")
    [category] = page.having("data-category")
    assert category.attrs["data-category"] == "5g-ran"
    assert "Vendor concentration (HHI):" in category.words
    shown = {
        line.attrs["data-line"]: line.attrs.get("data-share") for line in page.having("data-line")
    }
    # Nokia is KISA's alone: suppressed, and with it the line it would give away.
    assert shown["Nokia"] is None and shown["FIN"] is None
    assert shown["Ericsson"] is not None
    # The banner tells classification and releasability; the TLP of the data is said apart.
    [tlp] = page.having("data-view-tlp")
    assert "TLP:GREEN" in tlp.words


def test_the_alerts_link_to_their_notes(site: Site) -> None:
    for who in ("acme", "kisa"):
        page = site.page(who, "coercion")
        [alert] = page.having("data-alert")
        [link] = [child for child in alert.children if child.tag == "a"]
        href = str(link.attrs["href"])
        assert href == (
            f"/ui/collections/{site.community.coercion}/objects/{alert.attrs['data-alert']}/"
        )
        assert "CHN applied export-restriction to KOR (2023-07) and USA (2023-09)" in alert.words
        assert site.client.get(href).status_code == 200


def test_the_pages_ask_for_sign_in(site: Site) -> None:
    for path in ("coercion", "supply-chain"):
        answer = site.client.get(f"/ui/views/{path}", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ui/sign-in?next=")
