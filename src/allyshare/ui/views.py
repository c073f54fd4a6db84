"""The cross-member views as pages: economic coercion (its cells, each state's totals and the
pattern alerts) and supply-chain concentration (vendor and vendor-country shares with their
Herfindahl-Hirschman index), as tables and as charts.

The charts are SVG the template draws from the geometry computed here: no chart library and
no script, so the pages' Content-Security-Policy holds (colours come from the stylesheet by
class). The tables are the pages' content; each chart draws exactly the rows of the table
beside it, and a suppressed row gets no bar and no figure, only the words, since a zero would
be a figure. The banner carries the markings of every object the view drew on (and of the
alerts shown): the figures come from all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from allyshare.economic.views import CategoryCell, CoercionCell, ImpactLine, ShareLine
from allyshare.policy import AccessLabel
from allyshare.service.economic import Alert
from allyshare.service.sessions import Session
from allyshare.ui.banner import Chip, banner
from allyshare.ui.web import Ui

__all__ = ["SUPPRESSED", "Bar", "Chart", "chart", "routes"]

SUPPRESSED: Final = "suppressed (fewer than k organizations)"
CHART_WIDTH: Final = 840
LABEL_WIDTH: Final = 420
BAR_SPACE: Final = 300
"""Pixels for the longest bar; the figure is written after the bar's end."""
ROW: Final = 26
BAR: Final = 18


@dataclass(frozen=True)
class Bar:
    """One row of a chart: a bar ``width`` pixels long at ``y``, or none when suppressed."""

    label: str
    figure: str
    value: float | None
    y: int
    width: int

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart; ``summary`` is what a screen reader hears of it."""

    summary: str
    bars: tuple[Bar, ...]

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * ROW

    @property
    def width(self) -> int:
        return CHART_WIDTH

    @property
    def bars_at(self) -> int:
        return LABEL_WIDTH

    @property
    def bar_height(self) -> int:
        return BAR


def chart(title: str, rows: Iterable[tuple[str, float | None, str]]) -> Chart:
    """Bars scaled to the largest value, from ``(label, value or None, figure)`` rows; the
    summary names every row with its figure, so the chart says no more than the table."""
    listed = list(rows)
    top = max((value for _, value, _ in listed if value is not None), default=0.0)
    bars = tuple(
        Bar(
            label,
            figure,
            value,
            index * ROW,
            0 if value is None or top <= 0 else max(1, round(BAR_SPACE * value / top)),
        )
        for index, (label, value, figure) in enumerate(listed)
    )
    said = "; ".join(f"{bar.label}: {bar.figure}" for bar in bars) or "nothing to show"
    return Chart(f"{title}. {said}", bars)


def money(line: ImpactLine) -> str:
    """A summed impact range in words a reader takes in at a glance (USD 5.6-8.3 billion)."""
    if line.suppressed or line.min is None or line.max is None:
        return f"{line.currency} {SUPPRESSED}"
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if line.max >= size:
            return f"{line.currency} {line.min / size:,.1f}–{line.max / size:,.1f} {word}"
    return f"{line.currency} {line.min:,.0f}–{line.max:,.0f}"


def percent(share: float | None) -> str:
    return SUPPRESSED if share is None else f"{share:.1%}"


def cell_label(cell: CoercionCell) -> str:
    return f"{cell.coercing_state} · {cell.measure} · {cell.sector} · {cell.quarter}"


def share_rows(lines: Iterable[ShareLine]) -> list[tuple[str, float | None, str]]:
    """The lines by name (the view orders vendors by identity id, which reads as no order)."""
    rows = [
        (
            line.name or line.key,
            None if line.suppressed else line.share,
            SUPPRESSED if line.suppressed else percent(line.share),
        )
        for line in lines
    ]
    return sorted(rows, key=lambda row: row[0])


@dataclass(frozen=True)
class CategoryShown:
    """One component category as the page shows it: the cell, its lines and their charts."""

    cell: CategoryCell
    vendors: list[tuple[str, float | None, str]]
    countries: list[tuple[str, float | None, str]]
    vendor_chart: Chart | None
    country_chart: Chart | None


def category_shown(cell: CategoryCell) -> CategoryShown:
    if cell.suppressed:
        return CategoryShown(cell, [], [], None, None)
    vendors, countries = share_rows(cell.vendors), share_rows(cell.countries)
    return CategoryShown(
        cell,
        vendors,
        countries,
        chart(f"{cell.category}: share per vendor, HHI {cell.vendor_hhi:,.0f}", vendors),
        chart(f"{cell.category}: share per vendor country, HHI {cell.country_hhi:,.0f}", countries),
    )


def alert_link(root: str, alert: Alert) -> str:
    return f"{root}/collections/{alert.collection_id}/objects/{alert.note['id']}/"


def strictest_tlp(labels: Iterable[AccessLabel]) -> Chip | None:
    """The strictest TLP of what a view drew on, as a chip: the banner carries classification
    and releasability only, and figures drawn from TLP:AMBER data are shared as AMBER."""
    found = [label.tlp for label in labels if label.tlp is not None]
    if not found:
        return None
    tlp = max(found)
    return Chip(tlp.label, f"tlp-{tlp.name.lower().replace('_', '-')}")


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node

    async def coercion(request: Request, session: Session) -> Response:
        drawn = await ui.run(node.drawn_coercion_view, actor=session.user)
        alerts = await ui.run(node.coercion_alerts, actor=session.user)
        noted = await ui.run(node.shown_labels, [alert.note for alert in alerts])
        carried = [*drawn.labels, *noted]
        view = drawn.view
        root = request.scope.get("root_path", "")
        return ui.render(
            request,
            "views_coercion.html",
            banner(carried),
            session=session,
            view=view,
            tlp=strictest_tlp(carried),
            suppressed=SUPPRESSED,
            money=money,
            label=cell_label,
            cells_chart=chart(
                "Incidents per cell (coercing state, measure, sector, quarter)",
                (
                    (
                        cell_label(cell),
                        None if cell.suppressed else cell.incidents,
                        SUPPRESSED if cell.suppressed else str(cell.incidents),
                    )
                    for cell in view.cells
                ),
            ),
            totals_chart=chart(
                "Incidents per coercing state, over the shown cells",
                ((t.coercing_state, t.incidents, str(t.incidents)) for t in view.totals),
            ),
            alerts=[(alert.note, alert_link(root, alert)) for alert in alerts],
        )

    async def supply_chain(request: Request, session: Session) -> Response:
        drawn = await ui.run(node.drawn_supply_chain_view, actor=session.user)
        return ui.render(
            request,
            "views_supply_chain.html",
            banner(drawn.labels),
            session=session,
            view=drawn.view,
            tlp=strictest_tlp(drawn.labels),
            suppressed=SUPPRESSED,
            categories=[category_shown(cell) for cell in drawn.view.categories],
        )

    return [
        Route("/views/coercion", ui.signed_in(coercion), methods=["GET"]),
        Route("/views/supply-chain", ui.signed_in(supply_chain), methods=["GET"]),
    ]
