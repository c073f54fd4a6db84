"""The TAXII 2.1 server (OASIS TAXII 2.1, sections 4 and 5) as a Starlette application.

Handlers translate HTTP to :class:`~allyshare.service.Node` calls and back; they hold no
storage or access logic. Envelopes are assembled from the stored JSON bytes, never re-encoded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from allyshare.clock import format_us
from allyshare.errors import AllyshareError, AuthenticationFailed, InvalidInput
from allyshare.service import ATTESTED_ORIGINATORS, CollectionAccess, Node
from allyshare.storage import Page, StatusRecord, User
from allyshare.taxii.auth import LoginLimiter, LoginsLimited, request_user
from allyshare.taxii.errors import HTTPProblem, error_response, status_for
from allyshare.taxii.media import STIX_21, TAXII_21, accepts_taxii, is_taxii_content
from allyshare.taxii.paging import encode_cursor, read_filter, read_limit, read_next

log = logging.getLogger("allyshare.taxii")

API_ROOT = "api"
Handler = Callable[[Request], Awaitable[Response]]


def create_app(node: Node, limiter: LoginLimiter | None = None) -> Starlette:
    """Build the ASGI app for one node; the node is passed in, never a module global.

    ``limiter`` counts failed logins; pass the one every other entry point of the node uses
    (see :mod:`allyshare.server`), else the app keeps its own.
    """
    limiter = limiter or LoginLimiter()
    settings = node.settings

    async def authenticate(request: Request) -> User:
        return await request_user(node, limiter, request, request.headers.get("authorization"))

    def endpoint(handler: Callable[[Request, User], Awaitable[Response]]) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                if not accepts_taxii(request.headers.get("accept")):
                    raise HTTPProblem(406, f"this server answers with {TAXII_21} only")
                _check_root(request)
                _check_storable(request)
                user = await authenticate(request)
                return await handler(request, user)
            except HTTPProblem as problem:
                return error_response(problem.status, problem.description, problem.headers)
            except LoginsLimited as exc:
                return error_response(429, str(exc), exc.headers)
            except AuthenticationFailed as exc:
                return error_response(
                    401, str(exc), {"WWW-Authenticate": 'Basic realm="allyshare", Bearer'}
                )
            except AllyshareError as exc:
                return error_response(status_for(exc), str(exc))

        return wrapped

    async def discovery(request: Request, user: User) -> Response:
        base = str(request.base_url).rstrip("/")
        return _json(
            {
                "title": f"allyshare node {settings.node_name}",
                "description": f"TAXII 2.1 server of the {settings.country} allyshare node",
                "default": f"{base}/taxii2/{API_ROOT}/",
                "api_roots": [f"{base}/taxii2/{API_ROOT}/"],
            }
        )

    async def api_root(request: Request, user: User) -> Response:
        return _json(
            {
                "title": f"allyshare {settings.node_name}",
                "description": "Collections shared under this node's agreements",
                "versions": [TAXII_21],
                "max_content_length": settings.max_body_bytes,
            }
        )

    async def collections(request: Request, user: User) -> Response:
        found = await run_in_threadpool(node.collections_for, user)
        return _json({"collections": [_collection_resource(c) for c in found]})

    async def collection(request: Request, user: User) -> Response:
        cid = request.path_params["collection_id"]
        access = await _visible_collection(node, user, cid)
        return _json(_collection_resource(access))

    async def read_page(
        request: Request,
        user: User,
        *,
        all_versions: bool = False,
        with_body: bool = True,
        must_exist: bool = False,
    ) -> Page:
        """The page a read endpoint asks for; ``must_exist`` answers 404 for an unknown id."""
        object_id = request.path_params.get("object_id")
        selection = read_filter(request.query_params, object_id=object_id)
        if all_versions:
            selection = replace(selection, versions=frozenset({"all"}))
        limit = read_limit(request.query_params, settings.default_page_size, settings.max_page_size)
        after = read_next(request.query_params, request.path_params["collection_id"])
        page = await run_in_threadpool(
            node.read_objects,
            user,
            request.path_params["collection_id"],
            selection,
            limit=limit,
            after=after,
            with_body=with_body,
        )
        if must_exist and not page.items and after is None:
            raise HTTPProblem(404, "no object with that id matches in this collection")
        return page

    async def objects_envelope(request: Request, user: User, *, must_exist: bool) -> Response:
        page = await read_page(request, user, must_exist=must_exist)
        # A peer node is told who wrote each version, so it enforces as this node does.
        attested = node.attested_originators(page.items) if user.peer is not None else None
        return _envelope(request.path_params["collection_id"], page, attested)

    async def get_objects(request: Request, user: User) -> Response:
        return await objects_envelope(request, user, must_exist=False)

    async def add_objects(request: Request, user: User) -> Response:
        cid = request.path_params["collection_id"]
        if not is_taxii_content(request.headers.get("content-type")):
            raise HTTPProblem(415, f"send the envelope as {TAXII_21}")
        # Refuse before reading what may be a 64 MiB body; add_objects checks again itself.
        await run_in_threadpool(node.collection_for, user, cid, "write")
        body = await _read_body(request, settings.max_body_bytes)
        submitted, attested = _parse_envelope(body)
        if user.peer is None:
            attested = None
        anonymous = _anonymous_asked(request.query_params.get(ANONYMOUS_PARAMETER))
        status = await run_in_threadpool(
            partial(node.add_objects, anonymous=anonymous), user, cid, submitted, attested
        )
        log.info(
            "objects added",
            extra={
                "collection": cid,
                "user": user.name if anonymous is not True else "anonymous",
                "total": status.total_count,
                "failures": status.failure_count,
            },
        )
        return _json(_status_resource(status), status_code=202)

    async def get_object(request: Request, user: User) -> Response:
        return await objects_envelope(request, user, must_exist=True)

    async def delete_object(request: Request, user: User) -> Response:
        cid = request.path_params["collection_id"]
        selection = read_filter(request.query_params, object_id=request.path_params["object_id"])
        if "match[version]" not in request.query_params:
            selection = replace(selection, versions=frozenset({"all"}))
        await run_in_threadpool(node.delete_objects, user, cid, selection)
        return Response(status_code=200, media_type=TAXII_21)

    async def versions(request: Request, user: User) -> Response:
        page = await read_page(request, user, all_versions=True, with_body=False, must_exist=True)
        document = _page_start(request.path_params["collection_id"], page)
        document["versions"] = [_version_name(item.version, item.date_added) for item in page.items]
        return _json(document, headers=_added_headers(page))

    async def manifest(request: Request, user: User) -> Response:
        page = await read_page(request, user, with_body=False)
        document = _page_start(request.path_params["collection_id"], page)
        document["objects"] = [
            {
                "id": item.object_id,
                "date_added": format_us(item.date_added),
                "version": _version_name(item.version, item.date_added),
                "media_type": STIX_21,
            }
            for item in page.items
        ]
        return _json(document, headers=_added_headers(page))

    async def status(request: Request, user: User) -> Response:
        record = await run_in_threadpool(node.status, user, request.path_params["status_id"])
        return _json(_status_resource(record))

    root = "/taxii2/{api_root}"
    collection_path = f"{root}/collections/{{collection_id}}"
    routes = [
        Route("/taxii2/", endpoint(discovery), methods=["GET"]),
        Route(f"{root}/", endpoint(api_root), methods=["GET"]),
        Route(f"{root}/collections/", endpoint(collections), methods=["GET"]),
        Route(f"{collection_path}/", endpoint(collection), methods=["GET"]),
        Route(f"{collection_path}/objects/", endpoint(get_objects), methods=["GET"]),
        Route(
            f"{collection_path}/objects/",
            endpoint(add_objects),
            methods=["POST"],
            name="add_objects",
        ),
        Route(f"{collection_path}/objects/{{object_id}}/", endpoint(get_object), methods=["GET"]),
        Route(
            f"{collection_path}/objects/{{object_id}}/",
            endpoint(delete_object),
            methods=["DELETE"],
            name="delete_object",
        ),
        Route(
            f"{collection_path}/objects/{{object_id}}/versions/",
            endpoint(versions),
            methods=["GET"],
        ),
        Route(f"{collection_path}/manifest/", endpoint(manifest), methods=["GET"]),
        Route(f"{root}/status/{{status_id}}/", endpoint(status), methods=["GET"]),
        # taxii2-client builds the status URL without the trailing slash.
        Route(f"{root}/status/{{status_id}}", endpoint(status), methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(500, "internal error; the request was not completed")

    return Starlette(
        routes=routes,
        exception_handlers={StarletteHTTPException: http_error, Exception: server_error},
    )


def _check_root(request: Request) -> None:
    root = request.path_params.get("api_root")
    if root is not None and root != API_ROOT:
        raise HTTPProblem(404, f"no API root {root!r}")


def _check_storable(request: Request) -> None:
    """Ids and filters are looked up as text, which PostgreSQL cannot hold with NUL in it."""
    values = [*request.path_params.values(), *(v for _, v in request.query_params.multi_items())]
    if any("\x00" in str(value) for value in values):
        raise HTTPProblem(400, "path and query values must not contain NUL characters")


async def _visible_collection(node: Node, user: User, cid: str) -> CollectionAccess:
    return await run_in_threadpool(node.collection_for, user, cid, "see")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    # Read as ASCII digits only; a length too long to be a number exceeds any limit.
    if declared.isascii() and declared.isdigit() and (len(declared) > 19 or int(declared) > limit):
        raise HTTPProblem(413, f"the body exceeds this server's limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, f"the body exceeds this server's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


ANONYMOUS_PARAMETER = "x_allyshare_anonymous"
"""The add-objects query parameter asking that the contributor be withheld from readers."""


def _anonymous_asked(value: str | None) -> bool | None:
    """What the contributor asked; None leaves it to the collection's or agreement's default."""
    if value is None:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise HTTPProblem(400, f"{ANONYMOUS_PARAMETER} is true or false, not {value!r}")


def _parse_envelope(body: bytes) -> tuple[list[object], object]:
    """The objects, and what a peer node attests about who wrote them (see `_envelope`)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a TAXII envelope: a JSON object with 'objects'")
    submitted = document.get("objects")
    if not isinstance(submitted, list):
        raise InvalidInput("the envelope has no 'objects' list")
    return submitted, document.get(ATTESTED_ORIGINATORS)


