"""Everything a node serves over HTTP, as one ASGI app (DESIGN section 8).

TAXII 2.1 keeps every path it has alone (``/taxii2/...``), the management API lives under
``/api/v1/``, and its OpenAPI document and Swagger UI sit at ``/openapi.json`` and ``/docs``.

Swagger UI is served by the node itself (``/docs/assets/``), so the page works on a network
with no way out and runs no one else's JavaScript on the node's origin. Its files come from
the ``fastapi-offline`` package, which needs nothing beyond FastAPI and carries Swagger UI 5
(``swagger-ui-bundle`` carries 4, which cannot read the OpenAPI 3.1 FastAPI writes). The
start-up script is a file too (``/docs/init.js``) that reads from the page where the OpenAPI
document is, so ``/docs`` carries a Content-Security-Policy that allows scripts, styles and
requests from the node's own origin only ('self', no inline script or style); images may also
be ``data:`` URIs, which the Swagger UI stylesheet uses for its icons and which load nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path

import fastapi_offline
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from allyshare.federation.background import background_sync
from allyshare.manage import create_management_app, problem_response
from allyshare.service import SCHEDULE, Node
from allyshare.taxii import create_app
from allyshare.taxii.auth import LoginLimiter
from allyshare.taxii.errors import error_response
from allyshare.ui import UI_PATH, create_ui_app

log = logging.getLogger("allyshare.audit")
MANAGEMENT_PATH = "/api/v1"
SWAGGER_UI_FILES = Path(fastapi_offline.__file__).parent / "static"
DOCS_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="{root}/docs/assets/favicon.png">
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{root}/openapi.json"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body>
</html>
"""
_DOCS_INIT = """"use strict";
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""


async def _sign_checkpoints(node: Node) -> None:
    """Sign a checkpoint of the audit log every ``checkpoint_seconds`` when entries came
    since the last (the node also signs one every ``checkpoint_entries`` entries)."""
    while True:
        await asyncio.sleep(node.settings.checkpoint_seconds)
        try:
            await asyncio.to_thread(node.audit_checkpoint)
        except Exception:
            log.exception("signing an audit checkpoint failed")


async def _keep_retention(node: Node) -> None:
    """Remove, every ``retention_interval`` seconds, what the agreements no longer keep."""
    while True:
        await asyncio.sleep(node.settings.retention_interval)
        try:
            expired = await asyncio.to_thread(node.run_retention, actor=SCHEDULE)
        except Exception:
            log.exception("removing expired versions failed")
            continue
        for each in expired:
            if each.versions:
                log.info(
                    "expired versions removed",
                    extra={"collection": each.collection, "versions": each.versions},
                )


def create_server_app(node: Node, *, sync: bool = False) -> Starlette:
    """Build the node's whole HTTP surface; the node is passed in, never a module global.
    With ``sync``, peers are pulled every ``sync_interval`` seconds while it runs."""
    # One count of failed logins for the node, whichever entry point a guess arrives at.
    limiter = LoginLimiter(on_burst=lambda client, name: node.record_failed_logins(client, name))
    management = create_management_app(node, limiter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        signing = asyncio.create_task(_sign_checkpoints(node))
        retention = asyncio.create_task(_keep_retention(node))
        try:
            if not sync:
                yield
                return
            async with background_sync(node, node.settings.sync_interval):
                yield
        finally:
            signing.cancel()
            retention.cancel()

    async def openapi(request: Request) -> Response:
        # The management app's paths are relative to its mount; the server says where that is,
        # including any prefix a reverse proxy adds (root_path).
        base = request.scope.get("root_path", "") + MANAGEMENT_PATH
        return JSONResponse({**management.openapi(), "servers": [{"url": base}]})

    async def docs(request: Request) -> Response:
        root = escape(request.scope.get("root_path", ""))
        page = _DOCS_PAGE.format(title=escape(f"{management.title} - docs"), root=root)
        return HTMLResponse(
            page,
            headers={"Content-Security-Policy": DOCS_POLICY, "X-Content-Type-Options": "nosniff"},
        )

    async def docs_init(request: Request) -> Response:
        return Response(_DOCS_INIT, media_type="text/javascript")

    taxii = create_app(node, limiter)

    async def to_ui(request: Request) -> Response:
        return RedirectResponse(request.scope.get("root_path", "") + UI_PATH + "/", 308)

    async def elsewhere(scope: Scope, receive: Receive, send: Send) -> None:
        """What no route above takes: the TAXII app answers it exactly as it does alone (its
        own routing, redirects, 404s and error objects), except under the management API's
        path, where the answer is the management API's own 404."""
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        if path == MANAGEMENT_PATH or path.startswith(MANAGEMENT_PATH + "/"):
            await problem_response(404, "Not Found")(scope, receive, send)
        else:
            await taxii(scope, receive, send)

    async def http_error(request: Request, exc: Exception) -> Response:
        """A missing documentation file or a wrong method on one: a JSON error, as elsewhere."""
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    app = Starlette(
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
        routes=[
            Mount(MANAGEMENT_PATH, app=management),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
            Route("/docs/init.js", docs_init, methods=["GET"]),
            Mount("/docs/assets", app=StaticFiles(directory=SWAGGER_UI_FILES)),
            Route(UI_PATH, to_ui, methods=["GET"]),
            Mount(UI_PATH, app=create_ui_app(node, limiter)),
        ],
    )
    # Everything else is handed over whole rather than through a catch-all pattern: a route
    # pattern misses paths with a line break in them, and redirecting (a slash added here,
    # taken off there) between two routers that disagree about such a path never ends.
    app.router.default = elsewhere
    app.router.redirect_slashes = False
    return app
