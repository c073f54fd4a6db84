"""Normalization and extraction of observables: one spelling per value whichever way it is
written, and the values a pattern compares read the same by the fast path and by the OASIS
pattern library's inspector, on generated patterns. The names of named objects (threat actors,
malware, ...) are indexed beside them, one spelling per name whatever its case and spacing."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from allyshare.observables import (
    KINDS,
    NAME,
    NAMED_TYPES,
    NOT_VALUES,
    REFERENCES,
    REFERS_TO,
    indexed_in,
    name_in,
    normalize,
    normalize_name,
    observables_in,
)
from allyshare.observables.lookup import candidates
from allyshare.stix.patterns import _library_comparisons, comparisons


@pytest.mark.parametrize(
    ("kind", "written", "normalized"),
    [
        ("domain-name", "Evil.EXAMPLE.", "evil.example"),
        ("domain-name", "bücher.example", "xn--bcher-kva.example"),
        ("ipv4-addr", "198.51.100.7/32", "198.51.100.7"),
        ("ipv4-addr", "10.1.2.3/8", "10.0.0.0/8"),
        ("ipv6-addr", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("ipv6-addr", "2001:db8::/32", "2001:db8::/32"),
        ("url", "HTTP://Evil.Example.:80/Path?Q=1", "http://evil.example/Path?Q=1"),
        ("url", "https://evil.example:443/", "https://evil.example/"),
        ("url", "https://evil.example:8443/", "https://evil.example:8443/"),
        ("email-addr", "Bob.Smith@Mail.Example.", "bob.smith@mail.example"),
        ("mac-addr", "AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff"),
        ("mac-addr", "aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff"),
        ("autonomous-system", "AS15169", "15169"),
        ("file", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    ],
)
def test_each_spelling_normalizes_to_one(kind: str, written: str, normalized: str) -> None:
    assert normalize(kind, written) == normalized


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("ipv4-addr", "2001:db8::1"),
        ("ipv4-addr", "300.1.1.1"),
        ("ipv6-addr", "10.0.0.1"),
        ("domain-name", "not a domain"),
        ("url", "no-scheme.example/x"),
        ("email-addr", "@example.com"),
        ("mac-addr", "aa:bb:cc"),
        ("autonomous-system", "AS99999999999"),
        ("file", ""),
        ("unknown", "x"),
    ],
)
def test_what_is_not_its_type_is_not_indexed(kind: str, value: str) -> None:
    assert normalize(kind, value) is None


def test_a_value_typed_into_a_lookup_is_read_as_its_likely_type() -> None:
    assert candidates("10.0.0.1") == [("ipv4-addr", "10.0.0.1")]
    assert candidates("Evil.Example") == [("domain-name", "evil.example")]
    assert candidates("2001:DB8::1") == [("ipv6-addr", "2001:db8::1")]
    assert candidates("a@B.example") == [("email-addr", "a@b.example")]
    assert candidates("as64500") == [("autonomous-system", "64500")]
    assert candidates("D41D8CD98F00B204E9800998ECF8427E") == [
        ("file", "d41d8cd98f00b204e9800998ecf8427e"),
        ("x509-certificate", "d41d8cd98f00b204e9800998ecf8427e"),
    ]
    assert candidates("10.0.0.1", "domain-name") == [("domain-name", "10.0.0.1")]
    assert candidates("words and spaces") == []


def _case(draw: Any, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def spelled(draw: Any) -> tuple[str, str, str]:
    """(type, a spelling, the normalized value)."""
    kind = draw(st.sampled_from(["ipv4-addr", "ipv6-addr", "domain-name", "file"]))
    if kind == "ipv4-addr":
        address = ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))
        return kind, str(address), str(address)
    if kind == "ipv6-addr":
        address6 = ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))
        return kind, _case(draw, address6.exploded), str(address6)
    if kind == "domain-name":
        labels = draw(
            st.lists(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), min_size=2, max_size=4)
        )
        domain = ".".join(labels)
        return kind, _case(draw, domain) + draw(st.sampled_from(["", "."])), domain
    digest = draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True))
    return kind, _case(draw, digest), digest


_PATHS = {
    "ipv4-addr": "ipv4-addr:value",
    "ipv6-addr": "ipv6-addr:value",
    "domain-name": "domain-name:value",
    "file": "file:hashes.'SHA-256'",
}


@st.composite
def patterns(draw: Any) -> tuple[str, set[tuple[str, str]]]:
    """A pattern of several observations, and the values it compares for equality."""
    expected: set[tuple[str, str]] = set()
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        parts = []
        for _ in range(draw(st.integers(1, 3))):
            kind, written, normalized = draw(spelled())
            # The library judges a hash comparison's whole literal as one hash: no sets.
            operators = ["=", "!=", "NOT =", "LIKE"] + ([] if kind == "file" else ["IN"])
            operator = draw(st.sampled_from(operators))
            literal = f"('{written}', '{written}')" if operator == "IN" else f"'{written}'"
            if operator in ("=", "IN"):
                expected.add((kind, normalized))
            parts.append(f"{_PATHS[kind]} {operator} {literal}")
        observation = "[" + draw(st.sampled_from([" AND ", " OR "])).join(parts) + "]"
        if draw(st.booleans()):
            observation = f"({observation})"
        observations.append(observation)
    joined = draw(st.sampled_from([" AND ", " OR ", " FOLLOWEDBY "])).join(observations)
    if draw(st.booleans()):
        joined = f"({joined}) WITHIN 600 SECONDS"
    return joined, expected


@settings(max_examples=300, deadline=None)
@given(patterns())
def test_extraction_agrees_with_the_pattern_library(case: tuple[str, set[tuple[str, str]]]) -> None:
    pattern, expected = case
    assert run_validator(pattern, stix_version="2.1") == [], pattern
    assert sorted(comparisons(pattern)) == sorted(_library_comparisons(pattern))
    indicator = {"type": "indicator", "pattern_type": "stix", "pattern": pattern}
    assert observables_in(indicator) == expected


@settings(max_examples=200, deadline=None)
@given(spelled())
def test_every_spelling_of_a_value_is_one_value(case: tuple[str, str, str]) -> None:
    kind, written, normalized = case
    assert normalize(kind, written) == normalized
    assert normalize(kind, normalized) == normalized


def _by_the_library(written: str, version: int) -> str | None:
    try:
        address = ipaddress.ip_address(written)
    except ValueError:
        return None
    return str(address) if address.version == version else None


OCTETS = st.one_of(st.integers(0, 300).map(str), st.from_regex(r"0[0-9]{1,2}", fullmatch=True))


@given(st.lists(OCTETS, min_size=3, max_size=5).map(".".join), st.sampled_from([4, 6]))
def test_dotted_addresses_normalize_as_the_ipaddress_library_reads_them(
    written: str, version: int
) -> None:
    """The fast path for addresses already written as the library writes them agrees with
    the library on every dotted string: leading zeros, octets over 255, too few or many."""
    kind = "ipv4-addr" if version == 4 else "ipv6-addr"
    assert normalize(kind, written) == _by_the_library(written, version)


def test_observable_objects_and_their_hashes() -> None:
    assert observables_in({"type": "ipv4-addr", "value": "198.51.100.0/24"}) == {
        ("ipv4-addr", "198.51.100.0/24")
    }
    assert observables_in(
        {"type": "file", "hashes": {"MD5": "D41D8CD98F00B204E9800998ECF8427E", "SHA-1": "aa"}}
    ) == {("file", "d41d8cd98f00b204e9800998ecf8427e"), ("file", "aa")}
    assert observables_in({"type": "autonomous-system", "number": 15169}) == {
        ("autonomous-system", "15169")
    }
    assert observables_in({"type": "indicator", "pattern_type": "sigma", "pattern": "x"}) == set()
    assert observables_in(
        {
            "type": "indicator",
            "pattern_type": "stix",
            "pattern": "[network-traffic:dst_ref.value = '203.0.113.9' AND "
            "email-message:from_ref.value = 'X@Phish.Example'] AND "
            "[ipv4-addr:value ISSUBSET '203.0.113.0/24'] AND [file:size > 10]",
        }
    ) == {
        ("ipv4-addr", "203.0.113.9"),
        ("email-addr", "x@phish.example"),
        ("ipv4-addr", "203.0.113.0/24"),
    }


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("Lazarus Group", "lazarus group"),
        ("  LAZARUS\t\n  group ", "lazarus group"),
        ("Lazarus\u00a0Group", "lazarus group"),  # NFKC: a no-break space is a space
        ("ＡＰＴ３８", "apt38"),  # NFKC: full-width letters and digits
        ("Straße", "strasse"),  # case folding, not lower casing
        ("김수키", "김수키"),
        ("Ｅvil.Example", "evil.example"),
    ],
)
def test_a_name_is_spelled_one_way(written: str, normalized: str) -> None:
    assert normalize_name(written) == normalized


@pytest.mark.parametrize("value", ["", "   \t\n", None, 7, ["Lazarus"], "a\x00b", "x" * 2049])
def test_what_is_no_name_is_not_indexed(value: object) -> None:
    assert normalize_name(value) is None


NAMED = sorted(NAMED_TYPES)


@pytest.mark.parametrize("stix_type", NAMED)
def test_each_named_type_has_its_name_indexed(stix_type: str) -> None:
    obj = {"type": stix_type, "id": f"{stix_type}--1", "name": " The  Name "}
    assert name_in(obj) == "the name"
    assert (NAME, "the name") in indexed_in(obj)


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "indicator", "name": "Lazarus C2", "pattern_type": "sigma", "pattern": "x"},
        {"type": "relationship", "name": "uses", "source_ref": "a--1", "target_ref": "b--1"},
        {"type": "sighting", "name": "seen", "sighting_of_ref": "indicator--1"},
        {"type": "file", "name": "dropper.exe", "hashes": {"MD5": "aa"}},
        {"type": "software", "name": "Office"},
        {"type": "x-allyshare-supply-chain-exposure", "name": "Exposure"},
        {"type": "note", "name": "n", "content": "x", "object_refs": ["malware--1"]},
        {"type": "malware", "is_family": False},
        {"type": "threat-actor", "name": "   "},
    ],
)
def test_only_named_types_have_a_name_indexed(obj: dict[str, Any]) -> None:
    assert name_in(obj) is None
    assert not any(kind == NAME for kind, _ in indexed_in(obj))


def test_a_named_object_keeps_its_other_entries_and_names_are_no_observables() -> None:
    report = {"type": "report", "name": "Q3 Report", "object_refs": ["malware--1"]}
    assert indexed_in(report) == {(NAME, "q3 report"), (REFERS_TO, "malware--1")}
    assert observables_in(report) == set()
    assert NAME in NOT_VALUES and NAME not in KINDS and NAME not in REFERENCES
    # A lookup asks for names only when told to.
    assert candidates("Lazarus Group") == []
    assert candidates("Lazarus  GROUP", NAME) == [(NAME, "lazarus group")]
    assert candidates("evil.example") == [("domain-name", "evil.example")]


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_normalizing_a_name_twice_changes_nothing(text: str) -> None:
    once = normalize_name(text)
    assert once is None or normalize_name(once) == once


WORDS = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1), min_size=1)
SPACES = st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(WORDS, st.data())
def test_a_name_is_found_however_it_is_cased_and_spaced(words: list[str], data: Any) -> None:
    plain = " ".join(words)
    gaps = [data.draw(SPACES) for _ in range(len(words) + 1)]
    spaced = gaps[0] + "".join(w + gap for w, gap in zip(words, gaps[1:], strict=True))
    written = _case(data.draw, spaced)
    assert normalize_name(written) == normalize_name(plain) == plain
