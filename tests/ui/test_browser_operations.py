"""The admins' operations pages in a real browser, on the demo's two federated nodes: each
page photographed and checked by axe, a denial of the showcase report explained on either
node, and the other node's sync health on the peers page."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from allyshare.demo.marked import SHOWCASE_ID

from support.browsing import Demo, needs_chromium, photographed, signed_in

pytestmark = needs_chromium
SYNC_SEEN_WITHIN_S = 120


def operations(page: Page, section: str) -> None:
    page.get_by_role("navigation", name="operations").get_by_role("link", name=section).click()


def explained(page: Page, user: str) -> None:
    operations(page, "Explain")
    page.get_by_label("User", exact=True).fill(user)
    page.get_by_label("Object id").fill(SHOWCASE_ID)
    page.get_by_role("button", name="Explain").click()


def test_an_admin_walks_the_operations_pages_on_the_usa_node(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo.usa, "admin")
    page.get_by_role("navigation", name="main").get_by_role("link", name="Operations").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    expect(page.locator('[data-user="riley@commerce"]')).to_contain_text("active")
    photographed(page, "operations-members")
    operations(page, "Agreements")
    expect(page.locator('[data-agreement="us-rok-tech"]')).to_contain_text("730 days")
    page.locator('[data-agreement="us-rok-tech"] summary').click()
    expect(page.locator('[data-agreement="us-rok-tech"] [data-toml]')).to_contain_text(
        'name = "us-rok-tech"'
    )
    photographed(page, "operations-agreements")
    operations(page, "Audit log")
    page.get_by_role("button", name="Verify the whole log now").click()
    expect(page.locator("[data-verified]")).to_have_attribute("data-verified", "yes")
    photographed(page, "operations-audit")
    operations(page, "Reveals")
    expect(page.get_by_role("heading", name="Reveal an anonymous contributor")).to_be_visible()
    photographed(page, "operations-reveals")
    explained(page, "riley@commerce")
    denied = page.locator("section.explained")
    expect(denied.first).to_be_visible()
    expect(
        denied.get_by_role("heading", name=re.compile("riley@commerce does not see it"))
    ).not_to_have_count(0)
    expect(denied.locator(".reasons").first).to_contain_text("ORCON")
    photographed(page, "operations-explain")
    page.context.close()


def test_an_admin_sees_the_kor_node_s_sync_health(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo.usa, "admin")
    page.goto("/ui/operations/peers/")
    kor = page.locator('[data-peer="kor"]')
    expect(kor).to_contain_text("KOR, us-rok-tech")
    synced_by_then = time.monotonic() + SYNC_SEEN_WITHIN_S
    # A full sync round pulls every subscription, then witnesses the peer's audit log.
    while (
        kor.locator("[data-lag]", has_text="never synced").count()
        or kor.locator("[data-witness]", has_text="not witnessed yet").count()
    ):
        assert time.monotonic() < synced_by_then, "no sync round with the KOR node recorded"
        page.wait_for_timeout(1000)
        page.reload()
    expect(kor.locator("[data-lag]").first).to_have_text(re.compile(r"^\d+ (s|min)$"))
    expect(kor.locator("[data-witness]")).to_contain_text("consistent: this node witnessed")
    photographed(page, "operations-peers")
    page.context.close()


def test_on_the_kor_node_an_admin_explains_why_a_ministry_cannot_read_the_showcase(
    demo: Demo, browser: Browser
) -> None:
    page = signed_in(browser, demo.kor, "admin")
    page.goto("/ui/operations/members/")
    explained(page, "minho@motie")
    expect(
        page.get_by_role("heading", name=re.compile("minho@motie does not see it"))
    ).not_to_have_count(0)
    expect(page.locator("section.explained .reasons").first).not_to_be_empty()
    page.context.close()


def test_a_member_finds_no_operations(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo.usa, "morgan@cisa")
    expect(page.get_by_role("link", name="Operations")).to_have_count(0)
    page.goto("/ui/operations/members/")
    expect(page.get_by_role("heading", name="Not here")).to_be_visible()
    page.context.close()
