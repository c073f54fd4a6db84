"""The "My organization" pages on both backends: each section shows the signed-in user's own
organization's data and nothing of another's (contributions, the audit trail and one
object's trail, ORCON approvals, contact requests, anonymous contributions); approving and
withdrawing an approval through the forms, audited, and refused without the CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import allyshare.storage.store
from allyshare.config import Settings
from allyshare.policy import ALLYSHARE_EXTENSION_ID
from allyshare.server import create_server_app
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, User, VersionFilter

from support.agreements import us_rok_tech

ORCON = "marking-definition--7d2d2b4f-0000-4000-8000-000000000001"
MATCH_ONLY = "marking-definition--7d2d2b4f-0000-4000-8000-000000000002"
REPORT = "report--7d2d2b4f-0000-4000-8000-000000000010"
CISA_NAMED = "indicator--7d2d2b4f-0000-4000-8000-000000000011"
CISA_ANONYMOUS = "indicator--7d2d2b4f-0000-4000-8000-000000000012"
KISA_OWN = "indicator--7d2d2b4f-0000-4000-8000-000000000013"
HANBIT_HELD = "indicator--7d2d2b4f-0000-4000-8000-000000000014"
CONTACT = "Our fab saw 198.51.100.77 too; can we compare notes?"


def allyshare_marking(marking_id: str, name: str, **restrictions: Any) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2026-01-01T00:00:00.000Z",
        "name": name,
        "extensions": {
            ALLYSHARE_EXTENSION_ID: {"extension_type": "property-extension", **restrictions}
        },
    }


def indicator(object_id: str, name: str, value: str, *markings: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "pattern": f"[ipv4-addr:value = '{value}']",
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

    def sign_in(self, name: str) -> None:
        form = self.client.get("/ui/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, form.text
        signed = self.client.post(
            "/ui/sign-in",
            data={"name": name, "token": self.tokens[name], "csrf": csrf[1]},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text

    def page(self, path: str) -> str:
        found = self.client.get(path)
        assert found.status_code == 200, found.text
        return found.text

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.page("/ui/organization/"))
        assert found is not None
        return found[1]

    def user(self, name: str) -> User:
        return self.node.authenticate_token(self.tokens[name])


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(us_rok_tech(categories=["cyber-threat"]))
    collection = node.add_collection(
        "Indicators", "shared with KOR", agreement="us-rok-tech", category="cyber-threat"
    ).id
    tokens = {"admin": node.add_user("admin", is_admin=True)}
    for user, name, country in (
        ("morgan", "CISA", "USA"),
        ("jiwoo", "KISA", "KOR"),
        ("seoyeon", "Hanbit", "KOR"),
    ):
        organization = node.add_organization(name, country=country, kind="cert")
        tokens[user] = node.add_user(
            user, organization=organization, nationality=country, roles=("contributor",)
        )
    morgan = node.authenticate_token(tokens["morgan"])
    orcon = allyshare_marking(ORCON, "ORCON: to KISA", orcon=True, recipients=["KOR.KISA"])
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": REPORT,
        "created": "2026-01-02T00:00:00.000Z",
        "modified": "2026-01-02T00:00:00.000Z",
        "name": "CISA's ORCON report",
        "published": "2026-01-02T00:00:00.000Z",
        "object_refs": [CISA_NAMED],
        "object_marking_refs": [ORCON],
    }
    named = indicator(CISA_NAMED, "CISA's named indicator", "198.51.100.1")
    written = node.add_objects(morgan, collection, [orcon, named, report])
    assert written.failure_count == 0, written.failures
    anonymous = indicator(CISA_ANONYMOUS, "Given without a name", "198.51.100.2")
    written = node.add_objects(morgan, collection, [anonymous], anonymous=True)
    assert written.failure_count == 0, written.failures
    kisa = indicator(KISA_OWN, "KISA's own indicator", "198.51.100.3")
    assert node.add_objects(node.user("jiwoo"), collection, [kisa]).failure_count == 0
    held = [
        allyshare_marking(MATCH_ONLY, "Match-only", match_only=True, recipients=["KOR.KISA"]),
        indicator(HANBIT_HELD, "Hanbit's fab intrusion", "198.51.100.77", MATCH_ONLY),
    ]
    assert node.add_objects(node.user("seoyeon"), collection, held).failure_count == 0
    with TestClient(create_server_app(node), base_url="https://testserver") as client:
        yield Site(client, node, tokens, collection)
    node.close()


def test_each_section_shows_the_own_organizations_data_only(site: Site) -> None:
    site.sign_in("morgan")
    page = site.page("/ui/organization/")
    assert "My organization" in site.page("/ui/")
    contributed = page.split('id="contributed-heading"')[1].split('id="trail-heading"')[0]
    assert CISA_NAMED in contributed and REPORT in contributed
    assert KISA_OWN not in page and HANBIT_HELD not in page
    anonymous = page.split('id="anonymous-heading"')[1]
    assert CISA_ANONYMOUS in anonymous and CISA_NAMED not in anonymous
    assert "No member has asked to get in touch" in page

    site.sign_in("jiwoo")
    page = site.page("/ui/organization/")
    assert KISA_OWN in page
    for other in (CISA_NAMED, CISA_ANONYMOUS, REPORT, HANBIT_HELD):
        assert other not in page
    assert "Your organization has contributed nothing anonymously" in page
    listed = site.page(f"/ui/organization/contributed/{site.collection}/?anonymous=1")
    assert CISA_ANONYMOUS not in listed


def test_a_user_of_no_organization_is_shown_nothing(site: Site) -> None:
    site.sign_in("admin")
    page = site.page("/ui/organization/")
    assert "you belong to none" in page
    for object_id in (CISA_NAMED, CISA_ANONYMOUS, KISA_OWN, HANBIT_HELD):
        assert object_id not in page


def test_an_admin_of_a_member_sees_its_own_organizations_trail_only(site: Site) -> None:
    site.tokens["casey"] = site.node.add_user(
        "casey", is_admin=True, organization="KOR.KISA", nationality="KOR"
    )
    site.node.read_objects(
        site.user("casey"), site.collection, VersionFilter(), limit=100
    )  # one read naming both organizations' objects
    site.sign_in("casey")
    trail = site.page("/ui/organization/trail/")
    assert KISA_OWN in trail
    for other in (CISA_NAMED, CISA_ANONYMOUS, REPORT, HANBIT_HELD):
        assert other not in trail


@pytest.mark.parametrize("merged", [100, 1], ids=["a-range-per-key", "one-range"])
def test_contributions_come_newest_first_a_page_at_a_time(
    site: Site, merged: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(allyshare.storage.store, "_MERGED_KEYS", merged)
    morgan = site.user("morgan")
    first = site.node.contributed(morgan, site.collection, limit=1)
    assert first.count == 3  # the marking definition, the indicator and the report
    assert [item.object_id for item in first.newest.items] == [REPORT]
    assert first.newest.more
    following = site.node.contributed(
        morgan, site.collection, before=first.newest.items[-1].date_added, limit=5
    )
    assert [item.object_id for item in following.newest.items] == [CISA_NAMED, ORCON]
    assert not following.newest.more
    anonymous = site.node.contributed(morgan, site.collection, anonymous=True)
    assert [item.object_id for item in anonymous.newest.items] == [CISA_ANONYMOUS]


def test_the_trail_shows_who_read_the_data_and_nothing_of_another_organizations(
    site: Site,
) -> None:
    site.sign_in("jiwoo")
    site.page(f"/ui/collections/{site.collection}/objects/{CISA_NAMED}/")
    site.sign_in("morgan")
    trail = site.page("/ui/organization/trail/?action=objects%3Aread")
    assert "jiwoo (KOR.KISA) read 1 version" in trail
    assert CISA_NAMED in trail
    one = site.page(f"/ui/organization/trail/?object={REPORT}")
    assert 'data-action="objects:write"' in one and CISA_NAMED not in one

    site.sign_in("jiwoo")
    theirs = site.page("/ui/organization/trail/")
    for other in (CISA_NAMED, CISA_ANONYMOUS, REPORT):
        assert other not in theirs
    assert "No entry about this object" in site.page(f"/ui/organization/trail/?object={REPORT}")


def test_the_originator_sees_the_contact_request_and_the_match_in_its_trail(site: Site) -> None:
    site.node.match(
        site.collection,
        ["198.51.100.77", "198.51.100.99"],
        contact=CONTACT,
        actor=site.user("morgan"),
    )
    site.sign_in("seoyeon")
    page = site.page("/ui/organization/")
    contacts = page.split('id="contacts-heading"')[1].split('id="anonymous-heading"')[0]
    assert "USA.CISA" in contacts and "morgan" in contacts and HANBIT_HELD in contacts
    assert CONTACT.replace("'", "&#39;") in contacts
    trail = site.page("/ui/organization/trail/?action=objects%3Amatch")
    assert "morgan (USA.CISA) matched 1 of 2 values against yours" in trail
    assert "morgan (USA.CISA) asked to get in touch about 1 object" in trail

    site.sign_in("jiwoo")
    assert "No member has asked to get in touch" in site.page("/ui/organization/")


def test_an_approval_is_given_and_withdrawn_through_the_forms_and_audited(site: Site) -> None:
    site.sign_in("morgan")
    given = site.client.post(
        "/ui/organization/approvals/",
        data={
            "csrf": site.csrf(),
            "object": REPORT,
            "kind": "organization",
            "recipient": "KOR.HANBIT",
        },
        follow_redirects=False,
    )
    assert given.status_code == 303, given.text
    page = site.page(given.headers["location"])
    assert "Approval signed." in page
    [(approval, _signer)] = site.node.orcon_approvals(site.user("morgan"))
    assert (approval.object_ref, approval.recipient) == (REPORT, "KOR.HANBIT")
    assert f'data-approval="{approval.id}"' in page

    site.sign_in("jiwoo")
    assert approval.id not in site.page("/ui/organization/")
    refused = site.client.post(
        f"/ui/organization/approvals/{approval.id}/revoke",
        data={"csrf": site.csrf()},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert "only a contributor of the originating organization" in refused.text or (
        "no object" in refused.text
    )
    assert site.node.orcon_approvals(site.user("morgan"))

    site.sign_in("morgan")
    withdrawn = site.client.post(
        f"/ui/organization/approvals/{approval.id}/revoke",
        data={"csrf": site.csrf()},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    assert "Approval withdrawn." in site.page(withdrawn.headers["location"])
    assert site.node.orcon_approvals(site.user("morgan")) == []
    entries = site.node.audit_entries(CONSOLE, EntryFilter(action="orcon:approve"))
    assert [(e["actor"]["name"], e["detail"]["revoked"]) for e in entries] == [
        ("morgan", False),
        ("morgan", True),
    ]


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    site.sign_in("morgan")
    site.node.approve_orcon(site.user("morgan"), REPORT, organization="KOR.HANBIT")
    [(approval, _)] = site.node.orcon_approvals(site.user("morgan"))
    for data in ({}, {"csrf": "not-the-token"}):
        refused = site.client.post(
            f"/ui/organization/approvals/{approval.id}/revoke", data=data, follow_redirects=False
        )
        assert refused.status_code == 403
    approve = {"object": REPORT, "kind": "organization", "recipient": "KOR.KISA"}
    assert site.client.post("/ui/organization/approvals/", data=approve).status_code == 403
    assert [a.id for a, _ in site.node.orcon_approvals(site.user("morgan"))] == [approval.id]
