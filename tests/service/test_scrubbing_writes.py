"""Personal data scrubbing through the service, on SQLite and PostgreSQL: under an agreement
with ``scrub_pii`` the values never reach the database, the writer is told which fields were
touched, the audit log records the scrub without a value, and what a peer sends is scrubbed
as a member's write is."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, text

from allyshare.clock import now_us
from allyshare.config import Settings
from allyshare.errors import NotFound
from allyshare.service import CONSOLE, Node
from allyshare.sources.scrubbing import PLACEHOLDERS
from allyshare.storage import EntryFilter, PeerRecord, SubscriptionRecord, User, VersionFilter

from support.agreements import us_rok_tech

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
EVERY = VersionFilter(versions=frozenset({"all"}))
AGREEMENT = us_rok_tech(categories=["cyber-threat"], scrub_pii=True)
SECRETS = (b"analyst.kim@hanbit.example", b"010-4321-8765", b"Kim Min-jun")


def _stix(kind: str, number: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{number:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "object_marking_refs": [TLP_GREEN],
        **properties,
    }


def submission() -> list[dict[str, Any]]:
    return [
        _stix(
            "identity",
            1,
            name="Kim Min-jun",
            identity_class="individual",
            contact_information="analyst.kim@hanbit.example, 010-4321-8765",
        ),
        _stix(
            "report",
            2,
            name="Phishing of Kim Min-jun",
            published="2026-01-01T00:00:00Z",
            description="Lures sent to analyst.kim@hanbit.example; callback 010-4321-8765.",
            object_refs=["indicator--00000003-0000-4000-8000-000000000000"],
        ),
        _stix(
            "indicator",
            3,
            pattern="[email-addr:value = 'lure@phish.example']",
            pattern_type="stix",
            valid_from="2026-01-01T00:00:00Z",
            description="Sender of the lures",
        ),
    ]


@dataclass
class Site:
    node: Node
    collection: str
    hanbit: User
    kisa: User
    database_url: str

    def bodies(self, reader: User) -> dict[str, dict[str, Any]]:
        items = self.node.read_objects(reader, self.collection, EVERY, limit=1000).items
        return {body["id"]: body for body in (orjson.loads(i.body) for i in items)}

    def stored_bytes(
        self, tables: tuple[str, ...] = ("objects", "statuses", "audit_entries", "audit_about")
    ) -> bytes:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return b"".join(
                    bytes(cell) if isinstance(cell, (bytes, memoryview)) else str(cell).encode()
                    for table in tables
                    for row in connection.execute(text(f"SELECT * FROM {table}"))
                    for cell in row
                )
        finally:
            engine.dispose()


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="KOR"))
    hanbit = node.add_organization("HANBIT", country="KOR", kind="company")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    node.apply_agreement(AGREEMENT)
    collection = node.add_collection("Shared", agreement="us-rok-tech").id
    node.add_user("hanbit-analyst", organization=hanbit, roles=["contributor"])
    node.add_user("kisa", organization=kisa, roles=["reader"])
    yield Site(node, collection, node.user("hanbit-analyst"), node.user("kisa"), database_url)
    node.close()


def test_personal_data_never_reaches_the_database(site: Site) -> None:
    status = site.node.add_objects(site.hanbit, site.collection, submission())
    assert status.success_count == 3, status.failures
    bodies = site.bodies(site.kisa)
    individual = bodies["identity--00000001-0000-4000-8000-000000000000"]
    assert individual["name"] == PLACEHOLDERS["person name"]
    assert individual["contact_information"] == PLACEHOLDERS["contact information"]
    report = bodies["report--00000002-0000-4000-8000-000000000000"]
    assert report["name"] == f"Phishing of {PLACEHOLDERS['person name']}"
    assert report["description"] == (
        f"Lures sent to {PLACEHOLDERS['e-mail address']}; callback {PLACEHOLDERS['phone number']}."
    )
    indicator = bodies["indicator--00000003-0000-4000-8000-000000000000"]
    assert indicator["pattern"] == "[email-addr:value = 'lure@phish.example']"
    stored = site.stored_bytes()
    for secret in SECRETS:
        assert secret not in stored


def test_the_status_names_the_fields_touched_and_not_the_values(site: Site) -> None:
    status = site.node.add_objects(site.hanbit, site.collection, submission())
    messages = {s["id"].split("--")[0]: s["message"] for s in status.successes}
    assert messages["identity"] == (
        "stored; personal data replaced in name (person name), "
        "contact_information (contact information)"
    )
    assert messages["report"] == (
        "stored; personal data replaced in description (e-mail address, phone number), "
        "name (person name)"
    )
    assert messages["indicator"] == "stored"
    assert status.id == site.node.status(site.hanbit, status.id).id


def test_each_scrub_is_an_audit_entry_without_a_value(site: Site) -> None:
    site.node.add_objects(site.hanbit, site.collection, submission())
    [entry] = site.node.audit_entries(CONSOLE, EntryFilter(action="objects:scrub"), limit=10)
    assert entry["collection"] == site.collection
    assert sorted(ref[0] for refs in entry["objects"].values() for ref in refs) == [
        "identity--00000001-0000-4000-8000-000000000000",
        "report--00000002-0000-4000-8000-000000000000",
    ]
    assert entry["detail"] == {
        "fields": {"contact_information": 1, "description": 1, "name": 2},
        "kinds": {
            "contact information": 1,
            "e-mail address": 1,
            "person name": 2,
            "phone number": 1,
        },
    }
    # The writer's organization follows it in its own trail.
    own = site.node.audit_entries(site.hanbit, EntryFilter(action="objects:scrub"), limit=10)
    assert [e["seq"] for e in own] == [entry["seq"]]


def test_without_the_term_nothing_is_scrubbed_and_a_new_version_takes_effect_at_once(
    site: Site,
) -> None:
    node = site.node
    node.apply_agreement({**AGREEMENT, "version": 2, "scrub_pii": False})
    kept = node.add_objects(site.hanbit, site.collection, submission()[1:2])
    assert kept.successes[0]["message"] == "stored"
    assert b"analyst.kim@hanbit.example" in orjson.dumps(site.bodies(site.kisa))
    node.apply_agreement({**AGREEMENT, "version": 3})
    later = _stix("note", 9, content="ring 010-4321-8765", object_refs=[kept.successes[0]["id"]])
    node.add_objects(site.hanbit, site.collection, [later])
    note = site.bodies(site.kisa)[later["id"]]
    assert note["content"] == f"ring {PLACEHOLDERS['phone number']}"


def test_anonymous_and_scrubbed_together(site: Site) -> None:
    """Neither the personal data nor the writer is stored in the clear; only its writer
    reads the status of an anonymous write."""
    status = site.node.add_objects(site.hanbit, site.collection, submission(), anonymous=True)
    assert status.success_count == 3
    assert site.node.status(site.hanbit, status.id).success_count == 3
    with pytest.raises(NotFound):
        site.node.status(site.kisa, status.id)
    stored = site.stored_bytes(("objects", "statuses", "sealed_sources"))
    for secret in (*SECRETS, b"hanbit-analyst"):
        assert secret not in stored


def test_what_a_peer_sends_is_scrubbed_on_receipt(site: Site) -> None:
    node = site.node
    node.add_peer(
        PeerRecord(
            "dc", "https://dc.example/taxii2/api/", b"", "", "USA", "us-rok-tech", None, now_us()
        )
    )
    subscription = SubscriptionRecord("dc", "remote", site.collection, push=False)
    node.subscribe(subscription)
    received = node.receive(subscription, node.peer("dc"), submission(), "cursor-1")
    assert received.stored == 3, received.refused
    for secret in SECRETS:
        assert secret not in site.stored_bytes()
    [entry] = node.audit_entries(CONSOLE, EntryFilter(action="objects:scrub"), limit=10)
    assert entry["actor"]["name"] == "dc"
