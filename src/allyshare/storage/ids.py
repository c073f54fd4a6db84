"""The narrow key objects (and audit entries about them) are indexed by."""

from __future__ import annotations

import hashlib


def id_hash(object_id: str) -> int:
    """A signed 64-bit hash of an object id: the narrow key objects are indexed by."""
    digest = hashlib.blake2b(object_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
