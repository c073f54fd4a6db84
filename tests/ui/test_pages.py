"""The web UI's pages and their security, served with everything else by
``create_server_app``, on both backends: sign-in through the node's failed-login count, the
session cookie and its end (sign-out, expiry, a disabled user), CSRF and origin checks, the
Content-Security-Policy, escaping of what objects say, and lists that show exactly what a
TAXII read shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.server import create_server_app
from allyshare.service import CONSOLE, Node
from allyshare.service import sessions as sessions_module
from allyshare.storage import EntryFilter

from support.agreements import us_rok_tech
from support.ui_pages import NOFORN, noforn_definition

TAXII = "application/taxii+json;version=2.1"
HOST = "testserver.local"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def indicator(number: int, name: str, *markings: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--6c1c1a3e-0000-4000-8000-{number:012d}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "pattern": f"[ipv4-addr:value = '198.51.100.{number}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        **({"object_marking_refs": list(markings)} if markings else {}),
    }


@dataclass
class Site:
    client: TestClient
    node: Node
    tokens: dict[str, str]
    collection: str

    def sign_in(self, name: str, token: str | None = None) -> httpx2.Response:
        form = self.client.get("/ui/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, form.text
        return self.client.post(
            "/ui/sign-in",
            data={"name": name, "token": token or self.tokens[name], "csrf": csrf[1]},
            follow_redirects=False,
        )

    def csrf(self) -> str:
        page = self.client.get("/ui/")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None, page.text
        return found[1]


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"]))
    collection = node.add_collection(
        "Indicators", "shared with KOR", agreement="us-rok-tech", category="cyber-threat"
    )
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    tokens = {
        "morgan": node.add_user(
            "morgan", organization=cisa, nationality="USA", clearance="S", roles=("contributor",)
        ),
        "jiwoo": node.add_user(
            "jiwoo", organization=kisa, nationality="KOR", clearance="S", roles=("reader",)
        ),
    }
    morgan = node.authenticate_token(tokens["morgan"])
    partly = {
        **indicator(4, "Partly NOFORN"),
        "description": "A US source saw it first.",
        "granular_markings": [{"marking_ref": NOFORN, "selectors": ["description"]}],
    }
    written = [
        noforn_definition(),
        indicator(1, "Shared with both"),
        indicator(2, "US eyes only", NOFORN),
        indicator(3, HOSTILE),
        partly,
    ]
    assert node.add_objects(morgan, collection.id, written).failure_count == 0
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield Site(client, node, tokens, collection.id)
    node.close()


def test_pages_ask_for_sign_in_and_come_back_after_it(site: Site) -> None:
    asked = site.client.get(f"/ui/collections/{site.collection}/", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == (f"/ui/sign-in?next=%2Fcollections%2F{site.collection}%2F")
    page = site.client.get(asked.headers["location"])
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["x-frame-options"] == "DENY"
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    signed = site.client.post(
        "/ui/sign-in",
        data={
            "name": "morgan",
            "token": site.tokens["morgan"],
            "csrf": csrf[1],
            "next": f"/collections/{site.collection}/",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == f"/ui/collections/{site.collection}/"
    cookie = next(
        value
        for key, value in signed.headers.multi_items()
        if key == "set-cookie" and value.startswith("allyshare_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/ui"} <= flags
    assert "Shared with both" in site.client.get(signed.headers["location"]).text


def test_a_wrong_token_is_refused_and_counted_with_taxii_logins(site: Site) -> None:
    refused = site.sign_in("morgan", "not-the-token")
    assert refused.status_code == 401
    assert "unknown user name or token" in refused.text
    assert "not-the-token" not in refused.text
    for _ in range(19):
        site.client.get(
            "/taxii2/", headers={"Authorization": "Bearer wrong"}, follow_redirects=False
        )
    limited = site.sign_in("morgan", "still-wrong")
    assert limited.status_code == 429
    assert "too many failed sign-ins" in limited.text
    # The right token still opens a session during the block.
    assert site.sign_in("morgan").status_code == 303


def test_a_session_is_fresh_at_sign_in_and_ends_at_sign_out(site: Site) -> None:
    site.client.cookies.set("allyshare_session", "chosen-by-an-attacker", HOST, "/ui")
    assert site.client.get("/ui/", follow_redirects=False).status_code == 303
    site.sign_in("morgan")
    issued = site.client.cookies.get("allyshare_session", domain=HOST, path="/ui")
    assert issued and issued != "chosen-by-an-attacker"
    assert site.client.get("/ui/").status_code == 200
    # Sign-out is a form: without the session's token it is refused.
    refused = site.client.post("/ui/sign-out", data={"csrf": "guess"}, follow_redirects=False)
    assert refused.status_code == 403
    csrf = site.csrf()
    done = site.client.post("/ui/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    # The old cookie opens nothing, even sent again by hand.
    site.client.cookies.set("allyshare_session", issued, HOST, "/ui")
    assert site.client.get("/ui/", follow_redirects=False).status_code == 303
    actions = [
        entry["action"]
        for entry in site.node.audit_entries(CONSOLE, EntryFilter(actor="morgan"), limit=100)
    ]
    assert "sessions:open" in actions and "sessions:close" in actions
    assert issued not in str(site.node.audit_entries(CONSOLE, EntryFilter(), limit=1000))


def test_a_form_from_another_origin_is_refused(site: Site) -> None:
    site.sign_in("morgan")
    csrf = site.csrf()
    forged = site.client.post(
        "/ui/sign-out",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert site.client.get("/ui/").status_code == 200


def test_disabling_the_user_ends_its_session_at_once(site: Site) -> None:
    site.sign_in("morgan")
    assert site.client.get("/ui/").status_code == 200
    site.node.disable_user("morgan")
    assert site.client.get("/ui/", follow_redirects=False).status_code == 303


def test_a_session_ends_at_its_expiry(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.sign_in("morgan")
    assert site.client.get("/ui/").status_code == 200
    later = sessions_module.now_us() + site.node.settings.ui_session_minutes * 60_000_000
    monkeypatch.setattr(sessions_module, "now_us", lambda: later)
    assert site.client.get("/ui/", follow_redirects=False).status_code == 303


def test_the_object_list_shows_what_taxii_shows_and_escapes_what_objects_say(
    site: Site,
) -> None:
    for reader in ("morgan", "jiwoo"):
        site.client.cookies.clear()
        site.sign_in(reader)
        page = site.client.get(f"/ui/collections/{site.collection}/")
        assert page.status_code == 200
        listed = set(re.findall(r'data-object="([^"]+)"', page.text))
        served = site.client.get(
            f"/taxii2/api/collections/{site.collection}/objects/",
            headers={"Authorization": f"Bearer {site.tokens[reader]}", "Accept": TAXII},
        ).json()["objects"]
        assert listed == {obj["id"] for obj in served}
        assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    # The US reader sees the NOFORN indicator, so the banner says so; the Korean one does not.
    site.client.cookies.clear()
    site.sign_in("morgan")
    us_page = site.client.get(f"/ui/collections/{site.collection}/").text
    assert re.search(r"data-banner>SECRET//NOFORN<", us_page)
    assert "US eyes only" in us_page
    site.client.cookies.clear()
    site.sign_in("jiwoo")
    korean_page = site.client.get(f"/ui/collections/{site.collection}/").text
    assert re.search(r"data-banner>UNCLASSIFIED<", korean_page)
    assert "US eyes only" not in korean_page


def test_a_collection_the_user_may_not_read_is_not_found(site: Site) -> None:
    site.sign_in("jiwoo")
    missing = site.client.get("/ui/collections/no-such-collection/")
    assert missing.status_code == 404
    assert "Not here" in missing.text


def test_an_object_page_shows_what_is_withheld_and_why(site: Site) -> None:
    partly = f"/ui/collections/{site.collection}/objects/{indicator(4, '')['id']}/"
    site.sign_in("jiwoo")
    page = site.client.get(partly)
    assert page.status_code == 200
    assert "A US source saw it first." not in page.text
    notice = re.search(r'data-withheld="description">(.*?)</li>', page.text, re.DOTALL)
    assert notice is not None, page.text
    assert "withheld:" in notice[1] and "NOFORN" in notice[1] and "KOR" in notice[1]
    hidden = f"/ui/collections/{site.collection}/objects/{indicator(2, '')['id']}/"
    assert site.client.get(hidden).status_code == 404
    hostile = site.client.get(
        f"/ui/collections/{site.collection}/objects/{indicator(3, '')['id']}/"
    )
    assert "<script>" not in hostile.text and "&lt;script&gt;" in hostile.text
    site.client.cookies.clear()
    site.sign_in("morgan")
    whole = site.client.get(partly)
    assert "A US source saw it first." in whole.text
    assert "data-withheld" not in whole.text
    # The object is unmarked, but its description shown is S//NOFORN: so is the page.
    assert re.search(r"data-banner>SECRET//NOFORN<", whole.text)
    assert re.search(r"data-banner>UNCLASSIFIED<", page.text)


def test_an_older_version_is_shown_when_the_newest_is_withheld_whole(site: Site) -> None:
    """A NOFORN marking on a property the object cannot lose withholds the newest version
    whole from a Korean reader; TAXII then shows the older one, and so does the page."""
    morgan = site.node.authenticate_token(site.tokens["morgan"])
    older = indicator(1, "Shared with both")
    newer = {
        **older,
        "modified": "2026-02-01T00:00:00.000Z",
        "granular_markings": [{"marking_ref": NOFORN, "selectors": ["type"]}],
    }
    assert site.node.add_objects(morgan, site.collection, [newer]).failure_count == 0
    site.sign_in("jiwoo")
    page = site.client.get(f"/ui/collections/{site.collection}/objects/{older['id']}/")
    assert page.status_code == 200
    assert "2026-01-01T00:00:00.000Z" in page.text
    assert "2026-02-01T00:00:00.000Z" not in page.text
