"""Adding peers and subscriptions: what is checked before a peer is trusted with anything.

A peer is given by its TAXII API root; its discovery URL (``.../taxii2/``) or bare address
will do, and is read as the API root it leads to: the discovery document's default for other
TAXII servers, the one API root every allyshare node serves for an allyshare node (whose
discovery document it may not show this node before it pins it). A subscription is checked
against the peer at once: the remote collection must exist and be readable by this node (and
writable, to push), so a typo or a missing pin shows when it is made, not at every sync.
A peer that does not recognise this node's signature has not pinned it; what is said then
names the command to run on the peer.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import orjson

from allyshare.clock import now_us
from allyshare.community import check_country
from allyshare.config import Settings
from allyshare.datadir import make_private_directory
from allyshare.errors import InvalidInput, NotFound
from allyshare.federation.connections import check_url, origin, pin, pinned_client
from allyshare.federation.signatures import SignedRequests
from allyshare.keys import (
    ensure_tls_identity,
    fingerprint,
    load_signing_key,
    parse_fingerprint,
    public_key_from_text,
    public_key_text,
    write_private_file,
)
from allyshare.service import CONSOLE, Node
from allyshare.storage import PeerRecord, SubscriptionRecord, User
from allyshare.taxii.media import TAXII_21

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
NODE_INFO_PATH = "/api/v1/node"
ALLYSHARE_API_ROOT = "/taxii2/api/"
"""Where every allyshare node serves its one TAXII API root (its discovery is ``/taxii2/``)."""
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
    actor: User = CONSOLE,
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
    if credentials is not None and (not credentials.username or ":" in credentials.username):
        raise InvalidInput("a peer user name must be non-empty and hold no ':'")
    identity = _node_identity_of(api_root, pinned)
    signing_key = identity.get("signing_key") if identity else None
    told = identity.get("country") if identity else None
    if told is not None and told != country:
        raise InvalidInput(
            f"{api_root} is the allyshare node of {told}, not {country}: a peer is enforced as "
            "its country, so pin it with the country it has (--country)"
        )
    record = PeerRecord(
        name=name,
        api_root=_api_root_of(api_root, pinned, signing_key is not None, credentials),
        certificate=pinned,
        fingerprint=fingerprint(pinned) if pinned else "",
        country=country,
        agreement_name=agreement,
        signing_key=signing_key,
        created_at=now_us(),
    )
    node.add_peer(record, actor=actor)
    if credentials is not None:
        path = credentials_path(node.settings, name)
        make_private_directory(path.parent)
        path.unlink(missing_ok=True)
        write_private_file(
            path,
            orjson.dumps({"username": credentials.username, "password": credentials.password}),
        )
    return record


def remove_peer(node: Node, name: str, *, actor: User = CONSOLE) -> None:
    """Forget the peer, its subscriptions and any credentials kept for it."""
    node.remove_peer(name, actor=actor)
    credentials_path(node.settings, name).unlink(missing_ok=True)


def _node_identity_of(api_root: str, certificate: bytes) -> dict[str, str] | None:
    """An allyshare node's signing key (Ed25519) and country, read over the pinned
    connection; None for other TAXII servers, which have neither."""
    with pinned_client(certificate) as client:
        try:
            response = client.get(origin(api_root) + NODE_INFO_PATH)
        except httpx.HTTPError as exc:
            raise InvalidInput(f"could not reach {api_root}: {exc}") from None
    if response.status_code != 200:
        return None
    try:
        document = response.json()
        key = document.get("signing_key")
        if isinstance(key, str):
            public_key_from_text(key)
            found = {"signing_key": key}
            if isinstance(document.get("country"), str):
                found["country"] = document["country"]
            return found
    except (ValueError, AttributeError, binascii.Error):
        pass
    return None


def _api_root_of(
    given: str, certificate: bytes, allyshare: bool, credentials: Credentials | None
) -> str:
    """The API root a peer URL leads to: itself, unless it is a discovery URL (or the bare
    address) of a server, then the root that server names as its default."""
    path = urlsplit(given).path
    if allyshare:
        if path in ("", "/") or path.endswith("/taxii2/"):
            return origin(given) + ALLYSHARE_API_ROOT
        return given
    auth = httpx.BasicAuth(credentials.username, credentials.password) if credentials else None
    with pinned_client(certificate) as client:
        try:
            response = client.get(given, headers={"Accept": TAXII_21}, auth=auth)
        except httpx.HTTPError as exc:
            raise InvalidInput(f"could not reach {given}: {exc}") from None
    document = _json_object(response) if response.status_code == 200 else None
    roots = document.get("api_roots") if document is not None else None
    if not isinstance(roots, list):
        return given  # an API root (or unreadable: the subscription check will tell)
    default = document.get("default") if document is not None else None
    if not isinstance(default, str):
        if len(roots) != 1 or not isinstance(roots[0], str):
            raise InvalidInput(
                f"{given} is a TAXII discovery URL naming no default API root; give one of "
                f"its API roots as --url: {', '.join(map(str, roots)) or 'it lists none'}"
            )
        default = roots[0]
    chosen = check_url(urljoin(given, default))
    if origin(chosen) != origin(given):
        raise InvalidInput(
            f"{given} is a TAXII discovery URL whose default API root {chosen} is on another "
            "server; pin that server instead"
        )
    return chosen


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def auth_for(node: Node, peer: PeerRecord) -> httpx.Auth | None:
    """How this node proves itself to a peer: the HTTP Basic credentials the operator gave
    (other TAXII servers), else its signature for an allyshare peer, else nothing."""
    credentials = credentials_of(node.settings, peer.name)
    if credentials is not None:
        return httpx.BasicAuth(credentials.username, credentials.password)
    if peer.signing_key:
        return SignedRequests(load_signing_key(node.settings.data_dir))
    return None


def not_recognised(node: Node, peer: PeerRecord, response: httpx.Response) -> str | None:
    """What to say when an allyshare peer refuses this node's signature (401): it has not
    pinned this node (or no longer does); the command to run on the peer, with this node's
    fingerprint, country and a URL where the peer may reach it. None for other answers."""
    if (
        response.status_code != 401
        or not peer.signing_key
        or credentials_of(node.settings, peer.name) is not None
    ):
        return None
    identity = node_identity(node.settings)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", identity.name).strip("-._") or identity.country
    host = node.settings.host
    address = f"[{host}]" if ":" in host else host
    return (
        f"{peer.name} answered 401 ({_said(response)}): it does not know this node; it must "
        f"pin this node first, so on {peer.name} run: allyshare peer add {name} --url "
        f"https://{address}:{node.settings.port}{ALLYSHARE_API_ROOT} --cert-fingerprint "
        f"SHA256:{identity.certificate_fingerprint} --country {identity.country} --agreement "
        f"{peer.agreement_name} (with the address where {peer.name} reaches this node)"
    )


def _said(response: httpx.Response) -> str:
    """The gist of an error answer: a TAXII error's description, or the start of the body."""
    document = _json_object(response)
    if document is not None:
        return str(document.get("description") or document.get("title") or document)[:300]
    return response.text[:200]


