"""The relationship graph in a real browser (`support.browsing`): the showcase report's
neighbours drawn by vis-network under the pages' Content-Security-Policy, with no console
error, and a relationship followed to a neighbour's page, from the list and from the graph."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from allyshare.demo.marked import SHOWCASE_ID

from support.browsing import Demo, cyber_threat_reports, needs_chromium, photographed, signed_in

pytestmark = needs_chromium


def complaints(page: Page) -> list[str]:
    """What the browser reports going wrong on the page from now on: script errors and
    console errors, which include every Content-Security-Policy refusal."""
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def test_the_showcase_report_draws_its_graph_and_a_relationship_is_followed(
    demo: Demo, browser: Browser
) -> None:
    page = signed_in(browser, demo.usa, "morgan@cisa")
    errors = complaints(page)
    cyber_threat_reports(page)
    page.locator(f'[data-object="{SHOWCASE_ID}"] a').click()
    expect(page.get_by_role("heading", name="Related objects")).to_be_visible()
    graph = page.locator("#graph")
    expect(graph.locator("canvas")).to_have_count(1)
    expect(graph).to_have_attribute("data-ready", "true")
    listed = page.locator("[data-neighbour]")
    assert listed.count() > 0
    # Every neighbour listed is drawn, and the report itself.
    expect(graph).to_have_attribute("data-drawn", str(listed.count() + 1))
    # The report is drawn in the middle: a click there chooses it and offers its page.
    graph.scroll_into_view_if_needed()
    box = graph.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#graph-chosen a")).to_have_attribute(
        "href", re.compile(rf"/objects/{SHOWCASE_ID}/$")
    )
    photographed(page, "object-graph")
    neighbour = listed.first.get_attribute("data-neighbour")
    assert neighbour is not None
    listed.first.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/objects/{re.escape(neighbour)}/$"))
    # The way back: the report is among the neighbour's own neighbours, drawn and listed.
    expect(page.locator(f'[data-neighbour="{SHOWCASE_ID}"]')).to_have_count(1)
    expect(page.locator("#graph")).to_have_attribute("data-ready", "true")
    photographed(page, "neighbour-graph")
    assert errors == []
    page.context.close()


def test_a_double_click_in_the_graph_opens_the_object(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo.kor, "jiwoo@kisa")
    errors = complaints(page)
    cyber_threat_reports(page)
    page.locator(f'[data-object="{SHOWCASE_ID}"] a').click()
    graph = page.locator("#graph")
    expect(graph).to_have_attribute("data-ready", "true")
    neighbour = page.locator("[data-neighbour] a").first
    href = neighbour.get_attribute("href")
    assert href is not None
    page.goto(href)
    expect(page.locator("#graph")).to_have_attribute("data-ready", "true")
    page.locator("#graph").scroll_into_view_if_needed()
    box = page.locator("#graph").bounding_box()
    assert box is not None
    # The object of the page is drawn in the middle: a double-click there opens its page.
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.get_by_role("heading", name="Related objects")).to_be_visible()
    assert errors == []
    page.context.close()
