"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from pathlib import Path

import orjson
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import allyshare.storage
from allyshare.storage import NODE_ORIGINATOR, AccessKey, Store, VersionFilter
from allyshare.storage.schema import metadata

MIGRATIONS = Path(allyshare.storage.__file__).parent / "migrations"


def test_migrated_database_matches_declared_schema(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    store.close()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [
            d
            for d in compare_metadata(context, metadata)
            if not (d[0] == "remove_table" and d[1].name == "alembic_version")
        ]
    engine.dispose()
    assert differences == []


def test_versions_stored_before_access_keys_get_theirs(database_url: str) -> None:
    store = Store(database_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
    statement = {
        "type": "marking-definition",
        "id": "marking-definition--1",
        "definition_type": "statement",
        "definition": {"statement": "kept"},
    }
    marked = {"type": "indicator", "id": "indicator--1", "object_marking_refs": [green]}
    engine = create_engine(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO collections (seq, id, title, description, created_at, last_added) "
                "VALUES (1, 'c1', 'One', '', 1, 3)"
            )
        )
        for added, (kind, obj) in enumerate(
            [("marking-definition", statement), ("indicator", marked)], start=1
        ):
            connection.execute(
                text(
                    "INSERT INTO objects (collection_seq, date_added, id_hash, object_id, "
                    "version_key, version, type, spec_version, is_latest, is_first, body) "
                    "VALUES (1, :added, 0, :id, '', '', :kind, '2.1', true, true, :body)"
                ),
                {"added": added, "id": obj["id"], "kind": kind, "body": orjson.dumps(obj)},
            )
    engine.dispose()
    store.migrate()
    page = store.read_page("c1", VersionFilter(), limit=10)
    keys = store.access_keys()
    assert [keys[item.label] for item in page.items] == [
        AccessKey(NODE_ORIGINATOR, (), ()),
        AccessKey(NODE_ORIGINATOR, (green,), ()),
    ]
    assert store.marking_definitions() == [orjson.dumps(statement)]
    as_reader = store.read_page("c1", VersionFilter(), limit=10, visible=frozenset(keys))
    assert as_reader == page
    store.close()


def test_the_observable_index_is_filled_for_what_was_stored_before_it(
    database_url: str, tmp_path: Path
) -> None:
    """Versions stored before the index existed (downgrade past it, upgrade again) are
    indexed by the migrations as an ingest would index them, what sightings are of, what
    relationships join and the names of named objects too."""
    from allyshare.config import Settings
    from allyshare.observables import NAME, REFERS_TO, SIGHTING_OF
    from allyshare.service import CONSOLE, Node
    from allyshare.storage.observables import observable_digest

    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    collection = node.add_collection("Feed").id
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--0d6f2a4e-0000-4000-8000-000000000001",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[domain-name:value = 'Old.Example.'] OR "
        "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    address = {"type": "ipv4-addr", "id": "ipv4-addr--0d6f2a4e-0000-4000-8000-000000000002",
               "value": "198.51.100.7"}  # fmt: skip
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--0d6f2a4e-0000-4000-8000-000000000003",
        "created": "2026-01-02T00:00:00.000Z",
        "modified": "2026-01-02T00:00:00.000Z",
        "sighting_of_ref": indicator["id"],
    }
    relationship = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--0d6f2a4e-0000-4000-8000-000000000004",
        "created": "2026-01-02T00:00:00.000Z",
        "modified": "2026-01-02T00:00:00.000Z",
        "relationship_type": "related-to",
        "source_ref": indicator["id"],
        "target_ref": address["id"],
    }
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--0d6f2a4e-0000-4000-8000-000000000005",
        "created": "2026-01-03T00:00:00.000Z",
        "modified": "2026-01-03T00:00:00.000Z",
        "name": "Old  LOADER",
        "is_family": True,
    }
    unnamed = {**malware, "id": "malware--0d6f2a4e-0000-4000-8000-000000000006",
               "is_family": False, "name": "   "}  # fmt: skip
    named_indicator = {**indicator, "id": "indicator--0d6f2a4e-0000-4000-8000-000000000007",
                       "name": "Old Loader"}  # fmt: skip
    written = [indicator, address, sighting, relationship, malware, unnamed, named_indicator]
    stored = node.add_objects(CONSOLE, collection, written)
    assert stored.success_count == 7
    node.close()
    wanted = [observable_digest("domain-name", "old.example"),
              observable_digest("ipv4-addr", "198.51.100.7"),
              observable_digest(SIGHTING_OF, indicator["id"]),
              observable_digest(REFERS_TO, address["id"]),
              observable_digest(NAME, "old loader"),
              observable_digest(NAME, "")]  # fmt: skip
    store = Store(database_url)
    inside = ("ipv4-addr", f"{0x0A000001:032x}", f"{0x0A000001:032x}")  # 10.0.0.1

    def indexed() -> set[tuple[str, str, str]]:
        found = store.occurrences(collection, wanted, [inside])
        rows = [(o.kind, o.value, o.object_id) for o in found]
        assert len(rows) == len(set(rows)), rows  # each once, in one table or the other
        return set(rows)

    before = indexed()
    assert before == {
        ("domain-name", "old.example", indicator["id"]),
        ("ipv4-addr", "10.0.0.0/8", indicator["id"]),
        ("ipv4-addr", "198.51.100.7", address["id"]),
        (SIGHTING_OF, indicator["id"], sighting["id"]),
        (REFERS_TO, address["id"], relationship["id"]),
        (NAME, "old loader", malware["id"]),
        ("domain-name", "old.example", named_indicator["id"]),
        ("ipv4-addr", "10.0.0.0/8", named_indicator["id"]),
    }
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Back to before the references and names only (the rows just ingested wait in the small
    # table), and to before the index.
    for target in ("0015", "0009"):
        engine = create_engine(database_url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, target)
        engine.dispose()
        store.migrate()
        assert indexed() == before
    store.close()
