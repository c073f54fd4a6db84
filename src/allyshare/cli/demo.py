"""``allyshare demo``: two nodes of the demo US-ROK community, USA and KOR, served and syncing.

The USA node holds the whole community and its content (`allyshare.demo.community`); the KOR
node holds the same members and shared agreement, its own country's users, and collections
that fill from the USA node as it syncs (and flow back the other way). Both are served from
this one process, on the given port and the next. Run again on the same data directory, it
keeps the data, finds the collections by title and issues every demo user a fresh token
(tokens are stored hashed, so the old ones cannot be shown again).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

import orjson

from allyshare.cli.commands import (
    ADMIN_TOKEN_FILE,
    REQUEST_GRACE,
    initialise,
    settle_heap,
    sigterm_exits_cleanly,
)
from allyshare.cli.listening import listen
from allyshare.config import CONFIG_FILE, load_settings
from allyshare.datadir import make_private_directory
from allyshare.demo.community import (
    COLLECTIONS,
    FAB_WRITER,
    PARTNER_COUNTRY,
    PARTNER_USERS,
    SHARED_COLLECTIONS,
    US_ROK_TECH,
    USERS,
    DemoCollection,
    DemoCommunity,
    DemoUser,
    build_demo_community,
    build_partner_community,
)
from allyshare.demo.economic import ALERT_WRITER
from allyshare.demo.marked import (
    CISA_FAB_VALUES,
    MEMBERS,
    RELEASED_INDICATOR,
    SHOWCASE_ID,
    released_to_cisa,
)
from allyshare.errors import ConfigError
from allyshare.federation.peers import add_peer, subscribe
from allyshare.keys import NODE_CERT_FILE, ensure_tls_identity
from allyshare.service import CONSOLE, Node
from allyshare.taxii.media import TAXII_21

DEMO_ANALYST = "analyst"
# The users whose view of the showcase report differs: whole, redacted twice, not at all.
SHOWCASE_READERS = ("morgan@cisa", "jiwoo@kisa", "seoyeon@hanbit", "riley@commerce")
SHOWCASE_APPROVER = "morgan@cisa"
KOR_OUTSIDER = "minho@motie"
FAB_MATCHER = "morgan@cisa"
MATCH_REQUEST_FILE = "cisa-fab-match.json"
RELEASE_FILE = "hanbit-release.json"
DEMO_SYNC_SECONDS = 5
VIEWS_READER = "morgan@cisa"


def _reopen(
    node: Node, collections: tuple[DemoCollection, ...], users: tuple[DemoUser, ...]
) -> DemoCommunity | None:
    """The community an earlier run built, with fresh tokens; None if there is none yet."""
    keys = {collection.title: collection.key for collection in collections}
    found = {
        keys[access.collection.title]: access.collection.id
        for access in node.collections_for(CONSOLE)
        if access.collection.title in keys
    }
    names = {user.name for user in users}
    if not found:
        if any(user.name in names for user in node.users()):
            raise ConfigError(
                "this data directory holds a node from an older demo; remove it and run again"
            )
        return None
    if len(found) < len(collections):
        raise ConfigError(
            "this data directory holds a partly built demo community; remove it and run again"
        )
    return DemoCommunity(
        organizations=tuple(member.id for member in MEMBERS),
        collections={collection.key: found[collection.key] for collection in collections},
        tokens={user.name: node.rotate_token(user.name) for user in users},
    )


def prepare_demo(data_dir: Path) -> tuple[DemoCommunity, str]:
    """Create or reuse the demo's USA node; return the community and the admin token."""
    return _prepare(data_dir, "USA", "usa-demo", COLLECTIONS, USERS, build_demo_community)


def prepare_partner(data_dir: Path) -> tuple[DemoCommunity, str]:
    """Create or reuse the demo's KOR node (shared collections only, empty until synced)."""
    return _prepare(
        data_dir,
        PARTNER_COUNTRY,
        "kor-demo",
        SHARED_COLLECTIONS,
        PARTNER_USERS,
        build_partner_community,
    )


def _prepare(
    data_dir: Path,
    country: str,
    name: str,
    collections: tuple[DemoCollection, ...],
    users: tuple[DemoUser, ...],
    build: Callable[[Node], DemoCommunity],
) -> tuple[DemoCommunity, str]:
    if not (data_dir / CONFIG_FILE).exists():
        initialise(data_dir, country=country, name=name)
    node = Node.open(load_settings(data_dir))
    try:
        community = _reopen(node, collections, users) or build(node)
    finally:
        node.close()
    admin_token = (data_dir / ADMIN_TOKEN_FILE).read_text().strip()
    return community, admin_token


