"""ORCON approvals through the node's read path, against a model written from DESIGN section 5.

Each example writes ORCON objects (two ORCON markings with drawn named recipients) and GREEN
ones into a fresh collection, then draws approvals: made by the originator through the node
(signed with the node's key), forged ones signed by another node's key and stored anyway,
and revocations. Then every member organization and a peer node read the collection. The
model: a member sees an ORCON object when its organization originated it, is a named
recipient, or holds an approval in force signed by this node; the peer node only with an
approval in force naming it. Everyone sees the GREEN objects, an approval is seen by those
who see the object it approves, and a revocation also by the recipient it names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allyshare.clock import now_us
from allyshare.config import Settings
from allyshare.demo.content import TLP_GREEN
from allyshare.errors import NotFound, PermissionDenied
from allyshare.keys import create_node_key, public_key_text
from allyshare.orcon.approvals import make_approval, node_recipient
from allyshare.policy import ALLYSHARE_EXTENSION_ID
from allyshare.service import Node
from allyshare.storage import PeerRecord, User, VersionFilter

from support.federation import AGREEMENT

MEMBERS = (("CISA", "USA"), ("DHS", "USA"), ("KISA", "KOR"), ("NIS", "KOR"))
READERS = tuple(f"{country}.{name}" for name, country in MEMBERS)
OTHERS = READERS[1:]
PEER_KEY = public_key_text(Ed25519PrivateKey.generate())
PEER = node_recipient(PEER_KEY)
FOREIGN = Ed25519PrivateKey.generate()


@dataclass
class Site:
    node: Node
    writer: User
    readers: dict[str, User]
    peer: User


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory: Path = tmp_path_factory.mktemp("approvals")
    create_node_key(directory)
    node = Node.open(Settings(data_dir=directory, country="USA"))
    node.apply_agreement(AGREEMENT)
    readers = {}
    for name, country in MEMBERS:
        organization = node.add_organization(name, country=country, kind="government")
        node.add_user(f"reader@{name}", organization=organization, roles=["reader"])
        readers[organization] = _user(node, f"reader@{name}")
    node.add_user("writer", organization="USA.CISA", roles=["contributor"])
    record = PeerRecord(
        "kor", "https://kor.invalid/taxii2/api/", b"", "", "KOR", "us-rok-tech", PEER_KEY, now_us()
    )
    node.add_peer(record)
    yield Site(node, _user(node, "writer"), readers, node.peer_user(record))
    node.close()


def _user(node: Node, name: str) -> User:
    return node.user(name)


def orcon_marking(recipients: frozenset[str]) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "extensions": {
            ALLYSHARE_EXTENSION_ID: {
                "extension_type": "property-extension",
                "orcon": True,
                "recipients": sorted(recipients),
            }
        },
    }


def indicator(markings: list[str]) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
        "object_marking_refs": markings,
    }


recipient_sets = st.frozensets(st.sampled_from(OTHERS))
approval_steps = st.lists(
    st.tuples(
        st.integers(0, 7),  # which object
        st.sampled_from([*OTHERS, PEER]),  # whom
        st.sampled_from(["approve", "approve", "forge", "revoke"]),
    ),
    max_size=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    recipient_sets,
    recipient_sets,
    st.lists(st.sampled_from(["a", "b", "green"]), min_size=1, max_size=8),
    approval_steps,
)
def test_orcon_reads_follow_the_approvals_in_force(
    site: Site,
    first: frozenset[str],
    second: frozenset[str],
    kinds: list[str],
    steps: list[tuple[int, str, str]],
) -> None:
    node = site.node
    collection = node.add_collection("ORCON", agreement="us-rok-tech").id
    markings = {"a": orcon_marking(first), "b": orcon_marking(second)}
    named = {"a": first, "b": second, "green": frozenset(READERS)}
    objects = [indicator([TLP_GREEN] if k == "green" else [markings[k]["id"]]) for k in kinds]
    status = node.add_objects(site.writer, collection, [*markings.values(), *objects])
    assert status.failure_count == 0, status.failures

    in_force: dict[tuple[int, str], list[str]] = {}
    signed: dict[str, int] = {}
    recipients: dict[str, str] = {}
    revoked: set[str] = set()
    for index, recipient, action in steps:
        index %= len(objects)
        object_id = objects[index]["id"]
        orcon = kinds[index] != "green"
        whom = {"peer": "kor"} if recipient == PEER else {"organization": recipient}
        if action == "approve" and orcon:
            made = node.approve_orcon(site.writer, object_id, **whom)
            in_force.setdefault((index, recipient), []).append(made.id)
            signed[made.id] = index
            recipients[made.id] = recipient
        elif action == "forge":
            forged = make_approval(
                FOREIGN, public_key_text(FOREIGN), object_id, recipient, now_us()
            )
            assert node.add_objects(site.writer, collection, [forged]).success_count == 1
        elif action == "revoke" and any(in_force.values()):
            # One of the approvals in force, whichever the drawn index picks.
            chains = [approvals for approvals in in_force.values() if approvals]
            withdrawn = chains[index % len(chains)].pop()
            node.revoke_orcon(site.writer, withdrawn)
            revoked.add(withdrawn)

    def sees(reader: str, kind: str = "indicator") -> set[str]:
        user = site.peer if reader == PEER else site.readers[reader]
        page = node.read_objects(user, collection, VersionFilter(types=(kind,)), limit=100)
        return {item.object_id for item in page.items}

    for reader in (*READERS, PEER):
        expected = {
            obj["id"]
            for index, (kind, obj) in enumerate(zip(kinds, objects, strict=True))
            if kind == "green"
            or reader == "USA.CISA"
            or (reader in named[kind] and reader != PEER)
            or bool(in_force.get((index, reader)))
        }
        assert sees(reader) == expected, (reader, kinds, first, second, steps)
        # An approval is seen by exactly those who see its object, and a revocation also by
        # the recipient it names, which learns that the approval was withdrawn.
        shown = sees(reader, "x-allyshare-orcon-approval") & set(signed)
        assert shown == {
            a
            for a, index in signed.items()
            if objects[index]["id"] in expected or (a in revoked and recipients[a] == reader)
        }


def test_approvals_bind_to_their_originator_and_outlive_deletion(site: Site) -> None:
    """Another member storing an object with the same id cannot release, withdraw or list the
    originator's approvals, nor approve its own copy (peers could not tell the two apart);
    what an approval lets a curator read it cannot delete; deleting a revocation does not
    bring the approval back."""
    node = site.node
    dhs = _member(node, "dhs-writer", "USA.DHS", ["contributor"])
    nis = _member(node, "nis-curator", "KOR.NIS", ["reader", "curator"])
    curator = _member(node, "cisa-curator", "USA.CISA", ["curator"])
    cisa_collection = node.add_collection("CISA's", agreement="us-rok-tech").id
    dhs_collection = node.add_collection("DHS's", agreement="us-rok-tech").id
    orcon = orcon_marking(frozenset())
    shared_id, other = indicator([orcon["id"]]), indicator([orcon["id"]])
    node.add_objects(site.writer, cisa_collection, [orcon, shared_id, other])

    def ids(user: User, collection: str) -> set[str]:
        page = node.read_objects(user, collection, VersionFilter(types=("indicator",)), limit=10)
        return {item.object_id for item in page.items}

    by_cisa = node.approve_orcon(site.writer, shared_id["id"], organization="KOR.NIS")
    assert ids(nis, cisa_collection) == {shared_id["id"]}
    # DHS stores the same id, in its own collection and in CISA's (set apart there).
    node.add_objects(dhs, dhs_collection, [orcon, shared_id])
    node.add_objects(dhs, cisa_collection, [{**shared_id, "modified": "2026-04-01T00:00:00Z"}])
    assert ids(nis, dhs_collection) == set()
    with pytest.raises(PermissionDenied, match="another originator also holds"):
        node.approve_orcon(dhs, shared_id["id"], organization="KOR.NIS")
    with pytest.raises(PermissionDenied, match="another originator also holds"):
        node.approve_orcon(site.writer, shared_id["id"], peer="kor")
    with pytest.raises(PermissionDenied):
        node.revoke_orcon(dhs, by_cisa.id)
    assert node.orcon_approvals(dhs) == []
    assert ids(nis, dhs_collection) == set()

    everything = VersionFilter(object_ids=(other["id"],), versions=frozenset({"all"}))
    with pytest.raises(NotFound):
        node.delete_objects(nis, cisa_collection, everything)
    assert other["id"] in ids(site.writer, cisa_collection)

    node.revoke_orcon(site.writer, by_cisa.id)
    assert ids(nis, cisa_collection) == set()
    approval_versions = VersionFilter(object_ids=(by_cisa.id,), versions=frozenset({"all"}))
    assert node.delete_objects(curator, cisa_collection, approval_versions) == 2
    assert ids(nis, cisa_collection) == set()


def test_a_copy_set_apart_cannot_undo_a_revocation(site: Site) -> None:
    """A member that cannot see an ORCON object stores one with its id (set apart for it) and
    asks to approve it for the peer the originator revoked: refused, so no approval of this
    node names that id again for the peer."""
    node = site.node
    dhs = _member(node, "dhs-squatter", "USA.DHS", ["contributor"])
    collection = node.add_collection("Revoked", agreement="us-rok-tech").id
    orcon = orcon_marking(frozenset({"KOR.KISA"}))
    report = indicator([orcon["id"]])
    node.add_objects(site.writer, collection, [orcon, report])
    released = node.approve_orcon(site.writer, report["id"], peer="kor")
    node.revoke_orcon(site.writer, released.id)
    decoy = {**report, "modified": "2026-05-01T00:00:00.000Z", "object_marking_refs": [TLP_GREEN]}
    assert node.add_objects(dhs, collection, [decoy]).success_count == 1
    with pytest.raises(PermissionDenied, match="set apart"):
        node.approve_orcon(dhs, report["id"], peer="kor")
    shared = node.read_objects(site.peer, collection, VersionFilter(), limit=10)
    assert report["id"] not in {item.object_id for item in shared.items}
    assert all(approval.object_ref != report["id"] for approval, _ in node.orcon_approvals())


def test_an_approval_releases_a_field_under_a_granular_orcon_marking(site: Site) -> None:
    """A reader's verdict on a granular ORCON marking depends on the approvals of each object,
    so it cannot be judged once for all objects with the same markings."""
    node = site.node
    collection = node.add_collection("Granular ORCON", agreement="us-rok-tech").id
    whole, field = orcon_marking(frozenset({"KOR.KISA"})), orcon_marking(frozenset())
    obj = {
        **indicator([whole["id"]]),
        "description": "what only an approval releases",
        "granular_markings": [{"marking_ref": field["id"], "selectors": ["description"]}],
    }
    assert node.add_objects(site.writer, collection, [whole, field, obj]).failure_count == 0

    def seen(reader: str) -> list[dict[str, Any]]:
        selection = VersionFilter(types=("indicator",))
        page = node.read_objects(site.readers[reader], collection, selection, limit=10)
        return [orjson.loads(item.body) for item in page.items]

    [redacted] = seen("KOR.KISA")
    assert "description" not in redacted
    assert redacted["x_allyshare_redacted"] == ["description"]
    node.approve_orcon(site.writer, obj["id"], organization="KOR.KISA")
    [released] = seen("KOR.KISA")
    assert released["description"] == obj["description"]
    assert seen("KOR.NIS") == []


def _member(node: Node, name: str, organization: str, roles: list[str]) -> User:
    node.add_user(name, organization=organization, roles=roles)
    return _user(node, name)
