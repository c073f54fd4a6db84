"""The cross-member views on each node of a federation agree on the data both hold: two real
nodes, incidents and exposures written on the USA node by three of its organizations (each
naming itself as author, so the peer learns which organization wrote what), synced to the KOR node;
readers of the same standing ask each node over HTTP and get the same cells, suppressed the
same way. A NOFORN incident stays on the USA node, so only an American reader there counts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from allyshare.community import identity_of
from allyshare.demo.content import TLP_GREEN

from support.economic import exposure, incident
from support.federation import NOFORN, Pair, federated_pair, ok
from support.processes import RunningNode, cli, pinned_context

WRITERS = ("ACME", "BOLT", "USGOV")
RARE_EARTHS = ("CHN", "export-restriction", "rare-earths", "2023-Q3")


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path) as both:
        yield both


def member(data_dir: Path, name: str, country: str, role: str) -> tuple[str, str]:
    """A new organization with one user of ``role``: (organization id, token)."""
    organization = ok(cli(data_dir, "org", "add", name, "--country", country, "--kind", "company"))
    token = ok(cli(data_dir, "user", "add", name.lower(), "--org", organization, "--role", role))
    return organization, token


def authored(obj: dict[str, Any], organization: str, *markings: str) -> dict[str, Any]:
    return {
        **obj,
        "created_by_ref": identity_of(organization),
        "object_marking_refs": list(markings or (TLP_GREEN,)),
    }


def rare_earths(number: int, target: str, start: str, low: int) -> dict[str, Any]:
    return incident(
        number,
        targeted_country=target,
        measures=["export-restriction"],
        targeted_sectors=["rare-earths"],
        start=start,
        end=None,
        estimated_impact={"currency": "USD", "min": low, "max": 2 * low, "basis": "exports"},
    )


def view(node: RunningNode, token: str, name: str) -> dict[str, Any]:
    response = httpx.get(
        f"{node.url}/api/v1/views/{name}",
        headers={"Authorization": f"Bearer {token}"},
        verify=pinned_context(node.data_dir / "node.crt"),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def cells(view: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {
        (c["coercing_state"], c["measure"], c["sector"], c["quarter"]): c for c in view["cells"]
    }


def test_the_views_agree_on_both_nodes_and_noforn_counts_only_where_it_is(pair: Pair) -> None:
    usa, kor = pair.usa.data_dir, pair.kor.data_dir
    writers = {name: member(usa, name, "USA", "contributor") for name in WRITERS}
    organization = {name: found[0] for name, found in writers.items()}
    written: dict[str, list[dict[str, Any]]] = {
        "ACME": [
            authored(rare_earths(1, "KOR", "2023-07-03T00:00:00Z", 10), organization["ACME"]),
            authored(
                exposure(11, vendor_name="Ericsson", vendor_country="SWE", share=0.6),
                organization["ACME"],
            ),
        ],
        "BOLT": [
            authored(rare_earths(2, "USA", "2023-09-12T00:00:00Z", 20), organization["BOLT"]),
            authored(
                exposure(12, vendor_name="Ericsson", vendor_country="SWE", share=0.5),
                organization["BOLT"],
            ),
            # A boycott only BOLT reports: a cell of one organization, suppressed.
            authored(
                incident(5, measures=["boycott"], start="2017-03-02T00:00:00Z"),
                organization["BOLT"],
            ),
        ],
        "USGOV": [
            authored(rare_earths(3, "JPN", "2023-08-01T00:00:00Z", 40), organization["USGOV"]),
            authored(
                exposure(13, vendor_name="Ericsson", vendor_country="SWE", share=0.8),
                organization["USGOV"],
            ),
            # NOFORN: never sent to the KOR node, never counted for a Korean reader.
            authored(
                rare_earths(4, "USA", "2023-08-20T00:00:00Z", 1000),
                organization["USGOV"],
                TLP_GREEN,
                NOFORN["id"],
            ),
        ],
    }
    pair.post([NOFORN])
    for name, objects in written.items():
        pair.post(objects, writers[name][1])
    ok(cli(kor, "sync", "--quiet"))
    held = pair.received()
    assert incident(4)["id"] not in held
    assert {obj["id"] for objects in written.values() for obj in objects} - set(held) == {
        incident(4)["id"]
    }
    readers = {
        ("usa", "USA"): member(usa, "USREADER", "USA", "reader")[1],
        ("usa", "KOR"): member(usa, "KRREADER", "KOR", "reader")[1],
        ("kor", "USA"): member(kor, "USREADER", "USA", "reader")[1],
        ("kor", "KOR"): member(kor, "KRREADER", "KOR", "reader")[1],
    }
    nodes = {"usa": pair.usa, "kor": pair.kor}
    seen = {
        (where, standing, name): view(nodes[where], token, name)
        for (where, standing), token in readers.items()
        for name in ("coercion", "supply-chain")
    }

    # Over the data both hold, readers of the same standing see the same on either node.
    for name in ("coercion", "supply-chain"):
        assert seen["usa", "KOR", name] == seen["kor", "KOR", name]
        assert seen["kor", "USA", name] == seen["kor", "KOR", name]
    assert seen["usa", "USA", "supply-chain"] == seen["kor", "USA", "supply-chain"]
    [ran] = seen["kor", "KOR", "supply-chain"]["categories"]
    assert ran["members"] == 3 and not ran["suppressed"]

    # Where both hold the cell: three incidents of three organizations; the boycott is one
    # organization's on both nodes, so suppressed on both.
    shared = cells(seen["kor", "USA", "coercion"])
    assert shared[RARE_EARTHS]["incidents"] == 3
    assert shared[RARE_EARTHS]["organizations"] == 3
    assert shared[RARE_EARTHS]["impact"] == [
        {"currency": "USD", "suppressed": False, "min": 70, "max": 140, "organizations": 3}
    ]
    boycott = ("CHN", "boycott", "tourism", "2017-Q1")
    assert shared[boycott] == {
        "coercing_state": "CHN",
        "measure": "boycott",
        "sector": "tourism",
        "quarter": "2017-Q1",
        "suppressed": True,
    }

    # The NOFORN incident is counted on its own node, for its American reader only.
    home = cells(seen["usa", "USA", "coercion"])
    assert home.keys() == shared.keys()
    assert {key: c for key, c in home.items() if key != RARE_EARTHS} == {
        key: c for key, c in shared.items() if key != RARE_EARTHS
    }
    assert home[RARE_EARTHS]["incidents"] == 4
    assert home[RARE_EARTHS]["organizations"] == 3
    assert home[RARE_EARTHS]["impact"] == [
        {"currency": "USD", "suppressed": False, "min": 1070, "max": 2140, "organizations": 3}
    ]
