"""Request and response bodies of the management API, so OpenAPI documents every field.

Request bodies are strict (no ``"1"`` for ``1``, no unknown fields): an operator's typo in a
field that decides who may read what must fail loudly, not be coerced or ignored. The checks
that carry meaning (country codes, roles, classification levels) stay in
:class:`~allyshare.service.Node`, so every caller gets the same rules and messages.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from allyshare.clock import format_us, now_us
from allyshare.community import identity_of
from allyshare.economic.spreadsheets import RowError
from allyshare.federation.peers import NodeIdentity
from allyshare.interchange import SpreadsheetImport
from allyshare.policy import Agreement
from allyshare.service import CollectionAccess, Explanation
from allyshare.storage import OrganizationRecord, PeerRecord, SubscriptionRecord, User
from allyshare.storage.audit import LogAlarm


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _storable(self) -> Self:
        """Refuse text no database column holds (PostgreSQL text cannot contain NUL), so the
        request is a 400 here rather than an error in the store."""
        if _holds_nul(self.model_dump()):
            raise ValueError("text must not contain NUL characters")
        return self


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


# What the databases' BIGINT columns hold; a number outside it is refused, not an overflow.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class Problem(BaseModel):
    """Every error the management API answers with."""

    title: str = Field(examples=["Forbidden"])
    description: str = Field(examples=["only node administrators may manage organizations"])


class Caller(BaseModel):
    name: str
    organization: str | None = Field(description="the organization id markings name")
    nationality: str | None = Field(description="ISO 3166-1 alpha-3")
    clearance: str = Field(description="U, C, S or TS")
    roles: list[str]
    is_admin: bool

    @classmethod
    def of(cls, user: User) -> Caller:
        return cls(
            name=user.name,
            organization=user.organization_id,
            nationality=user.nationality,
            clearance=user.clearance,
            roles=sorted(user.roles),
            is_admin=user.is_admin,
        )


class UserOut(Caller):
    disabled: bool = Field(description="true when the user or its organization is disabled")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(**Caller.of(user).model_dump(), disabled=user.disabled)


class NewUser(_Request):
    name: str = Field(description="letters, digits and . _ @ - only (it is the Basic login)")
    organization: str | None = None
    nationality: str | None = Field(
        default=None, description="defaults to the organization's country"
    )
    clearance: str = "U"
    roles: list[str] | None = Field(
        default=None,
        description="reader, contributor, curator, admin; left out: reader (the answer shows them)",
    )


class UserChange(_Request):
    """Fields left out (or null) keep their value."""

    organization: str | None = None
    nationality: str | None = None
    clearance: str | None = None
    roles: list[str] | None = None
    disabled: bool | None = None


class Token(BaseModel):
    name: str
    token: str = Field(description="shown this once; the node keeps only a hash")


class UserCreated(UserOut):
    token: str = Field(description="shown this once; the node keeps only a hash")


class NewOrganization(_Request):
    name: str
    country: str = Field(description="ISO 3166-1 alpha-3", examples=["KOR"])
    kind: str = Field(description="government, cert, company or academic")
    sectors: list[str] = []


class OrganizationChange(_Request):
    """Fields left out (or null) keep their value; the id never changes."""

    name: str | None = None
    sectors: list[str] | None = None
    disabled: bool | None = Field(default=None, description="also cuts off all its users")


class OrganizationOut(BaseModel):
    id: str = Field(description="what markings name, COUNTRY.NAME", examples=["KOR.KRCERT"])
    identity: str = Field(description="the STIX identity id the organization writes as")
    name: str
    country: str
    kind: str
    sectors: list[str]
    disabled: bool

    @classmethod
    def of(cls, record: OrganizationRecord) -> OrganizationOut:
        return cls(
            id=record.id,
            identity=identity_of(record.id),
            name=record.name,
            country=record.country,
            kind=record.kind,
            sectors=list(record.sectors),
            disabled=record.disabled,
        )


class Parties(_Request):
    countries: list[str] = Field(default=[], examples=[["USA", "KOR"]])
    organizations: list[str] = []


class AgreementDocument(_Request):
    """The agreement as an operator writes it (the README's TOML, as JSON)."""

    name: str = Field(examples=["us-rok-tech"])
    version: Int64 = Field(description="a change needs a higher version than the one in force")
    parties: Parties
    categories: list[str] = Field(
        examples=[["cyber-threat", "sensitive-technology", "supply-chain", "economic-coercion"]]
    )
    max_classification: str = Field(examples=["S"])
    tlp_ceiling: str = Field(examples=["AMBER"])
    propin_match_only: bool
    aggregate_k: Int64 = Field(examples=[3])
    retention_days: Int64 | None = Field(default=None, examples=[730])
    anonymous_by_default: bool | None = Field(
        default=None, description="contributions anonymous unless the contributor asks otherwise"
    )
    reveal_approvals: Int64 | None = Field(
        default=None, description="2: a second admin confirms a reveal within 24 hours"
    )
    scrub_pii: bool | None = Field(
        default=None, description="e-mail addresses, phone numbers and person names replaced"
    )
    match_budget: Int64 | None = Field(
        default=None, description="values each organization may match a day per collection"
    )


class PartiesOut(BaseModel):
    countries: list[str]
    organizations: list[str]


class AgreementOut(BaseModel):
    name: str
    version: int
    parties: PartiesOut
    categories: list[str]
    max_classification: str
    tlp_ceiling: str = Field(examples=["TLP:AMBER"])
    propin_match_only: bool
    aggregate_k: int
    retention_days: int | None
    anonymous_by_default: bool
    reveal_approvals: int
    scrub_pii: bool
    match_budget: int

    @classmethod
    def of(cls, agreement: Agreement) -> AgreementOut:
        return cls(
            name=agreement.name,
            version=agreement.version,
            parties=PartiesOut(
                countries=sorted(agreement.party_countries),
                organizations=sorted(agreement.party_organizations),
            ),
            categories=sorted(agreement.categories),
            max_classification=agreement.max_classification.name,
            tlp_ceiling=agreement.tlp_ceiling.label,
            propin_match_only=agreement.propin_match_only,
            aggregate_k=agreement.aggregate_k,
            retention_days=agreement.retention_days,
            anonymous_by_default=agreement.anonymous_by_default,
            reveal_approvals=agreement.reveal_approvals,
            scrub_pii=agreement.scrub_pii,
            match_budget=agreement.match_budget,
        )


class NewCollection(_Request):
    title: str
    description: str = ""
    agreement: str | None = Field(
        default=None, description="the agreement's name; none keeps it within the node's country"
    )
    category: str | None = Field(
        default=None,
        description="what the collection holds, one of the agreement's categories (may be left "
        "out when the agreement covers one)",
    )
    anonymous_by_default: bool = Field(
        default=False,
        description="contributions anonymous unless the contributor asks otherwise",
    )


class CollectionOut(BaseModel):
    """What the caller may do with a collection; never how much it holds, which would leak."""

    id: str
    title: str
    description: str
    agreement: str | None
    category: str | None
    anonymous_by_default: bool
    can_read: bool
    can_write: bool

    @classmethod
    def of(cls, access: CollectionAccess) -> CollectionOut:
        collection = access.collection
        return cls(
            id=collection.id,
            title=collection.title,
            description=collection.description,
            agreement=collection.agreement_name,
            category=collection.category,
            anonymous_by_default=collection.anonymous_by_default,
            can_read=access.can_read,
            can_write=access.can_write,
        )


# Lists are wrapped in an object, as TAXII does, so paging fields can join them later.


class OrganizationsOut(BaseModel):
    organizations: list[OrganizationOut]


class UsersOut(BaseModel):
    users: list[UserOut]


class AgreementsOut(BaseModel):
    agreements: list[AgreementOut]


class CollectionsOut(BaseModel):
    collections: list[CollectionOut]


class ExplainedVersion(BaseModel):
    """One stored version of the object and what the user sees of it, with the reasons."""

    collection_id: str
    collection_title: str
    version: str
    originator: str
    markings: str
    sees: bool
    reasons: list[str]

    @classmethod
    def of(cls, item: Explanation) -> ExplainedVersion:
        return cls(
            collection_id=item.collection_id,
            collection_title=item.collection_title,
            version=item.version,
            originator=item.originator,
            markings=item.markings,
            sees=item.sees,
            reasons=list(item.lines),
        )


class ExplanationOut(BaseModel):
    object_id: str
    user: str
    versions: list[ExplainedVersion]


class NewOrconApproval(_Request):
    object_id: str = Field(description="an ORCON object your organization originated")
    organization: str | None = Field(
        default=None, description="an organization that may then read it, e.g. KOR.NIS"
    )
    peer: str | None = Field(default=None, description="a peer node it may then be sent to")


class NewReveal(_Request):
    object_id: str = Field(description="an object contributed anonymously to this node")
    reason: str = Field(description="why: recorded, and shown to the contributor's organization")


class SightingTally(BaseModel):
    sightings: int = Field(description="sighting objects counted")
    count: int = Field(description="the sum of their counts (a sighting without one counts once)")
    first_seen: str | None
    last_seen: str | None


class SighterTally(SightingTally):
    where_sighted_refs: list[str]


class OthersTally(SightingTally):
    countries: list[str] = Field(description="of the organizations that shared them")


class SightingsOut(SightingTally):
    """Sightings of one object, aggregated for the reader: its own, those whose sighters it
    may see, and the others (by country only)."""

    sighting_of_ref: str
    countries: list[str]
    own: SightingTally
    sighters: list[SighterTally]
    others: OthersTally


class ObservableOut(BaseModel):
    type: str
    value: str = Field(description="normalized")


class MentionOut(BaseModel):
    id: str
    type: str
    collections: list[str]
    first_added: str
    last_added: str
    sightings: SightingsOut | None = Field(
        default=None,
        description="its sightings, as GET /sightings aggregates them; absent when you see none",
    )


class CorrelatedOut(BaseModel):
    value: str = Field(description="as asked")
    observables: list[ObservableOut] = Field(
        description="what the value was read as (type name: as a name); empty when it is "
        "no observable"
    )
    count: int = Field(description="objects you may see that mention it")
    common: bool = Field(description="in more objects than the node lists (count only)")
    objects: list[MentionOut]
    organizations_not_shown: int | None = Field(
        default=None,
        description="organizations holding it where you may not see it, rounded down to a "
        "multiple of the agreement's aggregate_k; only when at least k do",
    )


class LookupOut(BaseModel):
    results: list[CorrelatedOut]


class NewLookup(_Request):
    values: list[Annotated[str, Field(min_length=1, max_length=2048)]] = Field(
        min_length=1, max_length=10_000
    )
    type: str | None = Field(
        default=None,
        description="the observable type, when known; name: look the values up as names",
    )


class NewMatch(_Request):
    collection: str = Field(min_length=1, max_length=64, description="on the peer, if named")
    peer: str | None = Field(
        default=None, max_length=100, description="match against this peer's collection"
    )
    values: list[Annotated[str, Field(min_length=1, max_length=2048)]] = Field(
        min_length=1, max_length=10_000
    )
    type: str | None = Field(default=None, description="the observable type, when known")
    contact: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="a message for the originators of what matches, asking to be in touch "
        "(they learn who matched and which of their objects; you do not learn who they are)",
    )


