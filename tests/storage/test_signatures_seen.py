"""Signature ids remembered once, in the database, until they expire."""

from __future__ import annotations

from allyshare.clock import now_us
from allyshare.storage import Store

HOUR = 3_600_000_000


def test_an_id_is_remembered_once_by_every_store_on_the_database(database_url: str) -> None:
    first, second = Store(database_url), Store(database_url)
    first.migrate()
    try:
        assert first.signatures_seen.remember("a", now_us() + HOUR)
        assert not second.signatures_seen.remember("a", now_us() + HOUR)
        assert not first.signatures_seen.remember("a", now_us() + HOUR)
        assert second.signatures_seen.remember("b", now_us() + HOUR)
    finally:
        first.close()
        second.close()


def test_an_expired_id_is_forgotten_when_another_is_remembered(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    try:
        assert store.signatures_seen.remember("old", now_us() - HOUR)
        assert store.signatures_seen.remember("new", now_us() + HOUR)
        assert store.signatures_seen.remember("old", now_us() + HOUR)
        assert not store.signatures_seen.remember("new", now_us() + HOUR)
    finally:
        store.close()
