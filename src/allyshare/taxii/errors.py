"""TAXII error objects (TAXII 2.1 section 3.6.1) for every failure the binding reports."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from allyshare.errors import (
    AllyshareError,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    OverBudget,
    PermissionDenied,
)
from allyshare.taxii.media import TAXII_21

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class HTTPProblem(Exception):
    """A protocol-level failure with its HTTP status, raised inside the binding only."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}


def error_response(
    status: int, description: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "title": _TITLES.get(status, "Error"),
        "description": description,
        "http_status": str(status),
    }
    return Response(orjson.dumps(body), status_code=status, media_type=TAXII_21, headers=headers)


def status_for(error: AllyshareError) -> int:
    if isinstance(error, AuthenticationFailed):
        return 401
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, OverBudget):
        return 429
    return 500
