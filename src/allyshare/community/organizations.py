"""Organizations as members: the id that markings name, and the kinds a member can be."""

from __future__ import annotations

import re
import uuid

from allyshare.community.countries import check_country
from allyshare.errors import InvalidInput

KINDS = frozenset({"government", "cert", "company", "academic"})
ORGANIZATION_ID = re.compile(r"[A-Z]{3}\.[A-Z0-9][A-Z0-9-]*")
"""The shape of what `organization_id` makes (use ``fullmatch``)."""


def organization_id(name: str, country: str) -> str:
    """The id markings use for an organization: ``COUNTRY.NAME`` in ACS style (``KOR.KRCERT``).

    ACS ``permitted_organizations`` names organizations this way (``USA.USG``), so an id
    derived the same way lets an originator write REL TO lists that match our members.
    """
    check_country(country)
    slug = re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")
    if not slug:
        raise InvalidInput(f"organization name {name!r} has no letters or digits")
    return f"{country}.{slug}"


# A fixed namespace so every node derives the same identity id for the same organization.
_IDENTITY_NAMESPACE = uuid.UUID("5b1f6c56-2a7e-4a53-9c3e-7f7f0a9e6c21")


def identity_of(organization: str) -> str:
    """The STIX identity id an organization writes as (``created_by_ref``).

    Derived from the organization id (UUIDv5), so nodes agree on it without exchanging
    anything, and a writer's ``created_by_ref`` can be checked without a lookup.
    """
    return f"identity--{uuid.uuid5(_IDENTITY_NAMESPACE, organization)}"
