"""Retention across a federation of two real node processes: once the agreement keeps what it
shares for 30 days, a clock moved past that removes exactly the expired versions on both
nodes (each by its own ``date_added``), and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from allyshare.clock import format_us
from allyshare.config import load_settings
from allyshare.demo.content import TLP_GREEN
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, VersionFilter

from support.federation import AGREEMENT, Pair, federated_pair, indicator, ok
from support.processes import cli

DAY_US = 86_400 * 1_000_000
EVERY = VersionFilter(versions=frozenset({"all"}))


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        yield both


def held(data_dir: Path, collection: str) -> dict[tuple[str, str], int]:
    """Each version the node holds in the collection, with when it added it."""
    node = Node.open(load_settings(data_dir))
    try:
        items = node.read_objects(CONSOLE, collection, EVERY, limit=10_000).items
        return {(item.object_id, item.version): item.date_added for item in items}
    finally:
        node.close()


def expiry_entries(data_dir: Path) -> list[dict[str, object]]:
    node = Node.open(load_settings(data_dir))
    try:
        entries = node.audit_entries(CONSOLE, EntryFilter(action="objects:expire"), limit=100)
        return [e for e in entries if e["action"] == "objects:expire"]
    finally:
        node.close()


def test_a_clock_past_the_retention_removes_the_expired_versions_on_both_nodes(
    pair: Pair, tmp_path: Path
) -> None:
    keeping = tmp_path / "agreement-v2.json"
    keeping.write_bytes(orjson.dumps({**AGREEMENT, "version": 2, "retention_days": 30}))
    for node in (pair.usa, pair.kor):
        ok(cli(node.data_dir, "agreement", "apply", str(keeping)))
    old = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in (1, 2)]
    pair.post(old)
    ok(cli(pair.kor.data_dir, "sync", "--quiet"))
    newer = {**old[0], "modified": "2026-03-02T00:00:00.000Z"}
    pair.post([newer, indicator(3, object_marking_refs=[TLP_GREEN])])
    ok(cli(pair.kor.data_dir, "sync", "--quiet"))
    fresh = {(newer["id"], newer["modified"]), (indicator(3)["id"], indicator(3)["modified"])}

    for node, collection in ((pair.usa, pair.usa_collection), (pair.kor, pair.kor_collection)):
        before = held(node.data_dir, collection)
        assert len(before) == 4
        last_expired = max(added for key, added in before.items() if key not in fresh)
        first_kept = min(added for key, added in before.items() if key in fresh)
        assert last_expired < first_kept
        as_of = format_us(last_expired + 30 * DAY_US + 1)
        assert "removed 0 versions" in ok(
            cli(node.data_dir, "retention", "run", "--as-of", format_us(last_expired + DAY_US))
        )
        ran = ok(cli(node.data_dir, "retention", "run", "--as-of", as_of))
        assert f"{collection}\tus-rok-tech keeps 30 days\tremoved 2 versions" in ran
        after = held(node.data_dir, collection)
        assert after == {key: added for key, added in before.items() if key in fresh}
        [entry] = expiry_entries(node.data_dir)
        assert entry["detail"] == {
            "as_of": last_expired + 30 * DAY_US + 1,
            "collections": {
                collection: {"agreement": "us-rok-tech", "retention_days": 30, "versions": 2}
            },
        }
        assert "keeps what it shares 30 days" in ok(cli(node.data_dir, "peer", "list"))
