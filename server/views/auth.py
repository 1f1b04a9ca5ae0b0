"""Login, logout, and the page each role lands on."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

from server import keys
from server.auth import CurrentUser, end_session, get_user, require_user, start_session
from server.cookies import read_cookie, set_cookie
from server.csrf import set_anonymous_seed
from server.domain.errors import RateLimited
from server.edge import local_path
from server.i18n import N_
from server.landing import MY_SITTINGS, landing_path, my_sittings
from server.login_throttle import LoginThrottle, account_key
from server.middlewares import CLIENT_IP_KEY
from server.passwords import DUMMY_HASH, verify_password
from server.signing import BadSignature
from server.store import repo
from server.templating import redirect, render

LOGIN = "/masuk"
DEVICE_COOKIE = "sidang_device"
DEVICE_MAX_AGE_S = 180 * 86400


async def _destination(request: web.Request, user: CurrentUser, wanted: str | None) -> str:
    """`wanted` when it is a page on this site that the user's role may open, else the page
    where their work is."""
    path = local_path(wanted)
    if path is not None and await _may_open(request, user, path):
        return path
    return await landing_path(request.app[keys.STORE], user)


@dataclass(frozen=True)
class _GetProbe:
    """What the router reads to match a request (its method and URL): a GET of another path,
    since the login request itself cannot be cloned once its form has been read."""

    rel_url: URL
    method: str = "GET"


async def _may_open(request: web.Request, user: CurrentUser, path: str) -> bool:
    """A route the router knows, whose declared roles (`@requires`) include the user's."""
    match = await request.app.router.resolve(_GetProbe(URL(path)))
    if match.http_exception is not None or match.route.resource is None:
        return False
    if match.route.resource.canonical == LOGIN:
        return False
    roles = getattr(match.handler, "required_roles", None)
    return roles is None or user.has(roles)


def _known_device(request: web.Request, username: str) -> str | None:
    """The id of this browser if it has signed in to `username` before (a signed cookie)."""
    token = read_cookie(request, DEVICE_COOKIE)
    if not token:
        return None
    try:
        payload = request.app[keys.SIGNER].unsign("login-device", token, DEVICE_MAX_AGE_S)
        account, device = payload["account"], payload["device"]
    except (BadSignature, KeyError, TypeError):
        return None
    return str(device) if account == account_key(username) else None


def _remember_device(request: web.Request, response: web.StreamResponse, username: str) -> None:
    device = _known_device(request, username) or secrets.token_urlsafe(16)
    token = request.app[keys.SIGNER].sign(
        "login-device", {"account": account_key(username), "device": device}
    )
    set_cookie(request, response, DEVICE_COOKIE, token, DEVICE_MAX_AGE_S)


async def login_form(request: web.Request) -> web.Response:
    wanted = request.query.get("next")
    user = get_user(request)
    if user is not None:
        return redirect(await _destination(request, user, wanted))
    return render(request, "login.html", {"next": local_path(wanted) or ""})


def _refused(request: web.Request, status: int, message: str, username: str, wanted: str):
    context = {"next": local_path(wanted) or "", "error": message, "username": username}
    return render(request, "login.html", context, status=status)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    wanted = str(form.get("next", ""))
    throttle = LoginThrottle(request.app[keys.BUS])
    try:
        attempt = await throttle.begin(
            username, request[CLIENT_IP_KEY], _known_device(request, username)
        )
    except RateLimited as exc:
        response = _refused(request, 429, exc.template, username, wanted)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    async with request.app[keys.STORE].read() as session:
        user = await repo.get_user_by_username(session, username) if username else None
    valid = await verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not valid:
        await throttle.failed(attempt)
        return _refused(request, 401, N_("Nama pengguna atau kata sandi salah."), username, wanted)
    await throttle.succeeded(attempt)
    async with request.app[keys.STORE].transaction() as session:
        await repo.audit(session, user.username, "login", detail=f"ip={request[CLIENT_IP_KEY]}")
    response = redirect(await _destination(request, CurrentUser.of(user), wanted))
    await start_session(request, response, user.id)
    set_anonymous_seed(request, response)
    _remember_device(request, response, user.username)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = redirect("/")
    await end_session(request, response)
    set_anonymous_seed(request, response)
    return response


async def my_sittings_page(request: web.Request) -> web.Response:
    """Members' and moderators' own sittings: where a login lands when no room is live."""
    mine = await my_sittings(request.app[keys.STORE], require_user(request))
    return render(request, "my_sittings.html", vars(mine))


def setup(app: web.Application) -> None:
    app.router.add_get(LOGIN, login_form, name="login")
    app.router.add_post(LOGIN, login)
    app.router.add_post("/keluar", logout, name="logout")
    app.router.add_get(MY_SITTINGS, my_sittings_page, name="my_sittings")
