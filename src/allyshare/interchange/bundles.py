"""Writing STIX bundles: what an export streams, shared by every caller that exports."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import BinaryIO

__all__ = ["write_bundle"]


def write_bundle(bodies: Iterable[bytes], out: BinaryIO) -> None:
    """Stream a STIX bundle: the stored JSON of each object, never re-encoded."""
    out.write(f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":['.encode())
    first = True
    for body in bodies:
        if not first:
            out.write(b",")
        out.write(body)
        first = False
    out.write(b"]}\n")
