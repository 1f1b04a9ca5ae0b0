"""Sessions, the current user, role checks and login throttling."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from server import keys
from server.bus import Bus
from server.domain.errors import NotAuthenticated, PermissionDenied, RateLimited
from server.domain.roles import Role
from server.i18n import N_
from server.signing import BadSignature
from server.store import repo

SESSION_COOKIE = "sidang_session"
SESSION_MAX_AGE_S = 12 * 3600

LOGIN_WINDOW_S = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: Role
    member_id: int | None

    def has(self, roles: Iterable[Role]) -> bool:
        return self.role in set(roles) or self.role is Role.ADMIN


USER_KEY = web.RequestKey("user", CurrentUser)


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


async def load_user(request: web.Request) -> CurrentUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        payload = request.app[keys.SIGNER].unsign("session", token, SESSION_MAX_AGE_S)
        user_id, version = int(payload["uid"]), int(payload["v"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    async with request.app[keys.STORE].read() as session:
        user = await repo.get_user(session, user_id)
    if user is None or user.session_version != version:
        return None
    return CurrentUser(user.id, user.username, Role(user.role), user.member_id)


def start_session(request: web.Request, response: web.StreamResponse, user) -> None:
    token = request.app[keys.SIGNER].sign("session", {"uid": user.id, "v": user.session_version})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="Lax",
        secure=request.app[keys.CONFIG].secure_cookies,
        path="/",
    )


def end_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


class LoginThrottle:
    """Counts failed logins per account and per IP on the bus, so the limit holds on every node."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def check(self, username: str, ip: str) -> None:
        if (
            await self._bus.get_counter(_account_key(username)) >= MAX_FAILURES_PER_ACCOUNT
            or await self._bus.get_counter(_ip_key(ip)) >= MAX_FAILURES_PER_IP
        ):
            raise RateLimited(
                N_("Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam 15 menit."),
                retry_after_s=LOGIN_WINDOW_S,
            )

    async def failed(self, username: str, ip: str) -> None:
        await self._bus.incr(_account_key(username), LOGIN_WINDOW_S)
        await self._bus.incr(_ip_key(ip), LOGIN_WINDOW_S)

    async def succeeded(self, username: str) -> None:
        await self._bus.reset_counter(_account_key(username))


def _account_key(username: str) -> str:
    return f"login:account:{username.casefold()}"


def _ip_key(ip: str) -> str:
    return f"login:ip:{ip}"
