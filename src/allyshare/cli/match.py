"""``allyshare match``: which of a member's own values the match-only data of a collection
holds, by private set intersection, on the member organization's budget."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from allyshare.cli.commands import acting, open_node
from allyshare.cli.lookup import read_values
from allyshare.clock import format_us
from allyshare.federation.matching import match_at_peer
from allyshare.observables import KINDS


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    match = sub.add_parser(
        "match",
        parents=[common],
        help="which of your values a collection's match-only data holds (private matching)",
    )
    match.add_argument("file", type=Path, metavar="FILE", help="values one per line ('-': stdin)")
    match.add_argument("--collection", required=True, metavar="C", help="on the peer, if named")
    match.add_argument("--peer", metavar="NAME", help="match against this peer's collection")
    match.add_argument("--type", dest="kind", choices=sorted(KINDS), help="the values' type")
    match.add_argument("--as", dest="as_user", metavar="USER", help="the member matching")
    match.add_argument(
        "--contact",
        metavar="MESSAGE",
        help="ask the originators of what matches to get in touch (they see who you are)",
    )
    match.add_argument("--json", action="store_true", help="the answer as one JSON document")
    match.set_defaults(run=match_values)
    contacts = sub.add_parser(
        "contacts",
        parents=[common],
        help="contact requests sent to your organization after private matches",
    )
    contacts.add_argument("--as", dest="as_user", metavar="USER", help="a member user")
    contacts.set_defaults(run=list_contacts)


def match_values(args: argparse.Namespace) -> int:
    values = read_values(args.file)
    with open_node(args.data_dir) as node:
        actor = acting(node, args.as_user)
        if args.peer is not None:
            found = match_at_peer(
                node, args.peer, args.collection, values, args.kind, contact=args.contact,
                actor=actor,
            )  # fmt: skip
        else:
            found = node.match(
                args.collection, values, args.kind, contact=args.contact, actor=actor
            )
    if args.json:
        print(orjson.dumps(found.as_json()).decode())
        return 0
    for value in found.matched:
        print(value)
    shown = found.as_json()
    print(
        f"{len(found.matched)} of {found.asked} values matched; {found.budget_left:,} left "
        f"today (resets {shown['budget_resets']})",
        file=sys.stderr,
    )
    return 0


def list_contacts(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        received = node.contacts(actor=acting(node, args.as_user))
    for contact in received:
        print(
            f"{format_us(contact.created_at)} {contact.from_organization} ({contact.from_user}) "
            f"in {contact.collection_id}: {contact.message}"
        )
        for object_id in contact.object_ids:
            print(f"  {object_id}")
    return 0
