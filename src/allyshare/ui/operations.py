"""The admins' pages: members and organizations (and disabling a user), agreements as a
summary and as TOML, peers with the health of their sync and of their audit logs, the audit
log searched and verified, ``policy explain`` as "why can't this user see this", and the
reveal of an anonymous contributor.

Every page first asks the gate for the administrative right it stands for (`Node.require`),
so a refusal is recorded and answers as a missing page; the node's calls behind it check
again. Nothing here decides who is an admin.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from allyshare.clock import format_us, now_us, parse_us
from allyshare.community import agreement_toml
from allyshare.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from allyshare.policy import Agreement
from allyshare.policy.rights import Operation
from allyshare.service.explain import Explanation
from allyshare.service.sessions import Session
from allyshare.service.sources import CONFIRM_WITHIN_US, Reveal
from allyshare.storage import EntryFilter, RevealRecord, SubscriptionRecord
from allyshare.taxii.errors import status_for
from allyshare.ui.banner import banner
from allyshare.ui.web import PAGE_SIZE, Ui, form_text, whole

__all__ = ["routes"]

OPERATIONS = "/operations"
SHOWN_REFS = 20
"""Object versions an audit entry lists on the page before it gives only their number."""


@dataclass(frozen=True)
class Lagging:
    """One subscription's sync as the peers page says it."""

    subscription: SubscriptionRecord
    last_success: str | None
    lag: str | None


@dataclass(frozen=True)
class ShownEntry:
    """One audit entry as the search lists it."""

    seq: int
    at: str
    action: str
    actor: str
    outcome: str
    collection: str | None
    peer: str | None
    reason: str | None
    detail: str | None
    versions: int
    objects: list[str]


