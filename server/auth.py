"""Server-side sessions, the current user and role checks.

A session is a row in the store (server/store/sessions.py): logout deletes it, a password change
deletes all of the user's, and it ends after two idle hours or twelve in all.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from server import keys
from server.cookies import delete_cookie, read_cookie, set_cookie
from server.domain.errors import NotAuthenticated, PermissionDenied
from server.domain.roles import Role
from server.i18n import N_
from server.store import sessions
from server.store.models import User, utcnow

SESSION_COOKIE = "sidang_session"
IDLE_TIMEOUT = dt.timedelta(hours=2)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
# A session's last-seen time is written at most this often, not on every request.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: Role
    member_id: int | None

    @classmethod
    def of(cls, user: User) -> CurrentUser:
        return cls(user.id, user.username, Role(user.role), user.member_id)

    def has(self, roles: Iterable[Role]) -> bool:
        return self.role in set(roles) or self.role is Role.ADMIN


@dataclass(frozen=True)
class SignedIn:
    user: CurrentUser
    session_id: str


USER_KEY = web.RequestKey("user", CurrentUser)
SIGNED_IN_KEY = web.RequestKey("signed_in", SignedIn)


def get_user(request: web.Request) -> CurrentUser | None:
    return request.get(USER_KEY)


def require_user(request: web.Request, roles: Iterable[Role] | None = None) -> CurrentUser:
    user = get_user(request)
    if user is None:
        raise NotAuthenticated()
    if roles is not None and not user.has(roles):
        raise PermissionDenied(
            N_("Halaman ini hanya untuk peran: %(roles)s."),
            roles=", ".join(sorted(r.value for r in roles)),
        )
    return user


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def requires(roles: Iterable[Role]) -> Callable[[Handler], Handler]:
    """Declare a view's policy next to the view: the role check runs before the handler."""
    allowed = frozenset(roles)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            require_user(request, allowed)
            return await handler(request)

        wrapper.required_roles = allowed  # read by the OpenAPI generator
        return wrapper

    return decorate


async def load_session(request: web.Request) -> SignedIn | None:
    """The browser's live session, or None; a session past either timeout is ended here."""
    token = read_cookie(request, SESSION_COOKIE)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    session_id, now = _session_id(token), utcnow()
    store = request.app[keys.STORE]
    async with store.read() as session:
        row = await sessions.get_session(session, session_id)
    if row is None:
        return None
    if session_expired(row.created_at, row.last_seen_at, now):
        async with store.transaction() as session:
            await sessions.end_session(session, session_id)
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        async with store.transaction() as session:
            await sessions.touch_session(session, session_id, now)
    return SignedIn(CurrentUser.of(row.user), session_id)


def session_expired(created_at: dt.datetime, last_seen_at: dt.datetime, now: dt.datetime) -> bool:
    return now - last_seen_at >= IDLE_TIMEOUT or now - created_at >= ABSOLUTE_TIMEOUT


async def start_session(request: web.Request, response: web.StreamResponse, user_id: int) -> str:
    """A new session for a fresh login; returns its id, which also seeds its CSRF token, so a
    token seen before the login is worth nothing after it."""
    token = secrets.token_urlsafe(32)
    session_id, now = _session_id(token), utcnow()
    async with request.app[keys.STORE].transaction() as session:
        await sessions.end_expired_sessions(session, now - IDLE_TIMEOUT, now - ABSOLUTE_TIMEOUT)
        await sessions.create_session(session, session_id, user_id)
    set_cookie(request, response, SESSION_COOKIE, token, int(ABSOLUTE_TIMEOUT.total_seconds()))
    return session_id


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    """Logout: the session row goes, so a copy of the cookie opens nothing any more."""
    signed_in = request.get(SIGNED_IN_KEY)
    if signed_in is not None:
        async with request.app[keys.STORE].transaction() as session:
            await sessions.end_session(session, signed_in.session_id)
    delete_cookie(request, response, SESSION_COOKIE)


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
