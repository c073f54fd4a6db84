"""The two servers under test, each a separate process on 127.0.0.1 with a fresh data dir.

allyshare is set up through its own CLI. medallion (the OASIS reference TAXII 2.1 server) runs
from its own venv in bench/work, with its memory backend and a config built here; it is never a
dependency of the project.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from allyshare import config as _package_module
from taxii_http import HOST, BenchError, Client

MEDALLION = "medallion==3.0.0"
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0


@dataclass
class Server:
    """A server process; ``durable`` servers keep their objects across a restart. ``env``
    is added to the process's environment (``PYTHONPATH`` runs another checkout's code)."""

    name: str
    command: list[str]
    workdir: Path
    port: int
    objects_path: str
    headers: dict[str, str]
    durable: bool
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    peak_kb: int = field(default=0)

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def client(self) -> Client:
        return Client(self.port, self.headers)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )
        probe = self.client()
        deadline = time.monotonic() + _START_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchError(f"{self.name} exited at start-up:\n{self.log_tail()}")
                try:
                    if probe.call("GET", "/taxii2/", None, timeout=5.0).status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.2)
        finally:
            probe.close()
        raise BenchError(f"{self.name} did not answer within {_START_TIMEOUT:.0f} s")

    def peak_rss_mb(self) -> float:
        """The process's RSS high-water mark (VmHWM), folded into the peak over restarts."""
        if self.process is not None and self.process.poll() is None:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        return self.peak_kb / 1024

    def stop(self) -> None:
        if self.process is None:
            return
        self.peak_rss_mb()
        self.process.terminate()
        try:
            self.process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _listen(port: int) -> list[str]:
    return ["--host", HOST, "--port", str(port)]


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


_ALLYSHARE = [sys.executable, "-m", "allyshare.cli.main"]


def allyshare(workdir: Path, env: dict[str, str] | None = None) -> Server:
    """A node set up and served with ``env`` added to each process's environment."""
    env = env or {}
    data = workdir / "node"
    _allyshare_cli("init", "--data-dir", str(data), "--country", "USA", "--name", "bench", env=env)
    collection = _allyshare_cli("collection", "add", "bench", "--data-dir", str(data), env=env)
    token = _allyshare_cli("user", "add", "bench", "--admin", "--data-dir", str(data), env=env)
    port = free_port()
    return Server(
        name="allyshare",
        # Plain HTTP on loopback, as medallion is served: the comparison is of TAXII, not TLS.
        command=[*_ALLYSHARE, "serve", "--plain-http", "--data-dir", str(data), *_listen(port)],
        workdir=workdir,
        port=port,
        objects_path=f"/taxii2/api/collections/{collection}/objects/",
        headers={"Authorization": f"Bearer {token}"},
        durable=True,
        env=env,
    )


def _allyshare_cli(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [*_ALLYSHARE, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise BenchError(f"allyshare {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def ensure_medallion(work: Path) -> Path:
    """The medallion executable, installed into bench/work/medallion-venv on first use."""
    venv = work / "medallion-venv"
    executable = venv / "bin" / "medallion"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet", MEDALLION]
        subprocess.run(pip, check=True)
    return executable


def medallion(workdir: Path, executable: Path, max_page_size: int) -> Server:
    port = free_port()
    collection = str(uuid.uuid4())
    root = f"http://{HOST}:{port}/api/"
    data = {
        "/discovery": {
            "title": "medallion bench",
            "description": "benchmark server",
            "default": root,
            "api_roots": [root],
        },
        "api": {
            "information": {
                "title": "bench",
                "description": "benchmark API root",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 256 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                {
                    "id": collection,
                    "title": "bench",
                    "description": "benchmark collection",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    password = uuid.uuid4().hex
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(workdir / "data.json"),
            # Paging sessions must outlive a slow full read.
            "session_timeout": 3600,
        },
        "users": {"bench": password},
        "taxii": {"max_page_size": max_page_size},
    }
    (workdir / "data.json").write_text(json.dumps(data))
    (workdir / "config.json").write_text(json.dumps(config))
    basic = base64.b64encode(f"bench:{password}".encode()).decode()
    return Server(
        name="medallion",
        command=[str(executable), *_listen(port), str(workdir / "config.json")],
        workdir=workdir,
        port=port,
        objects_path=f"/api/collections/{collection}/objects/",
        headers={"Authorization": f"Basic {basic}"},
        durable=False,
    )


def allyshare_member(workdir: Path, agreement: str, env: dict[str, str] | None = None) -> Server:
    """A node whose collection is bound to ``agreement`` (TOML, one category) and written by
    a contributor of a member organization: what a member's writes cost, which the admin's
    (the operator's, under fewer rules and never anonymous) do not show."""
    env = env or {}
    data = workdir / "node"
    terms = workdir / "agreement.toml"
    terms.write_text(agreement)
    name = tomllib.loads(agreement)["name"]
    category = tomllib.loads(agreement)["categories"][0]
    cli = partial(_allyshare_cli, env=env)
    cli("init", "--data-dir", str(data), "--country", "USA", "--name", "bench")
    cli("agreement", "apply", str(terms), "--data-dir", str(data))
    organization = cli(
        "org", "add", "Bench Member", "--country", "USA", "--kind", "company",
        "--data-dir", str(data),
    )  # fmt: skip
    collection = cli(
        "collection", "add", "bench", "--agreement", name, "--category", category,
        "--data-dir", str(data),
    )  # fmt: skip
    token = cli(
        "user", "add", "member", "--org", organization, "--role", "contributor",
        "--data-dir", str(data),
    )  # fmt: skip
    port = free_port()
    return Server(
        name="allyshare",
        command=[*_ALLYSHARE, "serve", "--plain-http", "--data-dir", str(data), *_listen(port)],
        workdir=workdir,
        port=port,
        objects_path=f"/taxii2/api/collections/{collection}/objects/",
        headers={"Authorization": f"Bearer {token}"},
        durable=True,
        env=env,
    )


def source_at(commit: str, work: Path) -> Path:
    """The ``src`` of an earlier commit, unpacked from this repository's history into
    ``work`` once (no checkout of its own needed): the code a benchmark's "off" side runs."""
    if not (work / "src").is_dir():
        archive = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parents[1]), "archive", "--format=tar",
             commit, "src"],
            capture_output=True,
            check=True,
        ).stdout  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(work, filter="data")
    return work / "src"


def side_env(side: str, off_src: Path) -> dict[str, str]:
    """Each side names its code explicitly, so a ``PYTHONPATH`` the run was started with
    cannot leak into the "on" side."""
    on_src = Path(_package_module.__file__).resolve().parents[1]
    return {"PYTHONPATH": str(off_src if side == "off" else on_src)}