def _check_remote_collection(node: Node, peer: PeerRecord, remote: str, push: bool) -> None:
    """Ask the peer for the collection resource as this node: it must be there and readable
    (and writable, to push), or the subscription is refused saying why."""
    url = f"{peer.api_root}collections/{quote(remote, safe='')}/"
    with pinned_client(peer.certificate) as client:
        try:
            response = client.get(url, headers={"Accept": TAXII_21}, auth=auth_for(node, peer))
        except httpx.HTTPError as exc:
            raise InvalidInput(f"could not reach {peer.name} at {peer.api_root}: {exc}") from None
    unknown = not_recognised(node, peer, response)
    if unknown is not None:
        raise InvalidInput(unknown)
    if response.status_code == 404:
        raise NotFound(
            f"{peer.name} has no collection {remote} that this node may see: check the id "
            f"(its collection list) and that there it is bound to agreement "
            f"{peer.agreement_name!r}, under which {peer.name} shares with this node"
        )
    resource = _json_object(response) if response.status_code == 200 else None
    if resource is None:
        raise InvalidInput(
            f"{peer.name} answered {response.status_code} for collection {remote}: "
            f"{_said(response)}"
        )
    if resource.get("can_read") is not True:
        raise InvalidInput(f"{peer.name} does not let this node read collection {remote}")
    if push and resource.get("can_write") is not True:
        raise InvalidInput(
            f"{peer.name} does not let this node write to collection {remote}, so it cannot "
            "be pushed to"
        )


def subscribe(
    node: Node,
    peer_name: str,
    *,
    remote_collection: str,
    into: str,
    push: bool = False,
    actor: User = CONSOLE,
) -> SubscriptionRecord:
    """Pull the peer's collection into a local one bound to the same agreement as the peer,
    once the peer has shown the collection to this node (`_check_remote_collection`)."""
    if not remote_collection or "/" in remote_collection or "?" in remote_collection:
        raise InvalidInput(f"{remote_collection!r} is not a TAXII collection id")
    subscription = SubscriptionRecord(peer_name, remote_collection, into, push)
    node.subscribe(
        subscription,
        actor=actor,
        confirm=lambda peer: _check_remote_collection(node, peer, remote_collection, push),
    )
    return subscription
