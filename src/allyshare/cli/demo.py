"""``allyshare demo``: a node filled with the project's own demo content, then served.

Run again on the same data directory, it keeps the data and issues the demo analyst a fresh
token (tokens are stored hashed, so the old one cannot be shown again).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from allyshare.cli.commands import ADMIN_TOKEN_FILE, CLI_SUBJECT, initialise, serve
from allyshare.config import CONFIG_FILE, load_settings
from allyshare.demo.content import demo_objects
from allyshare.service import Node

DEMO_COLLECTION = "Threat intelligence (demo)"
DEMO_ANALYST = "analyst"


def prepare_demo(data_dir: Path) -> tuple[str, str, str]:
    """Create or reuse the demo node; return (collection id, admin token, analyst token)."""
    if not (data_dir / CONFIG_FILE).exists():
        initialise(data_dir, country="USA", name="usa-demo")
    node = Node.open(load_settings(data_dir))
    try:
        existing = [
            access.collection.id
            for access in node.collections_for(CLI_SUBJECT)
            if access.collection.title == DEMO_COLLECTION
        ]
        if existing:
            collection_id = existing[0]
            analyst_token = node.rotate_token(DEMO_ANALYST)
        else:
            collection_id = node.add_collection(
                DEMO_COLLECTION, "US-ROK demo: North Korean and Chinese activity"
            ).id
            node.add_objects(CLI_SUBJECT, collection_id, demo_objects())
            analyst_token = node.add_user(DEMO_ANALYST, is_admin=True)
    finally:
        node.close()
    admin_token = (data_dir / ADMIN_TOKEN_FILE).read_text().strip()
    return collection_id, admin_token, analyst_token


def run_demo(args: argparse.Namespace) -> int:
    collection_id, admin_token, analyst_token = prepare_demo(args.data_dir)
    url = f"http://{args.host}:{args.port}/taxii2/"
    print(f"allyshare demo node (USA) at {url}")
    print(f"  collection      {collection_id}  ({DEMO_COLLECTION})")
    print(f"  analyst token   {analyst_token}")
    print(f"  admin token     {admin_token}")
    print(
        "  try: curl -H 'Authorization: Bearer <analyst token>' "
        f"-H 'Accept: application/taxii+json;version=2.1' {url}api/collections/"
    )
    if args.no_serve:
        return 0
    return serve(args)
