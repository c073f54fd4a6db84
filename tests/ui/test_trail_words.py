"""The trail's words for audit entries as an organization's view of the log gives them, and
which partners' cosigned checkpoints cover each entry."""

from __future__ import annotations

from typing import Any

from allyshare.ui.trail import described, witnessed_up_to

REPORT = "report--7d2d2b4f-0000-4000-8000-000000000010"
OTHER = "indicator--7d2d2b4f-0000-4000-8000-000000000011"


def entry(seq: int, action: str, **rest: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "recorded_at": 1_800_000_000_000_000,
        "action": action,
        "actor": {"name": "morgan", "kind": "user", "organization": "USA.CISA"},
        "outcome": "allowed",
        **rest,
    }


def test_a_pull_by_a_peer_says_where_the_versions_went_and_what_was_withheld() -> None:
    pulled = entry(
        7,
        "objects:send",
        actor={"name": "kor", "kind": "peer"},
        peer="kor",
        outcome="partial",
        objects={"USA.CISA": [[REPORT, "v1", ["description"]], [OTHER, "v2"]]},
    )
    [line] = described([pulled], {})
    assert line.said == "peer node kor pulled 2 versions: they went to that node"
    assert line.withheld == ["description"]
    assert line.who == "peer node kor"
    [one] = described([pulled], {}, REPORT)
    assert one.objects == [(REPORT, "v1")]
    assert one.said == "peer node kor pulled 1 version: they went to that node"


def test_matches_say_who_matched_how_many() -> None:
    here = entry(3, "objects:match", detail={"asked": 5, "matched_of_yours": 2})
    there = entry(
        4,
        "objects:match",
        actor={"name": "usa", "kind": "peer"},
        peer="usa",
        detail={"organization": "USA.CISA", "asked": 5, "matched": 2},
    )
    said = [line.said for line in described([here, there], {})]
    assert said == [
        "morgan (USA.CISA) matched 2 of 5 values against yours",
        "USA.CISA, through peer node usa, matched 2 of 5 values against what it may match here",
    ]


def test_an_entry_is_witnessed_by_the_partners_whose_checkpoints_cover_it() -> None:
    witnessed = witnessed_up_to(
        [
            {"witness": "kor", "size": 5},
            {"witness": "kor", "size": 9},
            {"witness": "jpn", "size": 8},
        ]
    )
    assert witnessed == {"kor": 9, "jpn": 8}
    lines = described([entry(seq, "objects:read") for seq in (7, 8, 9)], witnessed)
    assert [line.witnesses for line in lines] == [["jpn", "kor"], ["kor"], []]
