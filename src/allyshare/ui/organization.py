"""My organization's data: what the signed-in user's organization contributed, who read it
and where it went (its audit trail, an object's trail with the partners that witnessed it),
the ORCON approvals it gave (approve, withdraw), the contact requests members sent it after a
private match, and its anonymous contributions, which the node links to it for its own
users alone. Every section asks the node for the user's own organization only; a user of no
organization is told so and shown nothing.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from allyshare.clock import format_us
from allyshare.errors import InvalidInput, NotFound, PermissionDenied
from allyshare.service.contributions import Contributed
from allyshare.service.sessions import Session
from allyshare.storage import EntryFilter
from allyshare.ui.banner import banner, chips
from allyshare.ui.trail import described, witnessed_up_to
from allyshare.ui.web import PAGE_SIZE, Ui, form_text, title_of, whole

__all__ = ["routes"]

RECENT = 5
TRAIL_ACTIONS = (
    ("", "everything"),
    ("objects:read", "reads"),
    ("objects:send", "sent to peer nodes"),
    ("objects:match", "private matches and contact requests"),
    ("orcon:approve", "ORCON approvals"),
    ("objects:write", "writes"),
    ("sources:reveal", "reveals of anonymous contributions"),
)
DONE = {"approved": "Approval signed.", "revoked": "Approval withdrawn."}


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node

    def rows(found: Contributed) -> tuple[list[dict[str, Any]], list[Any]]:
        """The objects of one collection's contributions, with their chips, and their labels
        for the banner."""
        shown = [orjson.loads(item.body) for item in found.newest.items]
        labels = node.marking_labels(shown)
        listed = [
            {"object": obj, "title": title_of(obj), "chips": chips(label)}
            for obj, label in zip(shown, labels, strict=True)
        ]
        return listed, node.shown_labels(shown)

    async def overview(request: Request, session: Session, problem: str = "") -> Response:
        user = session.user
        if user.organization_id is None or user.peer is not None:
            return ui.render(request, "organization.html", banner([]), session=session)

        def read() -> dict[str, Any]:
            sections: dict[str, list[dict[str, Any]]] = {}
            labels: list[Any] = []
            for name, anonymous in (("contributed", False), ("anonymous", True)):
                sections[name] = []
                for found in node.contributions(user, anonymous=anonymous, limit=RECENT):
                    listed, found_labels = rows(found)
                    labels.extend(found_labels)
                    sections[name].append({"found": found, "rows": listed})
            approvals = [
                (approval, signer, node.recipient_name(approval.recipient))
                for approval, signer in node.orcon_approvals(user)
            ]
            contacts = [(c, format_us(c.created_at)) for c in node.contacts(actor=user)]
            return {**sections, "labels": labels, "approvals": approvals, "contacts": contacts}

        found = await ui.run(read)
        return ui.render(
            request,
            "organization.html",
            banner(found.pop("labels")),
            status=400 if problem else 200,
            session=session,
            organization=user.organization_id,
            problem=problem,
            done=DONE.get(request.query_params.get("done", ""), ""),
            **found,
        )

    async def show_overview(request: Request, session: Session) -> Response:
        return await overview(request, session)

    async def contributed(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        anonymous = request.query_params.get("anonymous") == "1"
        before = whole(request.query_params.get("before"))

        def read() -> tuple[Contributed, list[dict[str, Any]], list[Any]]:
            found = node.contributed(
                session.user, collection_id, anonymous=anonymous, before=before, limit=PAGE_SIZE
            )
            return found, *rows(found)

        found, listed, labels = await ui.run(read)
        items = found.newest.items
        return ui.render(
            request,
            "contributed.html",
            banner(labels),
            session=session,
            found=found,
            rows=listed,
            anonymous=anonymous,
            next_before=items[-1].date_added if items and found.newest.more else None,
        )

    async def trail(request: Request, session: Session) -> Response:
        organization = session.user.organization_id
        if organization is None:
            return ui.render(request, "organization.html", banner([]), session=session)
        action = request.query_params.get("action", "")
        object_id = request.query_params.get("object", "").strip()
        after = whole(request.query_params.get("after"))
        if action not in dict(TRAIL_ACTIONS):
            action = ""
        # An admin's view of the log is the whole log: the page keeps to its organization's.
        selection = EntryFilter(
            about=organization, action=action or None, object_id=object_id or None
        )

        def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            entries = node.audit_entries(
                session.user,
                selection,
                after=-1 if after is None else after,
                limit=PAGE_SIZE,
            )
            for entry in entries:
                if session.user.is_admin:
                    groups = entry.get("objects", {})
                    entry["objects"] = {organization: groups.get(organization, [])}
                detail = entry.get("detail", {})
                if entry["action"] == "orcon:approve" and "recipient" in detail:
                    detail["recipient"] = node.recipient_name(detail["recipient"])
            return entries, node.audit_cosignatures()

        entries, cosignatures = await ui.run(read)
        lines = described(entries, witnessed_up_to(cosignatures), object_id or None)
        collections = {entry["seq"]: entry.get("collection") for entry in entries}
        return ui.render(
            request,
            "trail.html",
            banner([]),
            session=session,
            lines=lines,
            collections=collections,
            actions=TRAIL_ACTIONS,
            action=action,
            object_id=object_id,
            next_after=entries[-1]["seq"] if len(entries) == PAGE_SIZE else None,
        )

    async def approve(request: Request, session: Session) -> Response:
        form = await request.form()
        object_id = form_text(form, "object").strip()
        recipient = form_text(form, "recipient").strip()
        to_peer = form_text(form, "kind") == "peer"
        try:
            await ui.run(
                node.approve_orcon,
                session.user,
                object_id,
                organization=None if to_peer else recipient,
                peer=recipient if to_peer else None,
            )
        except (InvalidInput, NotFound, PermissionDenied) as exc:
            return await overview(request, session, problem=str(exc))
        return RedirectResponse(f"{ui_root(request)}/organization/?done=approved", 303)

    async def revoke(request: Request, session: Session) -> Response:
        approval_id = request.path_params["approval_id"]
        try:
            await ui.run(node.revoke_orcon, session.user, approval_id)
        except (InvalidInput, NotFound, PermissionDenied) as exc:
            return await overview(request, session, problem=str(exc))
        return RedirectResponse(f"{ui_root(request)}/organization/?done=revoked", 303)

    return [
        Route("/organization/", ui.signed_in(show_overview), methods=["GET"]),
        Route(
            "/organization/contributed/{collection_id}/",
            ui.signed_in(contributed),
            methods=["GET"],
        ),
        Route("/organization/trail/", ui.signed_in(trail), methods=["GET"]),
        Route("/organization/approvals/", ui.signed_in(approve), methods=["POST"]),
        Route(
            "/organization/approvals/{approval_id}/revoke",
            ui.signed_in(revoke),
            methods=["POST"],
        ),
    ]


def ui_root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))
