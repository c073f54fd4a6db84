"""Reading what the user may see: the collections, a collection's objects, and an object's
page with its versions, sightings and each withheld part with the reason in words."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from allyshare.errors import NotFound
from allyshare.policy import REDACTED_PROPERTY
from allyshare.service.sessions import Session
from allyshare.stix.versions import version_key
from allyshare.storage import VersionFilter
from allyshare.ui.banner import banner, chips
from allyshare.ui.web import PAGE_SIZE, Ui, shown_value, title_of, whole

__all__ = ["routes"]


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node

    async def collections(request: Request, session: Session) -> Response:
        found = await ui.run(node.collections_for, session.user)
        readable = [access for access in found if access.can_read]
        return ui.render(
            request, "collections.html", banner([]), session=session, collections=readable
        )

    async def objects(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        kind = request.query_params.get("type", "").strip()
        after = whole(request.query_params.get("after"))
        selection = VersionFilter(types=(kind,) if kind else ())

        def read() -> tuple[Any, Any, list[dict[str, Any]], bool]:
            access = node.collection_for(session.user, collection_id, "read")
            page = node.read_objects(
                session.user, collection_id, selection, limit=PAGE_SIZE, after=after
            )
            shown = [orjson.loads(item.body) for item in page.items]
            cursor = page.items[-1].date_added if page.items else None
            return access, cursor, shown, page.more

        access, cursor, shown, more = await ui.run(read)
        labels = await ui.run(node.marking_labels, shown)
        rows = [
            {"object": obj, "chips": chips(label), "title": title_of(obj)}
            for obj, label in zip(shown, labels, strict=True)
        ]
        return ui.render(
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

        access, versions, withheld, sighted = await ui.run(read)
        shown = versions[-1][1]
        [label] = await ui.run(node.marking_labels, [shown])
        properties = [
            (key, shown_value(value)) for key, value in shown.items() if key != REDACTED_PROPERTY
        ]
        return ui.render(
            request,
            "object.html",
            banner([label]),
            session=session,
            collection=access.collection,
            obj=shown,
            title=title_of(shown),
            chips=chips(label),
            properties=properties,
            withheld=[
                (selector, withheld.get(selector, []))
                for selector in shown.get(REDACTED_PROPERTY, [])
            ],
            versions=[version for version, _ in reversed(versions)],
            sighted=sighted.as_json() if sighted.total.sightings else None,
        )

    return [
        Route("/", ui.signed_in(collections), methods=["GET"]),
        Route("/collections/{collection_id}/", ui.signed_in(objects), methods=["GET"]),
        Route(
            "/collections/{collection_id}/objects/{object_id}/",
            ui.signed_in(object_page),
            methods=["GET"],
        ),
    ]
