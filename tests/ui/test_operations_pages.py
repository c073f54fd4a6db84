"""The admins' operations pages on both backends: refused (as missing) to everyone else with
the refusal recorded, each page saying what the node holds, disabling a user ending its
sessions at once, every form refused without the session's CSRF token, and the two-admin
reveal of an anonymous contributor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.server import create_server_app
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, PeerRecord, SubscriptionRecord
from allyshare.ui.web import PAGE_SIZE

from support.agreements import us_rok_tech
from support.ui_pages import NOFORN, noforn_definition

PAGES = ("members", "agreements", "peers", "audit", "explain", "reveals")


def indicator(number: int, name: str, *markings: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--6c1c1a3e-0000-4000-8000-{number:012d}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "pattern": f"[ipv4-addr:value = '203.0.113.{number}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        **({"object_marking_refs": list(markings)} if markings else {}),
    }


US_ONLY = indicator(1, "US eyes only", NOFORN)
ANONYMOUS_TIP = indicator(2, "A tip from a member")


@dataclass
class Site:
    node: Node
    tokens: dict[str, str]
    collection: str

    @contextmanager
    def browser(self, name: str) -> Iterator[TestClient]:
        """A client of its own (its own cookies), signed in as ``name``."""
        with TestClient(create_server_app(self.node), base_url="https://testserver") as client:
            form = client.get("/ui/sign-in")
            signed = client.post(
                "/ui/sign-in",
                data={"name": name, "token": self.tokens[name], "csrf": csrf_of(form)},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
            yield client


def csrf_of(page: httpx2.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found[1]


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"], reveal_approvals=2))
    collection = node.add_collection(
        "Indicators", "shared with KOR", agreement="us-rok-tech", category="cyber-threat"
    )
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    kisa = node.add_organization("KISA", country="KOR", kind="cert")
    tokens = {
        "root": node.add_user("root", is_admin=True),
        "root2": node.add_user("root2", is_admin=True),
        "morgan": node.add_user("morgan", organization=cisa, clearance="S", roles=["contributor"]),
        "jiwoo": node.add_user("jiwoo", organization=kisa, clearance="S", roles=["reader"]),
    }
    morgan = node.user("morgan")
    assert node.add_objects(morgan, collection.id, [noforn_definition(), US_ONLY]).success_count
    tip = node.add_objects(morgan, collection.id, [ANONYMOUS_TIP], anonymous=True)
    assert tip.success_count == 1, tip.failures
    yield Site(node, tokens, collection.id)
    node.close()


def test_operations_are_missing_for_anyone_but_admins_and_refusals_are_recorded(
    site: Site,
) -> None:
    with site.browser("jiwoo") as jiwoo:
        home = jiwoo.get("/ui/")
        assert "/ui/operations/" not in home.text
        for page in ("", *(f"{page}/" for page in PAGES)):
            refused = jiwoo.get(f"/ui/operations/{page}")
            assert refused.status_code == 404, page
            assert "Not here" in refused.text
        forged = jiwoo.post(
            "/ui/operations/members/morgan/disabled",
            data={"csrf": csrf_of(home), "disabled": "yes"},
        )
        assert forged.status_code == 404
        asked = jiwoo.post(
            "/ui/operations/reveals/",
            data={"csrf": csrf_of(home), "object": ANONYMOUS_TIP["id"], "reason": "curious"},
        )
        assert asked.status_code == 404
    assert not site.node.user("morgan").disabled
    assert site.node.reveals(actor=CONSOLE) == []
    denied = site.node.audit_entries(CONSOLE, EntryFilter(actor="jiwoo"), limit=100)
    refusals = {entry["action"] for entry in denied if entry["outcome"] == "denied"}
    assert {"members:read", "members:write", "peers:read", "sources:reveal"} <= refusals
    with site.browser("root") as root:
        assert 'href="/ui/operations/members/"' in root.get("/ui/").text
        start = root.get("/ui/operations/", follow_redirects=False)
        assert start.headers["location"] == "/ui/operations/members/"


def test_members_lists_users_and_organizations_and_disabling_ends_sessions_at_once(
    site: Site,
) -> None:
    with site.browser("root") as root, site.browser("morgan") as morgan:
        assert morgan.get("/ui/").status_code == 200
        page = root.get("/ui/operations/members/")
        assert page.status_code == 200
        row = re.search(r'data-user="morgan">(.*?)</tr>', page.text, re.DOTALL)
        assert row is not None
        assert "USA.CISA" in row[1] and "contributor" in row[1] and "active" in row[1]
        assert 'data-organization="KOR.KISA"' in page.text
        for token in site.tokens.values():
            assert token not in page.text
        # Without the session's token, or from elsewhere, nothing changes.
        assert (
            root.post(
                "/ui/operations/members/morgan/disabled", data={"csrf": "guess", "disabled": "yes"}
            ).status_code
            == 403
        )
        assert (
            root.post(
                "/ui/operations/members/morgan/disabled",
                data={"csrf": csrf_of(page), "disabled": "yes"},
                headers={"Origin": "https://elsewhere.example"},
            ).status_code
            == 403
        )
        assert not site.node.user("morgan").disabled
        done = root.post(
            "/ui/operations/members/morgan/disabled",
            data={"csrf": csrf_of(page), "disabled": "yes"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/ui/operations/members/"
        assert site.node.user("morgan").disabled
        ended = morgan.get("/ui/", follow_redirects=False)
        assert ended.status_code == 303 and "/ui/sign-in" in ended.headers["location"]
        listed = root.get("/ui/operations/members/")
        row = re.search(r'data-user="morgan">(.*?)</tr>', listed.text, re.DOTALL)
        assert row is not None and "disabled" in row[1] and "Enable morgan" in row[1]
        root.post(
            "/ui/operations/members/morgan/disabled",
            data={"csrf": csrf_of(listed), "disabled": "no"},
        )
    assert not site.node.user("morgan").disabled
    changes = [
        entry["detail"]["change"]
        for entry in site.node.audit_entries(CONSOLE, EntryFilter(actor="root"), limit=100)
        if entry["action"] == "members:write"
    ]
    assert changes == ["disable user", "enable user"]


def test_the_last_admin_is_not_disabled(site: Site) -> None:
    site.node.disable_user("root2")
    with site.browser("root") as root:
        page = root.get("/ui/operations/members/")
        refused = root.post(
            "/ui/operations/members/root/disabled", data={"csrf": csrf_of(page), "disabled": "yes"}
        )
        assert refused.status_code == 409
        assert "last active admin" in refused.text
    assert not site.node.user("root").disabled


def test_agreements_show_their_terms_in_words_and_as_toml(site: Site) -> None:
    with site.browser("root") as root:
        page = root.get("/ui/operations/agreements/")
    assert page.status_code == 200
    section = re.search(r'data-agreement="us-rok-tech"(.*?)</section>', page.text, re.DOTALL)
    assert section is not None
    shown = section[1]
    for words in (
        "version 1",
        "country KOR, country USA",
        "cyber-threat",
        "TLP:AMBER",
        "730 days after a node added it",
        "match-only",
        "two admins",
        "Indicators",
    ):
        assert words in shown, words
    toml = re.search(r"data-toml>(.*?)</pre>", shown, re.DOTALL)
    assert toml is not None
    assert "name = &#34;us-rok-tech&#34;" in toml[1] and "reveal_approvals = 2" in toml[1]


def test_peers_show_each_subscription_s_sync_and_the_witnessing_of_their_logs(
    site: Site,
) -> None:
    site.node.add_peer(
        PeerRecord(
            "seoul",
            "https://seoul.example/taxii2/api/",
            b"",
            "AB:CD",
            "KOR",
            "us-rok-tech",
            None,
            0,
        )
    )
    subscription = SubscriptionRecord("seoul", "their-indicators", site.collection, push=False)
    site.node.subscribe(subscription)
    site.node.sync_failed(subscription, "seoul.example: connection refused")
    with site.browser("root") as root:
        page = root.get("/ui/operations/peers/")
    assert page.status_code == 200
    section = re.search(r'data-peer="seoul"(.*?)</section>', page.text, re.DOTALL)
    assert section is not None
    shown = section[1]
    assert "KOR, us-rok-tech" in shown and "AB:CD" in shown
    assert "not witnessed yet" in shown and "no cosignature from it yet" in shown
    row = re.search(r'data-subscription="their-indicators">(.*?)</tr>', shown, re.DOTALL)
    assert row is not None
    assert "connection refused" in row[1] and "never synced" in row[1]


def test_the_audit_log_is_searched_paged_and_verified(site: Site) -> None:
    for _ in range(PAGE_SIZE):
        site.node.audit_entries(CONSOLE, EntryFilter(), limit=1)
    with site.browser("root") as root:
        first = root.get("/ui/operations/audit/")
        assert first.status_code == 200
        seqs = [int(seq) for seq in re.findall(r'data-entry="(\d+)"', first.text)]
        assert seqs == list(range(PAGE_SIZE))
        following = re.search(r'rel="next" href="\?([^"]+)"', first.text)
        assert following is not None
        second = root.get(f"/ui/operations/audit/?{following[1].replace('&amp;', '&')}")
        assert min(int(s) for s in re.findall(r'data-entry="(\d+)"', second.text)) == PAGE_SIZE
        written = root.get(
            "/ui/operations/audit/", params={"action": "objects:write", "actor": "morgan"}
        )
        actions = re.findall(r"<td>(objects:write|[a-z]+:[a-z]+)</td>", written.text)
        assert actions and set(actions) == {"objects:write"}
        about = root.get("/ui/operations/audit/", params={"object": US_ONLY["id"]})
        assert US_ONLY["id"] in about.text and 'data-entry="' in about.text
        wrong = root.get("/ui/operations/audit/", params={"since": "yesterday"})
        assert wrong.status_code == 400 and "RFC 3339" in wrong.text
        verified = root.get("/ui/operations/audit/", params={"verify": "yes"})
        assert 'data-verified="yes"' in verified.text
        assert "allyshare/" in verified.text  # the checkpoint note names the log
    for token in site.tokens.values():
        assert token not in first.text + verified.text


def test_explain_says_why_a_user_does_not_see_an_object(site: Site) -> None:
    with site.browser("root") as root:
        form = root.get("/ui/operations/explain/")
        assert form.status_code == 200
        assert '<option value="jiwoo">' in form.text
        jiwoo = root.get(
            "/ui/operations/explain/", params={"user": "jiwoo", "object": US_ONLY["id"]}
        )
        morgan = root.get(
            "/ui/operations/explain/", params={"user": "morgan", "object": US_ONLY["id"]}
        )
        nobody = root.get(
            "/ui/operations/explain/", params={"user": "nobody", "object": US_ONLY["id"]}
        )
        nothing = root.get(
            "/ui/operations/explain/", params={"user": "jiwoo", "object": "indicator--none"}
        )
    assert "jiwoo does not see it in Indicators" in jiwoo.text
    reasons = re.search(r'class="reasons">(.*?)</ul>', jiwoo.text, re.DOTALL)
    assert reasons is not None and "NOFORN" in reasons[1]
    assert "morgan sees it in Indicators" in morgan.text
    assert nobody.status_code == 404 and "no user" in nobody.text
    assert nothing.status_code == 404 and "no object" in nothing.text


def test_a_reveal_asked_by_one_admin_is_confirmed_by_another(site: Site) -> None:
    tip = ANONYMOUS_TIP["id"]
    with site.browser("root") as root:
        page = root.get("/ui/operations/reveals/")
        assert "No reveal asked for yet." in page.text
        csrf = csrf_of(page)
        unexplained = root.post("/ui/operations/reveals/", data={"csrf": csrf, "object": tip})
        assert unexplained.status_code == 400 and "needs a reason" in unexplained.text
        named = root.post(
            "/ui/operations/reveals/",
            data={"csrf": csrf, "object": US_ONLY["id"], "reason": "not anonymous"},
        )
        assert named.status_code == 404 and "no anonymous contribution" in named.text
        unsigned = root.post("/ui/operations/reveals/", data={"object": tip, "reason": "case 7"})
        assert unsigned.status_code == 403
        asked = root.post(
            "/ui/operations/reveals/", data={"csrf": csrf, "object": tip, "reason": "case 7"}
        )
        assert asked.status_code == 200
        assert "Waiting for a second admin" in asked.text
        assert "morgan" not in asked.text and "USA.CISA" not in asked.text
        assert "Confirm the reveal" not in asked.text  # not by the admin who asked
    [waiting] = site.node.reveals(actor=CONSOLE)
    with site.browser("root2") as root2:
        listed = root2.get("/ui/operations/reveals/")
        row = re.search(rf'data-reveal-row="{waiting.id}">(.*?)</tr>', listed.text, re.DOTALL)
        assert row is not None
        assert "case 7" in row[1] and "waits for your confirmation" in row[1]
        confirmed = root2.post(
            f"/ui/operations/reveals/{waiting.id}/confirm", data={"csrf": csrf_of(listed)}
        )
        assert confirmed.status_code == 200
        contribution = re.search(r"data-contribution=.*?</tr>", confirmed.text, re.DOTALL)
        assert contribution is not None
        assert "USA.CISA" in contribution[0] and "morgan" in contribution[0]
        again = root2.post(
            f"/ui/operations/reveals/{waiting.id}/confirm", data={"csrf": csrf_of(listed)}
        )
        assert again.status_code == 409 and "confirmed already" in again.text
        assert "revealed: confirmed by root2" in again.text
    stages = [
        entry["detail"]["stage"]
        for entry in site.node.audit_entries(CONSOLE, EntryFilter(), limit=1000)
        if entry["action"] == "sources:reveal" and entry["outcome"] == "allowed"
    ]
    assert stages == ["requested", "revealed"]
