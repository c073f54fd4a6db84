"""Source protection: contributions whose contributor stays anonymous to everyone but an
audited reveal, the community pseudonym readers see instead, the sealing of the true
values at rest, and personal data replaced before it is stored."""

from allyshare.sources.anonymity import (
    IDENTIFYING,
    Anonymized,
    anonymize,
    community_identity,
    community_identity_id,
)
from allyshare.sources.scrubbing import Scrubbed, Scrubber
from allyshare.sources.sealing import SEALING_PURPOSE, Sealer

__all__ = [
    "IDENTIFYING",
    "SEALING_PURPOSE",
    "Anonymized",
    "Scrubbed",
    "Scrubber",
    "Sealer",
    "anonymize",
    "community_identity",
    "community_identity_id",
]
