"""The observables an object mentions, for the index: the value of a cyber observable (SCO),
and the values an indicator's STIX pattern compares for equality (``=``, ``IN``) or, for
addresses, for membership of a CIDR range (``ISSUBSET``, kept as the range). A negated or
ordering comparison, a ``LIKE`` or ``MATCHES``, says no value occurs, and is left out.

Patterns are read by `allyshare.stix.patterns.comparisons`: the fast path for plain shapes,
the OASIS ``stix2-patterns`` inspector for the rest, the two held to agree by tests.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

from allyshare.observables.normalize import normalize
from allyshare.stix.patterns import comparisons

__all__ = [
    "NAME",
    "NAMED_TYPES",
    "NOT_VALUES",
    "REFERENCES",
    "REFERS_TO",
    "SIGHTING_OF",
    "Observable",
    "indexed_in",
    "name_in",
    "normalize_name",
    "observables_in",
    "referred_to",
]

Observable = tuple[str, str]
"""(observable type, normalized value)"""

_VALUE_TYPES: Final = frozenset(
    {"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "mac-addr"}
)
_HASHED_TYPES: Final = frozenset({"file", "x509-certificate"})
_EMAIL_REFS: Final = frozenset({"from_ref", "sender_ref", "to_refs", "cc_refs", "bcc_refs"})
_ADDRESS_REFS: Final = frozenset({"src_ref", "dst_ref", "resolves_to_refs"})
_EQUALITY: Final = frozenset({"=", "IN"})


def observables_in(obj: Mapping[str, Any]) -> set[Observable]:
    """Each (type, normalized value) the object mentions, once."""
    kind = obj.get("type")
    found: set[Observable] = set()
    if kind in _VALUE_TYPES:
        _add(found, kind, obj.get("value"))
    elif kind == "autonomous-system":
        _add(found, kind, obj.get("number"))
    elif kind in _HASHED_TYPES:
        hashes = obj.get("hashes")
        if isinstance(hashes, Mapping):
            for value in hashes.values():
                _add(found, kind, value)
    elif kind == "indicator" and obj.get("pattern_type") == "stix":
        pattern = obj.get("pattern")
        if isinstance(pattern, str):
            found.update(_in_pattern(pattern))
    return found


SIGHTING_OF = "sighting-of"
"""Not an observable type: the index also holds, for each sighting, the object it is of, so
that the sightings of an object are found without reading every sighting (`indexed_in`).
Lookups never ask for it and private matching never offers it."""


REFERS_TO = "refers-to"
"""Not an observable type either: for a relationship, the objects it joins, and for a report,
grouping, note or opinion, the objects it is about, so that the objects referring to one are
found without reading them all (the relationship graph). Lookups and matching never use it."""

REFERENCES = (SIGHTING_OF, REFERS_TO)
"""The index's kinds that name objects rather than observed values."""

_REFERRING: Final = {
    "relationship": ("source_ref", "target_ref"),
    "report": ("object_refs",),
    "grouping": ("object_refs",),
    "note": ("object_refs",),
    "opinion": ("object_refs",),
}


NAME = "name"
"""Not an observable type: the name of a named object analysts search by (`NAMED_TYPES`),
normalized by `normalize_name`, so the search box finds a threat actor or a malware family by
its name. Only a lookup that asks for names (kind ``name``) reads them; lookups of values
never return them and private matching never offers them."""

NOT_VALUES = (SIGHTING_OF, REFERS_TO, NAME)
"""The index's kinds that are not observed values: private matching leaves them all out."""

NAMED_TYPES: Final = frozenset(
    {
        "threat-actor",
        "intrusion-set",
        "malware",
        "tool",
        "campaign",
        "attack-pattern",
        "vulnerability",
        "identity",
        "infrastructure",
        "location",
        "report",
        "grouping",
        "course-of-action",
        "incident",
    }
)
"""The types whose ``name`` is what one searches for. Not indicators, relationships,
sightings or observables: their names say what they are about, which their values (or what
they join) already index, and every object of these many-per-bundle types would cost an
index row more at ingest."""

LONGEST_NAME = 2048
"""A longer name is not indexed: no search asks for it (the search box takes at most this)."""


def normalize_name(value: object) -> str | None:
    """A name as the index spells it: Unicode NFKC, case-folded, each run of whitespace one
    space, without leading or trailing space; None when it is empty, not text, longer than
    `LONGEST_NAME`, or holds a NUL character (which no PostgreSQL text holds)."""
    if not isinstance(value, str) or len(value) > LONGEST_NAME or "\x00" in value:
        return None
    # NFKC again after case folding: folding may leave a character NFKC writes otherwise,
    # and the name must be spelled the same way when normalized twice.
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(text.split()) or None


def name_in(obj: Mapping[str, Any]) -> str | None:
    """The normalized name of a named object (`NAMED_TYPES`), if it has one."""
    if obj.get("type") not in NAMED_TYPES:
        return None
    return normalize_name(obj.get("name"))


def indexed_in(obj: Mapping[str, Any]) -> set[Observable]:
    """What the index holds of an object: its observables, for a sighting what it is of
    (`SIGHTING_OF`), the objects it refers to (`REFERS_TO`), and a named object's name
    (`NAME`)."""
    found = observables_in(obj)
    kind = obj.get("type")
    if kind == "sighting":
        ref = obj.get("sighting_of_ref")
        if isinstance(ref, str):
            found.add((SIGHTING_OF, ref))
    elif kind in NAMED_TYPES:
        name = normalize_name(obj.get("name"))
        if name is not None:
            found.add((NAME, name))
    found.update((REFERS_TO, ref) for ref in referred_to(obj))
    return found


def referred_to(obj: Mapping[str, Any]) -> set[str]:
    """The objects a relationship joins, or a report (grouping, note, opinion) is about."""
    found: set[str] = set()
    for name in _REFERRING.get(str(obj.get("type")), ()):
        value = obj.get(name)
        for ref in value if isinstance(value, list) else [value]:
            if isinstance(ref, str):
                found.add(ref)
    return found


def _in_pattern(pattern: str) -> Iterable[Observable]:
    for comparison in comparisons(pattern):
        operator, path = comparison.operator, comparison.path
        if operator == "ISSUBSET":
            kinds: tuple[str, ...] = ("ipv4-addr", "ipv6-addr")
        elif operator not in _EQUALITY:
            continue
        else:
            kinds = _kinds_of(comparison.object_type, path)
        for value in comparison.values:
            for kind in kinds:
                normalized = normalize(kind, value)
                if normalized is not None:
                    yield kind, normalized
                    break


def _kinds_of(object_type: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """The observable types a comparison's values may be (tried in order), by its path."""
    if path == ("value",) and object_type in _VALUE_TYPES:
        return (object_type,)
    if path == ("number",) and object_type == "autonomous-system":
        return (object_type,)
    if len(path) == 2 and path[0] == "hashes" and object_type in _HASHED_TYPES:
        return (object_type,)
    if len(path) == 2 and path[1] == "value":
        if object_type == "email-message" and path[0] in _EMAIL_REFS:
            return ("email-addr",)
        if path[0] in _ADDRESS_REFS:
            return ("ipv4-addr", "ipv6-addr", "domain-name")
    return ()


def _add(found: set[Observable], kind: str, value: object) -> None:
    normalized = normalize(kind, value)
    if normalized is not None:
        found.add((kind, normalized))
