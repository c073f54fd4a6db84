"""Signing in and out: a user name and token, as TAXII's Basic login takes them, counted by
the node's one failed-login limiter, exchanged for a session cookie (`service.sessions`).

The sign-in form carries a token this browser was given with the form (double submit),
since there is no session yet to tie it to.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from allyshare.errors import AuthenticationFailed
from allyshare.service.sessions import Session
from allyshare.taxii.auth import LoginsLimited
from allyshare.ui.banner import banner
from allyshare.ui.web import (
    SESSION_COOKIE,
    UI_PATH,
    Ui,
    equal,
    form_text,
    local_target,
    same_origin,
    set_cookie,
)

__all__ = ["SIGN_IN_COOKIE", "routes"]

SIGN_IN_COOKIE = "allyshare_sign_in"


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node

    async def sign_in_page(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = ui.render(
            request,
            "sign_in.html",
            banner([]),
            csrf=token,
            next=local_target(request.query_params.get("next", "")),
            name=request.query_params.get("name", "")[:200],
            failed=None,
        )
        set_cookie(response, SIGN_IN_COOKIE, token, 3600)
        return response

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        sent = form_text(form, "csrf")
        if not same_origin(request) or not expected or not equal(sent, expected):
            return ui.refused(request, "this form is out of date; reload the page")
        name, token = form_text(form, "name"), form_text(form, "token")
        client = request.client.host if request.client else "unknown"
        try:
            session = await ui.run(
                ui.limiter.check, client, name or None, lambda: node.open_session(name, token)
            )
        except AuthenticationFailed as exc:
            wait = exc.headers.get("Retry-After") if isinstance(exc, LoginsLimited) else None
            said = "unknown user name or token" if wait is None else (
                f"too many failed sign-ins; try again in {wait} s"
            )  # fmt: skip
            fresh = secrets.token_urlsafe(32)
            response = ui.render(
                request,
                "sign_in.html",
                banner([]),
                status=401 if wait is None else 429,
                csrf=fresh,
                next=local_target(form_text(form, "next")),
                name=name,
                failed=said,
            )
            set_cookie(response, SIGN_IN_COOKIE, fresh, 3600)
            return response
        where = local_target(form_text(form, "next")) or "/"
        onward = RedirectResponse(f"{request.scope.get('root_path', '')}{where}", 303)
        onward.delete_cookie(SIGN_IN_COOKIE, path=UI_PATH)
        minutes = node.settings.ui_session_minutes
        set_cookie(onward, SESSION_COOKIE, session.id, minutes * 60)
        return onward

    async def sign_out(request: Request, session: Session) -> Response:
        await ui.run(node.close_session, session)
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/sign-in", 303)
        response.delete_cookie(SESSION_COOKIE, path=UI_PATH)
        return response

    return [
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", ui.signed_in(sign_out), methods=["POST"]),
    ]