class ContactOut(BaseModel):
    id: str
    collection: str
    objects: list[str] = Field(description="your objects holding values the sender matched")
    from_organization: str
    from_user: str
    message: str
    sent: str


class ContactsOut(BaseModel):
    contacts: list[ContactOut]


class PsiRequest(_Request):
    """A peer node's request on behalf of one of its members (node-to-node, signed)."""

    collection: str = Field(min_length=1, max_length=64)
    organization: str = Field(min_length=1, max_length=200)
    request: str = Field(min_length=1, max_length=2_000_000, description="base64 PSI request")


class PeerContact(_Request):
    """A contact request a peer node sends for one of its members after a match here."""

    collection: str = Field(min_length=1, max_length=64)
    organization: str = Field(min_length=1, max_length=200)
    user: str = Field(min_length=1, max_length=200)
    matched: list[ObservableOut] = Field(min_length=1, max_length=10_000)
    message: str = Field(min_length=1, max_length=2000)


class PeerMatchReport(_Request):
    """How many of its member's values matched here, as a peer node reports after its own
    side of the intersection (PSI gives the holder no count)."""

    collection: str = Field(min_length=1, max_length=64)
    organization: str = Field(min_length=1, max_length=200)
    asked: int = Field(ge=1, le=10_000)
    matched: int = Field(ge=0, le=10_000)


