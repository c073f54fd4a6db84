"""Rows of the correlation index, as the store writes them and the migration fills them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allyshare.observables import Observable, range_of
from allyshare.storage.ids import id_hash


def observable_digest(kind: str, value: str) -> int:
    """The narrow key a (kind, value) is indexed by."""
    return id_hash(f"{kind}\x00{value}")


def observable_rows(
    collection_seq: int,
    date_added: int,
    label_seq: int,
    version: tuple[str, str, str],
    found: Iterable[Observable],
) -> list[dict[str, Any]]:
    """The index rows of one version: ``version`` is its (object id, version, type), kept
    in each row so that a lookup never reads the objects table."""
    object_id, modified, kind_of_object = version
    rows = []
    for kind, value in found:
        covered = range_of(kind, value)
        rows.append(
            {
                "collection_seq": collection_seq,
                "date_added": date_added,
                "digest": observable_digest(kind, value),
                "kind": kind,
                "value": value,
                "label_seq": label_seq,
                "low": covered[0] if covered else None,
                "high": covered[1] if covered else None,
                "object_id": object_id,
                "version": modified,
                "type": kind_of_object,
            }
        )
    return rows
