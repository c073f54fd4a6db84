"""Everything a node serves over HTTP, as one ASGI app (DESIGN section 8).

TAXII 2.1 keeps every path it has alone (``/taxii2/...``), the management API lives under
``/api/v1/``, and its OpenAPI document and Swagger UI sit at ``/openapi.json`` and ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from allyshare.federation.background import background_sync
from allyshare.manage import create_management_app
from allyshare.service import Node
from allyshare.taxii import create_app
from allyshare.taxii.auth import LoginLimiter

MANAGEMENT_PATH = "/api/v1"


def create_server_app(node: Node, *, sync: bool = False) -> Starlette:
    """Build the node's whole HTTP surface; the node is passed in, never a module global.
    With ``sync``, peers are pulled every ``sync_interval`` seconds while it runs."""
    # One count of failed logins for the node, whichever entry point a guess arrives at.
    limiter = LoginLimiter()
    management = create_management_app(node, limiter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not sync:
            yield
            return
        async with background_sync(node, node.settings.sync_interval):
            yield

    async def openapi(request: Request) -> Response:
        # The management app's paths are relative to its mount; the server says where that is,
        # including any prefix a reverse proxy adds (root_path).
        base = request.scope.get("root_path", "") + MANAGEMENT_PATH
        return JSONResponse({**management.openapi(), "servers": [{"url": base}]})

    async def docs(request: Request) -> Response:
        return get_swagger_ui_html(
            openapi_url=request.scope.get("root_path", "") + "/openapi.json",
            title=f"{management.title} - docs",
        )

    return Starlette(
        lifespan=lifespan,
        routes=[
            Mount(MANAGEMENT_PATH, app=management),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
            # Last and at the root, so the TAXII app answers everything else exactly as it does
            # alone: its own routing, 404s and error objects.
            Mount("", app=create_app(node, limiter)),
        ],
    )
