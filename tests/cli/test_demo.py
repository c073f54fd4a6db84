"""``allyshare demo``: the node a newcomer starts with, read by a real TAXII client."""

from __future__ import annotations

from pathlib import Path

import pytest
from taxii2client.v21 import Server

from allyshare.cli.demo import DEMO_ANALYST, DEMO_COLLECTION, prepare_demo
from allyshare.demo.content import demo_objects

from support.processes import serve


def test_demo_node_serves_its_content_to_taxii2_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    data_dir = tmp_path / "demo"
    collection_id, _, first_token = prepare_demo(data_dir)
    again_id, _, analyst_token = prepare_demo(data_dir)
    assert again_id == collection_id and analyst_token != first_token
    with serve(data_dir) as node:
        server = Server(f"{node.url}/taxii2/", user=DEMO_ANALYST, password=analyst_token)
        [collection] = server.api_roots[0].collections
        assert collection.title == DEMO_COLLECTION
        served = collection.get_objects(limit=10000)["objects"]
        assert len(served) == len({o["id"] for o in demo_objects()})
        stale = Server(f"{node.url}/taxii2/", user=DEMO_ANALYST, password=first_token)
        with pytest.raises(Exception, match="401"):
            stale.refresh()
