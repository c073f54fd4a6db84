"""Errors raised by allyshare, independent of any transport.

The HTTP binding maps these to TAXII error objects; the CLI prints them as one line.
Nothing here knows about status codes.

    AllyshareError
     ├── ConfigError            settings missing or invalid at start-up
     ├── InvalidInput           a request or file that cannot be read at all
     │    └── InvalidObject     one STIX object that breaks a rule (id, property, reason)
     ├── NotFound               no such collection, object, status or user
     ├── Conflict               the store already holds something that contradicts the write
     ├── AuthenticationFailed   missing or wrong credentials
     └── PermissionDenied       authenticated, but not allowed to do this
"""

from __future__ import annotations


class AllyshareError(Exception):
    """Base of every error allyshare raises on purpose."""


class ConfigError(AllyshareError):
    """Settings that cannot be used; raised at start-up, never later."""


class InvalidInput(AllyshareError):
    """Input that cannot be read as what it claims to be."""


class InvalidObject(InvalidInput):
    """A STIX object that breaks a rule of the specification.

    Carries the object id (when it has a usable one) and the property at fault, so a
    per-object failure can say exactly what to fix.
    """

    def __init__(self, object_id: str | None, prop: str | None, reason: str) -> None:
        self.object_id = object_id
        self.prop = prop
        self.reason = reason
        where = f"{object_id or '<object without id>'}"
        if prop:
            where += f" property '{prop}'"
        super().__init__(f"{where}: {reason}")


class NotFound(AllyshareError):
    """The thing asked for does not exist (or is not visible to the asker)."""


class Conflict(AllyshareError):
    """The write contradicts what is already stored."""


class AuthenticationFailed(AllyshareError):
    """No credentials, or credentials that match no active user."""


class PermissionDenied(AllyshareError):
    """The user is known but may not perform this action."""


class OverBudget(AllyshareError):
    """A request a budget does not allow now; ``retry_at`` (microseconds since the epoch) is
    when it would."""

    def __init__(self, message: str, retry_at: int) -> None:
        super().__init__(message)
        self.retry_at = retry_at