@dataclass(frozen=True)
class ShownReveal:
    """One reveal asked for, and where it stands."""

    record: RevealRecord
    requested_at: str
    state: str
    confirmable: bool


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node

    async def admit(session: Session, operation: Operation) -> None:
        """The gate's word that this user administers ``operation`` (refusals recorded)."""
        await ui.run(node.require, session.user, operation)

    def render(
        request: Request, session: Session, template: str, status: int = 200, **context: Any
    ) -> Response:
        return ui.render(request, template, banner([]), status=status, session=session, **context)

    async def members(request: Request, session: Session) -> Response:
        await admit(session, Operation.MEMBERS_READ)
        return await members_page(request, session)

    async def members_page(
        request: Request, session: Session, problem: str | None = None, status: int = 200
    ) -> Response:
        users = await ui.run(node.users, session.user)
        organizations = await ui.run(node.organizations, session.user)
        names = {organization.id: organization.name for organization in organizations}
        return render(
            request,
            session,
            "operations_members.html",
            status,
            users=sorted(users, key=lambda user: user.name),
            organizations=sorted(organizations, key=lambda organization: organization.id),
            names=names,
            problem=problem,
        )

    async def set_disabled(request: Request, session: Session) -> Response:
        await admit(session, Operation.MEMBERS_WRITE)
        name = request.path_params["name"]
        form = await request.form()
        disabled = form_text(form, "disabled") == "yes"
        try:
            await ui.run(node.disable_user, name, disabled=disabled, actor=session.user)
        except Conflict as exc:
            return await members_page(request, session, str(exc), 409)
        root = request.scope.get("root_path", "")
        return RedirectResponse(f"{root}{OPERATIONS}/members/", 303)

    async def agreements(request: Request, session: Session) -> Response:
        await admit(session, Operation.MEMBERS_READ)
        found = await ui.run(node.agreements)
        collections = await ui.run(node.collections_for, session.user)
        bound: dict[str, list[str]] = defaultdict(list)
        for access in collections:
            if access.collection.agreement_name is not None:
                bound[access.collection.agreement_name].append(access.collection.title)
        shown = [
            {
                "agreement": agreement,
                "summary": summary_of(agreement),
                "collections": sorted(bound.get(agreement.name, [])),
                "toml": agreement_toml(agreement),
            }
            for agreement in sorted(found, key=lambda agreement: agreement.name)
        ]
        return render(request, session, "operations_agreements.html", agreements=shown)

    async def peers(request: Request, session: Session) -> Response:
        await admit(session, Operation.PEERS_READ)

        def read() -> list[dict[str, Any]]:
            alarms = node.peer_alarms()
            witnessed = node.witnessed_checkpoints(session.user)
            keeps = node.retention_days()
            cosigned: dict[str, dict[str, Any]] = {}
            for given in node.audit_cosignatures():
                held = cosigned.get(given["witness"])
                if held is None or given["size"] > held["size"]:
                    cosigned[given["witness"]] = given
            now = now_us()
            shown = []
            for peer in node.peers(session.user):
                subscriptions = node.subscriptions(peer.name, actor=session.user)
                alarm = alarms.get(peer.name)
                theirs = witnessed.get(peer.name)
                ours = cosigned.get(peer.name)
                shown.append(
                    {
                        "peer": peer,
                        "retention_days": keeps.get(peer.agreement_name),
                        "subscriptions": [lagging(s, now) for s in subscriptions],
                        "alarm": alarm,
                        "alarm_at": moment(alarm.raised_at) if alarm else None,
                        "witnessed": theirs,
                        "witnessed_at": moment(theirs.witnessed_at) if theirs else None,
                        "cosigned": ours,
                        "cosigned_at": moment(ours["received_at"]) if ours else None,
                    }
                )
            return shown

        shown = await ui.run(read)
        return render(request, session, "operations_peers.html", peers=shown)

    async def audit(request: Request, session: Session) -> Response:
        await admit(session, Operation.AUDIT_VERIFY)
        asked = {
            key: request.query_params.get(key, "").strip()
            for key in ("action", "actor", "organization", "object", "since", "until")
        }
        after = whole(request.query_params.get("after"))
        problem = None
        try:
            selection = EntryFilter(
                actor=asked["actor"] or None,
                about=asked["organization"] or None,
                object_id=asked["object"] or None,
                action=asked["action"] or None,
                since=parse_us(asked["since"]) if asked["since"] else None,
                until=parse_us(asked["until"]) if asked["until"] else None,
            )
        except InvalidInput as exc:
            selection, problem = None, str(exc)
        verifying = request.query_params.get("verify") == "yes"

        def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any, str | None]:
            found = (
                node.audit_entries(
                    session.user,
                    selection,
                    after=-1 if after is None else after,
                    limit=PAGE_SIZE,
                )
                if selection is not None
                else []
            )
            checkpoint = node.audit_checkpoint() if verifying else None
            verification = node.audit_verify(session.user) if verifying else None
            return found, node.audit_cosignatures(), verification, checkpoint

        found, cosignatures, verification, checkpoint = await ui.run(read)
        newest: dict[str, dict[str, Any]] = {}
        for given in cosignatures:
            held = newest.get(given["witness"])
            if held is None or given["size"] > held["size"]:
                newest[given["witness"]] = given
        following = None
        if len(found) == PAGE_SIZE:
            following = urlencode(
                {key: value for key, value in asked.items() if value} | {"after": found[-1]["seq"]}
            )
        return render(
            request,
            session,
            "operations_audit.html",
            400 if problem else 200,
            asked=asked,
            actions=sorted(operation.value for operation in Operation),
            entries=[shown_entry(entry) for entry in found],
            following=following,
            problem=problem,
            cosignatures=[
                (witness, given["size"], moment(given["received_at"]))
                for witness, given in sorted(newest.items())
            ],
            verification=verification,
            checkpoint=checkpoint,
        )

    async def explain(request: Request, session: Session) -> Response:
        await admit(session, Operation.MEMBERS_READ)
        as_user = request.query_params.get("user", "").strip()
        object_id = request.query_params.get("object", "").strip()
        users = await ui.run(node.users, session.user)
        explained: list[Explanation] = []
        problem = None
        if as_user and object_id:
            try:
                explained = await ui.run(node.explain, session.user, object_id, as_user)
            except NotFound as exc:
                problem = str(exc)
        return render(
            request,
            session,
            "operations_explain.html",
            404 if problem else 200,
            users=sorted(user.name for user in users),
            as_user=as_user,
            object_id=object_id,
            explained=[(item, reasons_of(item)) for item in explained],
            problem=problem,
        )

    async def reveals_page(
        request: Request,
        session: Session,
        done: Reveal | None = None,
        problem: str | None = None,
        status: int = 200,
        asked: Mapping[str, str] | None = None,
    ) -> Response:
        found = await ui.run(node.reveals, actor=session.user)
        now = now_us()
        return render(
            request,
            session,
            "operations_reveals.html",
            status,
            reveals=[shown_reveal(record, session.user.name, now) for record in found],
            done=done,
            problem=problem,
            asked=asked or {},
        )

    async def reveals(request: Request, session: Session) -> Response:
        await admit(session, Operation.SOURCES_REVEAL)
        return await reveals_page(request, session)

    async def reveal(request: Request, session: Session) -> Response:
        await admit(session, Operation.SOURCES_REVEAL)
        form = await request.form()
        asked = {"object": form_text(form, "object").strip(), "reason": form_text(form, "reason")}
        try:
            done = await ui.run(node.reveal, asked["object"], asked["reason"], actor=session.user)
        except (InvalidInput, NotFound) as exc:
            return await reveals_page(
                request, session, problem=str(exc), status=status_for(exc), asked=asked
            )
        return await reveals_page(request, session, done=done)

    async def confirm(request: Request, session: Session) -> Response:
        await admit(session, Operation.SOURCES_REVEAL)
        try:
            done = await ui.run(
                node.confirm_reveal, request.path_params["reveal_id"], actor=session.user
            )
        except (Conflict, NotFound, PermissionDenied) as exc:
            return await reveals_page(request, session, problem=str(exc), status=status_for(exc))
        return await reveals_page(request, session, done=done)

    async def start(request: Request, session: Session) -> Response:
        await admit(session, Operation.MEMBERS_READ)
        root = request.scope.get("root_path", "")
        return RedirectResponse(f"{root}{OPERATIONS}/members/", 303)

    return [
        Route(f"{OPERATIONS}/", ui.signed_in(start), methods=["GET"]),
        Route(f"{OPERATIONS}/members/", ui.signed_in(members), methods=["GET"]),
        Route(
            f"{OPERATIONS}/members/{{name}}/disabled",
            ui.signed_in(set_disabled),
            methods=["POST"],
        ),
        Route(f"{OPERATIONS}/agreements/", ui.signed_in(agreements), methods=["GET"]),
        Route(f"{OPERATIONS}/peers/", ui.signed_in(peers), methods=["GET"]),
        Route(f"{OPERATIONS}/audit/", ui.signed_in(audit), methods=["GET"]),
        Route(f"{OPERATIONS}/explain/", ui.signed_in(explain), methods=["GET"]),
        Route(f"{OPERATIONS}/reveals/", ui.signed_in(reveals), methods=["GET"]),
        Route(f"{OPERATIONS}/reveals/", ui.signed_in(reveal), methods=["POST"]),
        Route(
            f"{OPERATIONS}/reveals/{{reveal_id}}/confirm",
            ui.signed_in(confirm),
            methods=["POST"],
        ),
    ]


