"""Uploading into a collection the user may write to: a STIX 2.1 bundle, or a spreadsheet
(CSV) of economic-coercion incidents or supply-chain exposures.

A bundle is stored through `Node.add_objects` as TAXII's POST stores an envelope, and answered
with the per-object results of its status resource (successes, failures with their reasons,
pendings); a file that is not a JSON bundle is refused whole, before anything is written.

A spreadsheet goes through `allyshare.interchange.import_csv`, the pipeline the CLI and the
management API share, so the page answers as they do: all or nothing unless the good rows are
to be stored, every problem by row and column.

A file over the node's body limit (the one TAXII's POST has) is refused before it is read,
when the browser says its size, as browsers do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from allyshare.economic.spreadsheets import (
    EXPOSURE_COLUMNS,
    INCIDENT_COLUMNS,
    Kind,
    parse_markings,
)
from allyshare.errors import InvalidInput
from allyshare.interchange import SpreadsheetImport, import_csv
from allyshare.policy import AccessLabel
from allyshare.service import CollectionAccess
from allyshare.service.sessions import Session
from allyshare.storage import StatusRecord
from allyshare.ui.banner import Banner, banner
from allyshare.ui.web import Endpoint, Ui, form_text

__all__ = ["routes"]


@dataclass(frozen=True)
class Sheet:
    """What a spreadsheet's rows may be, as the form offers it, with the header's columns,
    which the page lists: a member uploading may not have the README at hand."""

    said: str
    columns: Mapping[str, bool]

    @property
    def required(self) -> list[str]:
        return [name for name, needed in self.columns.items() if needed]

    @property
    def optional(self) -> list[str]:
        return [name for name, needed in self.columns.items() if not needed]


SHEETS: Final[dict[Kind, Sheet]] = {
    "incidents": Sheet("Economic-coercion incidents", INCIDENT_COLUMNS),
    "exposures": Sheet("Supply-chain exposures", EXPOSURE_COLUMNS),
}


class Unreadable(Exception):
    """An upload that cannot be stored as sent (not a bundle, not a spreadsheet, a form
    filled in wrong), and why, in words."""


class TooLarge(Unreadable):
    """A file over the node's limit."""


