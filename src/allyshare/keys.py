"""The node's signing key (Ed25519), kept as a private PEM file only the owner can read.

Later features sign agreements, approvals and audit checkpoints with it; creating it at
``init`` keeps a node's identity stable from its first day.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

NODE_KEY_FILE = "node.key"


def write_private_file(path: Path, content: bytes) -> None:
    """Create ``path`` with mode 0600 from the start, so the secret is never world-readable."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def create_node_key(data_dir: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = data_dir / NODE_KEY_FILE
    write_private_file(path, pem)
    return path
