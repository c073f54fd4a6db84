"""Reading what the user may see: the collections, a collection's objects, and an object's
page with its versions, sightings and each withheld part with the reason in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from allyshare.errors import NotFound
from allyshare.policy import REDACTED_PROPERTY, Classification, Tlp
from allyshare.service.browsing import Narrowing, Neighbourhood
from allyshare.service.reads import Scanned
from allyshare.service.sessions import Session
from allyshare.stix.versions import version_key
from allyshare.storage import VersionFilter
from allyshare.ui.banner import LEVEL_NAMES, banner, chips
from allyshare.ui.graph import drawn
from allyshare.ui.web import PAGE_SIZE, Ui, shown_value, title_of, whole

__all__ = ["Asked", "routes"]


@dataclass(frozen=True)
class Asked:
    """The object list's filters as the form sent them: what the form shows again and the next
    page's link keeps (``query``), and the narrowing they ask of the node. A value that is not
    one the form offers narrows nothing."""

    kind: str = ""
    text: str = ""
    tlp: str = ""
    level: str = ""
    marking: str = ""
    since: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Asked:
        tlp, level, since = query.get("tlp", ""), query.get("level", ""), query.get("since", "")
        return cls(
            kind=query.get("type", "").strip(),
            text=query.get("q", "").strip(),
            tlp=tlp if tlp in Tlp.__members__ else "",
            level=level if level in Classification.__members__ else "",
            marking=query.get("marking", "").strip(),
            since=since if _midnight(since) is not None else "",
        )

    @property
    def query(self) -> dict[str, str]:
        named = {
            "type": self.kind,
            "q": self.text,
            "tlp": self.tlp,
            "level": self.level,
            "marking": self.marking,
            "since": self.since,
        }
        return {name: value for name, value in named.items() if value}

    @property
    def narrowing(self) -> Narrowing:
        since = _midnight(self.since)
        return Narrowing(
            types=tuple(kind for kind in self.kind.replace(",", " ").split() if kind),
            text=self.text,
            tlp=Tlp[self.tlp] if self.tlp else None,
            classification=Classification[self.level] if self.level else None,
            marking=self.marking,
            # Added on that day or later: after the last microsecond of the day before.
            added_after=since - 1 if since is not None else None,
        )


def _midnight(day: str) -> int | None:
    """The start of a day (``YYYY-MM-DD``, UTC) in the microseconds ``date_added`` counts."""
    try:
        start = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
    except ValueError:
        return None
    return int(start.timestamp()) * 1_000_000


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
        asked = Asked.of(request.query_params)
        after = whole(request.query_params.get("after"))

        def read() -> tuple[Any, Scanned, list[dict[str, Any]]]:
            access = node.collection_for(session.user, collection_id, "read")
            page = node.browse_objects(
                session.user, collection_id, asked.narrowing, limit=PAGE_SIZE, after=after
            )
            return access, page, [orjson.loads(item.body) for item in page.items]

        access, page, shown = await ui.run(read)
        labels = await ui.run(node.marking_labels, shown)
        carried = await ui.run(node.shown_labels, shown)
        rows = [
            {"object": obj, "chips": chips(label), "title": title_of(obj)}
            for obj, label in zip(shown, labels, strict=True)
        ]
        next_page = None
        if page.more and page.resume is not None:
            next_page = urlencode({**asked.query, "after": page.resume})
        return ui.render(
            request,
            "objects.html",
            banner(carried),
            session=session,
            collection=access.collection,
            rows=rows,
            asked=asked,
            tlps=[(tlp.name, tlp.label) for tlp in Tlp],
            levels=[(level.name, LEVEL_NAMES[level]) for level in Classification],
            next_page=next_page,
        )

    async def object_page(request: Request, session: Session) -> Response:
        collection_id = request.path_params["collection_id"]
        object_id = request.path_params["object_id"]
        every = VersionFilter(object_ids=(object_id,), versions=frozenset({"all"}))

        def read() -> tuple[
            Any, list[tuple[str, dict[str, Any]]], dict[str, list[str]], Any, Neighbourhood
        ]:
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
            hood = node.neighbours(object_id, actor=session.user)
            return access, versions, withheld, sighted, hood

        access, versions, withheld, sighted, hood = await ui.run(read)
        graph = drawn(hood, request.scope.get("root_path", ""))
        shown = versions[-1][1]
        [label] = await ui.run(node.marking_labels, [shown])
        around = [neighbour.obj for neighbour in hood.neighbours.values()]
        carried = await ui.run(node.shown_labels, [shown, *around])
        properties = [
            (key, shown_value(value)) for key, value in shown.items() if key != REDACTED_PROPERTY
        ]
        return ui.render(
            request,
            "object.html",
            banner(carried),
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
            graph=graph,
            neighbours=_related(graph),
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


def _related(graph: Mapping[str, Any]) -> list[tuple[dict[str, str], list[str]]]:
    """Each neighbour with how it is related to the object, in words ("→ object": the
    object refers to it; "← indicates": it indicates the object): the graph as a list."""
    center = graph["center"]["id"]
    how: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        if edge["from"] == center:
            how.setdefault(edge["to"], []).append(f"→ {edge['label']}")
        else:
            how.setdefault(edge["from"], []).append(f"← {edge['label']}")
    return [(node, how.get(node["id"], [])) for node in graph["nodes"]]
