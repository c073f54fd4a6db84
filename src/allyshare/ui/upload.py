"""Uploading a STIX 2.1 bundle into a collection the user may write to: stored through
`Node.add_objects` as TAXII's POST stores an envelope, and answered with the per-object
results of its status resource (successes, failures with their reasons, pendings).

A file that is not a JSON bundle is refused whole, before anything is written. A file over
the node's body limit (the one TAXII's POST has) is refused before it is read, when the
browser says its size, as browsers do.
"""

from __future__ import annotations

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from allyshare.policy import AccessLabel
from allyshare.service.sessions import Session
from allyshare.storage import StatusRecord
from allyshare.ui.banner import banner
from allyshare.ui.web import Endpoint, Ui

__all__ = ["routes"]


class Unreadable(Exception):
    """An uploaded file that is not a bundle to store, and why, in words."""


class TooLarge(Unreadable):
    """A file over the node's limit."""


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node
    limit = node.settings.max_body_bytes

    async def form_page(request: Request, session: Session) -> Response:
        access = await ui.run(
            node.collection_for, session.user, request.path_params["collection_id"], "write"
        )
        return ui.render(request, "upload.html", banner([]), session=session, access=access)

    async def upload(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        access = await ui.run(node.collection_for, session.user, collection_id, "write")
        sent = (await request.form()).get("bundle")
        try:
            objects = await _bundle(sent, limit)
        except Unreadable as exc:
            return ui.render(
                request,
                "upload.html",
                banner([]),
                status=413 if isinstance(exc, TooLarge) else 400,
                session=session,
                access=access,
                problem=str(exc),
            )
        status = await ui.run(node.add_objects, session.user, collection_id, objects)
        labels = await ui.run(_stored_labels, ui, objects, status)
        return ui.render(
            request, "upload.html", banner(labels), session=session, access=access, outcome=status
        )

    def sized(page: Endpoint) -> Endpoint:
        """The upload, refused before its body is read when it says it is too large."""

        async def checked(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if (
                declared.isascii()
                and declared.isdigit()
                and (len(declared) > 19 or int(declared) > limit)
            ):
                return ui.render(
                    request,
                    "error.html",
                    banner([]),
                    status=413,
                    session=None,
                    said=_too_large(limit),
                )
            return await page(request)

        return checked

    return [
        Route("/collections/{collection_id}/upload", ui.signed_in(form_page), methods=["GET"]),
        Route(
            "/collections/{collection_id}/upload",
            sized(ui.signed_in(upload)),
            methods=["POST"],
        ),
    ]


def _too_large(limit: int) -> str:
    return f"the file is larger than this node takes at once ({limit:,} bytes); split the bundle"


async def _bundle(sent: object, limit: int) -> list[object]:
    """The objects of an uploaded STIX bundle, or why the file is not one."""
    if not isinstance(sent, UploadFile) or not sent.filename:
        raise Unreadable("choose a file: a STIX 2.1 bundle in JSON")
    content = await sent.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(_too_large(limit))
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise Unreadable(f"{sent.filename} is not JSON ({exc}); nothing was stored") from None
    if not isinstance(document, dict) or document.get("type") != "bundle":
        raise Unreadable(
            f'{sent.filename} is not a STIX bundle (a JSON object with "type": "bundle"); '
            "nothing was stored"
        )
    objects = document.get("objects", [])
    if not isinstance(objects, list) or not objects:
        raise Unreadable(f"{sent.filename} holds no objects to store; nothing was stored")
    return list(objects)


def _stored_labels(ui: Ui, objects: list[object], status: StatusRecord) -> list[AccessLabel]:
    """The labels of what was stored: the banner of a page naming those objects."""
    stored = {success["id"] for success in status.successes}
    return ui.node.shown_labels(
        [obj for obj in objects if isinstance(obj, dict) and obj.get("id") in stored]
    )
