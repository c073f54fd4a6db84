"""What every page module of the UI shares: the templates, the response headers, the
guard that sends anyone without a session to sign in and checks every form's CSRF token,
and the small helpers for reading forms and showing objects.

A page module (`browse`, ...) gives its routes from a `Ui`; `ui.app` puts them together.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote, urlsplit

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from allyshare.errors import AuthenticationFailed, NotFound, PermissionDenied
from allyshare.service import Node
from allyshare.service.sessions import Session
from allyshare.taxii.auth import LoginLimiter
from allyshare.ui.banner import Banner, banner

__all__ = [
    "HEADERS",
    "PAGE_SIZE",
    "SESSION_COOKIE",
    "UI_PATH",
    "Page",
    "Ui",
    "equal",
    "form_text",
    "local_target",
    "same_origin",
    "set_cookie",
    "shown_value",
    "title_of",
    "whole",
]

UI_PATH = "/ui"
SESSION_COOKIE = "allyshare_session"
PAGE_SIZE = 50
HERE = Path(__file__).parent
CONTENT_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Page = Callable[[Request, Session], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]
Params = ParamSpec("Params")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Ui:
    """The node the pages call, the limiter sign-in counts failures with, and the templates."""

    node: Node
    limiter: LoginLimiter
    templates: Environment

    @classmethod
    def of(cls, node: Node, limiter: LoginLimiter) -> Ui:
        templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        return cls(node=node, limiter=limiter, templates=templates)

    def render(
        self, request: Request, template: str, shown: Banner, status: int = 200, **context: Any
    ) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = self.templates.get_template(template).render(banner=shown, root=root, **context)
        return HTMLResponse(page, status_code=status, headers=HEADERS)

    def refused(self, request: Request, said: str) -> HTMLResponse:
        return self.render(request, "error.html", banner([]), status=403, session=None, said=said)

    async def run(
        self, work: Callable[Params, Result], *args: Params.args, **kwargs: Params.kwargs
    ) -> Result:
        """Runs the node's (blocking) work off the event loop."""
        return await run_in_threadpool(work, *args, **kwargs)

    def signed_in(self, page: Page) -> Endpoint:
        """The page for a signed-in user; anyone else is sent to sign in, and then back.
        A form posted to it must come from this origin and carry the session's CSRF token;
        what the user may not see is a 404, as it is through TAXII."""

        async def guarded(request: Request) -> Response:
            session_id = request.cookies.get(SESSION_COOKIE)
            session = None
            if session_id:
                try:
                    session = await self.run(self.node.session, session_id)
                except AuthenticationFailed:
                    session = None
            if session is None:
                root = request.scope.get("root_path", "")
                here = request.url.path.removeprefix(root)
                if request.url.query:
                    here += f"?{request.url.query}"
                target = f"{root}/sign-in?next={quote(here, safe='')}"
                response = RedirectResponse(target, 303)
                response.delete_cookie(SESSION_COOKIE, path=UI_PATH)
                return response
            if request.method == "POST":
                form = await request.form()
                if not same_origin(request) or not session.carries(form_text(form, "csrf")):
                    return self.refused(request, "this form is out of date; reload the page")
            try:
                return await page(request, session)
            except (NotFound, PermissionDenied) as exc:
                return self.render(
                    request, "error.html", banner([]), status=404, session=session, said=str(exc)
                )

        async def closing(request: Request) -> Response:
            """The page, after which the files a form uploaded are closed (and so deleted)."""
            try:
                return await guarded(request)
            finally:
                await request.close()

        return closing


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def equal(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())


def whole(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def local_target(target: str) -> str:
    """A path inside the UI to go back to after sign-in; nothing that leads elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return ""
    return target


def same_origin(request: Request) -> bool:
    """Whether a form was sent from this node's own pages (browsers send ``Origin`` with
    every form they post; one that sends none is let through on its CSRF token alone)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    here = f"{request.url.scheme}://{request.url.netloc}"
    return origin == here


def set_cookie(response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=UI_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )


def shown_value(value: Any) -> str:
    """A property's value as the page prints it: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def title_of(obj: Mapping[str, Any]) -> str:
    """What a list calls an object: its name, else its value, else its type."""
    for key in ("name", "value", "abstract", "pattern"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return str(obj.get("type", "object"))
