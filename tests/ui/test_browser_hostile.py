"""STIX text is written by others: a bundle of hostile strings, posted through TAXII to the
demo's USA node, is shown as text in the browser and nothing in it runs.

Each payload would set ``window.pwned`` or open a dialog if it ran; the pages are opened in
Chromium and checked for both, and for the payload printed literally. The Content-Security-
Policy would stop inline scripts anyway; the test holds the escaping on its own too by
looking for elements the payloads would have created.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser, Dialog, expect

from support.browsing import TAXII, Demo, needs_chromium, signed_in
from support.processes import pinned_context

pytestmark = needs_chromium

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
PAYLOADS = [
    "<script>window.pwned = 1</script>",
    '"><img src=x onerror="window.pwned = 2">',
    '\'><svg onload="window.pwned = 3"></svg>',
    '</td></tr></table><iframe src="javascript:window.parent.pwned = 4"></iframe>',
    "{{ 7 * 7 }}{% raw %}<b data-pwned>bold</b>",
    "javascript:window.pwned = 5",
]


def hostile_bundle() -> list[dict[str, Any]]:
    """An indicator and a report whose text fields each carry every payload."""
    indicator_id = f"indicator--{uuid.uuid4()}"
    stamp = "2026-11-30T09:00:00.000Z"
    everything = " ".join(PAYLOADS)
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id,
        "created": stamp,
        "modified": stamp,
        "name": f"Hostile indicator {PAYLOADS[0]}",
        "description": everything,
        "labels": PAYLOADS[:3],
        "pattern": "[domain-name:value = 'hostile.example']",
        "pattern_type": "stix",
        "valid_from": "2026-11-30T09:00:00Z",
        "external_references": [{"source_name": PAYLOADS[1], "url": PAYLOADS[5]}],
        "object_marking_refs": [TLP_GREEN],
    }
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uuid.uuid4()}",
        "created": stamp,
        "modified": stamp,
        "name": f"Hostile report {PAYLOADS[1]}",
        "description": everything,
        "published": stamp,
        "report_types": ["threat-report"],
        "object_refs": [indicator_id],
        "object_marking_refs": [TLP_GREEN],
    }
    return [indicator, report]


def test_hostile_object_text_is_shown_and_never_runs(demo: Demo, browser: Browser) -> None:
    written = hostile_bundle()
    token = demo.usa.tokens["morgan@cisa"]
    verify = pinned_context(demo.usa.data_dir / "node.crt")
    with httpx.Client(base_url=demo.usa.url, verify=verify, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}", "Accept": TAXII}
        found = client.get("/taxii2/api/collections/", headers=headers).json()["collections"]
        [collection] = [item["id"] for item in found if item["title"] == "Cyber threats"]
        posted = client.post(
            f"/taxii2/api/collections/{collection}/objects/",
            headers={**headers, "Content-Type": TAXII},
            json={"objects": written},
        )
        assert posted.json()["success_count"] == 2, posted.text

    page = signed_in(browser, demo.usa, "morgan@cisa")
    dialogs: list[str] = []

    def dismissed(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismissed)
    pages = [
        f"/ui/collections/{collection}/?type=indicator",
        f"/ui/collections/{collection}/?type=report",
        *(f"/ui/collections/{collection}/objects/{obj['id']}/" for obj in written),
    ]
    for path in pages:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.evaluate("typeof window.pwned") == "undefined", path
        hostile = "main [onerror], main [onload], main iframe, main script:not([src])"
        assert page.locator(hostile).count() == 0, path
        assert page.locator("[data-pwned]").count() == 0, path
    for obj in written:
        page.goto(f"/ui/collections/{collection}/objects/{obj['id']}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(obj["name"])
        expect(page.locator("main")).to_contain_text(PAYLOADS[4])
    assert dialogs == []
    page.context.close()
