"""The site's own cookies, set one way: HttpOnly, SameSite=Lax, Path=/, and over https Secure
with the `__Host-` prefix, which binds a cookie to this exact origin (no Domain attribute, so a
sibling subdomain cannot plant or overwrite it)."""

from __future__ import annotations

from aiohttp import web

from server import keys


def cookie_name(request: web.Request, name: str) -> str:
    return f"__Host-{name}" if request.app[keys.CONFIG].secure_cookies else name


def read_cookie(request: web.Request, name: str) -> str | None:
    return request.cookies.get(cookie_name(request, name))


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=request.app[keys.CONFIG].secure_cookies,
        path="/",
    )


def delete_cookie(request: web.Request, response: web.StreamResponse, name: str) -> None:
    response.del_cookie(
        cookie_name(request, name),
        path="/",
        secure=request.app[keys.CONFIG].secure_cookies,
        httponly=True,
        samesite="Lax",
    )
