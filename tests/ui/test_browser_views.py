"""The cross-member views' pages in a real browser (`support.browsing`), on both nodes of the
demo: a US CERT analyst on the USA node and a Korean CERT analyst on the KOR node each find
the coercion pattern alert and the 5G concentration index, with suppressed cells and lines
saying so; the charts are SVG images with a summary, and axe finds no serious violation."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Locator, Page, expect

from allyshare.ui.views import SUPPRESSED

from support.browsing import Demo, DemoSite, needs_chromium, photographed, signed_in

pytestmark = needs_chromium

READERS = (("usa", "morgan@cisa"), ("kor", "jiwoo@kisa"))
ALERT = "CHN applied export-restriction to USA"
TOURISM = "CHN · tourism-restriction · tourism · 2017-Q1"
SYNCED_WITHIN = 120
"""Seconds a node may take to receive the other's data (they sync every 5)."""


def reloaded_until(page: Page, found: Locator) -> None:
    """Reload until what the other node wrote has reached this one, as a reader would."""
    deadline = time.monotonic() + SYNCED_WITHIN
    while found.count() == 0:
        assert time.monotonic() < deadline, "the other node's data did not reach this one"
        time.sleep(1)
        page.reload()


def site(demo: Demo, key: str) -> DemoSite:
    return demo.usa if key == "usa" else demo.kor


def test_both_nodes_show_the_coercion_pattern_alert(demo: Demo, browser: Browser) -> None:
    for key, name in READERS:
        page = signed_in(browser, site(demo, key), name)
        page.get_by_role("link", name="Coercion & supply chains").click()
        expect(
            page.get_by_role("heading", name="Economic coercion across the members")
        ).to_be_visible()
        alert = page.locator("[data-alert]", has_text=ALERT)
        reloaded_until(page, alert)
        expect(alert).to_contain_text("KOR (2025-04, 2025-10)")
        # The 2017 tourism records of three Korean members, written on the KOR node, make a
        # cell there; the USA node answers for the Korean members itself (they have users
        # there), so it takes them from its peer as KOR's: one contributor, suppressed.
        tourism = page.locator(f"tr[data-cell='{TOURISM}']")
        reloaded_until(page, tourism)
        if key == "kor":
            expect(tourism).to_have_attribute("data-incidents", "3")
        else:
            expect(tourism).to_contain_text(SUPPRESSED)
        shown = page.locator(
            "tr[data-incidents][data-cell='CHN · export-restriction · rare-earths · 2025-Q2']"
        )
        expect(shown).to_have_attribute("data-incidents", "3")
        expect(page.locator("tr[data-suppressed]").first).to_contain_text(SUPPRESSED)
        chart = page.locator("svg[data-chart='cells']")
        expect(chart).to_have_attribute("role", "img")
        summary = re.compile(r"^Incidents per cell .*2025-Q2: 3;")
        expect(chart).to_have_attribute("aria-label", summary)
        photographed(page, f"views-coercion-{key}")
        alert.get_by_role("link").click()
        expect(page.get_by_role("heading", name="Properties")).to_be_visible()
        page.context.close()


def test_both_nodes_show_the_5g_concentration(demo: Demo, browser: Browser) -> None:
    for key, name in READERS:
        page = signed_in(browser, site(demo, key), name)
        page.goto("/ui/views/supply-chain")
        ran = page.locator("section[data-category='5g-ran']")
        reloaded_until(page, ran.locator("[data-hhi='vendors']"))
        expect(ran.locator("[data-hhi='vendors']")).to_contain_text("3,050")
        expect(ran.locator("tr[data-line='Ericsson']")).to_contain_text("47.0%")
        expect(ran.locator("tr[data-line='NEC']")).to_contain_text(SUPPRESSED)
        expect(page.locator("section[data-category='photoresists']")).to_contain_text(SUPPRESSED)
        expect(ran.locator("svg[data-chart='5g-ran-vendor']")).to_have_attribute("role", "img")
        photographed(page, f"views-supply-chain-{key}")
        page.context.close()