class PsiAnswer(BaseModel):
    setup: str = Field(description="base64 PSI server setup")
    response: str = Field(description="base64 PSI response")
    budget_left: int
    budget_resets: str


class MatchedOut(BaseModel):
    collection: str
    asked: int
    matched: list[str] = Field(description="those of your values the match-only data holds")
    budget_left: int = Field(description="values you may still match today against it")
    budget_resets: str


class RevealOut(BaseModel):
    id: str
    object_id: str
    pending: bool = Field(
        description="waiting for a second admin to confirm (POST /reveal/{id}/confirm), as "
        "the agreement asks"
    )
    contributions: list[dict[str, Any]] = Field(
        description="per anonymous version: collection, version, organization, user, and "
        "what anonymity withheld"
    )


class OrconApprovalOut(BaseModel):
    id: str
    object_ref: str
    recipient: str = Field(description="an organization id, or node: and the node's key")
    recipient_name: str = Field(description="the recipient as this node knows it")
    approving_node: str = Field(description="the signing key of the node that signed it")
    signed_by: str | None = Field(description="that node as this node knows it (this node, a peer)")
    modified: str
    revoked: bool


class OrconApprovalsOut(BaseModel):
    approvals: list[OrconApprovalOut]


class NodeOut(BaseModel):
    """This node as partners see it (public: it holds nothing secret)."""

    name: str
    country: str
    certificate_fingerprint: str = Field(description="SHA-256 of the TLS certificate, to pin")
    signing_key: str = Field(description="Ed25519 public key, base64, that signs its requests")

    @classmethod
    def of(cls, identity: NodeIdentity) -> NodeOut:
        return cls(
            name=identity.name,
            country=identity.country,
            certificate_fingerprint=identity.certificate_fingerprint,
            signing_key=identity.signing_key,
        )


