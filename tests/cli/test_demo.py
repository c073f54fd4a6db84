"""``allyshare demo``: the node a newcomer starts with, read by a real TAXII client."""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from taxii2client.v21 import Server

from allyshare.cli.demo import DEMO_ANALYST, SHOWCASE_READERS, prepare_demo
from allyshare.cli.main import main
from allyshare.config import load_settings
from allyshare.demo.community import COLLECTIONS, USERS
from allyshare.demo.marked import CISA_FAB_VALUES, RELEASED_INDICATOR, SHOWCASE_ID, fab_intrusion
from allyshare.policy import REDACTED_PROPERTY
from allyshare.service import Node
from allyshare.storage import VersionFilter

from support.federation import TAXII
from support.processes import cli, free_port, let_requests_pin, pinned_context, serve


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
    assert "USA node at https://127.0.0.1:6100/taxii2/" in printed
    assert "KOR node at https://127.0.0.1:6101/taxii2/" in printed
    for collection in COLLECTIONS:
        assert collection.title in printed
    for user in USERS:
        assert user.name in printed and user.member.id in printed
    assert f"curl --cacert {data_dir / 'usa' / 'node.crt'} -u '{DEMO_ANALYST}:" in printed
    assert f"curl --cacert {data_dir / 'kor' / 'node.crt'} -u 'jiwoo@kisa:" in printed
    assert SHOWCASE_ID in printed
    for port in (6100, 6101):
        for view in ("coercion", "supply-chain"):
            assert f"https://127.0.0.1:{port}/ui/views/{view}" in printed
            assert f"https://127.0.0.1:{port}/api/v1/views/{view}" in printed
    views_scene(printed, data_dir, capsys)
    assert main(["demo", "--data-dir", str(data_dir / "usa"), "--no-serve"]) == 1
    assert "one-node demo from an earlier version" in capsys.readouterr().err


