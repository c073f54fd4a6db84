"""Adding peers and subscriptions: what is checked before a peer is trusted with anything."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from allyshare.clock import now_us
from allyshare.community import check_country
from allyshare.config import Settings
from allyshare.datadir import make_private_directory
from allyshare.errors import InvalidInput, NotFound
from allyshare.federation.connections import check_url, origin, pin, pinned_client
from allyshare.keys import (
    ensure_tls_identity,
    fingerprint,
    load_signing_key,
    parse_fingerprint,
    public_key_from_text,
    public_key_text,
    write_private_file,
)
from allyshare.service import Node
from allyshare.storage import PeerRecord, SubscriptionRecord

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
NODE_INFO_PATH = "/api/v1/node"
CREDENTIALS_DIR = "peer-credentials"


@dataclass(frozen=True)
class NodeIdentity:
    """What a node tells anyone who asks: enough for a partner to check it is talking to the
    node it pinned, and to check that node's signatures."""

    name: str
    country: str
    certificate_fingerprint: str
    signing_key: str


def node_identity(settings: Settings) -> NodeIdentity:
    files = ensure_tls_identity(settings.data_dir, settings.node_name)
    return NodeIdentity(
        settings.node_name,
        settings.country,
        fingerprint(files.certificate.read_bytes()),
        public_key_text(load_signing_key(settings.data_dir)),
    )


@dataclass(frozen=True)
class Credentials:
    """HTTP Basic credentials for a TAXII server that is not an allyshare node (allyshare
    peers know each other by signature). Kept in a file only the node's owner can read, never
    in the database, logs or listings."""

    username: str
    password: str = field(repr=False)


def credentials_path(settings: Settings, peer_name: str) -> Path:
    return settings.data_dir / CREDENTIALS_DIR / f"{peer_name}.json"


def credentials_of(settings: Settings, peer_name: str) -> Credentials | None:
    path = credentials_path(settings, peer_name)
    if not path.exists():
        return None
    stored = orjson.loads(path.read_bytes())
    return Credentials(stored["username"], stored["password"])


def add_peer(
    node: Node,
    name: str,
    *,
    api_root: str,
    country: str,
    agreement: str,
    cert_fingerprint: str | None = None,
    certificate: bytes | None = None,
    credentials: Credentials | None = None,
) -> PeerRecord:
    """Pin the peer's certificate (given, or fetched and matched against the fingerprint) and
    keep the peer; an allyshare peer's signing key is fetched over the pinned connection."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"peer name {name!r}: letters, digits, '.', '_' and '-', starting with a letter or "
            "digit, at most 100"
        )
    check_country(country, "peer country")
    terms = next((a for a in node.agreements() if a.name == agreement), None)
    if terms is None:
        raise NotFound(f"no agreement {agreement!r}")
    if country not in terms.party_countries:
        raise InvalidInput(
            f"{country} is not a party country of agreement {agreement!r}: a peer shares only "
            "under an agreement its country is bound by"
        )
    api_root = check_url(api_root)
    expected = parse_fingerprint(cert_fingerprint) if cert_fingerprint else None
    pinned = pin(api_root, certificate, expected)
    record = PeerRecord(
        name=name,
        api_root=api_root,
        certificate=pinned,
        fingerprint=fingerprint(pinned) if pinned else "",
        country=country,
        agreement_name=agreement,
        signing_key=_signing_key_of(api_root, pinned),
        created_at=now_us(),
    )
    if credentials is not None and (not credentials.username or ":" in credentials.username):
        raise InvalidInput("a peer user name must be non-empty and hold no ':'")
    node.store.peers.add(record)
    if credentials is not None:
        path = credentials_path(node.settings, name)
        make_private_directory(path.parent)
        path.unlink(missing_ok=True)
        write_private_file(
            path,
            orjson.dumps({"username": credentials.username, "password": credentials.password}),
        )
    return record


def remove_peer(node: Node, name: str) -> None:
    """Forget the peer, its subscriptions and any credentials kept for it."""
    node.store.peers.remove(name)
    credentials_path(node.settings, name).unlink(missing_ok=True)


def _signing_key_of(api_root: str, certificate: bytes) -> str | None:
    """The peer's Ed25519 key when it is an allyshare node (other TAXII servers have none)."""
    with pinned_client(certificate) as client:
        try:
            response = client.get(origin(api_root) + NODE_INFO_PATH)
        except httpx.HTTPError as exc:
            raise InvalidInput(f"could not reach {api_root}: {exc}") from None
    if response.status_code != 200:
        return None
    try:
        key = response.json().get("signing_key")
        if isinstance(key, str):
            public_key_from_text(key)
            return key
    except (ValueError, AttributeError, binascii.Error):
        pass
    return None


def subscribe(
    node: Node, peer_name: str, *, remote_collection: str, into: str, push: bool = False
) -> SubscriptionRecord:
    """Pull the peer's collection into a local one bound to the same agreement as the peer."""
    peer = node.store.peers.get(peer_name)
    local = node.store.get_collection(into)
    if local is None:
        raise NotFound(f"no collection {into}")
    if local.agreement_name != peer.agreement_name:
        raise InvalidInput(
            f"collection {into} is bound to {local.agreement_name or 'no agreement'}, peer "
            f"{peer_name!r} shares under {peer.agreement_name}: data keeps its agreement"
        )
    if not remote_collection or "/" in remote_collection:
        raise InvalidInput(f"{remote_collection!r} is not a TAXII collection id")
    subscription = SubscriptionRecord(peer_name, remote_collection, into, push)
    node.store.peers.subscribe(subscription)
    return subscription
