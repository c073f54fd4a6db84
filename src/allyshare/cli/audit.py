"""``allyshare audit``: verify the log, list its entries, follow one object's trail, and show
the checkpoints partners cosigned. The console acts as the node's operator and sees every
entry; the management API shows organizations their own."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from allyshare.cli.commands import open_node
from allyshare.clock import format_us, parse_us
from allyshare.service import CONSOLE
from allyshare.storage import EntryFilter

PAGE = 1000


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    audit = sub.add_parser("audit", help="the audit log: who did what, provably")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)

    verify = audit_sub.add_parser(
        "verify",
        parents=[common],
        help="recompute the log from its entries and check every checkpoint and cosignature",
    )
    verify.set_defaults(run=audit_verify)

    show = audit_sub.add_parser("show", parents=[common], help="list audit entries")
    show.add_argument("--actor", help="user name, or peer name, that acted")
    show.add_argument(
        "--organization", help="entries about this organization's objects (e.g. USA.CISA)"
    )
    show.add_argument("--object", dest="object_id", help="entries about this object id")
    show.add_argument("--action", help="operation name, e.g. objects:read or members:write")
    show.add_argument("--since", help="from this time on (RFC 3339)")
    show.add_argument("--until", help="before this time (RFC 3339)")
    show.add_argument("--after", type=int, default=-1, help="entries after this number")
    show.add_argument("--limit", type=int, default=None, help="at most this many entries")
    show.add_argument("--jsonl", action="store_true", help="JSON Lines, one entry per line")
    show.set_defaults(run=audit_show)

    trail = audit_sub.add_parser(
        "trail", parents=[common], help="who wrote, read, approved and received one object"
    )
    trail.add_argument("object_id")
    trail.add_argument("--jsonl", action="store_true", help="JSON Lines, one entry per line")
    trail.set_defaults(run=audit_trail)

    checkpoint = audit_sub.add_parser(
        "checkpoint", parents=[common], help="print the newest signed checkpoint"
    )
    checkpoint.set_defaults(run=audit_checkpoint)

    cosignatures = audit_sub.add_parser(
        "cosignatures", parents=[common], help="the checkpoints partners witnessed"
    )
    cosignatures.set_defaults(run=audit_cosignatures)


def audit_verify(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        report = node.audit_verify()
    print(
        f"{report.entries:,} entries, {report.checkpoints:,} checkpoints, "
        f"{report.cosignatures:,} cosignatures checked"
    )
    if report.ok:
        print("the log is intact: every entry is in place and every checkpoint fits")
        unsigned = report.entries - report.signed_up_to
        if unsigned:
            print(
                f"{unsigned:,} newest entries are not yet in a signed checkpoint "
                "(allyshare audit checkpoint signs one now)"
            )
        return 0
    if report.first_bad_entry is not None:
        print(f"the first entry that does not fit: {report.first_bad_entry}", file=sys.stderr)
    for problem in report.problems[:50]:
        print(f"  {problem}", file=sys.stderr)
    if len(report.problems) > 50:
        print(f"  ... and {len(report.problems) - 50} more", file=sys.stderr)
    return 1


def audit_show(args: argparse.Namespace) -> int:
    selection = EntryFilter(
        actor=args.actor,
        about=args.organization,
        object_id=args.object_id,
        action=args.action,
        since=parse_us(args.since) if args.since else None,
        until=parse_us(args.until) if args.until else None,
    )
    _print_entries(args, selection, args.after, args.limit)
    return 0


def audit_trail(args: argparse.Namespace) -> int:
    _print_entries(args, EntryFilter(object_id=args.object_id), -1, None)
    return 0


def _print_entries(
    args: argparse.Namespace, selection: EntryFilter, after: int, limit: int | None
) -> None:
    """Entries a page at a time; saying so when there are none (on stderr, so JSON Lines
    stay clean)."""
    shown = 0
    with open_node(args.data_dir) as node:
        while limit is None or shown < limit:
            page = min(PAGE, limit - shown) if limit is not None else PAGE
            entries = node.audit_entries(CONSOLE, selection, after=after, limit=page)
            for entry in entries:
                if args.jsonl:
                    sys.stdout.buffer.write(orjson.dumps(entry) + b"\n")
                else:
                    print(describe(entry, args))
            shown += len(entries)
            if len(entries) < page:
                break
            after = entries[-1]["seq"]
    sys.stdout.flush()
    if not shown:
        print("no audit entries match", file=sys.stderr)


def describe(entry: dict[str, Any], args: argparse.Namespace) -> str:
    """One line per entry: when, what, who, the outcome, and what it was about."""
    actor = entry["actor"]
    who = actor["name"] + (f" ({actor['organization']})" if "organization" in actor else "")
    parts = [
        f"{entry['seq']:>8}",
        format_us(entry["recorded_at"]),
        f"{entry['action']:<17}",
        f"{who}",
        entry["outcome"],
    ]
    if "peer" in entry:
        parts.append(f"peer {entry['peer']}")
    objects = [ref for refs in entry.get("objects", {}).values() for ref in refs]
    wanted = getattr(args, "object_id", None)
    if wanted:
        objects = [ref for ref in objects if ref[0] == wanted]
    if objects:
        withheld = sorted({field for ref in objects if len(ref) > 2 for field in ref[2]})
        first = objects[0]
        more = f" and {len(objects) - 1} more" if len(objects) > 1 else ""
        parts.append(f"{first[0]} {first[1]}{more}")
        if withheld:
            parts.append(f"withheld {', '.join(withheld)}")
    if "reason" in entry:
        parts.append(f"reason: {entry['reason']}")
    if "detail" in entry:
        parts.append(orjson.dumps(entry["detail"]).decode())
    return "  ".join(parts)


def audit_checkpoint(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        print(node.audit_checkpoint(), end="")
    return 0


def audit_cosignatures(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        found = node.audit_cosignatures()
    if not found:
        print("no partner has cosigned a checkpoint of this log yet")
    for item in found:
        print(
            f"checkpoint {item['size']:,}  cosigned by {item['witness']}  "
            f"at {format_us(item['received_at'])}"
        )
    return 0
