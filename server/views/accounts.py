"""User accounts in the console, for administrators (server/accounts.py does the work)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from server import accounts, keys
from server.auth import require_user, requires
from server.domain.errors import DomainError, InvalidInput
from server.domain.roles import Role
from server.http import error_message, path_id
from server.i18n import N_
from server.login_throttle import LoginThrottle
from server.middlewares import status_for
from server.store import repo
from server.templating import redirect, render

ADMINS = frozenset({Role.ADMIN})
BASE = "/konsol/pengguna"


async def _page(
    request: web.Request,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    store = request.app[keys.STORE]
    async with store.read() as session:
        members = await repo.list_members(session)
    users = await accounts.list_accounts(store)
    throttle = LoginThrottle(request.app[keys.BUS])
    context: dict[str, Any] = {
        "users": users,
        "throttled": await accounts.throttled_accounts(throttle, users),
        "members": members,
        "roles": list(Role),
        "error": error,
        "values": values or {},
    }
    return render(request, "staff/accounts.html", context, status=status)


async def _refused(request: web.Request, exc: DomainError, values: dict[str, str] | None = None):
    """The page again with the reason on top, and what was typed (but never a password)."""
    message = error_message(request.app[keys.TRANSLATIONS], exc)
    return await _page(request, status=status_for(exc), error=message, values=values)


def _form(form) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _member_id(form: dict[str, str]) -> int | None:
    value = form.get("member_id", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(N_("member_id harus berupa angka."))
    return int(value)


@requires(ADMINS)
async def account_list(request: web.Request) -> web.Response:
    return await _page(request)


async def _change(
    request: web.Request,
    change: Callable[[], Awaitable[object]],
    values: dict[str, str] | None = None,
) -> web.Response:
    """Run one account change; a refusal shows the page again with the reason."""
    try:
        await change()
    except DomainError as exc:
        return await _refused(request, exc, values)
    return redirect(BASE)


@requires(ADMINS)
async def add_account(request: web.Request) -> web.Response:
    actor, store = require_user(request), request.app[keys.STORE]
    form = _form(await request.post())
    typed = {k: v for k, v in form.items() if k != "password"}
    return await _change(
        request,
        lambda: accounts.add_account(
            store,
            actor.username,
            form.get("username", ""),
            form.get("role", ""),
            _member_id(form),
            form.get("password", ""),
        ),
        typed,
    )


@requires(ADMINS)
async def update_account(request: web.Request) -> web.Response:
    actor, store = require_user(request), request.app[keys.STORE]
    form = _form(await request.post())
    return await _change(
        request,
        lambda: accounts.update_account(
            store,
            actor.id,
            actor.username,
            path_id(request, "user_id"),
            form.get("role", ""),
            _member_id(form),
        ),
    )


@requires(ADMINS)
async def reset_password(request: web.Request) -> web.Response:
    actor, store = require_user(request), request.app[keys.STORE]
    form = _form(await request.post())
    return await _change(
        request,
        lambda: accounts.reset_password(
            store,
            LoginThrottle(request.app[keys.BUS]),
            actor.username,
            path_id(request, "user_id"),
            form.get("password", ""),
        ),
    )


@requires(ADMINS)
async def delete_account(request: web.Request) -> web.Response:
    actor, store = require_user(request), request.app[keys.STORE]
    return await _change(
        request,
        lambda: accounts.delete_account(
            store, actor.id, actor.username, path_id(request, "user_id")
        ),
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get(BASE, account_list)
    r.add_post(BASE, add_account)
    r.add_post(f"{BASE}/{{user_id:\\d+}}", update_account)
    r.add_post(f"{BASE}/{{user_id:\\d+}}/sandi", reset_password)
    r.add_post(f"{BASE}/{{user_id:\\d+}}/hapus", delete_account)
