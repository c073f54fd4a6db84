"""``allyshare views``: the cross-member views as tables in the terminal, as a user may see
them (the fixed cells, a cell of fewer than k organizations marked suppressed), and
``views alerts``, which writes the coercion pattern alerts as notes into a collection."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from allyshare.cli.commands import acting, open_node
from allyshare.economic.views import CategoryCell, CoercionView, ImpactLine, SupplyChainView

SUPPRESSED = "suppressed"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    views = sub.add_parser("views", help="cross-member views of coercion and supply chains")
    views_sub = views.add_subparsers(dest="action", required=True, metavar="VIEW")
    asking = argparse.ArgumentParser(add_help=False)
    asking.add_argument("--as", dest="as_user", metavar="USER", help="the user asking")
    asking.add_argument("--json", action="store_true", help="print the view as JSON")
    coercion = views_sub.add_parser(
        "coercion",
        parents=[common, asking],
        help="coercion by state, measure, sector and quarter",
    )
    coercion.set_defaults(run=show_coercion)
    supply = views_sub.add_parser(
        "supply-chain",
        parents=[common, asking],
        help="vendor and vendor-country concentration per component category",
    )
    supply.set_defaults(run=show_supply_chain)
    alerts = views_sub.add_parser(
        "alerts",
        parents=[common],
        help="write the coercion pattern alerts as notes into a collection",
    )
    alerts.add_argument("--collection", required=True, help="where the notes go")
    alerts.add_argument("--as", dest="as_user", metavar="USER", help="the user writing")
    alerts.set_defaults(run=write_alerts)


def show_coercion(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        view = node.coercion_view(actor=acting(node, args.as_user))
    if args.json:
        sys.stdout.write(orjson.dumps(view.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    _console().print(_coercion_cells(view), _coercion_totals(view))
    return 0


def show_supply_chain(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        view = node.supply_chain_view(actor=acting(node, args.as_user))
    if args.json:
        sys.stdout.write(orjson.dumps(view.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    console = _console()
    if not view.categories:
        console.print(f"no exposure you may see (k = {view.k})")
    for category in view.categories:
        console.print(_category(category, view))
    return 0


def write_alerts(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        alerted = node.write_coercion_alerts(args.collection, actor=acting(node, args.as_user))
    if not alerted.outcomes:
        print("no pattern found")
    for outcome in alerted.outcomes:
        note = outcome.note
        print(f"{note['id']} ({outcome.outcome}): {note.get('content', '')}")
        if outcome.message is not None:
            print(f"{note['id']}: the node refused it: {outcome.message}", file=sys.stderr)
    return 1 if alerted.failed else 0


def _console() -> Console:
    """Wide enough for a cell's dimensions whatever the terminal (or none) says."""
    return Console(width=max(Console().width, 120))


def _impact(lines: tuple[ImpactLine, ...]) -> str:
    return "\n".join(
        f"{line.currency} {SUPPRESSED}"
        if line.suppressed
        else f"{line.currency} {line.min:,.0f}-{line.max:,.0f}"
        for line in lines
    )


def _coercion_cells(view: CoercionView) -> Table:
    table = Table(title=f"Economic coercion (cells of at least k = {view.k} organizations)")
    for name in ("state", "measure", "sector", "quarter"):
        table.add_column(name)
    for name in ("incidents", "countries", "organizations"):
        table.add_column(name, justify="right")
    table.add_column("impact (min-max)")
    for cell in view.cells:
        dimensions = (cell.coercing_state, cell.measure, cell.sector, cell.quarter)
        if cell.suppressed:
            table.add_row(*dimensions, SUPPRESSED, "", "", "")
        else:
            table.add_row(
                *dimensions,
                str(cell.incidents),
                str(cell.targeted_countries),
                str(cell.organizations),
                _impact(cell.impact),
            )
    return table


def _coercion_totals(view: CoercionView) -> Table:
    table = Table(title="Totals per coercing state (shown cells only)")
    table.add_column("state")
    for name in ("incidents", "countries", "organizations"):
        table.add_column(name, justify="right")
    table.add_column("impact (min-max)")
    for total in view.totals:
        table.add_row(
            total.coercing_state,
            str(total.incidents),
            str(total.targeted_countries),
            str(total.organizations),
            _impact(total.impact),
        )
    return table


def _category(category: CategoryCell, view: SupplyChainView) -> Table | str:
    if category.suppressed:
        return f"{category.category}: {SUPPRESSED} (fewer than k = {view.k} members)"
    table = Table(
        title=f"{category.category}: {category.members} members",
        caption=(
            f"HHI of the shown lines: vendors {category.vendor_hhi:,.0f}, "
            f"countries {category.country_hhi:,.0f}"
        ),
    )
    table.add_column("vendor or country")
    table.add_column("share", justify="right")
    table.add_column("members", justify="right")
    for lines in (category.vendors, category.countries):
        for line in lines:
            label = line.name or line.key
            if line.suppressed or line.share is None:
                table.add_row(label, SUPPRESSED, "")
            else:
                table.add_row(label, f"{line.share:.1%}", str(line.members))
        table.add_section()
    return table
