"""``allyshare import-csv``: a spreadsheet of economic-coercion incidents or supply-chain
exposures (CSV, one row each, the header in the README) into a collection, all or nothing
unless ``--skip-bad``, with every bad row named by row and column."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from allyshare.cli.commands import acting, open_node
from allyshare.economic.spreadsheets import KINDS, parse_markings
from allyshare.errors import InvalidInput
from allyshare.interchange import import_csv


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    imp = sub.add_parser(
        "import-csv",
        parents=[common],
        help="import economic-coercion incidents or supply-chain exposures from a CSV file",
    )
    imp.add_argument("kind", choices=KINDS, help="what each row is")
    imp.add_argument(
        "file", type=Path, metavar="FILE", help="the CSV file, UTF-8, with a header row"
    )
    imp.add_argument("--collection", required=True, metavar="COLLECTION_ID")
    imp.add_argument(
        "--as", dest="as_user", metavar="USER", help="import as this user (default: the node)"
    )
    imp.add_argument(
        "--markings",
        default="",
        metavar="MARKINGS",
        help="markings of rows with an empty markings cell: TLP levels and/or marking-definition "
        "ids, separated by ';' (TLP:GREEN)",
    )
    imp.add_argument(
        "--skip-bad",
        action="store_true",
        help="store the good rows and report the bad ones (default: nothing if any row is bad)",
    )
    imp.set_defaults(run=import_spreadsheet)


def import_spreadsheet(args: argparse.Namespace) -> int:
    """A file that cannot be imported exits 2, as a bad row does (the README's promise), so a
    script tells what is wrong with the file from a wrong option or the node failing (1)."""
    markings = parse_markings(args.markings)
    with args.file.open(encoding="utf-8-sig", newline="") as handle:
        try:
            text = handle.read()
        except UnicodeDecodeError as exc:
            return _unimportable(args.file, f"not UTF-8 text ({exc.reason})")
    with open_node(args.data_dir) as node:
        actor = acting(node, args.as_user)
        try:
            outcome = import_csv(
                node,
                actor,
                args.collection,
                args.kind,
                text,
                markings=markings,
                skip_bad=args.skip_bad,
            )
        except InvalidInput as exc:
            return _unimportable(args.file, str(exc))
    if outcome.refused:
        print(f"nothing stored: {len(outcome.errors)} problem(s), fix them or use --skip-bad")
    else:
        print(
            f"stored {outcome.stored}, duplicate {outcome.duplicate}, "
            f"rows {outcome.rows}, bad rows {len({error.row for error in outcome.errors})}"
        )
    for error in outcome.errors:
        print(f"  {error}")
    for warning in outcome.warnings:
        print(f"  warning: {warning}")
    return 2 if outcome.errors else 0


def _unimportable(file: Path, problem: str) -> int:
    print(f"allyshare: error: {file}: {problem}", file=sys.stderr)
    return 2