@dataclass(frozen=True)
class SheetForm:
    """What the spreadsheet form was sent with, to fill it in again beside the answer."""

    kind: str = "incidents"
    markings: str = ""
    skip_bad: bool = False

    @classmethod
    def of(cls, form: FormData) -> SheetForm:
        return cls(
            kind=form_text(form, "kind"),
            markings=form_text(form, "markings"),
            skip_bad=bool(form_text(form, "skip_bad")),
        )


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node
    limit = node.settings.max_body_bytes

    def answer(
        request: Request,
        session: Session,
        access: CollectionAccess,
        shown: Banner | None = None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        context.setdefault("sheet", SheetForm())
        return ui.render(
            request,
            "upload.html",
            shown or banner([]),
            status=status,
            session=session,
            access=access,
            sheets=SHEETS,
            **context,
        )

    async def form_page(request: Request, session: Session) -> Response:
        access = await ui.run(
            node.collection_for, session.user, request.path_params["collection_id"], "write"
        )
        return answer(request, session, access)

    async def upload(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        access = await ui.run(node.collection_for, session.user, collection_id, "write")
        sent = (await request.form()).get("bundle")
        try:
            objects = await _bundle(sent, limit)
        except Unreadable as exc:
            return answer(request, session, access, status=_status_of(exc), problem=str(exc))
        status = await ui.run(node.add_objects, session.user, collection_id, objects)
        labels = await ui.run(_stored_labels, ui, objects, status)
        return answer(request, session, access, banner(labels), outcome=status)

    async def upload_csv(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        access = await ui.run(node.collection_for, session.user, collection_id, "write")
        form = await request.form()
        sheet = SheetForm.of(form)
        try:
            kind = _kind(sheet.kind)
            markings = _markings(sheet.markings)
            text = await _spreadsheet(form.get("spreadsheet"), limit)
        except Unreadable as exc:
            return answer(
                request,
                session,
                access,
                status=_status_of(exc),
                sheet=sheet,
                sheet_problem=str(exc),
            )
        try:
            imported = await ui.run(
                import_csv,
                node,
                session.user,
                collection_id,
                kind,
                text,
                markings=markings,
                skip_bad=sheet.skip_bad,
            )
        except InvalidInput as exc:
            return answer(
                request,
                session,
                access,
                status=400,
                sheet=sheet,
                sheet_problem=f"{exc}; nothing was stored",
            )
        stored = _stored_rows(imported)
        labels = await ui.run(node.shown_labels, _named_objects(imported, stored))
        return answer(
            request,
            session,
            access,
            banner(labels),
            sheet=sheet,
            imported=imported,
            stored_rows=stored,
        )

    def sized(endpoint: Endpoint, what: str) -> Endpoint:
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
                    said=_too_large(limit, what),
                )
            return await endpoint(request)

        return checked

    return [
        Route("/collections/{collection_id}/upload", ui.signed_in(form_page), methods=["GET"]),
        Route(
            "/collections/{collection_id}/upload",
            sized(ui.signed_in(upload), "bundle"),
            methods=["POST"],
        ),
        Route(
            "/collections/{collection_id}/upload/csv",
            sized(ui.signed_in(upload_csv), "spreadsheet"),
            methods=["POST"],
        ),
    ]


def _too_large(limit: int, what: str) -> str:
    return f"the file is larger than this node takes at once ({limit:,} bytes); split the {what}"


def _status_of(exc: Unreadable) -> int:
    return 413 if isinstance(exc, TooLarge) else 400


async def _read(sent: object, limit: int, choose: str, what: str) -> tuple[str, bytes]:
    """An uploaded file's name and content, or why there is none to read."""
    if not isinstance(sent, UploadFile) or not sent.filename:
        raise Unreadable(f"choose a file: {choose}")
    content = await sent.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(_too_large(limit, what))
    return sent.filename, content


async def _bundle(sent: object, limit: int) -> list[object]:
    """The objects of an uploaded STIX bundle, or why the file is not one."""
    name, content = await _read(sent, limit, "a STIX 2.1 bundle in JSON", "bundle")
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise Unreadable(f"{name} is not JSON ({exc}); nothing was stored") from None
    if not isinstance(document, dict) or document.get("type") != "bundle":
        raise Unreadable(
            f'{name} is not a STIX bundle (a JSON object with "type": "bundle"); nothing was stored'
        )
    objects = document.get("objects", [])
    if not isinstance(objects, list) or not objects:
        raise Unreadable(f"{name} holds no objects to store; nothing was stored")
    return list(objects)


def _stored_labels(ui: Ui, objects: list[object], status: StatusRecord) -> list[AccessLabel]:
    """The labels of what was stored: the banner of a page naming those objects."""
    stored = {success["id"] for success in status.successes}
    return ui.node.shown_labels(
        [obj for obj in objects if isinstance(obj, dict) and obj.get("id") in stored]
    )


async def _spreadsheet(sent: object, limit: int) -> str:
    """The text of an uploaded spreadsheet, or why it is not one to read. Excel's "CSV UTF-8"
    starts with a byte order mark, which is not part of the header."""
    name, content = await _read(sent, limit, "a spreadsheet saved as CSV (UTF-8)", "spreadsheet")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"{name} is not UTF-8 text ({exc.reason}); save the spreadsheet as CSV UTF-8. "
            "Nothing was stored"
        ) from None


def _kind(sent: str) -> Kind:
    for kind in SHEETS:
        if kind == sent:
            return kind
    raise Unreadable(
        "choose what each row is: economic-coercion incidents or supply-chain exposures; "
        "nothing was stored"
    )


def _markings(sent: str) -> list[str]:
    try:
        return parse_markings(sent)
    except InvalidInput as exc:
        raise Unreadable(f"default markings: {exc}; nothing was stored") from None


def _stored_rows(imported: SpreadsheetImport) -> dict[int, str]:
    """The rows whose objects the collection now holds, by row: none when the import was
    refused, and no row with a problem, since the node may have refused its object or a
    company it names (the problem says which)."""
    if imported.refused:
        return {}
    bad = {error.row for error in imported.errors}
    return {row: ref for row, ref in sorted(imported.objects.items()) if row not in bad}


def _named_objects(imported: SpreadsheetImport, stored: dict[int, str]) -> list[dict[str, Any]]:
    """The objects of every row the page names (stored, warned of or refused), as sent: the
    banner carries their labels, so it is never below an id or a warning the page shows. A
    company or vendor is marked, and reported, as the first row naming it, so that row's
    object stands for it. A row that did not read has no object and stored nothing; its
    problems quote only the cells at fault in the file the member just sent, as a bundle's
    failures quote the objects sent, which the bundle page's banner leaves out too."""
    rows = set(stored) | {note.row for note in (*imported.errors, *imported.warnings)}
    return [obj for row, obj in imported.sent.items() if row in rows]