class NewPeer(_Request):
    name: str
    url: str = Field(description="the peer's TAXII API root, e.g. https://kor.example/taxii2/api/")
    country: str = Field(examples=["KOR"])
    agreement: str = Field(description="the agreement the peer shares under")
    cert_fingerprint: str | None = Field(
        default=None, description="SHA-256 fingerprint of the peer's certificate (node show)"
    )
    certificate: str | None = Field(default=None, description="the peer's certificate, PEM")
    username: str | None = Field(
        default=None, description="HTTP Basic user, for a TAXII server that is not a node"
    )
    password: str | None = Field(default=None, description="kept in a private file, not shown")


class NewSubscription(_Request):
    remote_collection: str
    into: str = Field(description="the local collection, bound to the peer's agreement")
    push: bool = Field(default=False, description="also push local writes to the peer")


class SubscriptionOut(BaseModel):
    remote_collection: str
    local_collection: str
    push: bool
    cursor: str | None = Field(description="the peer's date_added pulled up to")
    last_success: str | None
    lag_seconds: float | None = Field(
        description="seconds since the last successful sync (None: never synced)"
    )
    last_error: str | None
    objects_in: int
    objects_out: int

    @classmethod
    def of(cls, record: SubscriptionRecord) -> SubscriptionOut:
        return cls(
            remote_collection=record.remote_collection,
            local_collection=record.local_collection,
            push=record.push,
            cursor=record.cursor,
            last_success=None if record.last_success is None else format_us(record.last_success),
            lag_seconds=(
                None
                if record.last_success is None
                else round((now_us() - record.last_success) / 1e6, 3)
            ),
            last_error=record.last_error,
            objects_in=record.objects_in,
            objects_out=record.objects_out,
        )


