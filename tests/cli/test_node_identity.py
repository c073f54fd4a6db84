"""The node's identity: its certificate, the fingerprint partners pin, and HTTPS by default."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import httpx
import pytest

from allyshare.cli.main import main
from allyshare.errors import InvalidInput
from allyshare.keys import ensure_tls_identity, fingerprint, parse_fingerprint

from support.processes import cli, free_port, pinned_context, serve


def test_init_makes_a_certificate_and_node_show_prints_its_fingerprint(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stat.S_IMODE((node_dir / "tls.key").stat().st_mode) == 0o600
    assert main(["node", "show", "--data-dir", str(node_dir)]) == 0
    shown = capsys.readouterr().out
    expected = fingerprint((node_dir / "node.crt").read_bytes())
    assert f"SHA256:{expected}" in shown
    assert parse_fingerprint(f"SHA256:{expected}") == expected
    assert parse_fingerprint(expected.replace(":", "").lower()) == expected


@pytest.mark.parametrize("text", ["", "AB:CD", "zz" * 32, "SHA1:" + "ab" * 20])
def test_a_fingerprint_that_is_not_sha256_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a SHA-256 certificate fingerprint"):
        parse_fingerprint(text)


def test_half_a_tls_identity_is_not_silently_replaced(tmp_path: Path) -> None:
    files = ensure_tls_identity(tmp_path, "usa")
    files.private_key.unlink()
    with pytest.raises(InvalidInput, match=r"only one of node\.crt and tls\.key"):
        ensure_tls_identity(tmp_path, "usa")


def test_plain_http_only_on_loopback(node_dir: Path) -> None:
    refused = cli(node_dir, "serve", "--plain-http", "--host", "0.0.0.0")  # noqa: S104
    assert refused.returncode == 1
    assert "only on a loopback address" in refused.stderr


def test_serves_https_that_a_client_pinning_the_certificate_accepts(
    node_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    other = ensure_tls_identity(tmp_path / "other", "other")
    with serve(node_dir, tls=True) as node:
        assert node.url.startswith("https://")
        pinned = pinned_context(node_dir / "node.crt")
        assert httpx.get(f"{node.url}/taxii2/", verify=pinned).status_code == 401
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{node.url}/taxii2/", verify=pinned_context(other.certificate))
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(node.url.replace("https://", "http://") + "/taxii2/")


def test_serve_says_where_it_listens_and_node_show_what_is_configured(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin = fingerprint((node_dir / "node.crt").read_bytes())
    port = free_port()
    with serve(node_dir, tls=True, port=port) as node:
        url = f"https://127.0.0.1:{port}/"
        assert node.url + "/" == url
        logged = (node_dir / "server.log").read_text().splitlines()
        printed = [line for line in logged if not line.startswith("{")]  # JSON: the logs
        assert printed[:3] == [
            f"node 'us' serving at {url}",
            f"  TAXII 2.1 {url}taxii2/, management API {url}api/v1/ (docs {url}docs)",
            f"  certificate SHA256:{pin} ({node_dir / 'node.crt'})",
        ]
    assert main(["node", "show", "--data-dir", str(node_dir)]) == 0
    shown = capsys.readouterr().out
    assert "configured address        https://127.0.0.1:6100/" in shown
    assert "(serve --host/--port override it; serve prints where it listens)" in shown
    assert "listens on" not in shown


def test_serve_on_a_busy_port_is_one_line(node_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = cli(node_dir, "serve", "--port", str(port))
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"allyshare: error: port {port} on 127.0.0.1 is already in use by another program; "
        "choose another with --port (or [server] port in allyshare.toml)"
    ]
