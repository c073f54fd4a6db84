"""Web UI sessions: a user's name and token, checked once, exchanged for a session id that a
browser keeps in a cookie.

The id is 32 random bytes; only its SHA-256 is stored, so a copy of the database opens no
session. A session ends at its expiry (``ui_session_minutes`` after sign-in), at sign-out,
and at once when its user or the user's organization is disabled: every request looks the
user up again. Each session has its own CSRF token, which every form it submits must carry.
Opening and closing are audit entries; the id and the token never appear in them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from allyshare.audit.entries import AuditEntry, AuditOutcome
from allyshare.clock import now_us
from allyshare.config import Settings
from allyshare.errors import AuthenticationFailed
from allyshare.policy.rights import Operation
from allyshare.service.audit import actor_of
from allyshare.service.gate import Gate
from allyshare.service.members import Members
from allyshare.storage import SessionRecord, Store, User

_MINUTE_US = 60_000_000


@dataclass(frozen=True)
class Session:
    """An open session as its browser holds it (``id``) and as its pages use it."""

    id: str
    user: User
    csrf: str
    expires_at: int

    def carries(self, csrf: str) -> bool:
        """Whether a submitted form's token is this session's (compared in constant time)."""
        return hmac.compare_digest(self.csrf.encode(), csrf.encode())


class Sessions:
    def __init__(self, settings: Settings, store: Store, gate: Gate, members: Members) -> None:
        self._settings = settings
        self._store = store
        self._gate = gate
        self._members = members

    def open(self, name: str, token: str) -> Session:
        """A new session for the user these credentials name; AuthenticationFailed if none
        (the caller counts the failure)."""
        user = self._members.authenticate_basic(name, token)
        session_id = secrets.token_urlsafe(32)
        now = now_us()
        record = SessionRecord(
            _digest(session_id),
            user.name,
            secrets.token_urlsafe(32),
            now,
            now + self._settings.ui_session_minutes * _MINUTE_US,
        )
        self._store.add_session(record)
        self._gate.record(AuditEntry(Operation.SESSIONS_OPEN, actor_of(user), AuditOutcome.ALLOWED))
        return Session(session_id, user, record.csrf, record.expires_at)

    def find(self, session_id: str) -> Session:
        """The open session with this id; AuthenticationFailed when there is none, it has
        ended, or its user may no longer sign in."""
        record = self._store.session(_digest(session_id))
        if record is None or record.expires_at <= now_us():
            raise AuthenticationFailed("no open session; sign in")
        found = self._store.user_by_name(record.user_name)
        if found is None or found[0].disabled:
            self._store.end_session(record.digest)
            raise AuthenticationFailed("no open session; sign in")
        return Session(session_id, found[0], record.csrf, record.expires_at)

    def close(self, session: Session) -> None:
        self._store.end_session(_digest(session.id))
        self._gate.record(
            AuditEntry(Operation.SESSIONS_CLOSE, actor_of(session.user), AuditOutcome.ALLOWED)
        )


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
