"""``allyshare sightings``: how often, when and where an object was sighted, as a user may see
it: its organization's own sightings, the sighters it may see, and every other sighter only
as "others" with its country."""

from __future__ import annotations

import argparse
from typing import Any

from allyshare.cli.commands import acting, open_node
from allyshare.service.sightings import Tally


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sightings = sub.add_parser(
        "sightings",
        parents=[common],
        help="sightings of an object, aggregated as a user may see them",
    )
    sightings.add_argument("object_id", metavar="OBJECT_ID")
    sightings.add_argument("--as", dest="as_user", metavar="USER", help="the user asking")
    sightings.set_defaults(run=show_sightings)


def _line(label: str, tally: Tally, extra: str = "") -> str:
    if not tally.sightings:
        return f"{label}: none"
    return (
        f"{label}: {tally.sightings} sighting(s), count {tally.count}, "
        f"seen {tally.first_seen} to {tally.last_seen}{extra}"
    )


def show_sightings(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        sighted = node.sightings(args.object_id, actor=acting(node, args.as_user))
    countries = ", ".join(sorted(sighted.countries)) or "none known"
    print(_line(f"sightings of {sighted.object_id}", sighted.total, f"; countries {countries}"))
    print(_line("  your organization", sighted.own))
    for refs, tally in sorted(sighted.named.items()):
        print(_line(f"  at {', '.join(refs)}", tally))
    others = ", ".join(sorted(sighted.other_countries))
    print(_line("  others", sighted.others, f" (from {others})" if others else ""))
    return 0
