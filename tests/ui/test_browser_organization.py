"""My organization's data in a real browser on the demo (`support.browsing`): CISA, the
showcase report's originator, follows the report's trail across to the KOR node; Hanbit, on
the KOR node, reads the contact request CISA sent after matching privately from the USA node,
and finds the match in its own trail."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Browser, expect

from allyshare.demo.marked import CISA_FAB_VALUES, SHOWCASE_ID

from support.browsing import TAXII, Demo, needs_chromium, photographed, signed_in
from support.processes import pinned_context

pytestmark = needs_chromium

CONTACT = "A US fab saw these too; can we compare notes? (CISA)"


def test_the_originator_follows_the_showcase_across_to_the_kor_node(
    demo: Demo, browser: Browser
) -> None:
    page = signed_in(browser, demo.usa, "morgan@cisa")
    page.get_by_role("link", name="My organization").click()
    expect(page.get_by_role("heading", name="My organization's data")).to_be_visible()
    expect(page.locator(f'[data-object="{SHOWCASE_ID}"]').first).to_be_visible()
    approval = page.locator("[data-approval]", has_text=SHOWCASE_ID)
    expect(approval).to_contain_text("node kor")
    expect(
        approval.get_by_role("button", name="Withdraw the approval for node kor")
    ).to_be_visible()
    photographed(page, "organization")
    page.locator("[data-contributed]", has_text="Cyber threats").get_by_role(
        "link", name="all of them"
    ).click()
    expect(
        page.get_by_role("heading", name=re.compile("what your organization contributed"))
    ).to_be_visible()
    expect(page.locator(f'[data-object="{SHOWCASE_ID}"]')).to_have_count(1)
    photographed(page, "organization-contributed")
    page.locator(f'[data-object="{SHOWCASE_ID}"] a').first.click()
    page.get_by_role("link", name="Who read it and where it went").click()
    expect(page.get_by_role("heading", name="The trail of one object")).to_be_visible()
    expect(page.locator('[data-action="objects:write"]').first).to_contain_text("(USA.CISA) wrote")
    expect(page.locator('[data-action="orcon:approve"]')).to_contain_text(
        f"morgan@cisa (USA.CISA) approved {SHOWCASE_ID} for node kor"
    )
    crossing = page.locator('[data-action="objects:send"][data-peer="kor"]').first
    expect(crossing).to_contain_text("peer node kor pulled")
    expect(crossing).to_contain_text("they went to that node")
    expect(crossing).to_contain_text(SHOWCASE_ID)
    photographed(page, "organization-trail")
    page.context.close()


def test_hanbit_reads_cisas_contact_request_and_the_match_in_its_trail(
    demo: Demo, browser: Browser
) -> None:
    _cisa_matches_from_the_usa_node(demo)
    page = signed_in(browser, demo.kor, "seoyeon@hanbit")
    page.get_by_role("link", name="My organization").click()
    contact = page.locator("[data-contact]", has_text=CONTACT).first
    expect(contact).to_contain_text("USA.CISA")
    expect(contact).to_contain_text("morgan@cisa")
    expect(contact).to_contain_text("matched values of 2 of your objects")
    photographed(page, "organization-kor")

    page.get_by_role("link", name="private matches").click()
    matches = page.locator('[data-action="objects:match"][data-peer="usa"]')
    expect(
        matches.filter(has_text="USA.CISA, through peer node usa, matched 2 of 5")
    ).not_to_have_count(0)
    photographed(page, "organization-kor-trail")
    page.context.close()


def _cisa_matches_from_the_usa_node(demo: Demo) -> None:
    """CISA's private match of the demo's scene, through the USA node's management API as
    `make demo` prints it, against the KOR node's cyber-threat collection."""
    hanbit = ("seoyeon@hanbit", demo.kor.tokens["seoyeon@hanbit"])
    verify = pinned_context(demo.kor.data_dir / "node.crt")
    with httpx.Client(base_url=demo.kor.url, auth=hanbit, verify=verify, timeout=30) as kor:
        listed = kor.get("/taxii2/api/collections/", headers={"Accept": TAXII}).json()
    [collection] = [c["id"] for c in listed["collections"] if c["title"] == "Cyber threats"]
    cisa = ("morgan@cisa", demo.usa.tokens["morgan@cisa"])
    verify = pinned_context(demo.usa.data_dir / "node.crt")
    body = {
        "collection": collection,
        "peer": "kor",
        "values": list(CISA_FAB_VALUES),
        "contact": CONTACT,
    }
    with httpx.Client(base_url=demo.usa.url, auth=cisa, verify=verify, timeout=120) as usa:
        matched = usa.post("/api/v1/match", json=body)
        # Another test may have matched moments ago: the budget's interval says when to retry.
        if matched.status_code == 429:
            time.sleep(int(matched.headers.get("Retry-After", "5")))
            matched = usa.post("/api/v1/match", json=body)
    assert matched.status_code == 200, matched.text
    assert matched.json()["matched"] == list(CISA_FAB_VALUES[:2])