@dataclass(frozen=True)
class DemoNode:
    label: str
    data_dir: Path
    port: int
    community: DemoCommunity
    admin_token: str

    def url(self, host: str, scheme: str) -> str:
        return f"{scheme}://{host}:{self.port}/taxii2/"


def run_demo(args: argparse.Namespace) -> int:
    if (args.data_dir / CONFIG_FILE).exists():
        raise ConfigError(
            f"{args.data_dir} holds a one-node demo from an earlier version; remove it and run "
            "again (the demo now keeps two nodes, usa/ and kor/, in it)"
        )
    sockets = [] if args.no_serve else _listen_both(args.host, args.port)
    try:
        make_private_directory(args.data_dir)
        usa = DemoNode(
            "USA", args.data_dir / "usa", args.port, *prepare_demo(args.data_dir / "usa")
        )
        kor = DemoNode(
            "KOR", args.data_dir / "kor", args.port + 1, *prepare_partner(args.data_dir / "kor")
        )
        _introduce(usa, kor, args.host, args.plain_http)
        if args.no_serve:
            return 0
        sys.stdout.flush()
        return serve_federated([usa, kor], args.host, sockets, plain_http=args.plain_http)
    finally:
        for sock in sockets:
            sock.close()


def _introduce(usa: DemoNode, kor: DemoNode, host: str, plain_http: bool) -> None:
    scheme = "http" if plain_http else "https"
    print(f"allyshare demo: two nodes on {host}, USA and KOR, syncing both ways")
    print("  a first US-ROK arrangement: agreement us-rok-tech (USA and KOR, up to S and")
    print("  TLP:AMBER) for four collections, usa-national (US members only) for the fifth")
    for node, users in ((usa, USERS), (kor, PARTNER_USERS)):
        _describe(node, users, host, scheme)
    _showcase(usa, kor, host, scheme, plain_http)
    _views(usa, kor, host, scheme, plain_http)
    _private_matching(usa, kor, host, scheme, plain_http)


def _listen_both(host: str, port: int) -> list[socket.socket]:
    """The two nodes' ports, taken before anything is printed that points at them."""
    choose = "choose others with --port P (the demo serves on P and P+1)"
    first = listen(host, port, choose=choose)
    try:
        return [first, listen(host, port + 1, choose=choose)]
    except ConfigError:
        first.close()
        raise


def _curl(node: DemoNode, plain_http: bool) -> str:
    # curl checks the self-signed certificate against itself: the way a partner pins it.
    return "curl" if plain_http else f"curl --cacert {node.data_dir / NODE_CERT_FILE}"


def _describe(node: DemoNode, users: tuple[DemoUser, ...], host: str, scheme: str) -> None:
    print()
    print(f"{node.label} node at {node.url(host, scheme)}  (data in {node.data_dir})")
    ui = f"{scheme}://{host}:{node.port}/ui/"
    print(f"  web UI at {ui} (sign in with a user name and its token; a link per user below)")
    print("  collections")
    titles = {collection.key: collection for collection in COLLECTIONS}
    for key, collection_id in node.community.collections.items():
        collection = titles[key]
        print(f"    {collection_id}  {collection.title:<22} ({collection.agreement['name']})")
    print("  users (tokens are shown once; run the demo again for fresh ones)")
    for user in users:
        print(f"    {user.name:<18} {user.member.id:<33} {user.clearance}  {user.about}")
        print(f"    {'':<18} token {node.community.tokens[user.name]}")
        print(f"    {'':<18} sign in at {ui}sign-in?name={quote(user.name)}")
    print(f"    {'admin':<18} node admin, token {node.admin_token}")
    print(f"    {'':<18} sign in at {ui}sign-in?name=admin")


def _showcase(usa: DemoNode, kor: DemoNode, host: str, scheme: str, plain_http: bool) -> None:
    url = usa.url(host, scheme)
    curl = _curl(usa, plain_http)
    tokens = usa.community.tokens
    print()
    print("try:")
    print(
        f"  {curl} -u '{DEMO_ANALYST}:{tokens[DEMO_ANALYST]}' -H 'Accept: {TAXII_21}' "
        f"{url}api/collections/"
    )
    showcase = f"{url}api/collections/{usa.community.collections['cyber-threat']}/objects/"
    print("  one report, four readers (whole; without NOFORN; without classified; not at all):")
    for name in SHOWCASE_READERS:
        print(
            f"  {curl} -u '{name}:{tokens[name]}' -H 'Accept: {TAXII_21}' {showcase}{SHOWCASE_ID}/"
        )
    reader = "jiwoo@kisa"
    on_kor = f"{kor.url(host, scheme)}api/collections/{kor.community.collections['cyber-threat']}"
    print("  what the KOR node received from the USA node (what the agreement and markings let")
    print("  leave, without NOFORN parts; ORCON reports only with the originator's signed")
    print(f"  approval, which {SHOWCASE_APPROVER} gave the showcase: allyshare orcon list):")
    print(
        f"  {_curl(kor, plain_http)} -u '{reader}:{kor.community.tokens[reader]}' "
        f"-H 'Accept: {TAXII_21}' '{on_kor}/objects/?limit=5'"
    )
    print("  the showcase there: its named recipient KISA reads it, a Korean ministry does not:")
    for name in (reader, KOR_OUTSIDER):
        print(
            f"  {_curl(kor, plain_http)} -u '{name}:{kor.community.tokens[name]}' "
            f"-H 'Accept: {TAXII_21}' {on_kor}/objects/{SHOWCASE_ID}/"
        )


