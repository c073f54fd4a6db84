"""The management API (DESIGN section 8): organizations, users, tokens, agreements, collections.

Like the TAXII binding it only translates HTTP to :class:`~allyshare.service.Node` calls, where
access is checked; it never reaches the store itself. Endpoints are plain functions, so FastAPI
runs the node's blocking calls in its thread pool. Callers authenticate exactly as TAXII
clients do, with the same brake on guessing.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at
# runtime, and the ``Anyone``/``allowed_to`` dependencies are local to create_management_app.

import base64
import logging
from dataclasses import asdict
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse

from allyshare import __version__
from allyshare.clock import format_us, now_us, parse_us
from allyshare.economic.spreadsheets import parse_markings
from allyshare.errors import AllyshareError, InvalidInput, NotFound, OverBudget
from allyshare.federation.matching import match_at_peer
from allyshare.federation.peers import (
    Credentials,
    add_peer,
    node_identity,
    remove_peer,
    subscribe,
)
from allyshare.interchange import import_csv
from allyshare.manage.models import (
    AgreementDocument,
    AgreementOut,
    AgreementsOut,
    AlertOutcomeOut,
    AlertsOut,
    AuditEntriesOut,
    Caller,
    CoercionViewOut,
    CollectionOut,
    CollectionsOut,
    ConsistencyProofOut,
    ContactOut,
    ContactsOut,
    CosignatureIn,
    CosignatureOut,
    CosignaturesOut,
    ExplainedVersion,
    ExplanationOut,
    InclusionProofOut,
    LookupOut,
    MatchedOut,
    NewAlerts,
    NewCollection,
    NewLookup,
    NewMatch,
    NewOrconApproval,
    NewOrganization,
    NewPeer,
    NewReveal,
    NewSubscription,
    NewUser,
    NodeOut,
    OrconApprovalOut,
    OrconApprovalsOut,
    OrganizationChange,
    OrganizationOut,
    OrganizationsOut,
    PeerContact,
    PeerMatchReport,
    PeerOut,
    PeersOut,
    Problem,
    PsiAnswer,
    PsiRequest,
    RevealOut,
    SightingsOut,
    SpreadsheetImportOut,
    SubscriptionOut,
    SupplyChainOut,
    Token,
    UserChange,
    UserCreated,
    UserOut,
    UsersOut,
)
from allyshare.orcon.approvals import Approval
from allyshare.policy.rights import Operation
from allyshare.service import Node
from allyshare.service.correlation import Correlated
from allyshare.storage import EntryFilter, OrganizationRecord, User
from allyshare.taxii.auth import LoginLimiter, LoginsLimited, request_user
from allyshare.taxii.errors import status_for

log = logging.getLogger("allyshare.manage")

# Read raw, so the one parser TAXII uses decides what counts as credentials; declared as a
# security scheme so /docs offers an "Authorize" box.
_AUTHORIZATION = APIKeyHeader(
    name="Authorization",
    scheme_name="allyshare token",
    description="`Bearer TOKEN`, `Token TOKEN`, or `Basic` with base64 of `name:TOKEN`",
    auto_error=False,
)
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="allyshare", Bearer'}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem} for status in statuses}


class ManagementAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """The schema with 400 where FastAPI documents 422: this API answers a request its
        parameters or body do not fit with a 400 problem."""
        schema = super().openapi()
        problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        bad_request = {"description": "Bad Request", "content": problem}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", bad_request)
                for status, response in responses.items():
                    # Errors are problems in JSON, whatever an operation answers when it works.
                    if status.isdigit() and int(status) >= 400:
                        response["content"] = problem
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        return schema


def create_management_app(node: Node, limiter: LoginLimiter | None = None) -> FastAPI:
    """Build the management ASGI app for one node; mount it at ``/api/v1``.

    Its OpenAPI document is left to whoever mounts it (see :mod:`allyshare.server`), which
    knows the path it is served under. ``limiter`` counts failed logins; pass the one the
    node's TAXII app uses, else the app keeps its own.
    """
    limiter = limiter or LoginLimiter()
    app = ManagementAPI(
        title="allyshare management API",
        version=__version__,
        description=(
            "Manage one allyshare node: its member organizations, users and their tokens, "
            "sharing agreements, collections and peers. Errors are `{title, description}`."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        responses=_problems(401, 429),
        dependencies=[Depends(_storable_parameters)],
        exception_handlers={
            AllyshareError: _allyshare_error,
            HTTPException: _http_error,
            RequestValidationError: _validation_error,
            Exception: _server_error,
        },
    )

    async def caller(
        request: Request, authorization: Annotated[str | None, Security(_AUTHORIZATION)] = None
    ) -> User:
        """A member by its token, or a peer node by its request signature (witnessing)."""
        return await request_user(node, limiter, request, authorization)

    def allowed_to(operation: Operation) -> Any:
        """A caller the gate lets take ``operation`` (checked before the body is read)."""

        def check(user: Annotated[User, Depends(caller)]) -> User:
            node.require(user, operation)
            return user

        return Depends(check)

    Anyone = Annotated[User, Depends(caller)]
    MembersReader = Annotated[User, allowed_to(Operation.MEMBERS_READ)]
    MembersWriter = Annotated[User, allowed_to(Operation.MEMBERS_WRITE)]
    AgreementsWriter = Annotated[User, allowed_to(Operation.AGREEMENTS_WRITE)]
    CollectionsWriter = Annotated[User, allowed_to(Operation.COLLECTIONS_WRITE)]
    PeersReader = Annotated[User, allowed_to(Operation.PEERS_READ)]
    PeersWriter = Annotated[User, allowed_to(Operation.PEERS_WRITE)]
    Revealer = Annotated[User, allowed_to(Operation.SOURCES_REVEAL)]

    @app.get("/me", tags=["caller"])
    def me(user: Anyone) -> Caller:
        """Who the credentials belong to, as the access decision sees them."""
        return Caller.of(user)

    # organizations

    @app.get("/organizations", tags=["organizations"], responses=_problems(403))
    def list_organizations(user: MembersReader) -> OrganizationsOut:
        return OrganizationsOut(
            organizations=[OrganizationOut.of(r) for r in node.organizations(user)]
        )

    @app.post(
        "/organizations",
        status_code=201,
        tags=["organizations"],
        responses=_problems(400, 403, 409),
    )
    def add_organization(body: NewOrganization, user: MembersWriter) -> OrganizationOut:
        """Register a member; its id is derived from country and name and never changes."""
        organization = node.add_organization(
            body.name, country=body.country, kind=body.kind, sectors=body.sectors, actor=user
        )
        log.info("organization added", extra={"organization": organization, "by": user.name})
        return OrganizationOut.of(_organization(node, organization, user))

    @app.patch(
        "/organizations/{organization_id}",
        tags=["organizations"],
        responses=_problems(400, 403, 404, 409),
    )
    def change_organization(
        organization_id: str, body: OrganizationChange, user: MembersWriter
    ) -> OrganizationOut:
        """Rename, re-sector, or disable (which cuts off all its users at once), all or
        nothing; disabling the organization of the last active admin is refused (409)."""
        record = node.change_organization(
            organization_id,
            name=body.name,
            sectors=body.sectors,
            disabled=body.disabled,
            actor=user,
        )
        log.info(
            "organization changed",
            extra={"organization": organization_id, "by": user.name, "disabled": body.disabled},
        )
        return OrganizationOut.of(record)

    # users and tokens

    @app.get("/users", tags=["users"], responses=_problems(403))
    def list_users(user: MembersReader) -> UsersOut:
        return UsersOut(users=[UserOut.of(u) for u in node.users(user)])

    @app.post("/users", status_code=201, tags=["users"], responses=_problems(400, 403, 404, 409))
    def add_user(body: NewUser, user: MembersWriter) -> UserCreated:
        """Create a user; its token is in this answer only, so keep it now."""
        token = node.add_user(
            body.name,
            organization=body.organization,
            nationality=body.nationality,
            clearance=body.clearance,
            roles=body.roles,
            actor=user,
        )
        log.info("user added", extra={"user": body.name, "by": user.name})
        return UserCreated(**UserOut.of(node.user(body.name)).model_dump(), token=token)

    @app.patch("/users/{name}", tags=["users"], responses=_problems(400, 403, 404, 409))
    def change_user(name: str, body: UserChange, user: MembersWriter) -> UserOut:
        """Change what is given, all or nothing; a disabled user is refused from its next
        request on. Demoting or disabling the last active admin is refused (409)."""
        changed = node.change_user(
            name,
            organization=body.organization,
            nationality=body.nationality,
            clearance=body.clearance,
            roles=body.roles,
            disabled=body.disabled,
            actor=user,
        )
        log.info("user changed", extra={"user": name, "by": user.name, "disabled": body.disabled})
        return UserOut.of(changed)

    @app.post("/users/{name}/token", tags=["users"], responses=_problems(403, 404))
    def rotate_token(name: str, user: MembersWriter) -> Token:
        """Replace the user's token; the old one stops working at once."""
        token = node.rotate_token(name, actor=user)
        log.info("token rotated", extra={"user": name, "by": user.name})
        return Token(name=name, token=token)

    # agreements and collections

    @app.get("/agreements", tags=["agreements"])
    def list_agreements(user: Anyone) -> AgreementsOut:
        """The version in force of every agreement; members need to know the rules they share by."""
        return AgreementsOut(agreements=[AgreementOut.of(a) for a in node.agreements()])

    @app.post(
        "/agreements",
        status_code=201,
        tags=["agreements"],
        responses={
            200: {"model": AgreementOut, "description": "already in force, unchanged"},
            **_problems(400, 403, 409),
        },
    )
    def apply_agreement(
        body: AgreementDocument, response: Response, user: AgreementsWriter
    ) -> AgreementOut:
        """Apply an agreement version: 201 when kept as new, 200 when already in force.

        A changed document needs a higher version (409 otherwise), so parties can tell versions
        apart.
        """
        agreement, changed = node.apply_agreement(body.model_dump(exclude_unset=True), actor=user)
        if changed:
            log.info(
                "agreement applied",
                extra={"agreement": agreement.name, "version": agreement.version, "by": user.name},
            )
        else:
            response.status_code = 200
        return AgreementOut.of(agreement)

    @app.get("/collections", tags=["collections"])
    def list_collections(user: Anyone) -> CollectionsOut:
        """The collections the caller holds a right on, with what it may do there."""
        return CollectionsOut(collections=[CollectionOut.of(c) for c in node.collections_for(user)])

    @app.post(
        "/collections", status_code=201, tags=["collections"], responses=_problems(400, 403, 404)
    )
    def add_collection(body: NewCollection, user: CollectionsWriter) -> CollectionOut:
        """Create a collection, bound to an agreement that decides who may read and write it."""
        collection = node.add_collection(
            body.title,
            body.description,
            agreement=body.agreement,
            category=body.category,
            anonymous_by_default=body.anonymous_by_default,
            actor=user,
        )
        log.info("collection added", extra={"collection": collection.id, "by": user.name})
        return CollectionOut.of(node.collection_for(user, collection.id, "see"))

    @app.post(
        "/collections/{collection_id}/import/csv",
        tags=["collections"],
        responses=_problems(400, 403, 404, 415),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "UTF-8 CSV, one row per object, with the header the README "
                "documents for the kind",
            }
        },
    )
    async def import_spreadsheet(
        collection_id: str,
        request: Request,
        user: Anyone,
        kind: Annotated[Literal["incidents", "exposures"], Query(description="what each row is")],
        markings: Annotated[
            str,
            Query(
                description="markings of rows with an empty markings cell: TLP levels and/or "
                "marking-definition ids, separated by ';'"
            ),
        ] = "",
        skip_bad: Annotated[
            bool, Query(description="store the good rows (default: nothing if any row is bad)")
        ] = False,
    ) -> SpreadsheetImportOut:
        """Import economic-coercion incidents or supply-chain exposures from a spreadsheet
        (CSV); every problem comes back by row and column, and every object passes the same
        checks as a TAXII write."""
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "text/csv":
            raise HTTPException(415, "send the spreadsheet as text/csv")
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the body is not UTF-8 text ({exc.reason})") from None
        defaults = parse_markings(markings)
        outcome = await run_in_threadpool(
            import_csv,
            node,
            user,
            collection_id,
            kind,
            text,
            markings=defaults,
            skip_bad=skip_bad,
        )
        log.info(
            "spreadsheet imported",
            extra={"collection": collection_id, "stored": outcome.stored, "by": user.name},
        )
        return SpreadsheetImportOut.of(outcome)

    # this node and its peers

    @cache
    def identity() -> NodeOut:
        return NodeOut.of(node_identity(node.settings))

    @app.get("/node", tags=["federation"], openapi_extra={"security": []})
    def this_node() -> NodeOut:
        """Who this node is, for partners: no credentials needed, nothing secret."""
        return identity()

    @app.get("/peers", tags=["federation"], responses=_problems(403))
    def list_peers(user: PeersReader) -> PeersOut:
        """Every peer with its subscriptions and how their sync has gone."""
        alarms = node.peer_alarms()
        keeps = node.retention_days()
        return PeersOut(
            peers=[
                PeerOut.of(
                    peer,
                    node.subscriptions(peer.name, actor=user),
                    alarms.get(peer.name),
                    keeps.get(peer.agreement_name),
                )
                for peer in node.peers(user)
            ]
        )

    @app.post(
        "/peers", status_code=201, tags=["federation"], responses=_problems(400, 403, 404, 409)
    )
    def new_peer(body: NewPeer, user: PeersWriter) -> PeerOut:
        """Pin a peer: its certificate is given, or fetched and accepted only with the given
        fingerprint."""
        peer = add_peer(
            node,
            body.name,
            api_root=body.url,
            country=body.country,
            agreement=body.agreement,
            cert_fingerprint=body.cert_fingerprint,
            certificate=body.certificate.encode() if body.certificate else None,
            credentials=(
                Credentials(body.username, body.password or "") if body.username else None
            ),
            actor=user,
        )
        log.info("peer added", extra={"peer": peer.name, "by": user.name})
        keeps = node.retention_days()
        return PeerOut.of(peer, [], retention_days=keeps.get(peer.agreement_name))

    @app.delete(
        "/peers/{name}", status_code=204, tags=["federation"], responses=_problems(403, 404)
    )
    def delete_peer(name: str, user: PeersWriter) -> Response:
        """Forget a peer and its subscriptions; what it sent stays, with its provenance."""
        remove_peer(node, name, actor=user)
        log.info("peer removed", extra={"peer": name, "by": user.name})
        return Response(status_code=204)

    @app.post(
        "/peers/{name}/subscriptions",
        status_code=201,
        tags=["federation"],
        responses=_problems(400, 403, 404, 409),
    )
    def new_subscription(name: str, body: NewSubscription, user: PeersWriter) -> SubscriptionOut:
        """Pull a collection of the peer into a local one bound to the same agreement."""
        subscription = subscribe(
            node,
            name,
            remote_collection=body.remote_collection,
            into=body.into,
            push=body.push,
            actor=user,
        )
        log.info(
            "peer subscribed",
            extra={"peer": name, "remote_collection": body.remote_collection, "by": user.name},
        )
        return SubscriptionOut.of(subscription)

    def approval_out(approval: Approval, signed_by: str | None) -> OrconApprovalOut:
        return OrconApprovalOut(
            id=approval.id,
            object_ref=approval.object_ref,
            recipient=approval.recipient,
            recipient_name=node.recipient_name(approval.recipient),
            approving_node=approval.approving_node,
            signed_by=signed_by,
            modified=approval.modified,
            revoked=approval.revoked,
        )

    @app.get("/orcon-approvals", tags=["policy"])
    def list_orcon_approvals(user: Anyone) -> OrconApprovalsOut:
        """The approvals in force: for an admin, those it may read (the markings of their
        ORCON objects bind admins too); for a member, those this node signed for its
        organization."""
        return OrconApprovalsOut(
            approvals=[approval_out(a, signer) for a, signer in node.orcon_approvals(user)]
        )

    @app.post("/reveal", tags=["sources"], responses=_problems(400, 403, 404))
    def reveal(body: NewReveal, user: Revealer) -> RevealOut:
        """Tell who contributed an anonymous object, for a reason (admins only; where the
        agreement wants two admins, the reveal waits for a second one's confirmation)."""
        done = node.reveal(body.object_id, body.reason, actor=user)
        log.info("reveal", extra={"reveal": done.id, "pending": done.pending, "by": user.name})
        return RevealOut(**asdict(done))

    @app.post("/reveal/{reveal_id}/confirm", tags=["sources"], responses=_problems(403, 404, 409))
    def confirm_reveal(reveal_id: str, user: Revealer) -> RevealOut:
        """A second admin confirms a reveal another asked for, within 24 hours."""
        done = node.confirm_reveal(reveal_id, actor=user)
        log.info("reveal confirmed", extra={"reveal": done.id, "by": user.name})
        return RevealOut(**asdict(done))

    @app.post(
        "/orcon-approvals",
        status_code=201,
        tags=["policy"],
        responses=_problems(400, 403, 404),
    )
    def new_orcon_approval(body: NewOrconApproval, user: Anyone) -> OrconApprovalOut:
        """Release an ORCON object your organization originated to one more organization or
        peer node; the node signs the approval and it syncs with the object."""
        approval = node.approve_orcon(
            user, body.object_id, organization=body.organization, peer=body.peer
        )
        log.info(
            "orcon approval",
            extra={"object": body.object_id, "approval": approval.id, "by": user.name},
        )
        return approval_out(approval, "this node")

    @app.delete(
        "/orcon-approvals/{approval_id}",
        tags=["policy"],
        responses=_problems(400, 403, 404),
    )
    def revoke_orcon_approval(approval_id: str, user: Anyone) -> OrconApprovalOut:
        """Withdraw an approval this node signed (the newest version then says revoked)."""
        approval = node.revoke_orcon(user, approval_id)
        log.info("orcon approval revoked", extra={"approval": approval_id, "by": user.name})
        return approval_out(approval, "this node")

    @app.get(
        "/observables", tags=["correlation"], response_model=LookupOut, responses=_problems(400)
    )
    def lookup(
        value: Annotated[list[str], Query(min_length=1, max_length=100)],
        user: Anyone,
        kind: Annotated[str | None, Query(alias="type", max_length=32)] = None,
    ) -> Response:
        """The objects you may see that mention each value (with type=name: that bear each
        name, matched whole in any case), across every collection you may
        read, each with its sightings as GET /sightings aggregates them: a value in too many
        objects is reported as common with its count; of what you may not see, only how many
        organizations hold it, where the agreement allows."""
        return _found(node.lookup(value, kind, actor=user))

    @app.post(
        "/observables/lookup",
        tags=["correlation"],
        response_model=LookupOut,
        responses=_problems(400),
    )
    def lookup_many(body: NewLookup, user: Anyone) -> Response:
        """As GET /observables, for up to 10,000 values at once."""
        return _found(node.lookup(body.values, body.type, actor=user))

    @app.post("/match", tags=["correlation"], responses=_problems(400, 403, 404, 429))
    def match(body: NewMatch, user: Anyone) -> MatchedOut:
        """Which of your values the collection's match-only data (which you may not read)
        holds, by private set intersection: you learn nothing of its other values, and its
        originators learn how many of your values matched theirs. On a budget per
        organization and collection (values a day, one request per interval): 429 says when
        to come back."""
        if body.peer is not None:
            found = match_at_peer(
                node,
                body.peer,
                body.collection,
                body.values,
                body.type,
                contact=body.contact,
                actor=user,
            )
        else:
            found = node.match(
                body.collection, body.values, body.type, contact=body.contact, actor=user
            )
        return MatchedOut(**found.as_json())

    @app.post(
        "/match/contact", status_code=202, tags=["federation"], responses=_problems(400, 403, 404)
    )
    def contact_from_peer(body: PeerContact, user: Anyone) -> None:
        """A peer node passes on its member's contact request after a match here (signed by
        the peer); accepted alike whether any originator holds the values."""
        node.contact_from_peer(
            user,
            body.collection,
            (body.organization, body.user),
            [(o.type, o.value) for o in body.matched],
            body.message,
        )

    @app.post(
        "/match/report", status_code=202, tags=["federation"], responses=_problems(400, 403, 404)
    )
    def match_report_from_peer(body: PeerMatchReport, user: Anyone) -> None:
        """A peer node reports how many of its member's values matched here (signed by the
        peer), for the originators' audit trail."""
        node.report_from_peer(user, body.collection, body.organization, body.asked, body.matched)

    @app.get("/contacts", tags=["correlation"], responses=_problems(403))
    def contacts(user: Anyone) -> ContactsOut:
        """Contact requests sent to your organization by members who matched values of its
        match-only objects, newest first."""
        return ContactsOut(
            contacts=[
                ContactOut(
                    id=c.id,
                    collection=c.collection_id,
                    objects=list(c.object_ids),
                    from_organization=c.from_organization,
                    from_user=c.from_user,
                    message=c.message,
                    sent=format_us(c.created_at),
                )
                for c in node.contacts(actor=user)
            ]
        )

    @app.post("/match/psi", tags=["federation"], responses=_problems(400, 403, 404, 429))
    def answer_match(body: PsiRequest, user: Anyone) -> PsiAnswer:
        """A peer node's private matching request for one of its members (signed by the
        peer): the setup over what the peer may match in the collection and the answer to
        the request. The member's budget here is its own."""
        try:
            request = base64.b64decode(body.request, validate=True)
        except ValueError:
            raise InvalidInput("request: not base64") from None
        setup, response, left, resets = node.answer_match(
            user, body.collection, body.organization, request
        )
        return PsiAnswer(
            setup=base64.b64encode(setup).decode("ascii"),
            response=base64.b64encode(response).decode("ascii"),
            budget_left=left,
            budget_resets=format_us(resets),
        )

    @app.get("/sightings", tags=["sources"], responses=_problems(400, 404))
    def sightings(
        of: Annotated[str, Query(min_length=1, max_length=300)],
        user: Anyone,
    ) -> SightingsOut:
        """The sightings of an object you may see, across every collection you may read,
        aggregated: your organization's own, those whose sighters you may see, and every
        other sighter as "others" with its country (anonymous sighters among them)."""
        return SightingsOut(**node.sightings(of, actor=user).as_json())

    # The views are answered as their kept JSON: they may have tens of thousands of cells,
    # which a response model would validate again field by field on every request (the
    # documented schemas are `CoercionViewOut` and `SupplyChainOut`).
    @app.get("/views/coercion", tags=["views"], response_model=CoercionViewOut)
    def coercion_view(user: Anyone) -> Response:
        """Economic coercion across the members: every fixed cell (coercing state, measure,
        sector, quarter) of the incidents you may see, a cell shown only when at least k
        organizations contribute to it, and each state's total over the shown cells. No
        filters: fixed cells keep overlapping queries from singling out one member."""
        return Response(node.coercion_view(actor=user).encoded, media_type="application/json")

    @app.get("/views/supply-chain", tags=["views"], response_model=SupplyChainOut)
    def supply_chain_view(user: Anyone) -> Response:
        """Supply-chain concentration per component category of the exposures you may see:
        vendor and vendor-country shares across the members (each member weighs the same)
        and their Herfindahl-Hirschman index, under the same k rule."""
        view = node.supply_chain_view(actor=user)
        return Response(view.encoded, media_type="application/json")

    @app.post(
        "/views/coercion/alerts",
        status_code=201,
        tags=["views"],
        responses={
            200: {"model": AlertsOut, "description": "Nothing written: nothing was to be"},
            207: {"model": AlertsOut, "description": "The node refused one or more notes"},
            **_problems(400, 403, 404),
        },
    )
    def coercion_alerts(body: NewAlerts, user: Anyone, response: Response) -> AlertsOut:
        """Write the pattern alerts (one coercing state, one measure, two or more parties of
        the collection's agreement within the window) as STIX notes into the collection,
        marked so that no one reads a note who may not read its incidents.

        Each note's outcome is in ``outcomes``. The answer is 201 when a note was written and
        none failed, 200 when none was to be written (no pattern, or each already raised),
        and 207 when the node refused any: a refusal answered as plain success would leave
        the caller believing the alert raised. Notes written beside a refused one stay
        written."""
        alerted = node.write_coercion_alerts(body.collection, actor=user)
        status = alerted.status
        if alerted.failed:
            response.status_code = 207
        elif not any(o.outcome == "written" for o in alerted.outcomes):
            response.status_code = 200
        return AlertsOut(
            notes=alerted.notes,
            outcomes=[
                AlertOutcomeOut(id=o.note["id"], outcome=o.outcome, message=o.message)
                for o in alerted.outcomes
            ],
            status_id=None if status is None else status.id,
        )

    @app.get("/policy/explain", tags=["policy"], responses=_problems(404))
    def explain_policy(object_id: str, as_user: str, user: Anyone) -> ExplanationOut:
        """Why a user sees an object as it does; only admins and the object's originator may
        ask, and to anyone else the object answers as a missing one."""
        explained = node.explain(user, object_id, as_user)
        return ExplanationOut(
            object_id=object_id,
            user=as_user,
            versions=[ExplainedVersion.of(item) for item in explained],
        )

    # the audit log

    @app.get(
        "/audit",
        tags=["audit"],
        response_model=AuditEntriesOut,
        responses={
            200: {"content": {"application/jsonl": {"schema": {"type": "string"}}}},
            **_problems(400, 403),
        },
    )
    def audit_entries(
        user: Anyone,
        actor: str | None = None,
        organization: str | None = None,
        object: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        after: int = -1,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
        format: Literal["json", "jsonl"] = "json",
    ) -> Any:
        """Audit entries, oldest first: all of them for an admin; for a member, the entries
        about its organization's objects (who read them, with what decision, and to which
        peers they went), cut down to those objects. Page on with ``after`` = the last
        ``seq``; ``format=jsonl`` answers JSON Lines."""
        selection = EntryFilter(
            actor=actor,
            about=organization,
            object_id=object,
            action=action,
            since=parse_us(since) if since else None,
            until=parse_us(until) if until else None,
        )
        entries = node.audit_entries(user, selection, after=after, limit=limit)
        if format == "jsonl":
            lines = b"".join(orjson.dumps(entry) + b"\n" for entry in entries)
            return Response(lines, media_type="application/jsonl")
        following = entries[-1]["seq"] if len(entries) == limit else None
        return AuditEntriesOut(entries=entries, next_after=following)

    @app.get("/audit/proof", tags=["audit"], responses=_problems(400, 404))
    def audit_proof(
        user: Anyone, entry: Annotated[int, Query(ge=0)], size: Annotated[int, Query(ge=1)]
    ) -> InclusionProofOut:
        """An RFC 9162 inclusion proof of entry ``entry`` in the tree of ``size`` entries."""
        return InclusionProofOut(**node.audit_inclusion(user, entry, size))

    @app.get("/audit/consistency", tags=["audit"], responses=_problems(400))
    def audit_consistency(
        user: Anyone,
        old_size: Annotated[int, Query(alias="from", ge=1)],
        new_size: Annotated[int, Query(alias="to", ge=1)],
    ) -> ConsistencyProofOut:
        """An RFC 9162 consistency proof between two sizes of the log (for witnesses)."""
        proved = node.audit_consistency(old_size, new_size)
        return ConsistencyProofOut(from_size=old_size, to_size=new_size, proof=proved["proof"])

    @app.get("/audit/checkpoint", tags=["audit"], response_class=PlainTextResponse)
    def audit_checkpoint(user: Anyone) -> PlainTextResponse:
        """The newest checkpoint of the log, a C2SP signed note with the cosignatures
        partners gave it."""
        return PlainTextResponse(node.audit_checkpoint())

    @app.get("/audit/cosignatures", tags=["audit"])
    def audit_cosignatures(user: Anyone) -> CosignaturesOut:
        """The checkpoints this node's partners witnessed, with their cosignatures."""
        return CosignaturesOut(
            cosignatures=[CosignatureOut(**item) for item in node.audit_cosignatures()]
        )

    @app.post("/audit/cosignatures", status_code=201, tags=["audit"], responses=_problems(400, 403))
    def give_cosignature(body: CosignatureIn, user: Anyone) -> CosignatureOut:
        """A peer node, having witnessed a checkpoint of this log, hands back its
        cosignature (C2SP tlog-cosignature); it is checked against the peer's key."""
        given = node.accept_cosignature(user, body.size, body.signature)
        return CosignatureOut(**given)

    return app


