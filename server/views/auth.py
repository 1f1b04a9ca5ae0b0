"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from server import keys
from server.auth import LoginThrottle, end_session, get_user, start_session
from server.domain.errors import RateLimited
from server.i18n import N_
from server.middlewares import CLIENT_IP_KEY
from server.passwords import DUMMY_HASH, verify_password
from server.store import repo
from server.templating import redirect, render


def _safe_next(value: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if not value:
        return "/konsol"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/konsol"
    return value


async def login_form(request: web.Request) -> web.Response:
    if get_user(request) is not None:
        return redirect(_safe_next(request.query.get("next")))
    return render(request, "login.html", {"next": _safe_next(request.query.get("next"))})


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    next_url = _safe_next(str(form.get("next", "")))
    ip = request[CLIENT_IP_KEY]
    throttle = LoginThrottle(request.app[keys.BUS])
    try:
        await throttle.check(username, ip)
    except RateLimited as exc:
        response = render(
            request,
            "login.html",
            {"next": next_url, "error": exc.template, "username": username},
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    async with request.app[keys.STORE].read() as session:
        user = await repo.get_user_by_username(session, username) if username else None
    valid = await verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not valid:
        await throttle.failed(username, ip)
        return render(
            request,
            "login.html",
            {
                "next": next_url,
                "error": N_("Nama pengguna atau kata sandi salah."),
                "username": username,
            },
            status=401,
        )
    await throttle.succeeded(username)
    async with request.app[keys.STORE].transaction() as session:
        await repo.audit(session, user.username, "login", detail=f"ip={ip}")
    response = redirect(next_url)
    start_session(request, response, user)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = redirect("/")
    end_session(response)
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/masuk", login_form, name="login")
    app.router.add_post("/masuk", login)
    app.router.add_post("/keluar", logout, name="logout")