def _views(usa: DemoNode, kor: DemoNode, host: str, scheme: str, plain_http: bool) -> None:
    """Where the cross-member views of economic coercion and supply chains are, and the
    pattern alert the USA node wrote at set-up (`allyshare.demo.economic`)."""
    k = US_ROK_TECH["aggregate_k"]
    usa_cli = f"allyshare views coercion --data-dir {usa.data_dir} --as {VIEWS_READER}"
    print()
    print(f"cross-member views: a cell shows only when at least k = {k} organizations contribute")
    print("  to it, else it says suppressed (never 0); a pattern alert when one state applies one")
    print("  measure to both parties within 12 months. In the web UI (Coercion & supply chains):")
    for node in (usa, kor):
        print(f"  {scheme}://{host}:{node.port}/ui/views/coercion")
        print(f"  {scheme}://{host}:{node.port}/ui/views/supply-chain")
    print("  in the terminal, and the pattern alert (written again, it adds nothing):")
    print(f"  {usa_cli}")
    print(f"  allyshare views supply-chain --data-dir {usa.data_dir} --as {VIEWS_READER}")
    print(
        f"  allyshare views alerts --data-dir {usa.data_dir} "
        f"--collection {usa.community.collections['economic-coercion']} --as {ALERT_WRITER}"
    )
    print("  through the API, on the USA node and as a Korean reader on the KOR node (without")
    print("  the NOFORN incident):")
    for node, name in ((usa, VIEWS_READER), (kor, "jiwoo@kisa")):
        api = f"{scheme}://{host}:{node.port}/api/v1/views"
        credentials = f"-u '{name}:{node.community.tokens[name]}'"
        for view in ("coercion", "supply-chain"):
            print(f"  {_curl(node, plain_http)} {credentials} {api}/{view}")


def _private_matching(
    usa: DemoNode, kor: DemoNode, host: str, scheme: str, plain_http: bool
) -> None:
    """The private-matching scene (`allyshare.demo.marked.fab_intrusion`), with the two
    request bodies it needs written beside the nodes."""
    demo_dir = usa.data_dir.parent
    on_kor = kor.community.collections["cyber-threat"]
    request = demo_dir / MATCH_REQUEST_FILE
    request.write_bytes(
        orjson.dumps(
            {
                "collection": on_kor,
                "peer": "kor",
                "values": list(CISA_FAB_VALUES),
                "contact": "A US fab saw these too; can we compare notes? (CISA)",
            },
            option=orjson.OPT_INDENT_2,
        )
    )
    release = demo_dir / RELEASE_FILE
    release.write_bytes(orjson.dumps({"objects": released_to_cisa()}, option=orjson.OPT_INDENT_2))
    usa_api = f"{scheme}://{host}:{usa.port}/api/v1"
    kor_api = f"{scheme}://{host}:{kor.port}/api/v1"
    cisa = f"-u '{FAB_MATCHER}:{usa.community.tokens[FAB_MATCHER]}'"
    hanbit = f"-u '{FAB_WRITER}:{kor.community.tokens[FAB_WRITER]}'"
    json_body = "-H 'Content-Type: application/json'"
    usa_curl, kor_curl = _curl(usa, plain_http), _curl(kor, plain_http)
    approval = shlex.quote(orjson.dumps({"object_id": RELEASED_INDICATOR, "peer": "usa"}).decode())
    on_usa = f"{usa.url(host, scheme)}api/collections/{usa.community.collections['cyber-threat']}"
    print()
    print("private matching across the nodes: Hanbit keeps the indicators of an intrusion at its")
    print("  fab on the KOR node, PROPIN and match-only for every other member. CISA matches five")
    print("  values from a US fab's intrusion against them from the USA node: it learns which two")
    print("  Hanbit also saw and nothing else, and asks Hanbit to get in touch:")
    print(f"  {usa_curl} {cisa} {json_body} -d @{request} {usa_api}/match")
    print("  Hanbit reads the request, and its audit trail says USA.CISA matched two of five:")
    print(f"  {kor_curl} {hanbit} {kor_api}/contacts")
    print(f"  {kor_curl} {hanbit} '{kor_api}/audit?action=objects:match'")
    print("  Hanbit releases one of the two to CISA (a new version, ORCON naming CISA) and")
    print("  approves it for the USA node:")
    print(
        f"  {kor_curl} {hanbit} -H 'Content-Type: {TAXII_21}' -H 'Accept: {TAXII_21}' "
        f"--data-binary @{release} {kor.url(host, scheme)}api/collections/{on_kor}/objects/"
    )
    print(f"  {kor_curl} {hanbit} {json_body} -d {approval} {kor_api}/orcon-approvals")
    print(f"  and within a sync ({DEMO_SYNC_SECONDS} s) CISA reads it on the USA node:")
    print(f"  {usa_curl} {cisa} -H 'Accept: {TAXII_21}' {on_usa}/objects/{RELEASED_INDICATOR}/")


