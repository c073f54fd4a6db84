"""A serving node asked to stop (SIGTERM, as systemd and container runtimes ask) stops: in the
middle of a sync, with a peer that never answers and a client that never finishes its request,
it exits with status 0, and what it stored is whole: every page with the cursor past it, or
nothing of it.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from allyshare.clock import now_us, parse_us
from allyshare.config import load_settings
from allyshare.demo.content import TLP_GREEN
from allyshare.service import Node
from allyshare.storage import PeerRecord, SubscriptionRecord

from support.federation import AGREEMENT, Pair, federated_pair, indicator
from support.processes import serve

OBJECTS = 20_000
SYNC_EVERY = {"ALLYSHARE_SYNC_INTERVAL": "1"}
STOP_BOUND = 10.0  # seconds: a correctness bound, not a benchmark


@contextmanager
def silent_peer() -> Iterator[tuple[int, threading.Event]]:
    """A TCP server that accepts connections and reads requests but never answers; the event
    is set once a request has arrived."""
    asked = threading.Event()
    held: list[socket.socket] = []
    with closing(socket.create_server(("127.0.0.1", 0))) as server:

        def accept() -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                held.append(connection)
                if connection.recv(65536):
                    asked.set()

        threading.Thread(target=accept, daemon=True).start()
        try:
            yield server.getsockname()[1], asked
        finally:
            for connection in held:
                connection.close()


def subscribe_to(data_dir: Path, port: int, into: str) -> None:
    """Pin the silent peer directly in the store: ``peer add`` would itself wait on it."""
    node = Node.open(load_settings(data_dir))
    try:
        node.add_peer(
            PeerRecord(
                name="zz-silent",  # pulled after ``usa``
                api_root=f"http://127.0.0.1:{port}/taxii2/api/",
                certificate=b"",
                fingerprint="",
                country="USA",
                agreement_name=AGREEMENT["name"],
                signing_key=None,
                created_at=now_us(),
            )
        )
        node.subscribe(SubscriptionRecord("zz-silent", "remote", into, push=False))
    finally:
        node.close()


def stalled_request(url: str) -> socket.socket:
    """A client that sends half a POST and then nothing: a request in flight for ever."""
    host, port = url.rsplit("/", 1)[1].split(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = context.wrap_socket(socket.create_connection((host, int(port))))
    connection.sendall(
        b"POST /taxii2/api/collections/x/objects/ HTTP/1.1\r\nHost: node\r\n"
        b"Content-Type: application/taxii+json;version=2.1\r\nContent-Length: 100000\r\n\r\n{"
    )
    return connection


def stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still running {STOP_BOUND} s after SIGTERM") from None
    assert status == 0, log.read_text()[-2000:]


def rows(data_dir: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(data_dir / "allyshare.db")) as connection:
        return list(connection.execute(query))


def assert_whole(pair: Pair) -> int:
    """The KOR node holds exactly what the USA node added up to the stored cursor, each with a
    receipt; returns how many versions that is."""
    kor = pair.kor.data_dir
    [(cursor, objects_in)] = rows(
        kor, "SELECT cursor, objects_in FROM subscriptions WHERE peer_name = 'usa'"
    )
    held = set(rows(kor, "SELECT object_id, version FROM objects"))
    upto = parse_us(str(cursor)) if cursor else -1
    sent = set(
        rows(
            pair.usa.data_dir,
            f"SELECT o.object_id, o.version FROM objects o JOIN collections c "
            f"ON c.seq = o.collection_seq WHERE c.id = '{pair.usa_collection}' "
            f"AND o.date_added <= {upto}",
        )
    )
    assert held == sent
    assert rows(kor, "SELECT count(*) FROM receipts") == [(len(held),)]
    assert objects_in == len(held)
    return len(held)


def test_a_serving_node_stops_on_sigterm_mid_sync_and_with_a_silent_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
    with federated_pair(tmp_path, sync_interval=1) as pair, silent_peer() as (port, asked):
        kor_log = pair.kor.data_dir / "server.log"
        kor_port = int(pair.kor.url.rsplit(":", 1)[1])
        pair.post([indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(1, OBJECTS + 1)])
        # Stopped as soon as the first page is stored, so most of the sync is still to come.
        deadline = time.monotonic() + 120
        while not rows(pair.kor.data_dir, "SELECT 1 FROM objects LIMIT 1"):
            assert time.monotonic() < deadline, "the KOR node stored nothing in two minutes"
            time.sleep(0.01)
        stop(pair.kor.process, kor_log)
        assert_whole(pair)

        # Again, now while the sync waits on a peer that never answers and a client's request
        # never ends.
        subscribe_to(pair.kor.data_dir, port, pair.kor_collection)
        with serve(pair.kor.data_dir, SYNC_EVERY, tls=True, port=kor_port) as kor:
            assert asked.wait(120), "the KOR node never asked the silent peer"
            with closing(stalled_request(kor.url)):
                stop(kor.process, kor_log)
        assert assert_whole(pair) == OBJECTS
