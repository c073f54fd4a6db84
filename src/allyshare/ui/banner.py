"""What a page's classification banner and an object's marking chips say, from the access
labels of what the page shows.

Pure: it reads labels (`allyshare.policy.AccessLabel`) and nothing else. The banner carries
the highest classification of everything shown and the narrowest releasability: NOFORN if
anything shown is NOFORN, else the countries every shown object is releasable to, as
classified systems mark a page (``SECRET//NOFORN``, ``UNCLASSIFIED//PROPIN//REL TO KOR,
USA``). A chip names each restriction of one object in words a reader knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from allyshare.policy import AccessLabel, Classification, Tlp

__all__ = ["LEVEL_NAMES", "Banner", "Chip", "banner", "chips"]

LEVEL_NAMES: Final = {
    Classification.U: "UNCLASSIFIED",
    Classification.C: "CONFIDENTIAL",
    Classification.S: "SECRET",
    Classification.TS: "TOP SECRET",
}


@dataclass(frozen=True)
class Banner:
    """The banner's text and its level (``u``, ``c``, ``s`` or ``ts``: the colour)."""

    text: str
    level: str


@dataclass(frozen=True)
class Chip:
    """One restriction of an object: its words and its kind (the chip's colour)."""

    text: str
    kind: str


def banner(labels: Iterable[AccessLabel]) -> Banner:
    """The banner of a page showing objects with these labels (UNCLASSIFIED for none)."""
    level = Classification.U
    noforn = proprietary = orcon = False
    releasable: frozenset[str] | None = None
    for label in labels:
        level = max(level, label.classification)
        noforn = noforn or label.noforn
        proprietary = proprietary or label.proprietary
        orcon = orcon or label.orcon
        if label.nationalities is not None:
            releasable = (
                label.nationalities if releasable is None else releasable & label.nationalities
            )
    parts = [LEVEL_NAMES[level]]
    if proprietary:
        parts.append("PROPIN")
    if orcon:
        parts.append("ORCON")
    if noforn:
        parts.append("NOFORN")
    elif releasable is not None:
        parts.append(f"REL TO {', '.join(sorted(releasable))}" if releasable else "NOFORN")
    return Banner("//".join(parts), level.name.lower())


def chips(label: AccessLabel) -> list[Chip]:
    """The chips of one object's label, most binding first."""
    found: list[Chip] = []
    if label.unknown:
        found.append(Chip("unknown marking", "unknown"))
    found.append(
        Chip(LEVEL_NAMES[label.classification], f"level-{label.classification.name.lower()}")
    )
    tlp = label.tlp or Tlp.CLEAR
    found.append(Chip(tlp.label, f"tlp-{tlp.name.lower().replace('_', '-')}"))
    if label.noforn:
        found.append(Chip("NOFORN", "caveat"))
    elif label.nationalities is not None:
        found.append(Chip(f"REL TO {', '.join(sorted(label.nationalities))}", "caveat"))
    if label.organizations is not None:
        found.append(Chip(f"only {', '.join(sorted(label.organizations))}", "caveat"))
    for caveat in sorted(label.caveats):
        found.append(Chip(caveat, "caveat"))
    if label.orcon:
        found.append(Chip("ORCON", "caveat"))
    if label.match_only:
        found.append(Chip("match-only", "caveat"))
    if label.recipients:
        found.append(Chip(f"to {', '.join(sorted(label.recipients))}", "recipients"))
    for statement in sorted(label.statements):
        found.append(Chip(statement, "statement"))
    return found
