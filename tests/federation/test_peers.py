"""Pinning peers: a real KOR node process over HTTPS, added as a peer of a USA node through the
command line and the management API; the wrong certificate is refused and nothing is kept. A
subscription is checked with the KOR node, so for most tests the KOR node pins the USA node
first (the USA node served for as long as that takes)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from allyshare.cli.main import main
from allyshare.config import load_settings
from allyshare.errors import Conflict, InvalidInput, NotFound
from allyshare.federation.peers import add_peer, node_identity, remove_peer, subscribe
from allyshare.keys import ensure_tls_identity, fingerprint
from allyshare.server import create_server_app
from allyshare.service import CONSOLE, Node
from allyshare.storage import PeerRecord

from support.federation import AGREEMENT, make_node
from support.processes import RunningNode, serve


@pytest.fixture(scope="module")
def kor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """The KOR node, with the agreement and one collection under it (`shared_on`)."""
    data_dir = tmp_path_factory.mktemp("kor") / "node"
    make_node(data_dir, "KOR", "kor")
    with serve(data_dir, tls=True) as node:
        yield node


def kor_node(kor: RunningNode) -> Node:
    """The KOR node's own store, opened beside its server (its settings, not the test's)."""
    return Node.open(load_settings(kor.data_dir, environ={}))


def shared_on(kor: RunningNode) -> str:
    """The id of the KOR collection bound to the agreement."""
    node = kor_node(kor)
    try:
        [access] = [a for a in node.collections_for(CONSOLE) if a.collection.agreement_name]
        return access.collection.id
    finally:
        node.close()


@pytest.fixture
def known(usa: Node, kor: RunningNode, tmp_path: Path) -> Iterator[Node]:
    """The USA node once the KOR node has pinned it (as its operator does with ``peer add``,
    which reads the USA node's signing key from it, served meanwhile)."""
    name = f"usa-{tmp_path.name}"
    with serve(usa.settings.data_dir, tls=True) as served:
        node = kor_node(kor)
        try:
            add_peer(
                node,
                name,
                api_root=f"{served.url}/taxii2/api/",
                country="USA",
                agreement="us-rok-tech",
                certificate=(usa.settings.data_dir / "node.crt").read_bytes(),
            )
        finally:
            node.close()
    yield usa
    node = kor_node(kor)
    try:
        with contextlib.suppress(NotFound):  # the test may have made KOR forget it already
            remove_peer(node, name)
    finally:
        node.close()


@pytest.fixture
def usa(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    monkeypatch.setenv("ALLYSHARE_DATABASE_URL", database_url)
    data_dir = tmp_path / "usa"
    assert main(["init", "--data-dir", str(data_dir), "--country", "USA", "--name", "usa"]) == 0
    node = Node.open(load_settings(data_dir))
    node.apply_agreement(AGREEMENT)
    yield node
    node.close()


def api_root(kor: RunningNode) -> str:
    return f"{kor.url}/taxii2/api/"


def kor_fingerprint(kor: RunningNode) -> str:
    return fingerprint((kor.data_dir / "node.crt").read_bytes())


def add_kor(usa: Node, kor: RunningNode, name: str = "kor", **change: Any) -> PeerRecord:
    """Add the KOR node as USA's peer, as given unless ``change`` says otherwise."""
    given: dict[str, Any] = {
        "api_root": api_root(kor),
        "country": "KOR",
        "agreement": "us-rok-tech",
        "cert_fingerprint": kor_fingerprint(kor),
        **change,
    }
    return add_peer(usa, name, **given)


def test_a_peer_is_pinned_by_fingerprint_and_its_signing_key_fetched(
    usa: Node, kor: RunningNode
) -> None:
    peer = add_kor(
        usa, kor, cert_fingerprint="sha256:" + kor_fingerprint(kor).replace(":", "").lower()
    )
    assert peer.fingerprint == kor_fingerprint(kor)
    assert peer.certificate == (kor.data_dir / "node.crt").read_bytes()
    assert peer.signing_key == node_identity(load_settings(kor.data_dir)).signing_key
    assert usa.peers() == [peer]
    with pytest.raises(Conflict, match="already exists"):
        add_kor(usa, kor)
    # A second pin of the same node would let its requests read as the other peer.
    with pytest.raises(Conflict, match="already pinned as peer 'kor'"):
        add_kor(usa, kor, "kor2")


def test_another_certificate_is_refused_and_logged(
    usa: Node, kor: RunningNode, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "impostor").mkdir()
    impostor = ensure_tls_identity(tmp_path / "impostor", "impostor").certificate
    wrong = fingerprint(impostor.read_bytes())
    with caplog.at_level(logging.WARNING), pytest.raises(InvalidInput, match="presents a cert"):
        add_kor(usa, kor, cert_fingerprint=wrong)
    assert any(r.getMessage() == "peer certificate refused" for r in caplog.records)
    with pytest.raises(InvalidInput, match="could not reach"):
        add_kor(usa, kor, cert_fingerprint=None, certificate=impostor.read_bytes())
    assert usa.peers() == []


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"country": "GBR"}, InvalidInput, "not a party country"),
        ({"country": "USA"}, InvalidInput, "is the allyshare node of KOR, not USA"),
        ({"country": "Korea"}, InvalidInput, "not an ISO 3166-1"),
        ({"agreement": "nato"}, NotFound, "no agreement"),
        ({"name": "../kor"}, InvalidInput, "peer name"),
        ({"api_root": "http://192.0.2.1/taxii2/api/"}, InvalidInput, "over https"),
        ({"cert_fingerprint": "ab:cd"}, InvalidInput, "not a SHA-256"),
    ],
)
def test_a_peer_that_cannot_be_trusted_as_given_is_refused(
    usa: Node, kor: RunningNode, change: dict[str, str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        add_kor(usa, kor, **change)
    assert usa.peers() == []


def test_a_discovery_url_or_bare_address_leads_to_the_api_root(usa: Node, kor: RunningNode) -> None:
    assert add_kor(usa, kor, api_root=f"{kor.url}/taxii2/").api_root == api_root(kor)
    remove_peer(usa, "kor")
    assert add_kor(usa, kor, "kor2", api_root=kor.url).api_root == api_root(kor)


def test_a_peer_that_has_not_pinned_this_node_is_told_how(usa: Node, kor: RunningNode) -> None:
    add_kor(usa, kor)
    shared = usa.add_collection("From KOR", "", agreement="us-rok-tech")
    usa_fingerprint = fingerprint((usa.settings.data_dir / "node.crt").read_bytes())
    with pytest.raises(InvalidInput) as refused:
        subscribe(usa, "kor", remote_collection=shared_on(kor), into=shared.id)
    assert str(refused.value).startswith("kor answered 401 (")
    assert str(refused.value).endswith(
        "it does not know this node; it must pin this node first, so on kor run: allyshare "
        "peer add usa --url https://127.0.0.1:6100/taxii2/api/ --cert-fingerprint "
        f"SHA256:{usa_fingerprint} --country USA --agreement us-rok-tech (with the address "
        "where kor reaches this node)"
    )
    assert usa.subscriptions() == []


def test_a_remote_collection_must_exist_and_be_shared_with_this_node(
    known: Node, kor: RunningNode
) -> None:
    usa = known
    add_kor(usa, kor)
    shared = usa.add_collection("From KOR", "", agreement="us-rok-tech")
    on_kor = kor_node(kor)
    try:
        only_kor = on_kor.add_collection("KOR only").id
    finally:
        on_kor.close()
    for missing in ("nope", only_kor):
        with pytest.raises(NotFound, match=f"kor has no collection {missing} that this node"):
            subscribe(usa, "kor", remote_collection=missing, into=shared.id, push=True)
    with pytest.raises(InvalidInput, match="not a TAXII collection id"):
        subscribe(usa, "kor", remote_collection="a?b", into=shared.id)
    assert usa.subscriptions() == []


def test_sync_says_when_the_peer_no_longer_knows_this_node(
    known: Node, kor: RunningNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usa = known
    add_kor(usa, kor)
    shared = usa.add_collection("From KOR", "", agreement="us-rok-tech")
    subscribe(usa, "kor", remote_collection=shared_on(kor), into=shared.id)
    data_dir = str(usa.settings.data_dir)
    assert main(["sync", "--quiet", "--data-dir", data_dir]) == 0
    on_kor = kor_node(kor)
    try:
        remove_peer(on_kor, f"usa-{tmp_path.name}")
    finally:
        on_kor.close()
    capsys.readouterr()
    assert main(["sync", "--quiet", "--data-dir", data_dir]) == 1
    failed = capsys.readouterr().err
    assert "  failed: kor answered 401 (" in failed
    assert "it must pin this node first, so on kor run: allyshare peer add usa --url " in failed


def test_subscriptions_follow_the_peers_agreement(known: Node, kor: RunningNode) -> None:
    usa = known
    add_kor(usa, kor)
    remote = shared_on(kor)
    shared = usa.add_collection("From KOR", "", agreement="us-rok-tech")
    local = usa.add_collection("Ours", "")
    with pytest.raises(InvalidInput, match="data keeps its agreement"):
        subscribe(usa, "kor", remote_collection=remote, into=local.id)
    subscription = subscribe(usa, "kor", remote_collection=remote, into=shared.id, push=True)
    assert usa.subscriptions("kor") == [subscription]
    with pytest.raises(Conflict, match="already subscribed"):
        subscribe(usa, "kor", remote_collection=remote, into=shared.id)
    with pytest.raises(NotFound, match="no peer"):
        subscribe(usa, "jpn", remote_collection=remote, into=shared.id)
    usa.remove_peer("kor")
    assert usa.subscriptions() == []
    with pytest.raises(NotFound, match="no peer"):
        usa.remove_peer("kor")


def test_peer_commands(known: Node, kor: RunningNode, capsys: pytest.CaptureFixture[str]) -> None:
    usa, remote = known, shared_on(kor)
    data_dir = str(usa.settings.data_dir)
    collection = usa.add_collection("From KOR", "", agreement="us-rok-tech")
    certificate = str(kor.data_dir / "node.crt")
    assert main(["node", "show", "--data-dir", str(kor.data_dir)]) == 0
    shown = capsys.readouterr().out
    assert kor_fingerprint(kor) in shown
    added = [
        "peer", "add", "kor", "--url", api_root(kor), "--cert-file", certificate,
        "--country", "KOR", "--agreement", "us-rok-tech", "--data-dir", data_dir,
    ]  # fmt: skip
    assert main(added) == 0
    assert "signs its requests" in capsys.readouterr().out
    subscribed = [
        "peer", "subscribe", "kor", "--remote-collection", remote, "--into", collection.id,
        "--data-dir", data_dir,
    ]  # fmt: skip
    assert main(subscribed) == 0
    assert main(["peer", "list", "--data-dir", data_dir]) == 0
    listed = capsys.readouterr().out
    assert f"kor  KOR  us-rok-tech  {api_root(kor)}" in listed
    assert f"{remote} -> {collection.id} (pull): 0 in, 0 out, last success never" in listed
    assert main(["peer", "remove", "kor", "--data-dir", data_dir]) == 0
    assert main(["peer", "remove", "kor", "--data-dir", data_dir]) == 1
    assert "no peer 'kor'" in capsys.readouterr().err


def test_peers_through_the_management_api(known: Node, kor: RunningNode) -> None:
    usa, remote = known, shared_on(kor)
    client = TestClient(create_server_app(usa))
    admin = {"Authorization": f"Bearer {usa.add_user('root', is_admin=True)}"}
    reader = {"Authorization": f"Bearer {usa.add_user('someone')}"}
    node = client.get("/api/v1/node")
    assert node.status_code == 200
    assert node.json() == {
        "name": "usa",
        "country": "USA",
        "certificate_fingerprint": fingerprint((usa.settings.data_dir / "node.crt").read_bytes()),
        "signing_key": node_identity(usa.settings).signing_key,
    }
    assert client.get("/api/v1/peers", headers=reader).status_code == 403
    body = {
        "name": "kor",
        "url": api_root(kor),
        "country": "KOR",
        "agreement": "us-rok-tech",
        "cert_fingerprint": kor_fingerprint(kor),
    }
    made = client.post("/api/v1/peers", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["signs_requests"] is True
    collection = usa.add_collection("From KOR", "", agreement="us-rok-tech")
    subscribed = client.post(
        "/api/v1/peers/kor/subscriptions",
        json={"remote_collection": remote, "into": collection.id},
        headers=admin,
    )
    assert subscribed.status_code == 201, subscribed.text
    [listed] = client.get("/api/v1/peers", headers=admin).json()["peers"]
    assert listed["subscriptions"] == [
        {
            "remote_collection": remote,
            "local_collection": collection.id,
            "push": False,
            "cursor": None,
            "last_success": None,
            "lag_seconds": None,
            "last_error": None,
            "objects_in": 0,
            "objects_out": 0,
        }
    ]
    wrong = client.post(
        "/api/v1/peers", json={**body, "name": "kor2", "country": "GBR"}, headers=admin
    )
    assert wrong.status_code == 400
    assert "not a party country" in wrong.json()["description"]
    assert client.delete("/api/v1/peers/kor", headers=admin).status_code == 204
    assert client.delete("/api/v1/peers/kor", headers=admin).status_code == 404
