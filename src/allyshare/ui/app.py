"""The analyst's web UI at ``/ui/``: pages rendered on the server from the node's service
façade, the same `Node` TAXII and the management API call, so every page passes the same
gate and is recorded as a read like any other.

Security, page by page:

- Sign-in takes a user name and token, as TAXII's Basic login does, through the node's one
  count of failed logins, and gives a session cookie (`allyshare.service.sessions`):
  ``HttpOnly``, ``Secure``, ``SameSite=Strict``, ending with the session.
- Every form carries a CSRF token: the session's own, or, on the sign-in form, one this
  browser was given with the form (double submit). A form from another origin is refused too.
- Every response forbids framing and sniffing and allows scripts, styles and images from the
  node's own origin only (Content-Security-Policy); nothing is loaded from elsewhere.
- Templates escape everything they print: object content is written by others.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from allyshare.errors import AuthenticationFailed, NotFound, PermissionDenied
from allyshare.policy import REDACTED_PROPERTY
from allyshare.service import Node
from allyshare.service.sessions import Session
from allyshare.stix.versions import version_key
from allyshare.storage import VersionFilter
from allyshare.taxii.auth import LoginLimiter, LoginsLimited
from allyshare.ui.banner import Banner, banner, chips

__all__ = ["UI_PATH", "create_ui_app"]

UI_PATH = "/ui"
SESSION_COOKIE = "allyshare_session"
SIGN_IN_COOKIE = "allyshare_sign_in"
PAGE_SIZE = 50
_HERE = Path(__file__).parent
CONTENT_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Page = Callable[[Request, Session], Awaitable[Response]]


def create_ui_app(node: Node, limiter: LoginLimiter) -> Starlette:
    """The UI's pages and their own static files, to be mounted at `UI_PATH`."""
    templates = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )

    def render(
        request: Request, name: str, shown: Banner, status: int = 200, **context: Any
    ) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = templates.get_template(name).render(banner=shown, root=root, **context)
        return HTMLResponse(page, status_code=status, headers=_HEADERS)

    async def sign_in_page(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(
            request,
            "sign_in.html",
            banner([]),
            csrf=token,
            next=_local(request.query_params.get("next", "")),
            failed=None,
        )
        _set_cookie(response, SIGN_IN_COOKIE, token, 3600)
        return response

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        sent = _text(form, "csrf")
        if not _same_origin(request) or not expected or not _equal(sent, expected):
            return _refused(request, render, "this form is out of date; reload the page")
        name, token = _text(form, "name"), _text(form, "token")
        client = request.client.host if request.client else "unknown"
        try:
            session = await run_in_threadpool(
                limiter.check, client, name or None, lambda: node.open_session(name, token)
            )
        except AuthenticationFailed as exc:
            wait = exc.headers.get("Retry-After") if isinstance(exc, LoginsLimited) else None
            said = "unknown user name or token" if wait is None else (
                f"too many failed sign-ins; try again in {wait} s"
            )  # fmt: skip
            fresh = secrets.token_urlsafe(32)
            response = render(
                request,
                "sign_in.html",
                banner([]),
                status=401 if wait is None else 429,
                csrf=fresh,
                next=_local(_text(form, "next")),
                failed=said,
            )
            _set_cookie(response, SIGN_IN_COOKIE, fresh, 3600)
            return response
        where = _local(_text(form, "next")) or "/"
        onward = RedirectResponse(f"{request.scope.get('root_path', '')}{where}", 303)
        onward.delete_cookie(SIGN_IN_COOKIE, path=UI_PATH)
        minutes = node.settings.ui_session_minutes
        _set_cookie(onward, SESSION_COOKIE, session.id, minutes * 60)
        return onward

    def signed_in(page: Page) -> Callable[[Request], Awaitable[Response]]:
        """The page for a signed-in user; anyone else is sent to sign in, and then back."""

        async def guarded(request: Request) -> Response:
            session_id = request.cookies.get(SESSION_COOKIE)
            session = None
            if session_id:
                try:
                    session = await run_in_threadpool(node.session, session_id)
                except AuthenticationFailed:
                    session = None
            if session is None:
                here = request.url.path.removeprefix(request.scope.get("root_path", ""))
                if request.url.query:
                    here += f"?{request.url.query}"
                root = request.scope.get("root_path", "")
                target = f"{root}/sign-in?next={quote(here, safe='')}"
                response = RedirectResponse(target, 303)
                response.delete_cookie(SESSION_COOKIE, path=UI_PATH)
                return response
            if request.method == "POST":
                form = await request.form()
                if not _same_origin(request) or not session.carries(_text(form, "csrf")):
                    return _refused(request, render, "this form is out of date; reload the page")
            try:
                return await page(request, session)
            except (NotFound, PermissionDenied) as exc:
                return render(
                    request, "error.html", banner([]), status=404, session=session, said=str(exc)
                )

        return guarded

    async def sign_out(request: Request, session: Session) -> Response:
        await run_in_threadpool(node.close_session, session)
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/sign-in", 303)
        response.delete_cookie(SESSION_COOKIE, path=UI_PATH)
        return response

    async def collections(request: Request, session: Session) -> Response:
        found = await run_in_threadpool(node.collections_for, session.user)
        readable = [access for access in found if access.can_read]
        return render(
            request, "collections.html", banner([]), session=session, collections=readable
        )

    async def objects(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        kind = request.query_params.get("type", "").strip()
        after = _whole(request.query_params.get("after"))
        selection = VersionFilter(types=(kind,) if kind else ())

        def read() -> tuple[Any, Any, list[dict[str, Any]], bool]:
            access = node.collection_for(session.user, collection_id, "read")
            page = node.read_objects(
                session.user, collection_id, selection, limit=PAGE_SIZE, after=after
            )
            shown = [orjson.loads(item.body) for item in page.items]
            cursor = page.items[-1].date_added if page.items else None
            return access, cursor, shown, page.more

        access, cursor, shown, more = await run_in_threadpool(read)
        labels = await run_in_threadpool(node.marking_labels, shown)
        rows = [
            {"object": obj, "chips": chips(label), "title": _title(obj)}
            for obj, label in zip(shown, labels, strict=True)
        ]
        return render(
            request,
            "objects.html",
            banner(labels),
            session=session,
            collection=access.collection,
            rows=rows,
            kind=kind,
            next_after=cursor if more else None,
        )

    async def object_page(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        object_id = request.path_params["object_id"]
        every = VersionFilter(object_ids=(object_id,), versions=frozenset({"all"}))

        def read() -> tuple[Any, list[tuple[str, dict[str, Any]]], dict[str, list[str]], Any]:
            access = node.collection_for(session.user, collection_id, "read")
            page = node.read_objects(session.user, collection_id, every, limit=1000)
            if not page.items:
                raise NotFound(f"no object {object_id} that you may see")
            stored = sorted(page.items, key=lambda item: version_key(item.version))
            versions = [(item.version, orjson.loads(item.body)) for item in stored]
            version, shown = versions[-1]
            withheld = (
                node.withheld_from(collection_id, object_id, version, actor=session.user)
                if shown.get(REDACTED_PROPERTY)
                else {}
            )
            sighted = node.sightings(object_id, actor=session.user)
            return access, versions, withheld, sighted

        access, versions, withheld, sighted = await run_in_threadpool(read)
        shown = versions[-1][1]
        [label] = await run_in_threadpool(node.marking_labels, [shown])
        properties = [
            (key, _shown_value(value)) for key, value in shown.items() if key != REDACTED_PROPERTY
        ]
        return render(
            request,
            "object.html",
            banner([label]),
            session=session,
            collection=access.collection,
            obj=shown,
            title=_title(shown),
            chips=chips(label),
            properties=properties,
            withheld=[
                (selector, withheld.get(selector, []))
                for selector in shown.get(REDACTED_PROPERTY, [])
            ],
            versions=[version for version, _ in reversed(versions)],
            sighted=sighted.as_json() if sighted.total.sightings else None,
        )

    routes = [
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", signed_in(sign_out), methods=["POST"]),
        Route("/", signed_in(collections), methods=["GET"]),
        Route("/collections/{collection_id}/", signed_in(objects), methods=["GET"]),
        Route(
            "/collections/{collection_id}/objects/{object_id}/",
            signed_in(object_page),
            methods=["GET"],
        ),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _equal(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())


def _whole(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def _local(target: str) -> str:
    """A path inside the UI to go back to after sign-in; nothing that leads elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return ""
    return target


def _same_origin(request: Request) -> bool:
    """Whether a form was sent from this node's own pages (browsers send ``Origin`` with
    every form they post; one that sends none is let through on its CSRF token alone)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    here = f"{request.url.scheme}://{request.url.netloc}"
    return origin == here


def _set_cookie(response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=UI_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )


def _refused(request: Request, render: Callable[..., HTMLResponse], said: str) -> HTMLResponse:
    return render(request, "error.html", banner([]), status=403, session=None, said=said)


def _shown_value(value: Any) -> str:
    """A property's value as the page prints it: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _title(obj: Mapping[str, Any]) -> str:
    """What a list calls an object: its name, else its value, else its type."""
    for key in ("name", "value", "abstract", "pattern"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return str(obj.get("type", "object"))
