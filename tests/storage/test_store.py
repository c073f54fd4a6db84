"""The store's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import orjson
import pytest

from allyshare.errors import Conflict, NotFound
from allyshare.stix.versions import UNVERSIONED, version_key
from allyshare.storage import (
    AccessKey,
    AgreementRecord,
    Collection,
    IngestResult,
    NewVersion,
    OrganizationRecord,
    Outcome,
    PeerRecord,
    StatusRecord,
    Store,
    SubscriptionRecord,
    User,
    VersionFilter,
    origin_of,
    peer_originator,
    sender_of,
)
from allyshare.storage import store as store_module
from allyshare.storage.peers import PeerStore


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    store.migrate()
    store.create_collection(Collection("c1", "One", "first collection", 1))
    yield store
    store.close()


NODE = AccessKey("", (), ())


def version(object_id: str, modified: str, access: AccessKey = NODE, **extra: object) -> NewVersion:
    body = orjson.dumps({"id": object_id, "modified": modified, **extra})
    return NewVersion(
        object_id, object_id.split("--")[0], "2.1", modified, version_key(modified), body, access
    )


def unversioned(object_id: str, value: str) -> NewVersion:
    body = orjson.dumps({"id": object_id, "type": "ipv4-addr", "value": value})
    return NewVersion(object_id, "ipv4-addr", "2.1", "", UNVERSIONED, body, NODE)


T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-02-01T00:00:00.000Z"


def ids(page_items: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(item.object_id, item.version) for item in page_items]


def test_migrate_is_idempotent(store: Store) -> None:
    store.migrate()
    assert [c.id for c in store.list_collections()] == ["c1"]


def test_duplicates_are_no_ops_and_reported(store: Store) -> None:
    first = store.ingest("c1", [version("indicator--a", T1), version("indicator--b", T1)])
    assert first.outcomes == [Outcome.STORED, Outcome.STORED]
    again = store.ingest("c1", [version("indicator--a", T1), version("indicator--a", T2)])
    assert again.outcomes == [Outcome.DUPLICATE, Outcome.STORED]
    everything = store.read_page("c1", VersionFilter(versions=frozenset({"all"})), limit=10)
    assert len(everything.items) == 3


def test_duplicate_within_one_request(store: Store) -> None:
    result = store.ingest("c1", [version("indicator--a", T1), version("indicator--a", T1)])
    assert result.outcomes == [Outcome.STORED, Outcome.DUPLICATE]


def test_version_filters_follow_timestamps_not_arrival(store: Store) -> None:
    store.ingest("c1", [version("indicator--a", T2)])
    store.ingest("c1", [version("indicator--a", T3), version("indicator--a", T1)])

    def select(*wanted: str) -> list[str]:
        page = store.read_page("c1", VersionFilter(versions=frozenset(wanted)), limit=10)
        return sorted((item.version for item in page.items), key=version_key)

    assert select("last") == [T3]
    assert select("first") == [T1]
    assert select("first", "last") == [T1, T3]
    assert select("all") == [T1, T2, T3]
    assert select(version_key("2026-01-01T00:00:00.500Z")) == [T2]


def test_fraction_digits_order_correctly(store: Store) -> None:
    store.ingest("c1", [version("indicator--a", "2026-01-01T00:00:00.9Z")])
    store.ingest("c1", [version("indicator--a", "2026-01-01T00:00:00.10Z")])
    page = store.read_page("c1", VersionFilter(), limit=10)
    assert ids(page.items) == [("indicator--a", "2026-01-01T00:00:00.9Z")]


def test_date_added_strictly_increases_and_pages_by_keyset(store: Store) -> None:
    for batch in range(5):
        store.ingest("c1", [version(f"indicator--{batch}-{i}", T1) for i in range(7)])
    seen: list[int] = []
    after = None
    while True:
        page = store.read_page("c1", VersionFilter(), limit=4, after=after)
        seen.extend(item.date_added for item in page.items)
        if not page.more:
            break
        after = page.items[-1].date_added
    assert len(seen) == 35
    assert seen == sorted(seen) and len(set(seen)) == 35


def test_filters_by_type_id_and_added_after(store: Store) -> None:
    store.ingest("c1", [version("indicator--a", T1), version("malware--b", T1)])
    middle = store.read_page("c1", VersionFilter(), limit=1).items[0].date_added
    store.ingest("c1", [version("malware--c", T1)])
    by_type = store.read_page("c1", VersionFilter(types=("malware",)), limit=10)
    assert [i.object_id for i in by_type.items] == ["malware--b", "malware--c"]
    by_id = store.read_page("c1", VersionFilter(object_ids=("malware--c", "x--y")), limit=10)
    assert [i.object_id for i in by_id.items] == ["malware--c"]
    later = store.read_page("c1", VersionFilter(added_after=middle), limit=10)
    assert [i.object_id for i in later.items] == ["malware--b", "malware--c"]
    none = store.read_page("c1", VersionFilter(spec_versions=("2.0",)), limit=10)
    assert none.items == [] and not none.more


def test_unversioned_objects_conflict_when_content_differs(store: Store) -> None:
    store.ingest("c1", [unversioned("ipv4-addr--1", "192.0.2.1")])
    result = store.ingest(
        "c1", [unversioned("ipv4-addr--1", "192.0.2.1"), unversioned("ipv4-addr--1", "192.0.2.9")]
    )
    assert result.outcomes == [Outcome.DUPLICATE, Outcome.CONFLICT]


def test_delete_recomputes_latest(store: Store) -> None:
    store.ingest("c1", [version("indicator--a", T1), version("indicator--a", T3)])
    deleted = store.delete_versions(
        "c1", VersionFilter(object_ids=("indicator--a",), versions=frozenset({version_key(T3)}))
    )
    assert deleted == 1
    page = store.read_page("c1", VersionFilter(), limit=10)
    assert ids(page.items) == [("indicator--a", T1)]
    assert store.delete_versions("c1", VersionFilter(object_ids=("nothing--x",))) == 0


def test_a_collection_generation_changes_with_every_write_and_removal(store: Store) -> None:
    store.create_collection(Collection("c2", "Two", "second collection", 1))
    before = store.collection_generations()
    assert before == {"c1": (0, 0), "c2": (0, 0)}
    store.ingest("c1", [version("indicator--a", T1), version("indicator--a", T3)])
    written = store.collection_generations()
    assert written["c1"] > before["c1"] and written["c2"] == before["c2"]
    store.ingest("c1", [version("indicator--a", T1)])
    assert store.collection_generations() == written  # a duplicate changes nothing
    store.delete_versions("c1", VersionFilter(object_ids=("indicator--a",)))
    deleted = store.collection_generations()
    assert deleted["c1"] != written["c1"]
    store.expire_versions("c1", added_before=written["c1"][0] + 1)
    assert store.collection_generations()["c1"] != deleted["c1"]


def test_ingest_into_missing_collection_writes_nothing(store: Store) -> None:
    with pytest.raises(NotFound):
        store.ingest("missing", [version("indicator--a", T1)])
    assert store.read_page("c1", VersionFilter(), limit=10).items == []


def test_status_round_trip(store: Store) -> None:
    record = StatusRecord(
        "s1",
        "c1",
        "alice",
        5,
        2,
        1,
        1,
        0,
        successes=[{"id": "indicator--a", "version": T1, "message": "stored"}],
        failures=[{"id": "x", "version": "", "message": "bad"}],
    )
    with store.begin() as unit:
        unit.ingest("c1", [version("indicator--a", T1)])
        unit.record_status(record)
    assert store.get_status("s1") == record
    assert store.read_page("c1", VersionFilter(), limit=10).items[0].object_id == "indicator--a"
    assert store.get_status("s2") is None


def test_members_agreements_and_disabling(store: Store) -> None:
    cert = OrganizationRecord("KOR.KRCERT", "KrCERT", "KOR", "cert", ("government",), False)
    store.create_organization(cert)
    with pytest.raises(Conflict):
        store.create_organization(cert)
    analyst = User(
        "kim", False, False, "KOR.KRCERT", "KOR", "S", frozenset({"reader", "contributor"})
    )
    store.create_user(analyst, "hash-k")
    assert store.user_by_name("kim") == (analyst, "hash-k")
    store.set_organization_disabled("KOR.KRCERT", True)
    found = store.user_by_name("kim")
    assert found is not None and found[0].disabled
    store.set_organization_disabled("KOR.KRCERT", False)
    store.set_user_disabled("kim", True)
    found = store.user_by_name("kim")
    assert found is not None and found[0].disabled
    assert store.list_organizations() == [cert]

    document = {"name": "us-rok", "version": 1}
    assert store.save_agreement(AgreementRecord("us-rok", 1, document, 5))
    assert not store.save_agreement(AgreementRecord("us-rok", 1, document, 6))
    with pytest.raises(Conflict, match="version 2"):
        store.save_agreement(AgreementRecord("us-rok", 1, {**document, "x": 1}, 7))
    assert store.save_agreement(AgreementRecord("us-rok", 2, {**document, "version": 2}, 8))
    assert [(a.name, a.version) for a in store.agreements_newest()] == [("us-rok", 2)]


def test_users(store: Store) -> None:
    alice = User("alice", is_admin=False, disabled=False)
    store.create_user(alice, "hash-a")
    with pytest.raises(Conflict):
        store.create_user(alice, "hash-b")
    found = store.user_by_token_hash("hash-a")
    assert found is not None and found[0] == alice


GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
KISA = AccessKey("KOR.KISA", (GREEN,), ())
CISA = AccessKey("USA.CISA", (), (GREEN,))


def test_access_keys_are_shared_and_returned_with_versions(store: Store) -> None:
    store.ingest("c1", [version("indicator--a", T1, KISA), version("indicator--b", T1, KISA)])
    store.ingest("c1", [version("indicator--c", T1, CISA)])
    keys = store.access_keys()
    assert sorted(keys.values(), key=lambda k: k.originator) == [KISA, CISA]
    seq_of = {key: seq for seq, key in keys.items()}
    page = store.read_page("c1", VersionFilter(), limit=10)
    assert [(i.object_id, i.label) for i in page.items] == [
        ("indicator--a", seq_of[KISA]),
        ("indicator--b", seq_of[KISA]),
        ("indicator--c", seq_of[CISA]),
    ]


def test_only_the_originator_adds_versions(store: Store) -> None:
    store.ingest("c1", [version("indicator--a", T1, KISA)])
    other = AccessKey("USA.CISA", (GREEN,), ())
    result = store.ingest(
        "c1", [version("indicator--a", T2, other), version("indicator--a", T2, KISA)]
    )
    assert result.outcomes == [Outcome.NOT_ORIGINATOR, Outcome.STORED]
    mixed = store.ingest("c1", [version("indicator--n", T1, other), version("indicator--n", T2)])
    assert mixed.outcomes == [Outcome.STORED, Outcome.NOT_ORIGINATOR]


def test_a_peer_adds_versions_of_what_it_sent_and_of_nothing_else(store: Store) -> None:
    """A peer may attest another organization for a later version than it did for the first
    (or none): the object keeps its first origin. It never adds to a local object."""
    from_usa = AccessKey(peer_originator("USA", "usa"), (GREEN,), ())
    attested = AccessKey(peer_originator("USA.CISA", "usa"), (GREEN,), ())
    from_jpn = AccessKey(peer_originator("USA.CISA", "jpn"), (GREEN,), ())
    store.ingest("c1", [version("indicator--a", T1, from_usa), version("indicator--k", T1, KISA)])
    result = store.ingest(
        "c1",
        [
            version("indicator--a", T2, attested),
            version("indicator--a", T3, from_jpn),
            version("indicator--k", T2, AccessKey(peer_originator("KOR.KISA", "usa"), (), ())),
        ],
    )
    assert result.outcomes == [Outcome.STORED, Outcome.NOT_ORIGINATOR, Outcome.NOT_ORIGINATOR]
    keys = store.access_keys()
    page = store.read_page("c1", VersionFilter(versions=frozenset({"all"})), limit=10)
    assert {(i.object_id, i.version, keys[i.label].originator) for i in page.items} == {
        ("indicator--a", T1, "USA.PEER:usa"),
        ("indicator--a", T2, "USA.PEER:usa"),
        ("indicator--k", T1, KISA.originator),
    }
    assert sender_of("USA.CISA.PEER:usa") == "usa" and sender_of("USA.CISA") is None
    assert origin_of("USA.CISA.PEER:usa") == "USA.CISA" and origin_of("USA.CISA") == "USA.CISA"


def test_visible_keys_prefilter_and_last_means_last_visible(store: Store) -> None:
    open_key, secret_key = AccessKey("KOR.KISA", (), ()), KISA
    store.ingest(
        "c1",
        [
            version("indicator--a", T1, open_key),
            version("indicator--a", T2, secret_key),
            version("indicator--b", T1, secret_key),
            version("indicator--c", T1, open_key),
        ],
    )
    seq_of = {key: seq for seq, key in store.access_keys().items()}
    visible = frozenset({seq_of[open_key]})
    latest = store.read_page("c1", VersionFilter(), limit=10, visible=visible)
    assert ids(latest.items) == [("indicator--a", T1), ("indicator--c", T1)]
    first = VersionFilter(versions=frozenset({"first"}))
    assert ids(store.read_page("c1", first, limit=10, visible=frozenset()).items) == []
    everything = store.read_page("c1", VersionFilter(), limit=10)
    assert ids(everything.items) == [
        ("indicator--a", T2),
        ("indicator--b", T1),
        ("indicator--c", T1),
    ]
    assert store.delete_versions("c1", VersionFilter(object_ids=("indicator--b",)), visible) == 0
    assert store.delete_versions("c1", VersionFilter(object_ids=("indicator--b",))) == 1


@pytest.mark.parametrize("merged_keys", [0, 100])
def test_pages_merge_the_ranges_of_every_key_the_reader_passes(
    store: Store, merged_keys: int
) -> None:
    """Each key's versions are read as a range of their own; ``last`` still compares versions
    across keys, and the merge keeps date order across ranges."""
    open_key, secret_key = AccessKey("KOR.KISA", (), ()), KISA
    store.ingest("c1", [version("indicator--a", T1, open_key), version("indicator--b", T1)])
    store.ingest("c1", [version("indicator--a", T2, secret_key), version("indicator--c", T1)])
    store.ingest("c1", [version("indicator--d", T1, open_key)])
    seq_of = {key: seq for seq, key in store.access_keys().items()}
    both = frozenset({seq_of[open_key], seq_of[secret_key]})
    with patch.object(store_module, "_MERGED_KEYS", merged_keys):
        latest = store.read_page("c1", VersionFilter(), limit=10, visible=both)
        every = VersionFilter(versions=frozenset({"all"}))
        first_two = store.read_page("c1", every, limit=2, visible=both)
        rest = store.read_page(
            "c1", every, limit=2, after=first_two.items[-1].date_added, visible=both
        )
    assert ids(latest.items) == [("indicator--a", T2), ("indicator--d", T1)]
    assert ids(first_two.items + rest.items) == [
        ("indicator--a", T1),
        ("indicator--a", T2),
        ("indicator--d", T1),
    ]
    assert first_two.more and not rest.more


def test_marking_definitions_are_kept_once_each(store: Store) -> None:
    definition = {
        "type": "marking-definition",
        "id": "marking-definition--1",
        "created": T1,
        "definition_type": "statement",
        "definition": {"statement": "x"},
    }
    body = orjson.dumps(definition)
    new = NewVersion(
        "marking-definition--1", "marking-definition", "2.1", T1, version_key(T1), body, NODE
    )
    store.ingest("c1", [new])
    store.create_collection(Collection("c2", "Two", "", 2))
    store.ingest("c2", [new])
    assert store.marking_definition_count() == 1
    assert store.marking_definitions() == [body]


def test_a_pulled_page_and_its_cursor_are_kept_together(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.peers.add(PeerRecord("kor", "https://kor.test/api/", b"", "", "KOR", "a", None, 0))
    subscription = SubscriptionRecord("kor", "remote-1", "c1", False)
    store.peers.subscribe(subscription)
    page = [version("indicator--a", T1, KISA), version("indicator--b", T1, KISA)]

    def pulled(page: list[NewVersion], cursor: str) -> IngestResult:
        with store.begin() as unit:
            result = unit.ingest("c1", page)
            unit.record_receipts("c1", result.added, "kor")
            unit.advance(subscription, cursor, len(result.added))
        return result

    def crash(*args: object) -> None:
        raise RuntimeError("killed between the objects and the cursor")

    with monkeypatch.context() as patched:
        patched.setattr(PeerStore, "advance", staticmethod(crash))
        with pytest.raises(RuntimeError):
            pulled(page, "2026-01-01T00:00:00.000001Z")
    assert store.read_page("c1", VersionFilter(), limit=10).items == []
    assert store.peers.subscriptions()[0].cursor is None

    first = pulled(page, "2026-01-01T00:00:00.000001Z")
    again = pulled(page, "2026-01-01T00:00:00.000002Z")
    assert len(first.added) == 2 and again.added == []
    [state] = store.peers.subscriptions()
    assert state.cursor == "2026-01-01T00:00:00.000002Z"
    assert state.objects_in == 2 and state.last_error is None and state.last_success
    assert ids(store.read_page("c1", VersionFilter(), limit=10).items) == [
        ("indicator--a", T1),
        ("indicator--b", T1),
    ]


def test_sync_cursors_never_move_back(store: Store) -> None:
    """Two syncs of one subscription may overlap; the one that read less does not win."""
    store.peers.add(PeerRecord("kor", "https://kor.test/api/", b"", "", "KOR", "a", None, 0))
    subscription = SubscriptionRecord("kor", "remote-1", "c1", True)
    store.peers.subscribe(subscription)
    with store.begin() as unit:
        unit.advance(subscription, "2026-01-01T00:00:02Z", 0)
    with store.begin() as unit:
        unit.advance(subscription, "2026-01-01T00:00:01.999999Z", 0)
    assert store.peers.subscriptions()[0].cursor == "2026-01-01T00:00:02Z"
    with store.begin() as unit:
        unit.advance(subscription, "2026-01-01T00:00:02.5Z", 0)
    assert store.peers.subscriptions()[0].cursor == "2026-01-01T00:00:02.5Z"
    store.peers.pushed(subscription, 500, 3)
    store.peers.pushed(subscription, 400, 0)
    [state] = store.peers.subscriptions()
    assert state.push_cursor == 500 and state.objects_out == 3


def test_index_rows_are_found_before_and_after_they_move_to_the_large_table(
    store: Store,
) -> None:
    """Each ingest's index rows wait in the small table until it holds ``merge_rows``, then
    move to the large one at once; lookups, the matchable values and removals see both."""
    from sqlalchemy import func, select

    from allyshare.storage.observables import observable_digest
    from allyshare.storage.schema import observables, observables_recent

    store.merge_rows = 4

    def address(n: int) -> NewVersion:
        value = f"198.51.100.{n}"
        return unversioned(f"ipv4-addr--{n:08d}-0000-4000-8000-000000000000", value)._replace(
            observables=frozenset({("ipv4-addr", value)})
        )

    def held() -> tuple[int, int]:
        with store._read.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (observables, observables_recent)
            )

    def found() -> set[str]:
        digests = [observable_digest("ipv4-addr", f"198.51.100.{n}") for n in range(10)]
        return {row.value for row in store.occurrences("c1", digests)}

    store.ingest("c1", [address(n) for n in range(3)])
    assert held() == (0, 3)
    store.ingest("c1", [address(3)])
    assert held() == (4, 0)
    store.ingest("c1", [address(n) for n in range(4, 6)])
    assert held() == (4, 2)
    assert found() == {f"198.51.100.{n}" for n in range(6)}
    [label] = set(store.access_keys())
    assert len(store.observable_values("c1", frozenset({label}))) == 6
    # A removal takes the rows of either table.
    gone = VersionFilter(object_ids=(address(0).object_id, address(5).object_id))
    assert store.delete_versions("c1", gone) == 2
    assert found() == {f"198.51.100.{n}" for n in range(1, 5)}
    assert held() == (3, 1)
    assert (
        store.expire_versions(
            "c1", store.read_page("c1", VersionFilter(), limit=10).items[-1].date_added + 1
        )
        == 4
    )
    assert held() == (0, 0) and found() == set()


def test_the_values_to_match_are_observables_alone(store: Store) -> None:
    """What sightings are of, what relationships and reports refer to and the names of named
    objects sit in the index beside the values, in either table; private matching is offered
    the values alone."""
    from allyshare.observables import NAME, REFERS_TO, SIGHTING_OF
    from allyshare.storage.observables import observable_digest

    entries = {
        ("ipv4-addr", "198.51.100.9"),
        (NAME, "198.51.100.9"),
        (NAME, "lazarus group"),
        (REFERS_TO, "malware--1"),
        (SIGHTING_OF, "malware--1"),
    }
    for n, merge_rows in enumerate((len(entries), 100)):  # to the large table, then the small
        store.merge_rows = merge_rows
        version = unversioned(f"ipv4-addr--{n:08d}-0000-4000-8000-000000000000", "x")
        store.ingest("c1", [version._replace(observables=frozenset(entries))])
    [label] = set(store.access_keys())
    assert store.observable_values("c1", frozenset({label})) == [("ipv4-addr", "198.51.100.9")]
    named = store.occurrences("c1", [observable_digest(NAME, "lazarus group")])
    assert sorted(row.object_id for row in named) == [
        f"ipv4-addr--{n:08d}-0000-4000-8000-000000000000" for n in range(2)
    ]