class PeerOut(BaseModel):
    name: str
    url: str
    country: str
    agreement: str
    retention_days: int | None = Field(
        default=None,
        description="how long the agreement keeps what it shares, in days from when a node "
        "added it (none: kept until deleted)",
    )
    certificate_fingerprint: str
    signs_requests: bool = Field(description="whether its signing key is known (allyshare peers)")
    subscriptions: list[SubscriptionOut]
    audit_log_alarm: str | None = Field(
        default=None,
        description="set when the peer showed a checkpoint of its audit log inconsistent with "
        "one it signed before (rewritten, rolled back or forked history)",
    )

    @classmethod
    def of(
        cls,
        peer: PeerRecord,
        subscriptions: list[SubscriptionRecord],
        alarm: LogAlarm | None = None,
        retention_days: int | None = None,
    ) -> PeerOut:
        return cls(
            audit_log_alarm=alarm.reason if alarm else None,
            name=peer.name,
            url=peer.api_root,
            country=peer.country,
            agreement=peer.agreement_name,
            retention_days=retention_days,
            certificate_fingerprint=peer.fingerprint,
            signs_requests=peer.signing_key is not None,
            subscriptions=[SubscriptionOut.of(s) for s in subscriptions],
        )


class PeersOut(BaseModel):
    peers: list[PeerOut]


class AuditEntriesOut(BaseModel):
    entries: list[dict[str, Any]] = Field(
        description="entries as recorded (the leaves of the log's Merkle tree)"
    )
    next_after: int | None = Field(description="pass as `after` for the next page; null at the end")


class InclusionProofOut(BaseModel):
    entry: int
    size: int
    leaf_hash: str = Field(description="base64 SHA-256 of 0x00 || the entry's bytes")
    proof: list[str] = Field(description="RFC 9162 inclusion proof, base64 hashes")


class ConsistencyProofOut(BaseModel):
    from_size: int
    to_size: int
    proof: list[str] = Field(description="RFC 9162 consistency proof, base64 hashes")


class CosignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=1, description="the size of the checkpoint cosigned")
    signature: str = Field(
        max_length=1000, description="the C2SP tlog-cosignature line, as the witness wrote it"
    )


class CosignatureOut(BaseModel):
    size: int
    witness: str
    signature: str
    received_at: int = Field(description="microseconds since the epoch")


class CosignaturesOut(BaseModel):
    cosignatures: list[CosignatureOut]


class RowProblem(BaseModel):
    row: int = Field(description="as a spreadsheet numbers it: the header is row 1")
    column: str | None = Field(description="the column at fault, if one is")
    message: str


class SpreadsheetImportOut(BaseModel):
    """What became of a CSV import: if ``refused``, nothing was stored (all or nothing, and
    ``errors`` says why); else the good rows were."""

    refused: bool
    stored: int = Field(description="objects stored, named companies and vendors included")
    duplicate: int = Field(description="objects the collection held already")
    rows: int = Field(description="rows read as objects")
    objects: dict[str, str] = Field(description="each good row's object id, by row number")
    errors: list[RowProblem]
    warnings: list[RowProblem]

    @classmethod
    def of(cls, outcome: SpreadsheetImport) -> SpreadsheetImportOut:
        def problems(found: list[RowError]) -> list[RowProblem]:
            return [RowProblem(row=e.row, column=e.column, message=e.message) for e in found]

        return cls(
            refused=outcome.refused,
            stored=outcome.stored,
            duplicate=outcome.duplicate,
            rows=outcome.rows,
            objects={str(row): object_id for row, object_id in outcome.objects.items()},
            errors=problems(outcome.errors),
            warnings=problems(outcome.warnings),
        )