def views_scene(printed: str, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The ``allyshare views`` commands the demo prints answer from the USA node as it
    says: a shown cell and suppressed ones, the 5G concentration, and the pattern alert."""
    scene = printed.split("cross-member views", 1)[1]
    coercion, supply, alerts = [
        shlex.split(line) for line in scene.splitlines() if line.strip().startswith("allyshare")
    ]
    answers = []
    for words in (coercion, supply, alerts):
        assert str(data_dir / "usa") in words
        assert main(words[1:]) == 0
        answers.append(capsys.readouterr().out)
    cells, concentration, alert = answers
    assert re.search(r"CHN .* export-restriction .* rare-earths .* 2025-Q2 .* 3 ", cells)
    assert re.search(r"CHN .* rare-earths .* 2010-Q3 .* suppressed", cells)
    # A table's caption wraps to the table's width.
    assert "HHI of the shown lines: vendors 3,050" in " ".join(concentration.split())
    assert "photoresists: suppressed" in concentration
    assert alert.endswith(
        "CHN applied export-restriction to USA (2024-12, 2025-04, 2025-10) and KOR (2025-04, "
        "2025-10) within 12 months\n"
    )


def test_the_demo_nodes_sync_what_may_cross_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``allyshare demo`` as a newcomer runs it: two nodes, and the KOR one fills from the USA
    one with what the agreement and markings let leave: the ORCON showcase report because its
    originator approved it for the KOR node, and without its NOFORN description. SIGTERM stops
    both with exit status 0."""
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    data_dir = tmp_path / "demo"
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allyshare.cli.main",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        # Both nodes built and peered first: before that their databases are being written.
        while "KOR node: pulling" not in (tmp_path / "demo.log").read_text():
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            assert time.monotonic() < deadline, "the demo did not peer its nodes in 3 minutes"
            time.sleep(0.2)
        while SHOWCASE_ID not in {object_id for object_id, _ in received(data_dir)}:
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            assert time.monotonic() < deadline, "no showcase report on the KOR node in 3 minutes"
            time.sleep(0.5)
        time.sleep(1)
        usa = Node.open(load_settings(data_dir / "usa"))
        try:
            originals = {
                (item.object_id, item.version): orjson.loads(item.body)
                for item in usa._store.iter_versions(
                    _collection_titled(usa, "Cyber threats"), VersionFilter()
                )
            }
        finally:
            usa.close()
        held = received(data_dir)
        written_on_kor = {written.obj["id"] for batch in fab_intrusion() for written in batch}
        # Hanbit's match-only indicators stay on the KOR node.
        indicators = {object_id for object_id, _ in originals if object_id.startswith("indicator")}
        assert not indicators & written_on_kor
        held = {key: copy for key, copy in held.items() if key[0] not in written_on_kor}
        assert held.keys() <= originals.keys()
        [showcase] = [copy for (object_id, _), copy in held.items() if object_id == SHOWCASE_ID]
        assert showcase[REDACTED_PROPERTY] == ["description"]
        for key, copy in held.items():
            original = originals[key]
            # A redacted copy also drops the marking entries of what it removed.
            rewritten = {REDACTED_PROPERTY, "granular_markings"}
            assert {k: v for k, v in copy.items() if k not in rewritten} == {
                k: v for k, v in original.items() if k in copy and k not in rewritten
            }
            for entry in copy.get("granular_markings", []):
                assert entry in original["granular_markings"]
        # The commands the demo prints for the showcase on the KOR node do what it says.
        printed = (tmp_path / "demo.log").read_text()
        kisa, motie = re.findall(rf"-u '([^']+)' .* (\S+/objects/{SHOWCASE_ID}/)", printed)[-2:]
        verify = pinned_context(data_dir / "kor" / "node.crt")
        for (credentials, url), status in ((kisa, 200), (motie, 404)):
            name, token = credentials.split(":")
            answer = httpx.get(url, auth=(name, token), headers={"Accept": TAXII}, verify=verify)
            assert answer.status_code == status, (name, answer.text)
        private_matching_scene(printed, data_dir, deadline)
        views_api_scene(printed, data_dir)
        # Asked to stop, as a service manager asks, both nodes stop, syncing or not.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, (tmp_path / "demo.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def run_printed(line: str, data_dir: Path) -> httpx.Response:
    """One curl command the demo printed, sent as curl would send it."""
    words = shlex.split(line)
    assert words[0] == "curl", line
    headers: dict[str, str] = {}
    content: bytes | None = None
    auth: tuple[str, str] | None = None
    verify: Any = True
    position = 1
    while position < len(words) - 1:
        flag, value = words[position], words[position + 1]
        if flag == "--cacert":
            verify = pinned_context(Path(value))
        elif flag == "-u":
            name, token = value.split(":")
            auth = (name, token)
        elif flag == "-H":
            header, said = value.split(": ", 1)
            headers[header] = said
        elif flag in ("-d", "--data-binary"):
            content = Path(value[1:]).read_bytes() if value.startswith("@") else value.encode()
        else:
            raise AssertionError(f"the test does not know curl's {flag}")
        position += 2
    assert str(data_dir) in line
    method = "POST" if content is not None else "GET"
    return httpx.request(
        method, words[-1], content=content, headers=headers, auth=auth, verify=verify, timeout=120
    )


def private_matching_scene(printed: str, data_dir: Path, deadline: float) -> None:
    """The commands the demo prints for private matching do what it says: CISA learns the
    two values Hanbit also saw, Hanbit sees the contact request and the count, releases one
    indicator, and CISA reads it on the USA node within a sync."""
    scene = printed.split("private matching across the nodes", 1)[1]
    match, contacts, trail, release, approval, read = [
        line.strip() for line in scene.splitlines() if line.strip().startswith("curl")
    ]
    answer = run_printed(match, data_dir)
    assert answer.status_code == 200, answer.text
    assert answer.json()["matched"] == list(CISA_FAB_VALUES[:2])
    [contact] = run_printed(contacts, data_dir).json()["contacts"]
    assert contact["from_organization"] == "USA.CISA"
    assert RELEASED_INDICATOR in contact["objects"] and len(contact["objects"]) == 2
    details = [entry["detail"] for entry in run_printed(trail, data_dir).json()["entries"]]
    assert {"organization": "USA.CISA", "asked": 5, "matched": 2} in details
    assert run_printed(release, data_dir).json()["success_count"] == 2
    assert run_printed(approval, data_dir).status_code == 201
    while (shown := run_printed(read, data_dir)).status_code != 200:
        assert time.monotonic() < deadline, "the released indicator did not reach the USA node"
        time.sleep(0.5)
    [indicator] = shown.json()["objects"]
    assert indicator["pattern"] == "[domain-name:value = 'update.euv-toolpartner.example']"


def views_api_scene(printed: str, data_dir: Path) -> None:
    """The views' API lines the demo prints answer on both nodes; the Korean reader's has no
    cell of the NOFORN incident."""
    scene = printed.split("cross-member views", 1)[1].split("private matching", 1)[0]
    lines = [line.strip() for line in scene.splitlines() if line.strip().startswith("curl")]
    assert len(lines) == 4
    usa_cells, usa_supply, kor_cells, kor_supply = (run_printed(line, data_dir) for line in lines)
    for answer in (usa_cells, usa_supply, kor_cells, kor_supply):
        assert answer.status_code == 200, answer.text
    noforn = ("CHN", "regulatory-investigation", "semiconductors", "2023-Q1")

    def keys(answer: httpx.Response) -> set[tuple[str, ...]]:
        return {
            (c["coercing_state"], c["measure"], c["sector"], c["quarter"])
            for c in answer.json()["cells"]
        }

    assert noforn in keys(usa_cells) and noforn not in keys(kor_cells)
    for answer in (usa_cells, kor_cells):
        assert any(cell["suppressed"] for cell in answer.json()["cells"])
        assert any(not cell["suppressed"] for cell in answer.json()["cells"])
    [ran] = [c for c in usa_supply.json()["categories"] if c["category"] == "5g-ran"]
    assert ran["vendor_hhi"] == 3050.0


def received(data_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The KOR node's cyber-threat collection, read as the node itself."""
    node = Node.open(load_settings(data_dir / "kor"))
    try:
        return {
            (item.object_id, item.version): orjson.loads(item.body)
            for item in node._store.iter_versions(
                _collection_titled(node, "Cyber threats"), VersionFilter()
            )
        }
    finally:
        node.close()


def _collection_titled(node: Node, title: str) -> str:
    [found] = [c.id for c in node._store.list_collections() if c.title == title]
    return found


@pytest.mark.parametrize("busy", [0, 1])
def test_the_demo_on_a_busy_port_says_so_before_printing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busy: int
) -> None:
    """Either of its two ports (P, P+1) taken: one line naming it, no URL, token or
    traceback, and no demo made."""
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1] - busy
        refused = cli(tmp_path / "demo", "demo", "--port", str(port))
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"allyshare: error: port {port + busy} on 127.0.0.1 is already in use by another "
        "program; choose others with --port P (the demo serves on P and P+1)"
    ]
    assert not (tmp_path / "demo").exists()
