"""ORCON approvals: the originator's signed consent to release one object further (DESIGN
section 5), as records this node makes, verifies and counts; federation only carries them."""

from allyshare.orcon.approvals import (
    APPROVAL_EXTENSION_ID,
    NODE_PREFIX,
    Approval,
    Approvals,
    approval_names,
    approval_problems,
    make_approval,
    node_recipient,
    originator_seal,
    read_approval,
)
from allyshare.stix.types import APPROVAL_TYPE

__all__ = [
    "APPROVAL_EXTENSION_ID",
    "APPROVAL_TYPE",
    "NODE_PREFIX",
    "Approval",
    "Approvals",
    "approval_names",
    "approval_problems",
    "make_approval",
    "node_recipient",
    "originator_seal",
    "read_approval",
]