def serve_federated(
    nodes: list[DemoNode], host: str, sockets: list[socket.socket], *, plain_http: bool
) -> int:
    """Serve every node in this one process, each on its bound socket; once all listen, pin
    each to the others and subscribe their shared collections both ways (done once: later
    runs find the peers)."""
    import uvicorn

    from allyshare.logs import configure
    from allyshare.server import create_server_app

    configure("warning")
    opened = [
        Node.open(replace(load_settings(node.data_dir), sync_interval=DEMO_SYNC_SECONDS))
        for node in nodes
    ]
    servers = []
    for node, live in zip(nodes, opened, strict=True):
        files = None if plain_http else ensure_tls_identity(node.data_dir, live.settings.node_name)
        config = uvicorn.Config(
            create_server_app(live, sync=True),
            host=host,
            port=node.port,
            log_level="warning",
            access_log=False,
            ssl_certfile=files.certificate if files else None,
            ssl_keyfile=files.private_key if files else None,
            timeout_graceful_shutdown=REQUEST_GRACE,
        )
        servers.append(uvicorn.Server(config))

    async def run() -> None:
        tasks = [
            asyncio.create_task(server.serve(sockets=[sock]))
            for server, sock in zip(servers, sockets, strict=True)
        ]
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.05)
        else:
            await asyncio.to_thread(_peer_all, nodes, opened, host, plain_http)
        # SIGTERM reaches one server; all stop, together rather than one after the other.
        while not any(server.should_exit for server in servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.1)
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)

    settle_heap()
    try:
        with sigterm_exits_cleanly():
            asyncio.run(run())
    finally:
        for live in opened:
            live.close()
    return 0


def _peer_all(nodes: list[DemoNode], opened: list[Node], host: str, plain_http: bool) -> None:
    scheme = "http" if plain_http else "https"
    added: list[tuple[DemoNode, Node, DemoNode]] = []
    for node, live in zip(nodes, opened, strict=True):
        known = {peer.name for peer in live.peers()}
        for other in nodes:
            if other is node or other.label.lower() in known:
                continue
            add_peer(
                live,
                other.label.lower(),
                api_root=f"{other.url(host, scheme)}api/",
                country=other.label,
                agreement=US_ROK_TECH["name"],
                certificate=None if plain_http else (other.data_dir / NODE_CERT_FILE).read_bytes(),
            )
            added.append((node, live, other))
    # A subscription is checked with the other node, which must have pinned this one first.
    shared = {collection.key for collection in SHARED_COLLECTIONS}
    for node, live, other in added:
        for key in other.community.collections.keys() & node.community.collections.keys() & shared:
            subscribe(
                live,
                other.label.lower(),
                remote_collection=other.community.collections[key],
                into=node.community.collections[key],
            )
    for node, live in zip(nodes, opened, strict=True):
        if node.label == "USA":
            _release_showcase(live)
        print(f"{node.label} node: pulling from its peers every {DEMO_SYNC_SECONDS} s", flush=True)


def _release_showcase(usa: Node) -> None:
    """CISA approves its ORCON showcase report for the KOR node, once: there, its named
    recipients (KISA, Hanbit) read it as they would on the USA node, and nobody else."""
    if any(approval.object_ref == SHOWCASE_ID for approval, _ in usa.orcon_approvals()):
        return
    usa.approve_orcon(usa.user(SHOWCASE_APPROVER), SHOWCASE_ID, peer="kor")
