"""Properties of the store against a plain in-memory model, on SQLite and PostgreSQL.

Random batches of versions (with repeats and out-of-order timestamps, each under one of a few
access keys, many objects with their newest or oldest version under a key the reader does not
pass) go in; every filter, page size and set of keys a reader passes must page out
exactly what the model selects, in ``date_added`` order, with no duplicates and nothing
skipped, whether the page is read as a merge of per-key ranges or as one walk of the dates.
Concurrent writers must still get strictly increasing ``date_added`` values.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from unittest.mock import patch

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allyshare.clock import now_us
from allyshare.stix.versions import version_key
from allyshare.storage import AccessKey, Collection, NewVersion, Store, VersionFilter
from allyshare.storage import store as store_module

OBJECT_IDS = [
    f"{kind}--{uuid.UUID(int=n, version=4)}" for n in range(6) for kind in ("indicator", "malware")
]
STAMPS = [f"2026-01-0{day}T00:00:00.{ms:03d}Z" for day in range(1, 4) for ms in (0, 500)]
KEYS = [AccessKey("", (f"marking-definition--{n}",), ()) for n in range(4)]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    store.migrate()
    yield store
    store.close()


def make_version(object_id: str, stamp: str, key: AccessKey = KEYS[0]) -> NewVersion:
    body = orjson.dumps({"id": object_id, "modified": stamp})
    return NewVersion(
        object_id,
        object_id.split("--")[0],
        "2.1",
        stamp,
        version_key(stamp),
        body,
        key,
    )


versions = st.builds(
    make_version, st.sampled_from(OBJECT_IDS), st.sampled_from(STAMPS), st.sampled_from(KEYS)
)
EDGES = ("newest", "oldest", "both")


@st.composite
def stores(draw: st.DrawFn) -> tuple[list[list[NewVersion]], set[AccessKey] | None]:
    """Batches to store, and the keys the reader passes (None: a reader who passes all).

    Besides versions drawn at random, a few objects get their newest version, their oldest or
    both under a key the reader does not pass, with versions it does pass in between: there
    ``last`` and ``first`` must fall back to the newest (oldest) version the reader may see,
    which versions drawn at random rarely exercise. Everything is stored in a random order,
    in random batches, so the edges move as versions arrive.
    """
    passes = (
        None if draw(st.integers(0, 5)) == 0 else draw(st.sets(st.sampled_from(KEYS), min_size=1))
    )
    stored = draw(st.lists(versions, max_size=12))
    hidden = [key for key in KEYS if passes is not None and key not in passes]
    shown = [key for key in KEYS if passes is None or key in passes]
    if hidden:
        for object_id in draw(
            st.lists(st.sampled_from(OBJECT_IDS), min_size=1, max_size=3, unique=True)
        ):
            edge = draw(st.sampled_from(EDGES))
            count = draw(st.integers(3 if edge == "both" else 2, len(STAMPS)))
            stamps = sorted(
                draw(st.lists(st.sampled_from(STAMPS), min_size=count, max_size=count, unique=True))
            )
            keys = [draw(st.sampled_from(shown)) for _ in stamps]
            if edge != "oldest":
                keys[-1] = draw(st.sampled_from(hidden))
            if edge != "newest":
                keys[0] = draw(st.sampled_from(hidden))
            stored += [
                make_version(object_id, stamp, key) for stamp, key in zip(stamps, keys, strict=True)
            ]
    order = draw(st.permutations(stored))
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=4)))
    bounds = [0, *cuts, len(order)]
    return [order[start:end] for start, end in itertools.pairwise(bounds)], passes


selections = st.builds(
    VersionFilter,
    object_ids=st.lists(st.sampled_from(OBJECT_IDS), max_size=3, unique=True).map(tuple),
    types=st.lists(st.sampled_from(["indicator", "malware"]), max_size=1).map(tuple),
    versions=st.one_of(
        st.sampled_from(["last", "first"]).map(lambda edge: frozenset({edge})),
        st.sets(st.sampled_from(["last", "first", "all"]), min_size=1).map(frozenset),
        st.sets(st.sampled_from(STAMPS).map(version_key), min_size=1).map(frozenset),
    ),
)


def model_select(
    stored: list[tuple[int, NewVersion]],
    selection: VersionFilter,
    passes: set[AccessKey] | None = None,
) -> list[tuple[str, str]]:
    """DESIGN's rules, written out plainly: which (id, version) pairs a filter selects for a
    reader who passes ``passes`` (everything when None); last and first are among those."""
    seen = [v for _, v in stored if passes is None or v.access in passes]
    keys: dict[str, list[str]] = {}
    for version in seen:
        keys.setdefault(version.object_id, []).append(version.version_key)
    chosen = []
    for version in seen:
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
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    written=stores(),
    selection=selections,
    page_size=st.integers(1, 4),
    merged_keys=st.sampled_from([0, 100]),
)
def test_paging_returns_exactly_what_the_model_selects(
    store: Store,
    written: tuple[list[list[NewVersion]], set[AccessKey] | None],
    selection: VersionFilter,
    page_size: int,
    merged_keys: int,
) -> None:
    batches, passes = written
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
    seq_of = {key: seq for seq, key in store.access_keys().items()}
    visible = None if passes is None else frozenset(seq_of.get(key, -1) for key in passes)
    paged: list[tuple[str, str]] = []
    added: list[int] = []
    after = None
    with patch.object(store_module, "_MERGED_KEYS", merged_keys):
        while True:
            page = store.read_page(
                collection_id, selection, limit=page_size, after=after, visible=visible
            )
            paged.extend((item.object_id, item.version) for item in page.items)
            added.extend(item.date_added for item in page.items)
            if not page.more:
                break
            after = page.items[-1].date_added
    assert paged == model_select(stored, selection, passes)
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
