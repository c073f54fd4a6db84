"""Sealing what would name a contributor: AES-256-GCM under a key derived from the node key
(HKDF, `allyshare.keys.derived_key`), a fresh 96-bit nonce per record, and the record's place
(object, version, collection) as associated data, so a sealed record moved to another row does
not open. The key is never in the database: a copy of the database alone reveals nothing."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALING_PURPOSE = b"allyshare contributor identity sealing"
NONCE_BYTES = 12


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, place: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, place)

    def open(self, sealed: bytes, place: bytes) -> bytes:
        """The plaintext; `ValueError` when the record was altered, moved or sealed under
        another node's key."""
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], place)
        except InvalidTag:
            raise ValueError("the sealed record does not open: altered, moved or foreign") from None
