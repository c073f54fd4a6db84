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

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from allyshare.service import Node
from allyshare.taxii.auth import LoginLimiter
from allyshare.ui import (
    account,
    browse,
    graph,
    operations,
    organization,
    search,
    upload,
    views,
)
from allyshare.ui.web import HERE, UI_PATH, Ui

__all__ = ["UI_PATH", "create_ui_app"]


def create_ui_app(node: Node, limiter: LoginLimiter) -> Starlette:
    """The UI's pages and their own static files, to be mounted at `UI_PATH`."""
    ui = Ui.of(node, limiter)
    routes = [
        *account.routes(ui),
        *browse.routes(ui),
        *graph.routes(ui),
        *operations.routes(ui),
        *organization.routes(ui),
        *search.routes(ui),
        *upload.routes(ui),
        *views.routes(ui),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes)
