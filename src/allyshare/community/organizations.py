"""Organizations as members: the id that markings name, and the kinds a member can be."""

from __future__ import annotations

import re

from allyshare.errors import InvalidInput

KINDS = frozenset({"government", "cert", "company", "academic"})
_COUNTRY = re.compile(r"[A-Z]{3}")


def organization_id(name: str, country: str) -> str:
    """The id markings use for an organization: ``COUNTRY.NAME`` in ACS style (``KOR.KRCERT``).

    ACS ``permitted_organizations`` names organizations this way (``USA.USG``), so an id
    derived the same way lets an originator write REL TO lists that match our members.
    """
    if not _COUNTRY.fullmatch(country):
        raise InvalidInput(f"country must be an ISO 3166-1 alpha-3 code, got {country!r}")
    slug = re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")
    if not slug:
        raise InvalidInput(f"organization name {name!r} has no letters or digits")
    return f"{country}.{slug}"
