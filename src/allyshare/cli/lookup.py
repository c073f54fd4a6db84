"""``allyshare lookup``: which objects a user may see mention each of some values (addresses,
domains, URLs, e-mail addresses, hashes), or with ``--type name`` bear each name, across every
collection it may read, and how often each was sighted as the user may see it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from allyshare.cli.commands import acting, open_node
from allyshare.errors import InvalidInput
from allyshare.observables import KINDS, NAME


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    lookup = sub.add_parser(
        "lookup",
        parents=[common],
        help="objects you may see that mention each value (the correlation index)",
    )
    lookup.add_argument("values", nargs="*", metavar="VALUE")
    lookup.add_argument(
        "--file", type=Path, help="values one per line ('-' for standard input); # comments"
    )
    lookup.add_argument(
        "--type",
        dest="kind",
        choices=[*sorted(KINDS), NAME],
        help="the values' type (name: the names of threat actors, malware, ...)",
    )
    lookup.add_argument("--as", dest="as_user", metavar="USER", help="the user asking")
    lookup.add_argument("--json", action="store_true", help="one JSON document per value")
    lookup.set_defaults(run=look_up)


def read_values(path: Path) -> list[str]:
    """The values in a file, one per line ('-': standard input), blank lines and # comments
    left out."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from None
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _values(args: argparse.Namespace) -> list[str]:
    values = list(args.values)
    if args.file is not None:
        values += read_values(args.file)
    if not values:
        raise InvalidInput("name values to look up, or --file FILE")
    return values


def look_up(args: argparse.Namespace) -> int:
    values = _values(args)
    with open_node(args.data_dir) as node:
        found = node.lookup(values, args.kind, actor=acting(node, args.as_user))
    for each in found:
        shown = each.as_json()
        if args.json:
            print(orjson.dumps(shown).decode())
            continue
        kinds = ", ".join(f"{o['type']} {o['value']}" for o in shown["observables"])
        if not kinds:
            print(f"{each.value}: not {'a name' if args.kind == NAME else 'an observable value'}")
            continue
        hidden = shown.get("organizations_not_shown")
        note = (
            f"; held by at least {hidden} organizations where you may not see it" if hidden else ""
        )
        if shown["common"]:
            print(f"{each.value} ({kinds}): common, in {shown['count']:,} objects{note}")
            continue
        print(f"{each.value} ({kinds}): {shown['count']} object(s){note}")
        for mention in shown["objects"]:
            print(
                f"  {mention['id']} in {', '.join(mention['collections'])}, added "
                f"{mention['first_added']} .. {mention['last_added']}"
            )
            if "sightings" in mention:
                print(f"    {_sighted(mention['sightings'])}")
    return 0


def _sighted(sighted: dict[str, Any]) -> str:
    """One line of an object's sightings: enough to tell whether to ask `allyshare
    sightings` for the rest (who, and since when)."""
    times = "time" if sighted["sightings"] == 1 else "times"
    line = f"sighted {sighted['sightings']} {times} (count {sighted['count']})"
    if sighted["countries"]:
        line += f" in {', '.join(sighted['countries'])}"
    if sighted["own"]["sightings"]:
        line += f"; own {sighted['own']['sightings']}"
    if sighted["last_seen"]:
        line += f"; last seen {sighted['last_seen']}"
    return line
