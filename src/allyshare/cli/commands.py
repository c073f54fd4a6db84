"""What each ``allyshare`` sub-command does; parsing lives in :mod:`allyshare.cli.main`."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from allyshare.cli.listening import listen
from allyshare.clock import format_us
from allyshare.community import identity_of, read_agreement_document
from allyshare.config import CONFIG_FILE, Settings, load_settings, validate, write_settings_file
from allyshare.datadir import make_private_directory
from allyshare.errors import ConfigError, InvalidInput
from allyshare.federation.connections import is_loopback
from allyshare.federation.peers import Credentials, add_peer, remove_peer, subscribe
from allyshare.federation.pull import PullReport, pull
from allyshare.federation.push import push
from allyshare.federation.witness import witness
from allyshare.interchange import import_into, write_bundle
from allyshare.keys import (
    create_node_key,
    ensure_tls_identity,
    fingerprint,
    load_signing_key,
    public_key_text,
    write_private_file,
)
from allyshare.service import CONSOLE, DEFAULT_ROLES, Node
from allyshare.storage import OrganizationRecord, User, VersionFilter

ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 (a file name, not a secret)
ADMIN_USER = "admin"
# The explicit subject for work the operator does at the console; never reachable over HTTP.
# Requests still running this many seconds after the node is asked to stop are cancelled, so a
# stalled client cannot hold it; background sync has its own grace (federation.background).
REQUEST_GRACE = 2  # seconds
# Allocations between young collections (Python's default: 700), and young collections of
# the middle generation between full ones (default: 10).
GC_THRESHOLDS = (10_000, 10, 100)

err = Console(stderr=True)


def _settings(data_dir: Path) -> Settings:
    if not (data_dir / CONFIG_FILE).exists():
        raise ConfigError(
            f"{data_dir} is not an allyshare node (no {CONFIG_FILE}); run 'allyshare init' first"
        )
    return load_settings(data_dir)


@contextmanager
def open_node(data_dir: Path) -> Iterator[Node]:
    node = Node.open(_settings(data_dir))
    try:
        yield node
    finally:
        node.close()


def initialise(data_dir: Path, *, country: str, name: str, database_url: str = "") -> str:
    """Create the node's files and database; return the admin token (shown once)."""
    if (data_dir / CONFIG_FILE).exists():
        raise ConfigError(f"{data_dir} already holds a node ({CONFIG_FILE} exists)")
    settings = validate(
        replace(Settings(data_dir), country=country, node_name=name, database_url=database_url)
    )
    make_private_directory(data_dir)
    write_settings_file(settings)
    create_node_key(data_dir)
    ensure_tls_identity(data_dir, name)
    node = Node.open(load_settings(data_dir))
    try:
        token = node.add_user(ADMIN_USER, is_admin=True)
    finally:
        node.close()
    write_private_file(data_dir / ADMIN_TOKEN_FILE, (token + "\n").encode())
    return token


def init(args: argparse.Namespace) -> int:
    initialise(args.data_dir, country=args.country, name=args.name, database_url=args.database_url)
    print(f"node {args.name!r} ({args.country}) created in {args.data_dir}")
    print(f"admin token written to {args.data_dir / ADMIN_TOKEN_FILE}")
    return 0


