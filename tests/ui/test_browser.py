"""The web UI in a real browser: Debian's Chromium, driven by Playwright, against the demo's
USA node served over HTTPS as ``allyshare serve`` serves it.

Each main page is photographed into ``screenshots/`` at the top of the repository and checked
by axe (the accessibility engine, bundled with ``axe-playwright-python``): no serious or
critical violation.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from allyshare.cli.demo import prepare_demo
from allyshare.demo.community import DemoCommunity
from allyshare.demo.marked import SHOWCASE_ID

from support.processes import RunningNode, serve

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

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, DemoCommunity]]:
    data_dir = tmp_path_factory.mktemp("ui") / "usa"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("ALLYSHARE_DATABASE_URL", raising=False)
        community, _ = prepare_demo(data_dir)
        with serve(data_dir, tls=True) as node:
            yield node, community


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
        yield launched
        launched.close()


def signed_in(browser: Browser, node: RunningNode, community: DemoCommunity, name: str) -> Page:
    context = browser.new_context(ignore_https_errors=True, base_url=node.url)
    page = context.new_page()
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Token").fill(community.tokens[name])
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


def test_an_analyst_signs_in_and_reads_a_collection(
    demo: tuple[RunningNode, DemoCommunity], browser: Browser
) -> None:
    node, community = demo
    page = signed_in(browser, node, community, "morgan@cisa")
    photographed(page, "collections")
    expect(page.get_by_role("link", name="Cyber threats")).to_be_visible()
    expect(page.get_by_role("link", name="US national (US only)")).to_be_visible()
    cyber_threat_reports(page)
    expect(page.get_by_role("heading", name="Cyber threats")).to_be_visible()
    showcase = page.locator(f'[data-object="{SHOWCASE_ID}"]')
    expect(showcase).to_have_count(1)
    expect(showcase.locator(".chip", has_text="ORCON")).to_be_visible()
    banner = page.locator("[data-banner]")
    expect(banner).to_have_text(re.compile(r"^(UNCLASSIFIED|CONFIDENTIAL|SECRET)//"))
    photographed(page, "objects")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    page.context.close()


def test_an_uncleared_official_sees_neither_the_orcon_report_nor_us_only_data(
    demo: tuple[RunningNode, DemoCommunity], browser: Browser
) -> None:
    node, community = demo
    page = signed_in(browser, node, community, "riley@commerce")
    cyber_threat_reports(page)
    expect(page.get_by_role("heading", name="Cyber threats")).to_be_visible()
    expect(page.locator(f'[data-object="{SHOWCASE_ID}"]')).to_have_count(0)
    expect(page.locator("[data-banner]")).to_have_text(re.compile(r"^UNCLASSIFIED"))
    page.context.close()


def test_a_wrong_token_is_refused_in_the_browser(
    demo: tuple[RunningNode, DemoCommunity], browser: Browser
) -> None:
    node, _ = demo
    context = browser.new_context(ignore_https_errors=True, base_url=node.url)
    page = context.new_page()
    page.goto("/ui/sign-in")
    page.get_by_label("User name").fill("morgan@cisa")
    page.get_by_label("Token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("unknown user name or token")
    photographed(page, "sign-in")
    context.close()


def test_a_korean_analyst_reads_the_showcase_without_its_noforn_description(
    demo: tuple[RunningNode, DemoCommunity], browser: Browser
) -> None:
    node, community = demo
    page = signed_in(browser, node, community, "jiwoo@kisa")
    cyber_threat_reports(page)
    page.locator(f'[data-object="{SHOWCASE_ID}"] a').click()
    expect(page.get_by_role("heading", name="Withheld from you")).to_be_visible()
    notice = page.locator('[data-withheld="description"]')
    expect(notice).to_contain_text("withheld:")
    expect(notice).to_contain_text("NOFORN")
    photographed(page, "object")
    page.context.close()
