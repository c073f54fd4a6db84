"""For tests that drive the web UI's pages with Starlette's TestClient: signing in through
the form, the CSRF token a signed-in page carries, and marked indicators to find."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from allyshare.policy import ACS_EXTENSION_ID

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NOFORN = "marking-definition--6c1c1a3e-0000-4000-8000-00000000a001"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def sign_in(client: TestClient, name: str, token: str) -> None:
    """Sign ``client`` in as ``name``: its cookies then carry the session."""
    form = client.get("/ui/sign-in")
    csrf = CSRF.search(form.text)
    assert csrf is not None, form.text
    signed = client.post(
        "/ui/sign-in",
        data={"name": name, "token": token, "csrf": csrf[1]},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text


def csrf_of(client: TestClient) -> str:
    """The signed-in session's CSRF token, as every page's forms carry it."""
    page = client.get("/ui/")
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found[1]


def noforn_definition() -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": NOFORN,
        "created": "2026-01-01T00:00:00.000Z",
        "name": "S//NOFORN",
        "extensions": {
            ACS_EXTENSION_ID: {
                "extension_type": "property-extension",
                "identifier": "isa:guide.19001.ACS3-6c1c1a3e-0000-4000-8000-00000000a001",
                "create_date_time": "2026-01-01T00:00:00Z",
                "name": "S//NOFORN",
                "policy_reference": "urn:isa:policy:acs:ns:v3.0?privdefault=permit",
                "responsible_entity_custodian": "USA.CISA",
                "control_set": {"classification": "S", "formal_determination": ["NF"]},
            }
        },
    }


def indicator_id(number: int) -> str:
    return f"indicator--6c1c1a3e-0000-4000-8000-{number:012d}"


def indicator(number: int, name: str, value: str, *markings: str) -> dict[str, Any]:
    """An indicator of an IPv4 address or a domain name (which the index holds)."""
    path = "ipv4-addr" if value[0].isdigit() else "domain-name"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id(number),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "pattern": f"[{path}:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        **({"object_marking_refs": list(markings)} if markings else {}),
    }
