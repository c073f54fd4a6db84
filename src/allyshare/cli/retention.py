"""``allyshare retention run``: remove what the node's agreements no longer keep, now or as of
a given time (what a schedule would remove then), the run recorded in the audit log."""

from __future__ import annotations

import argparse
from typing import Any

from allyshare.cli.commands import open_node
from allyshare.clock import format_us, parse_us


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    retention = sub.add_parser(
        "retention", help="remove versions older than their agreement's retention_days"
    )
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_sub.add_parser(
        "run", parents=[common], help="remove expired versions now (the server does it hourly)"
    )
    run.add_argument(
        "--as-of", help="remove what has expired by this time (RFC 3339) instead of by now"
    )
    run.set_defaults(run=retention_run)


def retention_run(args: argparse.Namespace) -> int:
    now = parse_us(args.as_of) if args.as_of else None
    with open_node(args.data_dir) as node:
        expired = node.run_retention(now=now)
    if not expired:
        print("no agreement of this node sets retention_days: nothing expires")
    for each in expired:
        print(
            f"{each.collection}\t{each.agreement} keeps {each.retention_days} days\t"
            f"removed {each.versions:,} versions added before {format_us(each.added_before)}"
        )
    return 0