_SUPPRESSED = (
    "true when fewer than the agreement's aggregate_k organizations contribute: then no figure "
    "is given (not a zero)"
)


class ImpactLineOut(BaseModel):
    currency: str = Field(description="ISO 4217")
    suppressed: bool = Field(description=_SUPPRESSED)
    min: float | None = Field(default=None, description="the sum of the incidents' minimums")
    max: float | None = Field(default=None, description="the sum of the incidents' maximums")
    organizations: int | None = Field(default=None, description="contributing organizations")


class CoercionCellOut(BaseModel):
    """One fixed cell: coercing state x measure x sector x quarter of the start."""

    coercing_state: str
    measure: str
    sector: str
    quarter: str = Field(examples=["2023-Q3"])
    suppressed: bool = Field(description=_SUPPRESSED)
    incidents: int | None = None
    targeted_countries: int | None = Field(default=None, description="distinct")
    organizations: int | None = Field(default=None, description="contributing organizations")
    impact: list[ImpactLineOut] | None = Field(
        default=None, description="per currency; each line under the same k rule"
    )


class CoercionTotalOut(BaseModel):
    """A coercing state's total over its shown cells and lines only."""

    coercing_state: str
    incidents: int = Field(description="distinct incidents in the shown cells")
    targeted_countries: int
    organizations: int
    impact: list[ImpactLineOut]


class CoercionViewOut(BaseModel):
    k: int = Field(description="the largest aggregate_k of the agreements the data came from")
    cells: list[CoercionCellOut]
    totals: list[CoercionTotalOut]


class ShareLineOut(BaseModel):
    key: str = Field(description="the vendor's identity id, or the vendor country")
    name: str | None = Field(default=None, description="the vendor's name, when given")
    suppressed: bool = Field(
        description=_SUPPRESSED + ", or to keep the shown lines' complement from being fewer "
        "than k organizations' figure"
    )
    share: float | None = Field(
        default=None, description="the members' capped shares summed over the category's members"
    )
    members: int | None = None


class CategoryOut(BaseModel):
    category: str
    suppressed: bool = Field(description=_SUPPRESSED)
    members: int | None = Field(default=None, description="contributing members")
    vendor_hhi: float | None = Field(
        default=None, description="Herfindahl-Hirschman index (0..10,000) of the shown vendors"
    )
    country_hhi: float | None = Field(
        default=None, description="Herfindahl-Hirschman index of the shown vendor countries"
    )
    vendors: list[ShareLineOut] | None = None
    countries: list[ShareLineOut] | None = None


class SupplyChainOut(BaseModel):
    k: int = Field(description="the largest aggregate_k of the agreements the data came from")
    categories: list[CategoryOut]


class NewAlerts(_Request):
    collection: str = Field(
        min_length=1, max_length=64, description="where the notes go: one you may write"
    )


class AlertOutcomeOut(BaseModel):
    id: str = Field(description="the note's id")
    outcome: Literal["written", "already raised", "failed"] = Field(
        description="written: a new version stored; already raised: the note is in the "
        "collection already (another organization's, or yours unchanged), nothing written; "
        "failed: the node refused the note"
    )
    message: str | None = Field(description="why the node refused the note; none otherwise")


class AlertsOut(BaseModel):
    notes: list[dict[str, Any]] = Field(
        description="one STIX note per pattern: as written, as already raised (as you see "
        "it), or as refused"
    )
    outcomes: list[AlertOutcomeOut] = Field(description="what became of each note, in order")
    status_id: str | None = Field(description="the write's status; none when nothing was written")
