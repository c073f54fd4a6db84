"""STIX 2.1 pattern checking: a regex fast path in front of the OASIS pattern library.

The OASIS `stix2patterns` library is the reference for what a valid pattern is, but its ANTLR
parser manages about two thousand patterns a second, far too slow for every indicator of every
TAXII POST. Most real indicators are one observation of a few plain comparisons, so those are
recognised here with precompiled regexes that follow the library's lexer token by token.

The fast path may only ever say "valid", and only for shapes it is certain the library accepts;
anything else, including everything invalid, is decided by the library itself. So the answer is
always the library's answer, and rejection messages are always the library's messages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from stix2patterns.v21.object_validator import HASHES_REGEX
from stix2patterns.v21.pattern import Pattern
from stix2patterns.validator import run_validator

__all__ = ["Comparison", "check_pattern", "comparisons", "literal_value"]

# Only the whitespace the lexer skips and Python's str.isspace() agrees on (the library's
# bracket pre-check uses the latter); other blanks fall back to the library.
_WS = r"[ \t\r\n]"

# Keywords are case-sensitive tokens that win over identifiers of the same length, so an
# identifier spelled like one is not an identifier.
_KEYWORDS = (
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "true",
    "false",
    "WITHIN",
    "REPEATS",
    "TIMES",
)
_NOT_KEYWORD = r"(?!(?:" + "|".join(_KEYWORDS) + r")(?![A-Za-z0-9_-]))"

# Object types may contain hyphens, property names may not; a property name followed by a
# hyphen lexes as one hyphenated identifier and is left to the library by failing to match.
_OBJECT_TYPE = _NOT_KEYWORD + r"[A-Za-z_][A-Za-z0-9_-]*+"
_PROPERTY = _NOT_KEYWORD + r"[A-Za-z_][A-Za-z0-9_]*+"
# Quoted path steps without escapes, so their text is exactly the key the library sees.
_QUOTED_KEY = r"'[^'\\]*+'"
_STEP = rf"(?:{_PROPERTY}|{_QUOTED_KEY})"
# Negative indexes are valid grammar but crash the library's inspector, so they fall back.
_INDEX = r"\[(?:\*|0|[1-9][0-9]*+)\]"
_PATH = rf"{_STEP}(?:\.{_STEP}|{_INDEX})*+"

# Runs of plain characters between escapes: the same language as one character at a time, but
# scanned in bulk.
_STRING = r"'[^'\\]*+(?:\\['\\][^'\\]*+)*+'"
_INT = r"[+-]?(?:0|[1-9][0-9]*+)"
_PRIMITIVE = rf"(?:{_STRING}|{_INT}|true|false)"
_ORDERABLE = rf"(?:{_STRING}|{_INT})"
_SET = rf"\({_WS}*+(?:{_PRIMITIVE}(?:{_WS}*+,{_WS}*+{_PRIMITIVE})*+)?{_WS}*+\)"

_COMPARISON = re.compile(
    rf"(?P<type>{_OBJECT_TYPE}):(?P<path>{_PATH})"
    rf"(?:{_WS}++(?P<not>NOT)(?={_WS}))?"
    rf"(?:{_WS}*+(?P<equality>==|=|!=|<>){_WS}*+(?P<value>{_PRIMITIVE})"
    rf"|{_WS}*+(?P<order><=|>=|<|>){_WS}*+(?P<ordered>{_ORDERABLE})"
    rf"|{_WS}++(?P<keyword>LIKE|MATCHES|ISSUBSET|ISSUPERSET){_WS}*+(?P<string>{_STRING})"
    rf"|{_WS}++IN{_WS}*+(?P<set>{_SET}))"
)
_SET_MEMBER = re.compile(_PRIMITIVE)
_ESCAPE = re.compile(r"\\(.)")
_OPEN = re.compile(rf"{_WS}*+\[{_WS}*+")
_NEXT_COMPARISON = re.compile(rf"{_WS}++(?:AND|OR){_WS}++")
_CLOSE = re.compile(
    rf"{_WS}*+\](?:{_WS}*+(?:AND|OR|FOLLOWEDBY){_WS}*+\[{_WS}*+|{_WS}*+(?P<end>\Z))"
)
_PATH_STEP = re.compile(r"'([^']*)'|([A-Za-z_][A-Za-z0-9_]*)")

# The library checks the value of any comparison on a path through `hashes` against these,
# keyed by the last step upper-cased without hyphens. MD6's expression is not anchored the way
# it looks, so MD6 is left to the library.
_HASH_RES = {
    name: re.compile(expression)
    for name, (expression, _label) in HASHES_REGEX.items()
    if name != "MD6"
}


def check_pattern(pattern: str) -> str | None:
    """Return None when `pattern` is a valid STIX 2.1 pattern, else why it is not.

    Agrees exactly with `stix2patterns.validator.run_validator(pattern, "2.1")`.
    """
    if _fast_path(pattern) is not None:
        return None
    return _library_check(pattern)


class Comparison(NamedTuple):
    """One comparison of a valid pattern: the object type, the path's named steps (list
    indexes left out), the operator as the library's inspector names it (``=``, ``IN``,
    ``ISSUBSET``, ``NOT =``, ...), and the literal's values (strings unquoted, a set's members
    each on its own)."""

    object_type: str
    path: tuple[str, ...]
    operator: str
    values: tuple[str | int | bool, ...]


def comparisons(pattern: str) -> list[Comparison]:
    """The comparisons of a valid pattern, in no particular order: the fast path's for the
    plain shapes, the library's inspector for the rest (the answers agree; tests hold them
    to it). A pattern the library cannot inspect has none."""
    found = _fast_path(pattern)
    if found is not None:
        return [_comparison_of(match) for match in found]
    return list(_library_comparisons(pattern))


def _fast_path(pattern: str) -> list[re.Match[str]] | None:
    """The comparisons, if the pattern is one of the plain shapes known to be valid.

    One or more observations joined by AND/OR/FOLLOWEDBY, each a list of comparisons joined by
    AND/OR, without parentheses, qualifiers, comments or literals other than string, integer
    and boolean.
    """
    opened = _OPEN.match(pattern)
    if opened is None:
        return None
    pos = opened.end()
    found: list[re.Match[str]] = []
    while True:
        comparison = _COMPARISON.match(pattern, pos)
        if comparison is None or not _hash_value_passes(comparison):
            return None
        found.append(comparison)
        pos = comparison.end()
        joined = _NEXT_COMPARISON.match(pattern, pos)
        if joined is not None:
            pos = joined.end()
            continue
        closed = _CLOSE.match(pattern, pos)
        if closed is None:
            return None
        if closed.group("end") is not None:
            return found
        pos = closed.end()


def _comparison_of(match: re.Match[str]) -> Comparison:
    steps = tuple(quoted or bare for quoted, bare in _PATH_STEP.findall(match.group("path")))
    equality, keyword, members = match.group("equality", "keyword", "set")
    if equality is not None:
        operator, literals = ("=" if equality == "==" else equality), [match.group("value")]
    elif keyword is not None:
        operator, literals = keyword, [match.group("string")]
    elif members is not None:
        operator, literals = "IN", _SET_MEMBER.findall(members)
    else:
        operator, literals = match.group("order"), [match.group("ordered")]
    if match.group("not") is not None:
        operator = f"NOT {operator}"
    return Comparison(
        match.group("type"), steps, operator, tuple(literal_value(t) for t in literals)
    )


def literal_value(literal: str) -> str | int | bool:
    """A pattern literal's value: a string unquoted and unescaped, an integer, a boolean."""
    if literal.startswith("'"):
        return _ESCAPE.sub(r"\1", literal[1:-1])
    if literal in ("true", "false"):
        return literal == "true"
    return int(literal)


