"""ORCON approval records: signed by one key, refused when any part changes, newest wins."""

from __future__ import annotations

import copy
import importlib.resources
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from allyshare.keys import public_key_text
from allyshare.orcon.approvals import (
    APPROVAL_EXTENSION_ID,
    APPROVAL_TYPE,
    Approval,
    Approvals,
    approval_problems,
    make_approval,
    node_recipient,
    read_approval,
)
from allyshare.stix.validation import check_object

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
SIGNER = public_key_text(KEY)
OBJECT = "report--6f1e6a3c-3f0e-4a5e-9f3c-6d1f4f1f0001"
START = 1_795_000_000_000_000


def approval(recipient: str = "KOR.NIS", at: int = START, **kw: Any) -> dict[str, Any]:
    return make_approval(KEY, SIGNER, OBJECT, recipient, at, **kw)


def test_a_signed_approval_verifies_and_is_valid_stix() -> None:
    obj = approval()
    assert approval_problems(obj) == []
    check_object(obj)
    result = validate_instance(obj, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(error) for error in result.errors]
    record = read_approval(obj)
    assert record == Approval(obj["id"], obj["modified"], OBJECT, "KOR.NIS", SIGNER, False)


def test_the_shipped_extension_definition_names_the_type() -> None:
    shipped = importlib.resources.files("allyshare.orcon").joinpath("orcon-approval-extension.json")
    definition = json.loads(shipped.read_text())
    check_object(definition)
    assert definition["id"] == APPROVAL_EXTENSION_ID
    assert definition["extension_types"] == ["new-sdo"]
    assert APPROVAL_TYPE in definition["schema"]


@given(
    st.sampled_from(["id", "created", "modified", "object_ref", "recipient", "type"]),
    st.text(min_size=1, max_size=20),
)
def test_changing_any_signed_part_breaks_the_signature(name: str, value: str) -> None:
    obj = approval()
    changed = copy.deepcopy(obj)
    changed[name] = obj[name] + value
    assert read_approval(changed) is None
    if name != "type":
        assert "does not verify" in approval_problems(changed)[0]


def test_another_key_cannot_sign_for_a_node() -> None:
    forged = make_approval(OTHER, public_key_text(OTHER), OBJECT, "KOR.NIS", START)
    forged["approving_node"] = SIGNER
    assert "does not verify" in approval_problems(forged)[0]
    revoked = approval(revoked=True)
    revoked["revoked"] = False
    assert read_approval(revoked) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"object_ref": None}, "needs object_ref"),
        ({"approving_node": "not base64!"}, "not an Ed25519 public key"),
        ({"approving_node": "AAAA"}, "not an Ed25519 public key"),
        ({"signature": "AAAA"}, "does not verify"),
    ],
)
def test_malformed_approvals_say_why(change: dict[str, Any], problem: str) -> None:
    obj = {**approval(), **change}
    assert problem in approval_problems(obj)[0]


def told(originator: str) -> Callable[[Approval], bool]:
    return lambda approval: approval.originator == originator


def test_the_newest_version_counts_and_revocation_withdraws() -> None:
    first = approval(originator="USA.CISA")
    node = node_recipient(public_key_text(OTHER))
    to_node = approval(node, START + 5, originator="USA.CISA")
    revoked = approval(
        at=START + 10,
        approval_id=first["id"],
        created=first["created"],
        revoked=True,
        originator="USA.CISA",
    )
    records = [read_approval(obj) for obj in (revoked, first, to_node)]
    approvals = Approvals(record for record in records if record is not None)
    assert approvals.granted(OBJECT, SIGNER, told("USA.CISA")) == {node}
    assert approvals.granted(OBJECT, SIGNER, told("USA.DHS")) == frozenset()
    assert approvals.granted(OBJECT, public_key_text(OTHER), told("USA.CISA")) == frozenset()
    assert approvals.granted(OBJECT, None, told("USA.CISA")) == frozenset()
    assert approvals.recipients == {node}
    assert not approvals.concern("report--other")
    reissued = approval(
        at=START + 20, approval_id=first["id"], created=first["created"], originator="USA.CISA"
    )
    again = Approvals(r for r in map(read_approval, (first, revoked, reissued)) if r is not None)
    assert again.granted(OBJECT, SIGNER, told("USA.CISA")) == {"KOR.NIS"}


def test_another_key_neither_revokes_nor_replaces_an_approval() -> None:
    """Versions of an approval form one chain per signing node."""
    genuine = approval(originator="USA.CISA")
    hijack = make_approval(
        OTHER,
        public_key_text(OTHER),
        OBJECT,
        "KOR.NIS",
        START + 10,
        approval_id=genuine["id"],
        created=genuine["created"],
        revoked=True,
        originator="USA.CISA",
    )
    records = [read_approval(obj) for obj in (genuine, hijack)]
    approvals = Approvals(record for record in records if record is not None)
    assert approvals.granted(OBJECT, SIGNER, told("USA.CISA")) == {"KOR.NIS"}
