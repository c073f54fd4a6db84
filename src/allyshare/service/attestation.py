"""Who wrote what a peer sends: what this node records for each object, from what the peer
attests beside it, and how far a peer is believed (it answers only for its own members)."""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass

from allyshare.community import ORGANIZATION_ID, identity_of
from allyshare.config import COUNTRY_CODE
from allyshare.storage import peer_originator

__all__ = ["ATTESTED_ORIGINATORS", "Attested", "received_originators"]


ATTESTED_ORIGINATORS = "x_allyshare_originators"
"""The envelope property in which a node tells a peer node who wrote each object it sends."""


@dataclass(frozen=True)
class Attested:
    """Who a peer says wrote what it sent: the originator to record per object, and for each
    object whose claim was not taken, why (told back to the peer in the status)."""

    originators: list[str]
    notes: dict[int, str]


def received_originators(
    country: str,
    peer_name: str,
    attested: object,
    submitted: Sequence[object],
    local_organizations: Container[str],
) -> Attested:
    """The originator to record for each object a peer sent, always with the peer.

    A peer answers only for its own members, and only as far as its node tells peers who
    wrote what (`Node.public_originator`). A claim (`ATTESTED_ORIGINATORS`, one entry per
    object) naming an organization is taken when that organization is of the peer's
    country, is not one of this node's own (`Node._own_organizations`), and is the object's
    author (``created_by_ref``); otherwise only the organization's country is recorded, so
    nothing is credited to an organization the peer cannot answer for, while NOFORN is still
    judged by the writer's country. A claim naming only a country is taken: misstating it
    could only loosen the peer's own data, which its node controls anyway. Without a usable
    claim, the peer's country is recorded.
    """
    fallback = peer_originator(country, peer_name)
    if not isinstance(attested, list) or len(attested) != len(submitted):
        return Attested([fallback] * len(submitted), {})
    originators: list[str] = []
    notes: dict[int, str] = {}
    for position, (claim, obj) in enumerate(zip(attested, submitted, strict=True)):
        if isinstance(claim, str) and COUNTRY_CODE.match(claim):
            originators.append(peer_originator(claim, peer_name))
        elif isinstance(claim, str) and ORGANIZATION_ID.fullmatch(claim):
            refused = _organization_claim_problem(claim, obj, country, local_organizations)
            if refused is None:
                originators.append(peer_originator(claim, peer_name))
            else:
                claimed_country = claim.split(".")[0]
                originators.append(peer_originator(claimed_country, peer_name))
                notes[position] = (
                    f"attested originator {claim} not taken ({refused}); recorded as written "
                    f"in {claimed_country}"
                )
        else:
            originators.append(fallback)
            if claim is not None:
                notes[position] = (
                    f"attested originator {str(claim)[:80]!r} is neither a country nor an "
                    f"organization id; recorded as {country}'s"
                )
    return Attested(originators, notes)


def _organization_claim_problem(
    claim: str, obj: object, country: str, local_organizations: Container[str]
) -> str | None:
    """Why a peer may not credit this object to this organization, or None when it may."""
    if claim in local_organizations:
        return "one of this node's own organizations, which a peer does not answer for"
    if claim.split(".")[0] != country:
        return f"not an organization of {country}, the peer's country"
    author = obj.get("created_by_ref") if isinstance(obj, dict) else None
    if author != identity_of(claim):
        return "the object does not name it as author (created_by_ref)"
    return None
