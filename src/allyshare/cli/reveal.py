"""``allyshare reveal``: tell who contributed an anonymous object, for a reason, as an admin
(two where the agreement wants two: the second confirms within 24 hours). Every reveal is in
the audit log, where the contributor's organization sees it."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from allyshare.cli.commands import acting, open_node
from allyshare.errors import InvalidInput


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    reveal = sub.add_parser(
        "reveal",
        parents=[common],
        help="tell who contributed an anonymous object (admins; recorded with the reason)",
    )
    reveal.add_argument("object_id", nargs="?", metavar="OBJECT_ID")
    reveal.add_argument("--reason", help="why: recorded, and shown to the contributor")
    reveal.add_argument(
        "--confirm", metavar="REVEAL_ID", help="confirm another admin's reveal (two-person)"
    )
    reveal.add_argument("--as", dest="as_user", metavar="ADMIN", help="the admin revealing")
    reveal.set_defaults(run=reveal_contributor)


def reveal_contributor(args: argparse.Namespace) -> int:
    if args.object_id is None and args.confirm is None:
        raise InvalidInput("name an OBJECT_ID to reveal, or --confirm REVEAL_ID")
    if args.object_id is not None and args.confirm is not None:
        raise InvalidInput("name an OBJECT_ID to reveal or --confirm REVEAL_ID, not both")
    if args.object_id is not None and not args.reason:
        raise InvalidInput("a reveal needs --reason, recorded for the contributor to see")
    with open_node(args.data_dir) as node:
        actor = acting(node, args.as_user)
        if args.confirm is not None:
            done = node.confirm_reveal(args.confirm, actor=actor)
        else:
            done = node.reveal(args.object_id, args.reason, actor=actor)
    if done.pending:
        print(
            f"reveal {done.id} waits for a second admin: "
            f"allyshare reveal --confirm {done.id} --as OTHER_ADMIN (within 24 hours)"
        )
        return 0
    for contribution in done.contributions:
        print(orjson.dumps(contribution, option=orjson.OPT_SORT_KEYS).decode())
    return 0
