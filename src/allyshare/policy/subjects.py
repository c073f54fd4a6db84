"""Who asks, under which agreement, for what: the inputs of the access decision.

These are plain frozen values built by the caller (the service, from its store and the
request), so the decision itself stays a pure function (DESIGN section 3). Country codes
are ISO 3166-1 alpha-3 (``USA``, ``KOR``), as in ACS ``permitted_nationalities``;
organization ids are the strings markings name (``USA.CISA``, ``KOR.KISA``), as in ACS
``permitted_organizations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from allyshare.policy.levels import Classification, Tlp

__all__ = ["Agreement", "Organization", "Subject", "SubjectKind", "Target"]

SubjectKind = Literal["user", "node", "system"]
"""``user``: a person or API client; ``node``: a peer node (federation egress);
``system``: the node's own privileged work, the one explicit bypass."""


@dataclass(frozen=True)
class Organization:
    """A member of a community (DESIGN section 2).

    ``kind`` is one of ``government``, ``cert``, ``company``, ``academic`` (free text: the
    decision does not branch on it); ``sectors`` are the member's sectors.
    """

    id: str
    name: str
    country: str
    kind: str = "government"
    sectors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Subject:
    """The one asking.

    A peer node asks as ``kind="node"`` with ``nationality`` = its country,
    ``organization`` = the peer's organization when it has one, and ``node_id`` = the name
    ORCON approvals give the node (``node:`` and its signing key). ``is_admin`` (a node admin)
    only lifts the fail-closed rule for unknown markings, so an admin can see what needs a
    marking definition; every other rule still binds an admin.
    """

    name: str
    organization: Organization | None
    nationality: str
    clearance: Classification = Classification.U
    roles: frozenset[str] = frozenset()
    kind: SubjectKind = "user"
    is_admin: bool = False
    node_id: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Subject:
        """The explicit system subject for privileged work (never an ambient switch)."""
        return cls(name, None, "", Classification.TS, frozenset(), "system", False)

    @classmethod
    def node(
        cls,
        name: str,
        country: str,
        organization: Organization | None = None,
        clearance: Classification = Classification.U,
        node_id: str | None = None,
    ) -> Subject:
        """A peer node as the subject of an egress decision."""
        return cls(name, organization, country, clearance, frozenset(), "node", False, node_id)


@dataclass(frozen=True)
class Agreement:
    """A machine-readable sharing agreement (DESIGN section 2), one version of it."""

    name: str
    version: int
    party_countries: frozenset[str] = frozenset()
    party_organizations: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    max_classification: Classification = Classification.U
    tlp_ceiling: Tlp = Tlp.AMBER
    propin_match_only: bool = False
    aggregate_k: int = 3
    retention_days: int | None = None
    anonymous_by_default: bool = False
    reveal_approvals: int = 1
    scrub_pii: bool = False
    match_budget: int = 10_000

    def has_party(self, organization: Organization) -> bool:
        """Whether the organization is bound by this agreement, by name or by its country."""
        return (
            organization.id in self.party_organizations
            or organization.country in self.party_countries
        )


@dataclass(frozen=True)
class Target:
    """One stored object version, whose organization wrote it, and its collection's agreement.

    ``orcon_approvals`` are the organizations and nodes (``Subject.node_id``) the originator
    has approved (signed records, DESIGN section 5) as new recipients of this object; the
    caller loads and verifies them, the decision only reads them. ``orcon_held`` is False
    when this node received the object from a peer node and no approval of the originator's
    node naming this node is in force (it was revoked): its ORCON content is then kept but
    shown to no one. ``writer_only`` is True for a version set apart for its writer (it
    reused the id of an object of another originator the writer may not see).
    """

    obj: Mapping[str, Any]
    originator: Organization
    agreement: Agreement
    orcon_approvals: frozenset[str] = field(default=frozenset())
    orcon_held: bool = True
    writer_only: bool = False
