"""The ``allyshare`` command.

Each sub-command opens the node in ``--data-dir`` (default ``$ALLYSHARE_DATA_DIR``), acts through
:class:`~allyshare.service.Node` as the explicit CLI system subject, and reports failures as one
line on stderr with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from allyshare.cli import (
    audit,
    commands,
    lookup,
    match,
    retention,
    reveal,
    sightings,
    spreadsheets,
    views,
)
from allyshare.community import CATEGORIES
from allyshare.config import default_data_dir
from allyshare.errors import AllyshareError
from allyshare.service import ROLES

CLEARANCES = ["U", "C", "S", "TS"]
ROLE_NAMES = sorted(ROLES)

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="allyshare",
        description="Trusted STIX 2.1 / TAXII 2.1 sharing node.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the node's data directory (default: $ALLYSHARE_DATA_DIR or ./allyshare-data)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", parents=[common], help="create a node in the data directory")
    init.add_argument("--country", required=True, help="ISO 3166-1 alpha-3 code, e.g. USA")
    init.add_argument("--name", required=True, help="the node's name")
    init.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    init.set_defaults(run=commands.init)

    serve = sub.add_parser("serve", parents=[common], help="serve TAXII 2.1")
    serve.add_argument("--host", default=None, help="address to bind (default from settings)")
    serve.add_argument("--port", type=int, default=None, help="port (default from settings)")
    serve.add_argument(
        "--plain-http",
        action="store_true",
        help="serve HTTP without TLS (only on a loopback address)",
    )
    serve.set_defaults(run=commands.serve)

    node = sub.add_parser("node", help="this node's identity")
    node_sub = node.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = node_sub.add_parser(
        "show",
        parents=[common],
        help="name, country and the certificate fingerprint to give to partners",
    )
    show.set_defaults(run=commands.node_show)

    peer = sub.add_parser("peer", help="other nodes and TAXII servers to sync with")
    peer_sub = peer.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_peer = peer_sub.add_parser("add", parents=[common], help="pin a peer")
    add_peer.add_argument("name")
    add_peer.add_argument("--url", required=True, help="the peer's TAXII API root URL")
    pinning = add_peer.add_mutually_exclusive_group(required=False)
    pinning.add_argument(
        "--cert-fingerprint", metavar="SHA256", help="the fingerprint its node show printed"
    )
    pinning.add_argument("--cert-file", type=Path, metavar="F", help="its certificate, PEM")
    add_peer.add_argument("--country", required=True, help="ISO 3166-1 alpha-3 code")
    add_peer.add_argument("--agreement", required=True, help="the agreement it shares under")
    add_peer.add_argument(
        "--username", default=None, help="HTTP Basic user, for a TAXII server that is not a node"
    )
    add_peer.add_argument(
        "--password-file", type=Path, default=None, help="file holding that user's password"
    )
    add_peer.set_defaults(run=commands.peer_add)
    list_peers = peer_sub.add_parser("list", parents=[common], help="peers and their sync state")
    list_peers.set_defaults(run=commands.peer_list)
    remove_peer = peer_sub.add_parser("remove", parents=[common], help="forget a peer")
    remove_peer.add_argument("name")
    remove_peer.set_defaults(run=commands.peer_remove)
    subscribe = peer_sub.add_parser(
        "subscribe", parents=[common], help="pull a collection of the peer into a local one"
    )
    subscribe.add_argument("name")
    subscribe.add_argument("--remote-collection", required=True, metavar="RID")
    subscribe.add_argument("--into", required=True, metavar="LOCAL_ID")
    subscribe.add_argument("--push", action="store_true", help="also push local writes to it")
    subscribe.set_defaults(run=commands.peer_subscribe)

    orcon = sub.add_parser("orcon", help="approve ORCON objects for more recipients")
    orcon_sub = orcon.add_subparsers(dest="action", required=True, metavar="ACTION")
    approve = orcon_sub.add_parser(
        "approve", parents=[common], help="sign an approval releasing an ORCON object further"
    )
    approve.add_argument("object_id", metavar="OBJECT_ID")
    recipient = approve.add_mutually_exclusive_group(required=True)
    recipient.add_argument("--peer", metavar="NAME", help="a peer node it may be sent to")
    recipient.add_argument(
        "--organization", metavar="ORG", help="an organization that may read it, e.g. KOR.NIS"
    )
    approve.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help="approve for this member user's organization (default: the node, for its imports)",
    )
    approve.set_defaults(run=commands.orcon_approve)
    revoke = orcon_sub.add_parser("revoke", parents=[common], help="withdraw an approval")
    revoke.add_argument("approval_id", metavar="APPROVAL_ID")
    revoke.add_argument("--as", dest="as_user", metavar="USER", help="as for approve")
    revoke.set_defaults(run=commands.orcon_revoke)
    orcon_list = orcon_sub.add_parser("list", parents=[common], help="the approvals in force")
    orcon_list.set_defaults(run=commands.orcon_list)

    sync = sub.add_parser("sync", parents=[common], help="pull from peers once, now")
    sync.add_argument("peer", nargs="?", default=None, help="only this peer")
    sync.add_argument("--quiet", action="store_true", help="no progress bar")
    sync.add_argument(
        "--page-size", type=int, default=1000, help="objects asked for per page (default 1000)"
    )
    sync.set_defaults(run=commands.sync)

    collection = sub.add_parser("collection", help="manage collections")
    collection_sub = collection.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = collection_sub.add_parser("add", parents=[common], help="create a collection")
    add.add_argument("title")
    add.add_argument("--description", default="")
    add.add_argument("--agreement", default=None, help="the agreement the collection is bound to")
    add.add_argument(
        "--category",
        default=None,
        choices=sorted(CATEGORIES),
        help="what it holds: one of the agreement's categories (needed when it covers several)",
    )
    add.add_argument(
        "--anonymous-by-default",
        action="store_true",
        help="contributions withhold their contributor unless they ask otherwise",
    )
    add.set_defaults(run=commands.collection_add)
    listing = collection_sub.add_parser("list", parents=[common], help="list collections")
    listing.set_defaults(run=commands.collection_list)

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    user_add = user_sub.add_parser("add", parents=[common], help="create a user, print its token")
    user_add.add_argument("name")
    user_add.add_argument("--admin", action="store_true", help="full rights on every collection")
    user_add.add_argument("--org", default=None, metavar="ORG_ID", help="the user's organization")
    user_add.add_argument("--nationality", default=None, metavar="ISO3")
    user_add.add_argument("--clearance", default="U", choices=CLEARANCES)
    user_add.add_argument(
        "--role",
        action="append",
        default=None,
        choices=ROLE_NAMES,
        help="repeat for several (default: reader, or none for an --admin)",
    )
    user_add.set_defaults(run=commands.user_add)
    user_change = user_sub.add_parser(
        "change", parents=[common], help="change a user's organization, clearance or roles"
    )
    user_change.add_argument("name")
    user_change.add_argument("--org", default=None, metavar="ORG_ID")
    user_change.add_argument("--nationality", default=None, metavar="ISO3")
    user_change.add_argument("--clearance", default=None, choices=CLEARANCES)
    user_change.add_argument(
        "--role", action="append", default=None, choices=ROLE_NAMES, help="replaces the roles"
    )
    user_change.set_defaults(run=commands.user_change)
    user_disable = user_sub.add_parser("disable", parents=[common], help="cut a user off now")
    user_disable.add_argument("name")
    user_disable.set_defaults(run=commands.user_disable)

    org = sub.add_parser("org", help="manage member organizations")
    org_sub = org.add_subparsers(dest="action", required=True, metavar="ACTION")
    org_add = org_sub.add_parser("add", parents=[common], help="register an organization")
    org_add.add_argument("name")
    org_add.add_argument("--country", required=True, metavar="ISO3")
    org_add.add_argument(
        "--kind", required=True, choices=["government", "cert", "company", "academic"]
    )
    org_add.add_argument("--sector", action="append", default=[])
    org_add.set_defaults(run=commands.org_add)
    org_list = org_sub.add_parser("list", parents=[common], help="list organizations")
    org_list.set_defaults(run=commands.org_list)
    org_change = org_sub.add_parser(
        "change", parents=[common], help="rename an organization or set its sectors"
    )
    org_change.add_argument("org_id", metavar="ORG_ID")
    org_change.add_argument("--name", default=None)
    org_change.add_argument("--sector", action="append", default=None, help="replaces the sectors")
    org_change.set_defaults(run=commands.org_change)
    org_disable = org_sub.add_parser(
        "disable", parents=[common], help="cut an organization and its users off now"
    )
    org_disable.add_argument("org_id", metavar="ORG_ID")
    org_disable.set_defaults(run=commands.org_disable)

    agreement = sub.add_parser("agreement", help="manage sharing agreements")
    agreement_sub = agreement.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply = agreement_sub.add_parser(
        "apply", parents=[common], help="apply an agreement from a TOML or JSON file"
    )
    apply.add_argument("file", type=Path, metavar="FILE")
    apply.set_defaults(run=commands.agreement_apply)
    agreement_list = agreement_sub.add_parser("list", parents=[common], help="list agreements")
    agreement_list.set_defaults(run=commands.agreement_list)
    user_list = user_sub.add_parser("list", parents=[common], help="list users")
    user_list.set_defaults(run=commands.user_list)

    policy = sub.add_parser("policy", help="inspect the access policy")
    policy_sub = policy.add_subparsers(dest="action", required=True, metavar="ACTION")
    explain = policy_sub.add_parser(
        "explain", parents=[common], help="why a user sees an object as it does"
    )
    explain.add_argument("object_id", metavar="OBJECT_ID")
    explain.add_argument("--as", dest="as_user", required=True, metavar="USER")
    explain.set_defaults(run=commands.policy_explain)

    imp = sub.add_parser("import", parents=[common], help="import STIX files into a collection")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--collection", required=True, metavar="COLLECTION_ID")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.add_argument(
        "--as", dest="as_user", metavar="USER", help="import as this user (default: the node)"
    )
    naming = imp.add_mutually_exclusive_group()
    naming.add_argument(
        "--anonymous",
        action="store_const",
        const=True,
        default=None,
        help="contribute anonymously: readers see the community, not the user's organization "
        "(needs --as a member's user)",
    )
    naming.add_argument(
        "--named",
        dest="anonymous",
        action="store_const",
        const=False,
        help="name the contributor even where the collection or agreement is anonymous by default",
    )
    imp.set_defaults(run=commands.import_files)
    spreadsheets.register(sub, common)

    export = sub.add_parser("export", parents=[common], help="export a collection as a bundle")
    export.add_argument("--collection", required=True, metavar="COLLECTION_ID")
    export.add_argument("-o", "--output", type=Path, default=None, help="file (default: stdout)")
    export.add_argument(
        "--all-versions", action="store_true", help="every version, not only the latest"
    )
    export.set_defaults(run=commands.export)

    demo = sub.add_parser("demo", parents=[common], help="a demo node with content, served")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=6100)
    demo.add_argument("--no-serve", action="store_true", help="prepare the node and exit")
    demo.add_argument(
        "--plain-http", action="store_true", help="serve HTTP without TLS (loopback only)"
    )
    demo.set_defaults(run=commands.demo)

    audit.register(sub, common)
    retention.register(sub, common)
    reveal.register(sub, common)
    sightings.register(sub, common)
    lookup.register(sub, common)
    match.register(sub, common)
    views.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "data_dir", None) is None:
        args.data_dir = default_data_dir()
    run: Command = args.run
    try:
        return run(args)
    except AllyshareError as exc:
        print(f"allyshare: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("allyshare: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(
            f"allyshare: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
