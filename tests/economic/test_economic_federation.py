"""Incidents and exposures travel between two real nodes like any object: the peer receives
them as written, markings and all, and only what their markings let it have."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from allyshare.demo.content import TLP_AMBER_STRICT, TLP_GREEN

from support.economic import exposure, incident
from support.federation import NOFORN, Pair, federated_pair, ok
from support.processes import cli


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        yield both


def test_the_peer_receives_them_with_their_markings(pair: Pair) -> None:
    shared = [
        {**incident(1), "object_marking_refs": [TLP_GREEN]},
        exposure(2, object_marking_refs=[TLP_GREEN]),
        exposure(3, object_marking_refs=[TLP_GREEN], component_category="6g-ran"),
    ]
    kept = [
        exposure(6, object_marking_refs=[TLP_AMBER_STRICT]),
        {**incident(4), "object_marking_refs": [NOFORN["id"]]},
        exposure(5, object_marking_refs=[NOFORN["id"]]),
    ]
    pair.post([NOFORN, *shared, *kept])
    assert "4 new, 0 already held, 0 refused" in ok(cli(pair.kor.data_dir, "sync", "--quiet"))
    held = pair.received()
    for obj in [NOFORN, *shared]:
        assert held[obj["id"]] == obj
    assert not {obj["id"] for obj in kept} & set(held)