def _collection_resource(access: CollectionAccess) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": access.collection.id,
        "title": access.collection.title,
        "can_read": access.can_read,
        "can_write": access.can_write,
        "media_types": [STIX_21],
    }
    if access.collection.description:
        resource["description"] = access.collection.description
    return resource


def _status_resource(record: StatusRecord) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": record.id,
        "status": "complete" if record.pending_count == 0 else "pending",
        "request_timestamp": format_us(record.request_timestamp),
        "total_count": record.total_count,
        "success_count": record.success_count,
        "failure_count": record.failure_count,
        "pending_count": record.pending_count,
    }
    for name, details in (
        ("successes", record.successes),
        ("failures", record.failures),
        ("pendings", record.pendings),
    ):
        if details:
            resource[name] = details
    return resource


def _version_name(version: str, date_added: int) -> str:
    """An unversioned object (no modified/created) is named by when it was added."""
    return version or format_us(date_added)


def _added_headers(page: Page) -> dict[str, str]:
    if not page.items:
        return {}
    return {
        "X-TAXII-Date-Added-First": format_us(page.items[0].date_added),
        "X-TAXII-Date-Added-Last": format_us(page.items[-1].date_added),
    }


def _page_start(collection_id: str, page: Page) -> dict[str, Any]:
    document: dict[str, Any] = {"more": page.more}
    if page.more:
        document["next"] = encode_cursor(collection_id, page.items[-1].date_added)
    return document


def _envelope(collection_id: str, page: Page, attested: list[str] | None = None) -> Response:
    """The TAXII envelope; for a peer node also ``x_allyshare_originators``, the organization
    that wrote each object, or only its country (`Node.public_originator`), in order."""
    parts = [b'{"more":', b"true" if page.more else b"false"]
    if page.more:
        cursor = encode_cursor(collection_id, page.items[-1].date_added)
        parts.append(b',"next":"' + cursor.encode() + b'"')
    if attested is not None:
        parts.append(b',"' + ATTESTED_ORIGINATORS.encode() + b'":' + orjson.dumps(attested))
    parts.append(b',"objects":[')
    parts.append(b",".join(item.body for item in page.items))
    parts.append(b"]}")
    return Response(b"".join(parts), media_type=TAXII_21, headers=_added_headers(page))


def _json(document: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(document), status_code=status_code, media_type=TAXII_21, headers=headers
    )