def summary_of(agreement: Agreement) -> list[tuple[str, str]]:
    """What the agreement's terms mean, term by term, in words."""
    parties = [
        *(f"country {country}" for country in sorted(agreement.party_countries)),
        *(f"organization {name}" for name in sorted(agreement.party_organizations)),
    ]
    keeps = (
        f"{agreement.retention_days} days after a node added it"
        if agreement.retention_days is not None
        else "until deleted"
    )
    return [
        ("Parties", ", ".join(parties)),
        ("Categories", ", ".join(sorted(agreement.categories))),
        ("Highest classification", agreement.max_classification.name),
        ("Highest TLP", agreement.tlp_ceiling.label),
        (
            "Proprietary (PROPIN) data",
            "match-only: matched privately, never read"
            if agreement.propin_match_only
            else "shared as marked",
        ),
        (
            "Aggregates",
            f"counts told once {agreement.aggregate_k} organizations hold a value, "
            f"rounded down to a multiple of {agreement.aggregate_k}",
        ),
        ("Kept", keeps),
        (
            "Contributions",
            "anonymous unless the contributor asks otherwise"
            if agreement.anonymous_by_default
            else "named unless the contributor asks for anonymity",
        ),
        (
            "Revealing a contributor",
            "two admins: a second confirms within 24 hours"
            if agreement.reveal_approvals > 1
            else "one admin, with a reason",
        ),
        (
            "Personal data",
            "replaced before anything is stored" if agreement.scrub_pii else "kept as written",
        ),
        ("Private matching", f"{agreement.match_budget} values a day per organization"),
    ]


def reasons_of(item: Explanation) -> list[tuple[str, bool]]:
    """The explanation's lines, each with whether it is a reason under the line before."""
    return [(line.strip().removeprefix("- "), line.startswith("  - ")) for line in item.lines]


def lagging(subscription: SubscriptionRecord, now: int) -> Lagging:
    last = subscription.last_success
    return Lagging(
        subscription,
        moment(last) if last is not None else None,
        duration(now - last) if last is not None else None,
    )


def shown_entry(entry: Mapping[str, Any]) -> ShownEntry:
    actor = entry.get("actor", {})
    who = f"{actor.get('name', '?')} ({actor.get('kind', '?')}"
    who += f", {actor['organization']})" if actor.get("organization") else ")"
    refs = [ref for refs in entry.get("objects", {}).values() for ref in refs]
    detail = entry.get("detail")
    return ShownEntry(
        seq=entry["seq"],
        at=moment(entry["recorded_at"]),
        action=entry["action"],
        actor=who,
        outcome=entry["outcome"],
        collection=entry.get("collection"),
        peer=entry.get("peer"),
        reason=entry.get("reason"),
        detail=orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode() if detail else None,
        versions=len(refs),
        objects=unique(ref[0] for ref in refs)[:SHOWN_REFS],
    )


def shown_reveal(record: RevealRecord, admin: str, now: int) -> ShownReveal:
    expired = now - record.requested_at > CONFIRM_WITHIN_US
    if record.confirmed_by == record.requested_by:
        state = f"revealed at {moment(record.confirmed_at or 0)} (one admin suffices)"
    elif record.confirmed_by is not None:
        state = (
            f"revealed: confirmed by {record.confirmed_by} at {moment(record.confirmed_at or 0)}"
        )
    elif record.requested_by == admin and not expired:
        state = "waits for a second admin"
    else:
        state = "expired: ask again" if expired else "waits for your confirmation"
    confirmable = record.confirmed_by is None and not expired and record.requested_by != admin
    return ShownReveal(record, moment(record.requested_at), state, confirmable)


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def moment(microseconds: int) -> str:
    """A time as the pages print it: UTC to the second."""
    return format_us(microseconds)[:19] + "Z"


def duration(microseconds: int) -> str:
    seconds = max(0, microseconds // 1_000_000)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86_400} days"
