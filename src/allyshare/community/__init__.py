"""Members and their sharing agreements: reading and checking what operators declare."""

from allyshare.community.agreements import (
    CATEGORIES,
    agreement_from_document,
    agreement_toml,
    read_agreement_document,
    read_agreement_file,
)
from allyshare.community.countries import check_country, country_problem, is_country
from allyshare.community.organizations import (
    KINDS,
    ORGANIZATION_ID,
    identity_of,
    organization_id,
)

__all__ = [
    "CATEGORIES",
    "KINDS",
    "ORGANIZATION_ID",
    "agreement_from_document",
    "agreement_toml",
    "check_country",
    "country_problem",
    "identity_of",
    "is_country",
    "organization_id",
    "read_agreement_document",
    "read_agreement_file",
]
