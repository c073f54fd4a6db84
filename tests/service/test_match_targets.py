"""Where a member may match its values at a peer, on both backends: the peer collections
pulled into a collection it may read, from peers that are allyshare nodes (which answer
private matching); never a collection it may not read, nor a plain TAXII server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from allyshare.config import Settings
from allyshare.service import Node
from allyshare.storage import PeerRecord, SubscriptionRecord

from support.agreements import us_rok_tech


def peer(name: str, signing_key: str | None) -> PeerRecord:
    return PeerRecord(
        name=name,
        api_root=f"https://{name}.example/taxii2/api/",
        certificate=f"certificate of {name}".encode(),
        fingerprint=f"fingerprint of {name}",
        country="KOR",
        agreement_name="us-rok-tech",
        signing_key=signing_key,
        created_at=0,
    )


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    opened = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    yield opened
    opened.close()


def test_a_member_matches_at_the_allyshare_peers_of_what_it_reads(node: Node) -> None:
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"]))
    shared = node.add_collection("Shared", agreement="us-rok-tech", category="cyber-threat")
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    node.add_user("morgan", organization=cisa, nationality="USA", roles=("reader",))
    anssi = node.add_organization("ANSSI", country="FRA", kind="cert")
    node.add_user("outsider", organization=anssi, nationality="FRA", roles=("reader",))
    node.add_peer(peer("kor", "ed25519 key of kor"))
    node.add_peer(peer("taxii", None))
    for name in ("kor", "taxii"):
        node.subscribe(SubscriptionRecord(name, f"{name}-collection", shared.id, push=False))
    assert node.peer_collections_to_match(actor=node.user("morgan")) == [
        ("kor", "kor-collection", shared.id)
    ]
    assert node.peer_collections_to_match(actor=node.user("outsider")) == []