def settle_heap() -> None:
    """Tune the garbage collector for serving. What exists at start-up (modules, the app, the
    node) lives as long as the process: frozen, no collection walks it again. A request parses
    thousands of objects at once and frees them by reference counting when it ends: larger
    thresholds walk them in fewer passes. On an ingest of realistic data the collector had
    taken about a fifth of the server's time (bench/realistic.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@contextmanager
def sigterm_exits_cleanly() -> Iterator[None]:
    """SIGTERM is how service managers ask a node to stop. uvicorn stops serving on it and then
    raises it again, which by default ends the process as killed by the signal; here it ends
    the command with status 0 instead, through the ``finally`` blocks that close the node."""

    def exit_cleanly(_signal: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, exit_cleanly)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from allyshare.logs import configure
    from allyshare.server import create_server_app

    settings = _settings(args.data_dir)
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    certificate = private_key = None
    if args.plain_http:
        if not is_loopback(host):
            raise ConfigError(
                f"--plain-http serves only on a loopback address, not {host}: anything else "
                "would send tokens and marked data in the clear"
            )
    else:
        files = ensure_tls_identity(args.data_dir, settings.node_name)
        certificate, private_key = files.certificate, files.private_key
    choose = f"choose another with --port (or [server] port in {CONFIG_FILE})"
    with listen(host, port, choose=choose) as sock:
        configure(settings.log_level)
        node = Node.open(settings)
        try:
            url = f"{'http' if args.plain_http else 'https'}://{_url_host(host)}:{port}/"
            print(f"node {settings.node_name!r} serving at {url}")
            print(f"  TAXII 2.1 {url}taxii2/, management API {url}api/v1/ (docs {url}docs)")
            if certificate is not None:
                pin = fingerprint(certificate.read_bytes())
                print(f"  certificate SHA256:{pin} ({certificate})")
            sys.stdout.flush()
            config = uvicorn.Config(
                create_server_app(node, sync=True),
                log_level="warning",
                access_log=False,
                proxy_headers=False,
                ssl_certfile=certificate,
                ssl_keyfile=private_key,
                timeout_graceful_shutdown=REQUEST_GRACE,
            )
            settle_heap()
            with sigterm_exits_cleanly():
                uvicorn.Server(config).run(sockets=[sock])
        finally:
            node.close()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def node_show(args: argparse.Namespace) -> int:
    settings = _settings(args.data_dir)
    files = ensure_tls_identity(args.data_dir, settings.node_name)
    print(f"name                      {settings.node_name}")
    print(f"country                   {settings.country}")
    print(
        f"configured address        https://{_url_host(settings.host)}:{settings.port}/"
        "  (serve --host/--port override it; serve prints where it listens)"
    )
    print(f"certificate               {files.certificate}")
    print(f"certificate fingerprint   SHA256:{fingerprint(files.certificate.read_bytes())}")
    print(f"signing key (Ed25519)     {public_key_text(load_signing_key(args.data_dir))}")
    return 0


def peer_add(args: argparse.Namespace) -> int:
    certificate = None
    if args.cert_file is not None:
        try:
            certificate = args.cert_file.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {args.cert_file}: {exc.strerror}") from None
    credentials = None
    if (args.username is None) != (args.password_file is None):
        raise InvalidInput("give both --username and --password-file, or neither")
    if args.username is not None:
        try:
            password = args.password_file.read_text().strip()
        except OSError as exc:
            raise InvalidInput(f"cannot read {args.password_file}: {exc.strerror}") from None
        credentials = Credentials(args.username, password)
    with open_node(args.data_dir) as node:
        peer = add_peer(
            node,
            args.name,
            api_root=args.url,
            country=args.country,
            agreement=args.agreement,
            cert_fingerprint=args.cert_fingerprint,
            certificate=certificate,
            credentials=credentials,
        )
    pinned = f"certificate SHA256:{peer.fingerprint}" if peer.fingerprint else "plain HTTP"
    signs = "signs its requests" if peer.signing_key else "no signing key (not an allyshare node)"
    if credentials is not None:
        signs += f"; read as {credentials.username}"
    print(f"peer {peer.name!r} ({peer.country}, {peer.agreement_name}): {pinned}; {signs}")
    return 0


def peer_list(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        peers = node.peers()
        alarms = node.peer_alarms()
        keeps = node.retention_days()
        for peer in peers:
            print(f"{peer.name}  {peer.country}  {peer.agreement_name}  {peer.api_root}")
            print(f"  certificate SHA256:{peer.fingerprint or '- (plain HTTP)'}")
            days = keeps.get(peer.agreement_name)
            print(f"  keeps what it shares {f'{days} days' if days else 'until deleted'}")
            if peer.name in alarms:
                alarm = alarms[peer.name]
                print(
                    f"  AUDIT LOG INCONSISTENT since {format_us(alarm.raised_at)}: {alarm.reason}"
                )
            for s in node.subscriptions(peer.name):
                direction = "pull+push" if s.push else "pull"
                done = format_us(s.last_success) if s.last_success else "never"
                print(
                    f"  {s.remote_collection} -> {s.local_collection} ({direction}): "
                    f"{s.objects_in} in, {s.objects_out} out, last success {done}"
                    + (f", last error: {s.last_error}" if s.last_error else "")
                )
    if not peers:
        print("no peers")
    return 0


def peer_remove(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        remove_peer(node, args.name)
    print(f"peer {args.name!r} removed")
    return 0


def peer_subscribe(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        subscribe(
            node,
            args.name,
            remote_collection=args.remote_collection,
            into=args.into,
            push=args.push,
        )
    print(
        f"{args.name} {args.remote_collection} -> {args.into}"
        + (" (and push)" if args.push else "")
    )
    return 0


def acting(node: Node, as_user: str | None) -> User:
    """The operator acts as the node, or on behalf of a member user it names."""
    if as_user is None:
        return CONSOLE
    return node.user(as_user)


def orcon_approve(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        approval = node.approve_orcon(
            acting(node, args.as_user),
            args.object_id,
            organization=args.organization,
            peer=args.peer,
        )
        whom = node.recipient_name(approval.recipient)
    print(f"{approval.id}: {args.object_id} released to {whom}")
    return 0


def orcon_revoke(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        node.revoke_orcon(acting(node, args.as_user), args.approval_id)
    print(f"{args.approval_id}: revoked")
    return 0


def orcon_list(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        for approval, signer in node.orcon_approvals():
            print(
                f"{approval.id}  {approval.object_ref} -> "
                f"{node.recipient_name(approval.recipient)}  "
                f"(signed by {signer or 'an unknown node'}, {approval.modified})"
            )
    return 0


def sync(args: argparse.Namespace) -> int:
    """Pull every subscription (of one peer, or of all) once; exit 1 if any failed."""
    if not 1 <= args.page_size <= 10_000:
        raise InvalidInput(f"--page-size must be between 1 and 10000, got {args.page_size}")
    failed = 0
    with open_node(args.data_dir) as node:
        if args.peer is not None:
            node.peer(args.peer)
        subscriptions = node.subscriptions(args.peer)
        if not subscriptions:
            print("nothing to sync: subscribe to a peer collection first (peer subscribe)")
            return 0
        with Progress(
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.completed:,} objects"),
            TimeElapsedColumn(),
            console=err,
            disable=args.quiet,
            transient=True,
        ) as bar:
            for subscription in subscriptions:
                name = f"{subscription.peer_name} {subscription.remote_collection}"
                task = bar.add_task(name, total=None)

                def shown(report: PullReport, task: TaskID = task) -> None:
                    bar.update(task, completed=report.stored + report.already_held)

                if subscription.push:
                    pushed = push(node, subscription)
                    print(
                        f"{name} <- {subscription.local_collection}: pushed {pushed.sent}, "
                        f"{pushed.accepted} accepted, {len(pushed.refused)} refused"
                    )
                    if pushed.error:
                        failed += 1
                        print(f"  failed: {pushed.error}", file=sys.stderr)
                report = pull(node, subscription, page_size=args.page_size, on_page=shown)
                bar.remove_task(task)
                print(
                    f"{name} -> {subscription.local_collection}: {report.stored} new, "
                    f"{report.already_held} already held, {len(report.refused)} refused "
                    f"({report.pages} pages)"
                )
                for refusal in report.refused[:20]:
                    print(f"  refused {refusal.get('id') or '?'}: {refusal.get('message')}")
                for note in report.notes[:20]:
                    print(f"  stored {note['id'] or '?'}: {note['message']}")
                if report.error:
                    failed += 1
                    print(f"  failed: {report.error}", file=sys.stderr)
        for peer_name in sorted({s.peer_name for s in subscriptions}):
            witnessed = witness(node, node.peer(peer_name))
            if witnessed.problem:
                failed += 1
                print(f"{peer_name}: its audit log is inconsistent: {witnessed.problem}")
            elif witnessed.error:
                print(f"{peer_name}: {witnessed.error}", file=sys.stderr)
            elif witnessed.cosigned:
                print(
                    f"{peer_name}: audit log checkpoint {witnessed.size:,} witnessed and cosigned"
                )
    return 1 if failed else 0


def collection_add(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        collection = node.add_collection(
            args.title,
            args.description,
            agreement=args.agreement,
            category=args.category,
            anonymous_by_default=args.anonymous_by_default,
        )
    print(collection.id)
    return 0


def collection_list(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        for access in node.collections_for(CONSOLE):
            collection = access.collection
            bound = collection.agreement_name or "national"
            print(f"{collection.id}\t{collection.title}\t{bound}\t{collection.category or '-'}")
    return 0


def user_add(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        token = node.add_user(
            args.name,
            is_admin=args.admin,
            organization=args.org,
            nationality=args.nationality,
            clearance=args.clearance,
            roles=args.role,
        )
    if args.role is None and not args.admin:
        roles = ", ".join(sorted(DEFAULT_ROLES))
        print(f"user {args.name}: role {roles} (the default; --role chooses)", file=sys.stderr)
    print(token)
    return 0


def user_change(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        user = node.change_user(
            args.name,
            organization=args.org,
            nationality=args.nationality,
            clearance=args.clearance,
            roles=args.role,
        )
    print(_user_line(user))
    return 0


def _user_line(user: User) -> str:
    flags = ["admin"] if user.is_admin else []
    if user.disabled:
        flags.append("disabled")
    return "\t".join(
        [
            user.name,
            user.organization_id or "-",
            user.nationality or "-",
            user.clearance,
            ",".join(sorted(user.roles)) or "-",
            ",".join(flags),
        ]
    ).rstrip()


def user_disable(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        node.disable_user(args.name)
    print(f"user {args.name} disabled")
    return 0


def org_add(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        org_id = node.add_organization(
            args.name, country=args.country, kind=args.kind, sectors=args.sector
        )
    print(org_id)
    return 0


def org_list(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        for org in node.organizations():
            print(_org_line(org))
    return 0


def org_change(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        org = node.change_organization(args.org_id, name=args.name, sectors=args.sector)
    print(_org_line(org))
    return 0


def _org_line(org: OrganizationRecord) -> str:
    fields = [org.id, org.name, org.country, org.kind, ",".join(org.sectors) or "-"]
    fields.append(identity_of(org.id))
    if org.disabled:
        fields.append("disabled")
    return "\t".join(fields)


def org_disable(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        node.disable_organization(args.org_id)
    print(f"organization {args.org_id} and its users disabled")
    return 0


def agreement_apply(args: argparse.Namespace) -> int:
    document = read_agreement_document(args.file)
    with open_node(args.data_dir) as node:
        agreement, changed = node.apply_agreement(document)
    state = "applied" if changed else "already in force, unchanged"
    print(f"agreement {agreement.name} version {agreement.version} {state}")
    return 0


def agreement_list(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        for agreement in node.agreements():
            parties = sorted(agreement.party_countries | agreement.party_organizations)
            print(f"{agreement.name}\tv{agreement.version}\t{','.join(parties)}")
    return 0


def user_list(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        for user in node.users():
            print(_user_line(user))
    return 0


def policy_explain(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        explained = node.explain(CONSOLE, args.object_id, args.as_user)
    for number, item in enumerate(explained):
        if number:
            print()
        print(f"{args.object_id} version {item.version or '(unversioned)'}")
        print(f"  collection  {item.collection_title} ({item.collection_id})")
        print(f"  originator  {item.originator}")
        print(f"  markings    {item.markings}")
        print(f"  {args.as_user} {'sees it' if item.sees else 'does not see it'}:")
        for line in item.lines:
            print(f"    {line}")
    return 0


def import_files(args: argparse.Namespace) -> int:
    with open_node(args.data_dir) as node:
        actor = acting(node, args.as_user)
        node.collection_for(actor, args.collection, "write")
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=args.quiet,
            transient=True,
        ) as bar:
            task = bar.add_task("importing", total=None)

            def shown(file: Path, stored: int) -> None:
                bar.update(task, description=file.name, advance=stored)

            summary = import_into(
                node, actor, args.collection, args.files, shown, anonymous=args.anonymous
            )
    print(
        f"stored {summary['stored']}, duplicate {summary['duplicate']}, "
        f"rejected {summary['rejected']}, skipped {len(summary.skipped)}"
    )
    for reason, count in summary.reasons.most_common():
        print(f"  rejected x{count}: {reason}")
    for warning, count in summary.warnings.most_common():
        print(f"  warning x{count}: {warning}")
    for skipped in summary.skipped:
        print(f"  skipped {skipped}")
    return 0 if summary["rejected"] == 0 and not summary.skipped else 2


def export(args: argparse.Namespace) -> int:
    selection = VersionFilter(versions=frozenset({"all" if args.all_versions else "last"}))
    with open_node(args.data_dir) as node:
        chunks = node.export(CONSOLE, args.collection, selection)
        if args.output is None:
            write_bundle(chunks, sys.stdout.buffer)
        else:
            with args.output.open("wb") as handle:
                write_bundle(chunks, handle)
    return 0


def demo(args: argparse.Namespace) -> int:
    from allyshare.cli.demo import run_demo

    return run_demo(args)
