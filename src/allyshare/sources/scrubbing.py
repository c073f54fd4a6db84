"""Personal data scrubbing: what an object looks like once the e-mail addresses, phone numbers
and person names in it are replaced by placeholders, and which fields that touched.

What is scrubbed, where an agreement asks for it (``scrub_pii``), before anything is stored:

- an ``identity`` of class ``individual``: its ``name`` and ``contact_information`` whole;
- free text: ``description`` of every object, a report's ``name``, a note's ``abstract`` and
  ``content``, an opinion's ``explanation``; and the ``authors`` of notes and opinions whole.

In free text, e-mail addresses are found by their syntax, phone numbers by Google's
libphonenumber (``phonenumbers``, national formats of the agreement's party countries and any
number written with its ``+`` country code; dotted quads are IPv4 addresses, not phones), and
person names only where the same request names them: an individual's name, or a note's
author. No name recogniser runs on free text (the ones that exist need language models a
closed network cannot fetch), so a name that appears only in prose is kept.

Structured observables are threat data, not personal data: an ``email-addr`` object's
``value`` or an indicator's pattern is never touched, nor are ``x_`` properties, which only
their writer can interpret. The values removed are kept nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from phonenumbers import Leniency, PhoneNumberMatcher

__all__ = ["PLACEHOLDERS", "Scrubbed", "Scrubber"]

EMAIL: Final = "e-mail address"
PHONE: Final = "phone number"
NAME: Final = "person name"
CONTACT: Final = "contact information"

PLACEHOLDERS: Final[Mapping[str, str]] = {
    EMAIL: "[e-mail address removed]",
    PHONE: "[phone number removed]",
    NAME: "[name removed]",
    CONTACT: "[contact information removed]",
}

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9_][A-Za-z0-9._%+-]*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])"
)
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-/]*\d){6,}")
"""Seven digits or more, however separated: no phone number has fewer. Text without such a
run (or with only dates and addresses) is not handed to the phone matcher, whose cost is a
parse per candidate and region."""
_NOT_A_PHONE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?|\d{1,3}(?:\.\d{1,3}){3}"
)
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)")
_SHORTEST_NAME = 3
"""Shorter names (initials, "Al") would replace ordinary words."""

_TEXT_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "report": ("name",),
    "note": ("abstract", "content"),
    "opinion": ("explanation",),
}
_AUTHORED = frozenset({"note", "opinion"})


@dataclass(frozen=True, slots=True)
class Scrubbed:
    """An object with its personal data replaced, and per field the kinds found there."""

    public: dict[str, Any]
    found: dict[str, tuple[str, ...]]

    def summary(self) -> str:
        """The fields and kinds, never the values: what a writer is told."""
        return ", ".join(f"{name} ({', '.join(kinds)})" for name, kinds in self.found.items())


def _is_individual(obj: Mapping[str, Any]) -> bool:
    return obj.get("type") == "identity" and obj.get("identity_class") == "individual"


class Scrubber:
    """Finds personal data in the objects of one request.

    ``regions`` are ISO 3166-1 alpha-2 codes whose national phone formats are recognised;
    ``names`` are person names this request declares (`with_names_from`).
    """

    def __init__(self, regions: Iterable[str] = (), names: Iterable[str] = ()) -> None:
        self.regions: tuple[str, ...] = tuple(dict.fromkeys(regions))
        self.names = frozenset(n.strip() for n in names if len(n.strip()) >= _SHORTEST_NAME)
        self._names = (
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True))
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if self.names
            else None
        )

    def with_names_from(self, objects: Sequence[object]) -> Scrubber:
        """This scrubber knowing the person names the objects declare: individuals' names
        and note and opinion authors, so they are replaced wherever the request repeats them."""
        names: set[str] = set()
        for obj in objects:
            if not isinstance(obj, Mapping):
                continue
            if _is_individual(obj) and isinstance(obj.get("name"), str):
                names.add(obj["name"])
            if obj.get("type") in _AUTHORED and isinstance(obj.get("authors"), list):
                names.update(a for a in obj["authors"] if isinstance(a, str))
        if not names:
            return self
        return Scrubber(self.regions, self.names | names)

    def scrub(self, obj: Mapping[str, Any]) -> Scrubbed | None:
        """The object with its personal data replaced, or None when it holds none."""
        kind = obj.get("type")
        replaced: dict[str, Any] = {}
        found: dict[str, tuple[str, ...]] = {}
        if _is_individual(obj):
            for name, what in (("name", NAME), ("contact_information", CONTACT)):
                if isinstance(obj.get(name), str) and obj[name] != PLACEHOLDERS[what]:
                    replaced[name] = PLACEHOLDERS[what]
                    found[name] = (what,)
        if kind in _AUTHORED and isinstance(obj.get("authors"), list):
            authors = [PLACEHOLDERS[NAME]] * len(obj["authors"])
            if authors != obj["authors"]:
                replaced["authors"] = authors
                found["authors"] = (NAME,)
        for name in ("description", *_TEXT_FIELDS.get(kind if isinstance(kind, str) else "", ())):
            value = obj.get(name)
            if name in replaced or not isinstance(value, str):
                continue
            text, kinds = self.text(value)
            if kinds:
                replaced[name] = text
                found[name] = kinds
        if not found:
            return None
        return Scrubbed({**obj, **replaced}, found)

    def text(self, value: str) -> tuple[str, tuple[str, ...]]:
        """``value`` with its personal data replaced, and the kinds found (sorted)."""
        spans: list[tuple[int, int, str]] = []
        if "@" in value:
            spans.extend((m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(value))
        runs = [m.group() for m in _DIGIT_RUN.finditer(value)]
        runs = [run for run in runs if not _NOT_A_PHONE.fullmatch(run.strip())]
        if runs:
            # A number written with its country code is found in any region's format.
            international = all(run.startswith("+") for run in runs)
            spans.extend(self._phones(value, self.regions[:1] if international else self.regions))
        if self._names is not None:
            spans.extend((m.start(), m.end(), NAME) for m in self._names.finditer(value))
        if not spans:
            return value, ()
        parts: list[str] = []
        kinds: set[str] = set()
        done = 0
        for start, end, what in sorted(spans, key=lambda span: (span[0], -span[1])):
            if start < done:
                continue  # inside what an earlier, longer match replaced
            parts.append(value[done:start])
            parts.append(PLACEHOLDERS[what])
            kinds.add(what)
            done = end
        parts.append(value[done:])
        return "".join(parts), tuple(sorted(kinds))

    def _phones(self, value: str, regions: tuple[str, ...]) -> list[tuple[int, int, str]]:
        addresses = [m.span() for m in _IPV4.finditer(value)]
        spans: set[tuple[int, int, str]] = set()
        for region in regions or (None,):
            for match in PhoneNumberMatcher(value, region, leniency=Leniency.VALID):
                start, end = match.start, match.end
                if not any(start < a_end and a_start < end for a_start, a_end in addresses):
                    spans.add((start, end, PHONE))
        return list(spans)