@lru_cache(maxsize=4096)
def _library_comparisons(pattern: str) -> tuple[Comparison, ...]:
    try:
        inspected = Pattern(pattern).inspect().comparisons
    except Exception:  # the library fails on a few valid inputs; they yield nothing
        return ()
    found: list[Comparison] = []
    for object_type, entries in inspected.items():
        for path, operator, literal in entries:
            steps = tuple(step for step in path if isinstance(step, str) and step != "*")
            if operator.endswith("IN"):
                values = tuple(literal_value(m) for m in _SET_MEMBER.findall(literal))
            else:
                values = (literal_value(literal),)
            found.append(Comparison(object_type, steps, " ".join(operator.split()), values))
    return tuple(found)


def _hash_value_passes(comparison: re.Match[str]) -> bool:
    """Apply the library's hash-value rule, answering False whenever unsure."""
    path = comparison.group("path")
    if "hashes" not in path:
        return True
    rule = _HASH_RULES.get(path)
    if rule is None:
        rule = _hash_rule(path)
        if len(_HASH_RULES) < 1024:
            _HASH_RULES[path] = rule
    if rule is True or rule is False:
        return rule
    # The library strips every quote from the literal's source text before matching, so only
    # string literals without escapes are certain to be judged on exactly their content.
    value, ordered, string = comparison.group("value", "ordered", "string")
    literal = value or ordered or string
    if literal is None or literal[0] != "'" or "\\" in literal:
        return False
    return rule.match(literal[1:-1]) is not None


# Object path -> what its comparisons need: True (no hash rule applies), False (leave the
# pattern to the library) or the expression the value must match. Few distinct paths occur,
# and the cap keeps hostile input from growing it.
_HASH_RULES: dict[str, re.Pattern[str] | bool] = {}


def _hash_rule(path: str) -> re.Pattern[str] | bool:
    steps = [quoted or bare for quoted, bare in _PATH_STEP.findall(path)]
    if "hashes" not in steps:
        return True
    if "[" in path:  # an index as the last step crashes the library; leave indexes to it
        return False
    algorithm = steps[-1].upper().replace("-", "")
    if algorithm == "MD6":
        return False
    return _HASH_RES.get(algorithm, True)


@lru_cache(maxsize=4096)
def _library_check(pattern: str) -> str | None:
    """Ask the OASIS library; bounded cache because the same indicator comes back per version."""
    try:
        errors = run_validator(pattern, stix_version="2.1")
    except Exception as exc:  # the library crashes on a few inputs, e.g. the empty string
        return f"the STIX pattern parser failed on this pattern ({type(exc).__name__}: {exc})"
    if not errors:
        return None
    return "; ".join(str(error).removeprefix("FAIL: ") for error in errors[:3])