def _found(correlated: list[Correlated]) -> Response:
    """A lookup's answer, serialized directly: it may list thousands of objects, each with
    its sightings, which a response model would validate again field by field (the
    documented schema is `LookupOut`)."""
    results = [each.as_json() for each in correlated]
    return Response(orjson.dumps({"results": results}), media_type="application/json")


def _storable_parameters(request: Request) -> None:
    """Refuse path and query values no database column holds (PostgreSQL text cannot contain
    NUL), as bodies are refused in :mod:`allyshare.manage.models`."""
    values = [*request.path_params.values(), *(v for _, v in request.query_params.multi_items())]
    if any("\x00" in str(value) for value in values):
        raise HTTPException(400, "path and query values must not contain NUL characters")


def _organization(node: Node, organization_id: str, actor: User) -> OrganizationRecord:
    for record in node.organizations(actor):
        if record.id == organization_id:
            return record
    raise NotFound(f"no organization {organization_id!r}")


def problem_response(
    status: int, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error as the management API answers every one: ``{title, description}``."""
    body = Problem(title=HTTPStatus(status).phrase, description=description)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def _allyshare_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AllyshareError)
    if isinstance(exc, LoginsLimited):
        return problem_response(429, str(exc), exc.headers)
    if isinstance(exc, OverBudget):
        wait = max(1, -(-(exc.retry_at - now_us()) // 1_000_000))
        return problem_response(429, str(exc), {"Retry-After": str(wait)})
    status = status_for(exc)
    if status == 500:
        return await _server_error(request, exc)
    return problem_response(status, str(exc), _CHALLENGE if status == 401 else None)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    """400 naming each field at fault; the rejected values are left out, as they may be secret."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        if error["type"] == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            problems.append(f"the body is not valid JSON: {reason}")
        else:
            problems.append(f"{where}: {error['msg']}")
    return problem_response(400, "; ".join(problems))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(500, "internal error; the request was not completed")
