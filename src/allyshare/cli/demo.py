"""``allyshare demo``: a node holding the demo US-ROK community, then served.

The first run builds the community (`allyshare.demo.community`). Run again on the same data
directory, it keeps the data, finds the collections by title and issues every demo user a
fresh token (tokens are stored hashed, so the old ones cannot be shown again).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from allyshare.cli.commands import ADMIN_TOKEN_FILE, CLI_SUBJECT, initialise, serve
from allyshare.config import CONFIG_FILE, load_settings
from allyshare.demo.community import COLLECTIONS, USERS, DemoCommunity, build_demo_community
from allyshare.demo.marked import MEMBERS, SHOWCASE_ID
from allyshare.errors import ConfigError
from allyshare.keys import NODE_CERT_FILE
from allyshare.service import Node

DEMO_ANALYST = "analyst"
# The users whose view of the showcase report differs: whole, redacted twice, not at all.
SHOWCASE_READERS = ("morgan@cisa", "jiwoo@kisa", "seoyeon@hanbit", "riley@commerce")
_TAXII = "application/taxii+json;version=2.1"


def _reopen(node: Node) -> DemoCommunity | None:
    """The community an earlier run built, with fresh tokens; None if there is none yet."""
    keys = {collection.title: collection.key for collection in COLLECTIONS}
    found = {
        keys[access.collection.title]: access.collection.id
        for access in node.collections_for(CLI_SUBJECT)
        if access.collection.title in keys
    }
    names = {user.name for user in USERS}
    if not found:
        if any(user.name in names for user in node.users()):
            raise ConfigError(
                "this data directory holds a node from an older demo; remove it and run again"
            )
        return None
    if len(found) < len(COLLECTIONS):
        raise ConfigError(
            "this data directory holds a partly built demo community; remove it and run again"
        )
    return DemoCommunity(
        organizations=tuple(member.id for member in MEMBERS),
        collections={collection.key: found[collection.key] for collection in COLLECTIONS},
        tokens={user.name: node.rotate_token(user.name) for user in USERS},
    )


def prepare_demo(data_dir: Path) -> tuple[DemoCommunity, str]:
    """Create or reuse the demo node; return the community and the admin token."""
    if not (data_dir / CONFIG_FILE).exists():
        initialise(data_dir, country="USA", name="usa-demo")
    node = Node.open(load_settings(data_dir))
    try:
        community = _reopen(node) or build_demo_community(node)
    finally:
        node.close()
    admin_token = (data_dir / ADMIN_TOKEN_FILE).read_text().strip()
    return community, admin_token


def run_demo(args: argparse.Namespace) -> int:
    community, admin_token = prepare_demo(args.data_dir)
    scheme = "http" if args.plain_http else "https"
    url = f"{scheme}://{args.host}:{args.port}/taxii2/"
    # curl checks the self-signed certificate against itself: the way a partner pins it.
    curl = "curl" if args.plain_http else f"curl --cacert {args.data_dir / NODE_CERT_FILE}"
    print(f"allyshare demo node (USA) at {url}")
    print("  a first US-ROK arrangement: agreement us-rok-tech (USA and KOR, up to S and")
    print("  TLP:AMBER) for four collections, usa-national (US members only) for the fifth")
    print()
    print("collections")
    for collection in COLLECTIONS:
        agreement = collection.agreement["name"]
        print(f"  {community.collections[collection.key]}  {collection.title:<22} ({agreement})")
    print()
    print("users (tokens are shown once; run the demo again for fresh ones)")
    for user in USERS:
        print(f"  {user.name:<18} {user.member.id:<33} {user.clearance}  {user.about}")
        print(f"  {'':<18} token {community.tokens[user.name]}")
    print(f"  {'admin':<18} node admin, token {admin_token}")
    print()
    print("try:")
    print(
        f"  {curl} -u '{DEMO_ANALYST}:{community.tokens[DEMO_ANALYST]}' -H 'Accept: {_TAXII}' "
        f"{url}api/collections/"
    )
    showcase = f"{url}api/collections/{community.collections['cyber-threat']}/objects/"
    print("  one report, four readers (whole; without NOFORN; without classified; not at all):")
    for name in SHOWCASE_READERS:
        print(
            f"  {curl} -u '{name}:{community.tokens[name]}' -H 'Accept: {_TAXII}' "
            f"{showcase}{SHOWCASE_ID}/"
        )
    if args.no_serve:
        return 0
    return serve(args)
