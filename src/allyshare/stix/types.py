"""The STIX object types this node defines itself, by new-sdo extension definitions shipped
with the package; every layer may name them (storage keeps approvals apart, for one)."""

from __future__ import annotations

__all__ = ["APPROVAL_TYPE", "EXPOSURE_TYPE"]

APPROVAL_TYPE = "x-allyshare-orcon-approval"
"""An ORCON approval (`allyshare.orcon`), defined by ``orcon/orcon-approval-extension.json``."""
EXPOSURE_TYPE = "x-allyshare-supply-chain-exposure"
"""A supply-chain exposure (`allyshare.economic`), defined by
``economic/supply-chain-extension.json``."""
