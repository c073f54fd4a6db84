"""The web UI in a real browser (`support.browsing`): sign-in, the showcase report through
different members' eyes on both demo nodes, sign-out and a wrong token."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from allyshare.demo.marked import SHOWCASE_ID

from support.browsing import (
    Demo,
    cyber_threat_reports,
    needs_chromium,
    photographed,
    signed_in,
)

pytestmark = needs_chromium


def test_an_analyst_signs_in_and_reads_a_collection(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo.usa, "morgan@cisa")
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
    showcase.get_by_role("link").first.click()
    expect(page.locator("th", has_text=re.compile(r"^description$"))).to_have_count(1)
    expect(page.get_by_role("heading", name="Withheld from you")).to_have_count(0)
    expect(page.locator("[data-banner]")).to_contain_text("NOFORN")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    page.context.close()


def test_an_uncleared_official_sees_neither_the_orcon_report_nor_us_only_data(
    demo: Demo, browser: Browser
) -> None:
    page = signed_in(browser, demo.usa, "riley@commerce")
    cyber_threat_reports(page)
    expect(page.get_by_role("heading", name="Cyber threats")).to_be_visible()
    expect(page.locator(f'[data-object="{SHOWCASE_ID}"]')).to_have_count(0)
    expect(page.locator("[data-banner]")).to_have_text(re.compile(r"^UNCLASSIFIED"))
    page.context.close()


def test_a_wrong_token_is_refused_in_the_browser(demo: Demo, browser: Browser) -> None:
    context = browser.new_context(ignore_https_errors=True, base_url=demo.usa.url)
    page = context.new_page()
    page.goto("/ui/sign-in?name=morgan%40cisa")
    expect(page.get_by_label("User name")).to_have_value("morgan@cisa")
    page.get_by_label("Token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("unknown user name or token")
    photographed(page, "sign-in")
    context.close()


def test_a_korean_analyst_reads_the_showcase_without_its_noforn_description(
    demo: Demo, browser: Browser
) -> None:
    page = signed_in(browser, demo.usa, "jiwoo@kisa")
    cyber_threat_reports(page)
    page.locator(f'[data-object="{SHOWCASE_ID}"] a').click()
    expect(page.get_by_role("heading", name="Withheld from you")).to_be_visible()
    notice = page.locator('[data-withheld="description"]')
    expect(notice).to_contain_text("withheld:")
    expect(notice).to_contain_text("NOFORN")
    photographed(page, "object")
    page.context.close()


def test_on_the_kor_node_kisa_reads_the_synced_showcase_and_a_ministry_does_not(
    demo: Demo, browser: Browser
) -> None:
    """The showcase crossed to the KOR node without its NOFORN description, and ORCON names
    KISA: its analyst reads it there, a Korean ministry user finds nothing."""
    page = signed_in(browser, demo.kor, "jiwoo@kisa")
    cyber_threat_reports(page)
    page.locator(f'[data-object="{SHOWCASE_ID}"] a').click()
    expect(page.locator("[data-banner]")).to_contain_text("ORCON")
    expect(page.get_by_role("heading", name="Properties")).to_be_visible()
    expect(page.locator("th", has_text=re.compile(r"^description$"))).to_have_count(0)
    photographed(page, "object-kor")
    page.context.close()
    ministry = signed_in(browser, demo.kor, "minho@motie")
    cyber_threat_reports(ministry)
    expect(ministry.get_by_role("heading", name="Cyber threats")).to_be_visible()
    expect(ministry.locator(f'[data-object="{SHOWCASE_ID}"]')).to_have_count(0)
    ministry.goto(ministry.url.split("?")[0] + f"objects/{SHOWCASE_ID}/")
    expect(ministry.get_by_role("heading", name="Not here")).to_be_visible()
    ministry.context.close()
