"""``allyshare demo``: the node a newcomer starts with, read by a real TAXII client."""

from __future__ import annotations

from pathlib import Path

import pytest
from taxii2client.v21 import Server

from allyshare.cli.demo import DEMO_ANALYST, SHOWCASE_READERS, prepare_demo
from allyshare.cli.main import main
from allyshare.demo.community import COLLECTIONS, USERS
from allyshare.demo.marked import SHOWCASE_ID

from support.processes import let_requests_pin, serve


def test_demo_node_serves_the_community_to_taxii2_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    let_requests_pin(monkeypatch)
    data_dir = tmp_path / "demo"
    first, _ = prepare_demo(data_dir)
    again, _ = prepare_demo(data_dir)
    assert again.collections == first.collections
    assert again.organizations == first.organizations
    assert set(again.tokens) == {user.name for user in USERS}
    assert all(again.tokens[name] != first.tokens[name] for name in again.tokens)
    cyber = again.collections["cyber-threat"]
    certificate = str(data_dir / "node.crt")
    with serve(data_dir, tls=True) as node:

        def server(name: str, token: str) -> Server:
            return Server(f"{node.url}/taxii2/", user=name, password=token, verify=certificate)

        analyst = server(DEMO_ANALYST, again.tokens[DEMO_ANALYST])
        titles = {collection.title for collection in analyst.api_roots[0].collections}
        assert titles == {collection.title for collection in COLLECTIONS}
        korean = server("jiwoo@kisa", again.tokens["jiwoo@kisa"])
        assert {collection.id for collection in korean.api_roots[0].collections} == {
            again.collections[c.key] for c in COLLECTIONS if c.key != "usa-national"
        }
        answers = []
        for name in SHOWCASE_READERS:
            [collection] = [
                c
                for c in server(name, again.tokens[name]).api_roots[0].collections
                if c.id == cyber
            ]
            answers.append(collection.get_objects(id=SHOWCASE_ID).get("objects", []))
        assert [len(answer) for answer in answers] == [1, 1, 1, 0]
        assert len({repr(answer) for answer in answers}) == 4
        stale = server(DEMO_ANALYST, first.tokens[DEMO_ANALYST])
        with pytest.raises(Exception, match="401"):
            stale.refresh()


def test_demo_prints_where_to_go_and_who_to_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    data_dir = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(data_dir), "--no-serve"]) == 0
    printed = capsys.readouterr().out
    assert "https://127.0.0.1:6100/taxii2/" in printed
    for collection in COLLECTIONS:
        assert collection.title in printed
    for user in USERS:
        assert user.name in printed and user.member.id in printed
    assert f"curl --cacert {data_dir / 'node.crt'} -u '{DEMO_ANALYST}:" in printed
    assert SHOWCASE_ID in printed
