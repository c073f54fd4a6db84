"""Personal data scrubbing on hand-written cases it must catch, and the look-alikes of threat
data (addresses, hashes, dates, CVE ids, observables) it must leave alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allyshare.sources import Scrubber
from allyshare.sources.scrubbing import PLACEHOLDERS

from support.shared import stix_objects_in

SCRUBBER = Scrubber(["US", "KR"])
EMAIL = PLACEHOLDERS["e-mail address"]
PHONE = PLACEHOLDERS["phone number"]
NAME = PLACEHOLDERS["person name"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jdoe@mitre.org today.", f"Mail {EMAIL} today."),
        ("from 'kgf2016@yonsei.ac.kr'", f"from '{EMAIL}'"),
        ("<first.last+tag@sub.example.co.kr>", f"<{EMAIL}>"),
        ("call (703) 555-0199 now", f"call {PHONE} now"),
        ("call 202-555-0143.", f"call {PHONE}."),
        ("call +1 202 555 0143", f"call {PHONE}"),
        ("Seoul office 02-2100-2114", f"Seoul office {PHONE}"),
        ("mobile 010-1234-5678", f"mobile {PHONE}"),
        ("mobile +82 10-1234-5678", f"mobile {PHONE}"),
        ("London +44 20 7946 0958", f"London {PHONE}"),
        (
            "Reach mei_qiang_82@sohu.com or +86 10 6552 9988",
            f"Reach {EMAIL} or {PHONE}",
        ),
    ],
)
def test_it_replaces_addresses_and_numbers_in_free_text(text: str, expected: str) -> None:
    assert SCRUBBER.text(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "C2 at 202.65.222.45 and 123.183.210.28 on port 8080",
        "The domain also resolved to 123.183.210.28.",
        "CVE-2021-44228 exploited since 2021-12-10T00:00:00Z",
        "SHA-256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "MD5 d41d8cd98f00b204e9800998ecf8427e, build 20211210, version 10.2.3.4",
        "T1566.001 spear-phishing; AS4134; 1,024 hosts; 3.5 million records",
        "payload at hxxp://198.51.100.7:443/a.php?id=20230101",
        "user@ alone, @handle, and a bare domain example.com",
    ],
)
def test_it_leaves_threat_data_that_looks_like_a_number(text: str) -> None:
    assert SCRUBBER.text(text) == (text, ())


def test_a_name_declared_in_the_request_is_replaced_wherever_the_request_repeats_it() -> None:
    objects: list[Any] = [
        {"type": "identity", "identity_class": "individual", "name": "Lauren Parker"},
        {"type": "note", "authors": ["Kim Min-jun"], "content": "x"},
        {"type": "report", "name": "Leak", "description": "Lauren PARKER and kim min-jun met"},
    ]
    scrubber = SCRUBBER.with_names_from(objects)
    scrubbed = scrubber.scrub(objects[2])
    assert scrubbed is not None
    assert scrubbed.public["description"] == f"{NAME} and {NAME} met"
    assert scrubbed.found == {"description": ("person name",)}
    assert SCRUBBER.scrub(objects[2]) is None  # without the request's names, nothing found


def test_an_individual_loses_its_name_and_contact_and_keeps_the_rest() -> None:
    individual = {
        "type": "identity",
        "id": "identity--1",
        "identity_class": "individual",
        "name": "Wang Dong",
        "contact_information": "uglygorilla@163.com",
        "description": "Reachable at uglygorilla@163.com and 010-1234-5678.",
        "roles": ["agent"],
    }
    scrubbed = SCRUBBER.scrub(individual)
    assert scrubbed is not None
    assert scrubbed.public == {
        **individual,
        "name": NAME,
        "contact_information": PLACEHOLDERS["contact information"],
        "description": f"Reachable at {EMAIL} and {PHONE}.",
    }
    assert scrubbed.summary() == (
        "name (person name), contact_information (contact information), "
        "description (e-mail address, phone number)"
    )
    assert SCRUBBER.scrub(scrubbed.public) is None  # scrubbing again changes nothing


def test_structured_observables_custom_properties_and_organizations_are_kept() -> None:
    kept: list[dict[str, Any]] = [
        {"type": "email-addr", "value": "attacker@evil.example"},
        {"type": "indicator", "pattern": "[email-addr:value = 'a@evil.example']"},
        {"type": "identity", "identity_class": "organization", "name": "ACME Corp"},
        {"type": "indicator", "x_acme_contact": "soc@acme.example"},
        {"type": "malware", "name": "jdoe@mitre.org"},
    ]
    for obj in kept:
        assert SCRUBBER.scrub(obj) is None


def test_notes_and_reports_free_text_fields() -> None:
    note = {
        "type": "note",
        "abstract": "call 202-555-0143",
        "content": "ask jdoe@mitre.org",
        "authors": ["Jane Doe", "John Roe"],
    }
    scrubbed = SCRUBBER.scrub(note)
    assert scrubbed is not None
    assert scrubbed.public["authors"] == [NAME, NAME]
    assert set(scrubbed.found) == {"abstract", "content", "authors"}
    report = {"type": "report", "name": "Case of jdoe@mitre.org", "description": "none"}
    assert SCRUBBER.scrub(report) is not None


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_scrubbed_text_holds_no_address_and_scrubbing_is_idempotent(text: str) -> None:
    once, _ = SCRUBBER.text(text)
    assert SCRUBBER.text(once) == (once, ())


@given(
    st.from_regex(r"[a-z][a-z0-9._]{0,15}@[a-z]{2,10}\.(com|org|kr|co\.kr)", fullmatch=True),
    st.text(alphabet=" ,;:()<>", max_size=3),
)
def test_every_plain_address_is_found(address: str, around: str) -> None:
    text = f"contact{around}{address}{around}now"
    scrubbed, kinds = SCRUBBER.text(text)
    assert address not in scrubbed
    assert kinds == ("e-mail address",)


def found_in_shared_data(shared_data: Path) -> tuple[int, int, Counter[str]]:
    """Files, objects, and per kind the fields scrubbed, as the README's table reports
    them: each file a request of its own, phone formats of the USA and Korea."""
    files = objects = 0
    kinds: Counter[str] = Counter()
    for path in sorted(shared_data.rglob("*.json")):
        try:
            found = stix_objects_in(orjson.loads(path.read_bytes()))
        except orjson.JSONDecodeError:
            continue
        if not found:
            continue
        files, objects = files + 1, objects + len(found)
        scrubber = SCRUBBER.with_names_from(found)
        for obj in found:
            scrubbed = scrubber.scrub(obj)
            if scrubbed is not None:
                kinds.update(k for kinds_found in scrubbed.found.values() for k in kinds_found)
    return files, objects, kinds


def test_what_it_finds_in_the_shared_data_is_what_the_readme_says(shared_data: Path) -> None:
    files, objects, kinds = found_in_shared_data(shared_data)
    assert (files, objects) == (118, 3602)
    assert kinds == {"person name": 9, "contact information": 7, "e-mail address": 2}
