"""The relationship graph: an object's neighbours as JSON for the page's script to draw and
expand, and the graph library that draws them.

The library is vis-network as the ``pyvis`` package ships it, served from the installed
package (never copied into this repository, never fetched from elsewhere at run time). It
draws on a canvas and needs no inline script or style, so the pages' Content-Security-Policy
holds. What a graph shows comes from `Node.neighbours`: only objects the user may see.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from allyshare.service.browsing import Neighbourhood, Shown
from allyshare.service.sessions import Session
from allyshare.ui.web import HEADERS, Ui, title_of

__all__ = ["VENDOR", "drawn", "routes"]

VENDOR = "/vendor"
_LIBRARY = resources.files("pyvis") / "lib" / "vis-9.1.2"
_FILES = {"vis-network.min.js": "text/javascript", "vis-network.css": "text/css"}


def drawn(hood: Neighbourhood, root: str) -> dict[str, Any]:
    """What the page's script draws: the object, its neighbours and the edges between them,
    each node with the page it opens."""

    def node(shown: Shown) -> dict[str, str]:
        object_id = shown.version.object_id
        return {
            "id": object_id,
            "type": str(shown.obj.get("type", "")),
            "title": title_of(shown.obj),
            "href": f"{root}/collections/{shown.collection_id}/objects/{object_id}/",
        }

    return {
        "center": node(hood.center),
        "nodes": [node(shown) for _, shown in sorted(hood.neighbours.items())],
        "edges": [
            {"from": edge.source, "to": edge.target, "label": edge.label} for edge in hood.edges
        ],
        "truncated": hood.truncated,
    }


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node
    library = {name: (_LIBRARY / name).read_bytes() for name in _FILES}

    async def neighbours(request: Request, session: Session) -> Response:
        object_id = request.path_params["object_id"]
        hood = await ui.run(node.neighbours, object_id, actor=session.user)
        root = request.scope.get("root_path", "")
        body = orjson.dumps(drawn(hood, root))
        return Response(body, media_type="application/json", headers=HEADERS)

    async def vendor(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in library:
            return Response(status_code=404, headers=HEADERS)
        headers = {**HEADERS, "Cache-Control": "public, max-age=86400"}
        return Response(library[name], media_type=_FILES[name], headers=headers)

    return [
        Route("/objects/{object_id}/neighbours", ui.signed_in(neighbours), methods=["GET"]),
        Route(VENDOR + "/{name}", vendor, methods=["GET"]),
    ]
