"""check_pattern must give exactly the OASIS library's verdict, fast path or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from allyshare.stix.patterns import _fast_path, check_pattern

from support.shared import stix_objects_in

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def library_accepts(pattern: str) -> bool:
    try:
        errors: list[str] = run_validator(pattern, stix_version="2.1")
    except Exception:  # the library crashes on some inputs; a crash is not an acceptance
        return False
    return not errors


def assert_agrees(pattern: str) -> bool:
    """Check both answers against the library; tell whether the fast path decided."""
    expected = library_accepts(pattern)
    fast = _fast_path(pattern) is not None
    assert not (fast and not expected), f"fast path accepted what the library rejects: {pattern!r}"
    verdict = check_pattern(pattern)
    assert (verdict is None) == expected, f"{pattern!r}: check_pattern said {verdict!r}"
    return fast


# --- generated patterns in and around the fast-path shapes ----------------------------------

GOOD_TYPES = ["ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "x-acme-thing"]
ODD_TYPES = ["t", "h", "x-", "_x", "AND", "and", "true", "IN", "9file", "x--y", "Ipv4-Addr", "a b"]
PLAIN_PATHS = ["value", "name", "size", "dst_port", "protocols[*]", "parent_ref.name", "x_acme"]
# Path -> length of a well-formed digest (None: any text).
HASH_PATHS = {
    "hashes.MD5": 32,
    "hashes.'MD5'": 32,
    "hashes.'SHA-1'": 40,
    "hashes.'SHA-256'": 64,
    "hashes.'SHA-512'": 128,
    "hashes.sha256": 64,
    "hashes.'sha-256'": 64,
    "hashes.'SHA3-256'": 64,
    "hashes.TLSH": 70,
    "hashes.SSDEEP": None,
}
ODD_PATHS = [
    "hashes.'MD6'",
    "hashes.'SHA-257'",
    "hashes",
    "'hashes'.MD5",
    "extensions.'windows-pebinary-ext'.sections[*].hashes.MD5",
    "hashes[0]",
    "hashes[*]",
    "protocols[0]",
    "protocols[-1]",
    "protocols[01]",
    "protocols[ * ]",
    "na-me",
    "IN",
    "in",
    "NOT",
    "x.'a.b'",
    "'quoted'",
    "value.",
    ".value",
    "value .x",
    "hashes.'SHA\\'256'",
    "",
]
EQUALITY = ["=", "==", "!=", "<>", "NOT =", "NOT !="]
ORDERING = ["<", ">", "<=", ">=", "NOT <"]
STRING_ONLY = ["LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "NOT LIKE"]
SET_OPERATORS = ["IN", "NOT IN"]
ODD_OPERATORS = ["NOT<", "NOT=", "like", "===", "=<", "!", "EXISTS", "", "in", "NOTLIKE"]
CLEAN_WHITESPACE = ["", " ", " ", " ", "  ", "\t", "\n"]
SPACE = [" ", " ", "  ", "\t", "\n"]
ODD_WHITESPACE = ["\r\n", "\f", "\u00a0", "\u2028", "\u3000"]


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


characters = st.text(alphabet="ab.%_-'\\ \n\u00e9\U0001f600", max_size=8)
strings = characters.map(lambda text: "'" + escape(text) + "'")
integers = st.one_of(st.integers(-(10**6), 10**6).map(str), st.sampled_from(["-0", "+5"]))
booleans = st.sampled_from(["true", "false"])
odd_literals = st.one_of(
    characters.map(lambda text: "'" + text + "'"),
    st.sampled_from(
        [
            "01",
            "1.5",
            ".5",
            "1e5",
            "12345678901234567890123456789012",
            "True",
            "TRUE",
            "h'00ff'",
            "b'AAAA'",
            "t'2020-01-01T00:00:00Z'",
            "'unterminated",
            "-",
            "()",
        ]
    ),
)


@st.composite
def comparisons(draw: st.DrawFn, clean: bool) -> str:
    """A comparison the fast path should take; unless clean, with one or two parts spoiled."""
    parts = {"type": draw(st.sampled_from(GOOD_TYPES))}
    if draw(st.booleans()):
        path, size = draw(st.sampled_from(sorted(HASH_PATHS.items())))
        if size:
            digest = format(draw(st.integers(0, 16**size - 1)), f"0{size}x")
            digest = digest.upper() if draw(st.booleans()) else digest
        else:
            digest = draw(st.text(alphabet="abcXYZ0189/+:.", min_size=1, max_size=20))
        parts |= {"path": path, "op": draw(st.sampled_from(["=", "!="])), "value": f"'{digest}'"}
    else:
        parts["path"] = draw(st.sampled_from(PLAIN_PATHS))
        operator = draw(st.sampled_from(EQUALITY + ORDERING + STRING_ONLY + SET_OPERATORS))
        if operator in EQUALITY:
            value = draw(st.one_of(strings, integers, booleans))
        elif operator in ORDERING:
            value = draw(st.one_of(strings, integers))
        elif operator in STRING_ONLY:
            value = draw(strings)
        else:
            items = draw(st.lists(st.one_of(strings, integers, booleans), max_size=3))
            value = "(" + draw(st.sampled_from([", ", ",", " , "])).join(items) + ")"
        parts |= {"op": operator, "value": value}
    keyword = parts["op"][0].isalpha()
    parts["before"] = draw(st.sampled_from(SPACE if keyword else CLEAN_WHITESPACE))
    parts["after"] = draw(st.sampled_from(CLEAN_WHITESPACE))
    if not clean:
        odd = {
            "type": st.sampled_from(ODD_TYPES),
            "path": st.sampled_from(ODD_PATHS),
            "op": st.sampled_from(ODD_OPERATORS + EQUALITY + ORDERING + STRING_ONLY),
            "value": st.one_of(odd_literals, strings, integers, booleans),
            "before": st.sampled_from([*ODD_WHITESPACE, ""]),
            "after": st.sampled_from(ODD_WHITESPACE),
        }
        for part in draw(st.lists(st.sampled_from(sorted(odd)), min_size=1, max_size=2)):
            parts[part] = draw(odd[part])
    return "{type}:{path}{before}{op}{after}{value}".format(**parts)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """Half built only from shapes the fast path should take, half with near-misses mixed in."""
    clean = draw(st.booleans())

    def pick(good: list[str], odd: list[str]) -> str:
        return draw(st.sampled_from(good if clean else good * 3 + odd))

    def comparison() -> str:
        return draw(comparisons(clean or draw(st.integers(0, 2)) > 0))

    observations = []
    for _ in range(draw(st.integers(1, 2))):
        text = comparison()
        for _ in range(draw(st.integers(0, 2))):
            text += pick([" AND ", " OR ", "\nOR\t"], [" and ", "AND ", " && ", " AND"])
            text += comparison()
        space = pick(CLEAN_WHITESPACE, ODD_WHITESPACE)
        observations.append(f"[{space}{text}{pick(CLEAN_WHITESPACE, ODD_WHITESPACE)}]")
    text = pick(CLEAN_WHITESPACE, ODD_WHITESPACE) + observations[0]
    for observation in observations[1:]:
        text += pick([" AND ", " OR ", " FOLLOWEDBY ", "AND"], [" followedby ", " ; "])
        text += observation
    text += pick([""], [" WITHIN 5 SECONDS", " REPEATS 2 TIMES", " x", "]", "'", " // c", "/**/"])
    if not clean:
        mutation = draw(st.integers(0, 4))
        if mutation == 0:  # drop one character
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + text[at + 1 :]
        elif mutation == 1:  # insert one character
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(list("[]()'\\:.=, -"))) + text[at:]
    return text


@settings(max_examples=3000, deadline=None)
@given(patterns())
def test_generated_patterns_agree_with_the_library(pattern: str) -> None:
    event("fast path" if assert_agrees(pattern) else "library")


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '198.51.100.1']",
        "[file:hashes.'SHA-256' = '" + "a" * 64 + "']",
        "[file:hashes.MD5 = 'aec070645fe53ee3b3763059376134f']",
        "[file:hashes.MD5 IN ('aec070645fe53ee3b3763059376134f0')]",
        "[file:hashes.MD5 = '" + "a" * 32 + "\n']",
        "[file:hashes[0] = 'x']",
        "[url:value = 'http://x/' OR domain-name:value = 'x'] FOLLOWEDBY [file:name LIKE 'a%']",
        "[a:b = 'x' and a:c = 'y']",
        "[a:b = 'x\\y']",
        "[a:b NOT IN (1, 2)]",
        "[ipv4-addr:protocols[-1] = 'x']",
        "[a:b < true]",
        "[AND:b = 1]",
        "[a:IN = 1]",
        "[a:b = 01]",
        "ipv4-addr:value = '1.2.3.4'",
        "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS",
        "",
        "   ",
        "[",
        "[]",
    ],
)
def test_edge_cases_agree_with_the_library(pattern: str) -> None:
    assert_agrees(pattern)


def test_rejection_carries_the_library_message() -> None:
    reason = check_pattern("[file:hashes.MD5 = 'abc']")
    assert reason is not None
    assert "is not a valid MD5 hash" in reason
    assert not reason.startswith("FAIL")


def test_the_common_shapes_take_the_fast_path() -> None:
    for pattern in [
        "[ipv4-addr:value = '198.51.100.1']",
        "[domain-name:value = 'example.com' OR url:value = 'http://example.com/a']",
        "[file:hashes.'SHA-256' = '" + "ab" * 32 + "'] AND [file:name MATCHES '^x']",
        "[network-traffic:dst_port = 443 AND network-traffic:protocols[*] = 'tcp']",
        "[email-addr:value IN ('a@example.com', 'b@example.com')]",
    ]:
        assert _fast_path(pattern) is not None, pattern


# --- the patterns real producers write ---------------------------------------------------------


def shared_indicator_patterns() -> list[str]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    found = []
    for path in sorted(SHARED_DATA.rglob("*")):
        if path.suffix == ".jsonl":
            documents = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        elif path.suffix == ".json":
            documents = [json.loads(path.read_text())]
        else:
            continue
        for obj in stix_objects_in(documents):
            if (
                obj["type"] == "indicator"
                and obj.get("spec_version") == "2.1"
                and obj.get("pattern_type", "stix") == "stix"
                and isinstance(obj.get("pattern"), str)
            ):
                found.append(obj["pattern"])
    return found


def test_shared_data_patterns_agree_with_the_library() -> None:
    found = shared_indicator_patterns()
    assert found, "no STIX 2.1 indicators found in the shared data"
    fast = sum(assert_agrees(pattern) for pattern in found)
    assert fast >= 0.9 * len(found), f"fast path took only {fast} of {len(found)} real patterns"
