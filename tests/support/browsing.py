"""The web UI in a real browser: Debian's Chromium driven by Playwright, against the whole
``allyshare demo`` (its USA and KOR nodes, federated, over HTTPS) run as a newcomer runs it.

Each main page is photographed into ``screenshots/`` at the top of the repository and checked
by axe (the accessibility engine, bundled with ``axe-playwright-python``): no serious or
critical violation.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from allyshare.demo.marked import SHOWCASE_ID

from support.processes import free_port, pinned_context

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium's own calls home are refused on a closed network: it is told not to make them.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TAXII = "application/taxii+json;version=2.1"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed"
)


@dataclass(frozen=True)
class DemoSite:
    """One of the demo's nodes as a browser reaches it: its address and its users' tokens."""

    label: str
    url: str
    data_dir: Path
    tokens: dict[str, str]


@dataclass(frozen=True)
class Demo:
    usa: DemoSite
    kor: DemoSite
    log: Path


@contextmanager
def running_demo(where: Path) -> Iterator[Demo]:
    """``allyshare demo`` in a child process, once the KOR node holds the showcase report
    (its first sync from the USA node); stopped as a service manager stops it."""
    port = free_port()
    while True:
        try:
            with socket.create_server(("127.0.0.1", port + 1)):
                break
        except OSError:
            port = free_port()
    log_path = where / "demo.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "allyshare.cli.main", "demo"),
            *("--data-dir", str(where / "demo"), "--port", str(port)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240
        while "KOR node: pulling" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the demo did not start in 4 minutes"
            time.sleep(0.2)
        printed = log_path.read_text()
        usa_part, kor_part = printed.split("\nKOR node at ", 1)
        usa = _site("USA", usa_part, where / "demo" / "usa", port)
        kor = _site("KOR", kor_part.split("\ntry:", 1)[0], where / "demo" / "kor", port + 1)
        _wait_for_showcase(kor, deadline)
        yield Demo(usa=usa, kor=kor, log=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _site(label: str, printed: str, data_dir: Path, port: int) -> DemoSite:
    tokens = dict(re.findall(r"^    (\S+)\s+.*\n\s+token (\S+)$", printed, re.MULTILINE))
    admin = re.search(r"^    admin\s+node admin, token (\S+)$", printed, re.MULTILINE)
    assert admin is not None, printed
    tokens["admin"] = admin.group(1)
    return DemoSite(label, f"https://127.0.0.1:{port}", data_dir, tokens)


def _wait_for_showcase(kor: DemoSite, deadline: float) -> None:
    verify = pinned_context(kor.data_dir / "node.crt")
    auth = ("jiwoo@kisa", kor.tokens["jiwoo@kisa"])
    with httpx.Client(base_url=kor.url, auth=auth, verify=verify, timeout=10) as client:
        while True:
            collections = client.get("/taxii2/api/collections/", headers={"Accept": TAXII})
            for collection in collections.json().get("collections", []):
                found = client.get(
                    f"/taxii2/api/collections/{collection['id']}/objects/{SHOWCASE_ID}/",
                    headers={"Accept": TAXII},
                )
                if found.status_code == 200:
                    return
            assert time.monotonic() < deadline, "no showcase report on the KOR node in time"
            time.sleep(0.5)


def signed_in(browser: Browser, site: DemoSite, name: str) -> Page:
    """A fresh browser context signed in on ``site`` as ``name``, on the collections page."""
    context = browser.new_context(ignore_https_errors=True, base_url=site.url)
    page = context.new_page()
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Token").fill(site.tokens[name])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Collections")).to_be_visible()
    return page


def cyber_threat_reports(page: Page) -> None:
    """From the collections page to the reports of the Cyber threats collection."""
    page.get_by_role("link", name="Cyber threats").click()
    page.get_by_label("Type").fill("report")
    page.get_by_role("button", name="Filter").click()


def photographed(page: Page, name: str) -> None:
    """A screenshot of the page, and axe's verdict on it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    results = Axe().run(page)
    serious = [
        f"{violation['id']}: {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
