"""Properties of the store against a plain in-memory model, on SQLite and PostgreSQL.

Random batches of versions (with repeats and out-of-order timestamps) go in; every filter and
page size must page out exactly what the model selects, in ``date_added`` order, with no
duplicates and nothing skipped. Concurrent writers must still get strictly increasing
``date_added`` values.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allyshare.clock import now_us
from allyshare.stix.versions import version_key
from allyshare.storage import AccessKey, Collection, NewVersion, Store, VersionFilter

OBJECT_IDS = [
    f"{kind}--{uuid.UUID(int=n, version=4)}" for n in range(6) for kind in ("indicator", "malware")
]
STAMPS = [f"2026-01-0{day}T00:00:00.{ms:03d}Z" for day in range(1, 4) for ms in (0, 500)]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    store.migrate()
    yield store
    store.close()


def make_version(object_id: str, stamp: str) -> NewVersion:
    body = orjson.dumps({"id": object_id, "modified": stamp})
    return NewVersion(
        object_id,
        object_id.split("--")[0],
        "2.1",
        stamp,
        version_key(stamp),
        body,
        AccessKey("", (), ()),
    )


versions = st.builds(make_version, st.sampled_from(OBJECT_IDS), st.sampled_from(STAMPS))
batches = st.lists(st.lists(versions, max_size=8), min_size=1, max_size=5)
selections = st.builds(
    VersionFilter,
    object_ids=st.lists(st.sampled_from(OBJECT_IDS), max_size=3, unique=True).map(tuple),
    types=st.lists(st.sampled_from(["indicator", "malware"]), max_size=1).map(tuple),
    versions=st.one_of(
        st.sets(st.sampled_from(["last", "first", "all"]), min_size=1).map(frozenset),
        st.sets(st.sampled_from(STAMPS).map(version_key), min_size=1).map(frozenset),
    ),
)


def model_select(
    stored: list[tuple[int, NewVersion]], selection: VersionFilter
) -> list[tuple[str, str]]:
    """DESIGN's rules, written out plainly: which (id, version) pairs a filter selects."""
    keys: dict[str, list[str]] = {}
    for _, version in stored:
        keys.setdefault(version.object_id, []).append(version.version_key)
    chosen = []
    for _, version in stored:
        own = keys[version.object_id]
        wanted = selection.versions
        matches = (
            "all" in wanted
            or ("last" in wanted and version.version_key == max(own))
            or ("first" in wanted and version.version_key == min(own))
            or version.version_key in wanted
        )
        if selection.object_ids and version.object_id not in selection.object_ids:
            continue
        if selection.types and version.type not in selection.types:
            continue
        if matches:
            chosen.append((version.object_id, version.version))
    return chosen


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batches=batches, selection=selections, page_size=st.integers(1, 4))
def test_paging_returns_exactly_what_the_model_selects(
    store: Store, batches: list[list[NewVersion]], selection: VersionFilter, page_size: int
) -> None:
    collection_id = str(uuid.uuid4())
    store.create_collection(Collection(collection_id, "t", "", 0))
    stored: list[tuple[int, NewVersion]] = []
    seen: set[tuple[str, str]] = set()
    for batch in batches:
        store.ingest(collection_id, batch)
        for version in batch:
            key = (version.object_id, version.version_key)
            if key not in seen:
                seen.add(key)
                stored.append((len(stored), version))
    paged: list[tuple[str, str]] = []
    added: list[int] = []
    after = None
    while True:
        page = store.read_page(collection_id, selection, limit=page_size, after=after)
        paged.extend((item.object_id, item.version) for item in page.items)
        added.extend(item.date_added for item in page.items)
        if not page.more:
            break
        after = page.items[-1].date_added
    assert paged == model_select(stored, selection)
    assert added == sorted(set(added))


def test_concurrent_writers_get_strictly_increasing_date_added(store: Store) -> None:
    store.create_collection(Collection("busy", "busy", "", now_us()))
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(15):
                batch = [make_version(f"indicator--{uuid.uuid4()}", STAMPS[0]) for _ in range(5)]
                store.ingest("busy", batch)
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    page = store.read_page("busy", VersionFilter(), limit=1000)
    added = [item.date_added for item in page.items]
    assert len(added) == 4 * 15 * 5
    assert added == sorted(set(added))
