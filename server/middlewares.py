"""Cross-cutting request handling: client IP, security headers, locale, session, CSRF, errors.

Domain errors become HTTP responses here and nowhere else.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from aiohttp import web

from server import keys
from server.auth import SIGNED_IN_KEY, USER_KEY, load_session
from server.csrf import (
    CSRF_FIELD,
    CSRF_HEADER,
    CSRF_SEED_KEY,
    anonymous_seed,
    expected_token,
    new_seed,
    session_seed,
    set_anonymous_seed,
)
from server.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    StorageUnavailable,
    UnsupportedMedia,
)
from server.edge import parse_id
from server.i18n import N_, current_locale, negotiate
from server.templating import render

log = logging.getLogger(__name__)

LOCALE_COOKIE = "sidang_lang"
CLIENT_IP_KEY = web.RequestKey("client_ip", str)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

STATUS_FOR_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (NotAuthenticated, 401),
    (PermissionDenied, 403),
    (UnsupportedMedia, 415),
    (InvalidInput, 400),
    (RateLimited, 429),
    (Conflict, 409),
    (StorageUnavailable, 503),
    (DomainError, 400),
]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Every response's defaults; a view may set its own. deploy/nginx.conf repeats them on the media it
# sends itself (tests/test_compose.py holds the two together).
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
}


def csrf_exempt(handler):
    """For non-browser endpoints authenticated by a bearer key (WHIP), never by cookies."""
    handler.csrf_exempt = True
    return handler


def sessionless(handler):
    """For responses any visitor may get from a shared cache (static files): no session is
    read and no cookie is set, or a cache would hand one visitor's cookie to the next."""
    handler.sessionless = True
    return handler


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


@web.middleware
async def security_headers(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _set_security_headers(response)
        raise
    _set_security_headers(response)
    return response


def _set_security_headers(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


@web.middleware
async def count_requests(request: web.Request, handler) -> web.StreamResponse:
    """Requests by method and status class, and latency by route, for /metrics."""
    status = 500
    started = time.perf_counter()
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[keys.METRICS]
        metrics.inc(
            "sidang_http_requests_total", method=request.method, status=f"{status // 100}xx"
        )
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.http_latency.labels(request.method, route).observe(time.perf_counter() - started)


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        return domain_error_response(request, exc)
    except web.HTTPRequestEntityTooLarge as exc:
        if not hasattr(exc, "max_size"):
            return error_response(request, 413, N_("Berkas terlalu besar."))
        limit_mb = max(1, round(exc.max_size / 1024 / 1024))
        return error_response(
            request,
            413,
            N_("Berkas terlalu besar. Batas ukuran unggahan adalah %(limit)s MB."),
            params={"limit": limit_mb},
        )


def status_for(exc: DomainError) -> int:
    return next(code for cls, code in STATUS_FOR_ERROR if isinstance(exc, cls))


def domain_error_response(request: web.Request, exc: DomainError) -> web.StreamResponse:
    status = status_for(exc)
    if isinstance(exc, NotAuthenticated) and not wants_json(request) and request.method == "GET":
        raise web.HTTPSeeOther(f"/masuk?next={request.rel_url}")
    fields = getattr(exc, "fields", None) or None
    response = error_response(request, status, exc.template, fields, exc.params)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def error_response(
    request: web.Request,
    status: int,
    message: str,
    fields: dict[str, str] | None = None,
    params: dict[str, object] | None = None,
) -> web.Response:
    """`message` is a gettext id with %(name)s placeholders for `params`; field problems are
    message ids too."""
    translations = request.app[keys.TRANSLATIONS]
    message = translations.format(message, params)
    if fields:
        fields = {name: translations.format(problem, params) for name, problem in fields.items()}
    if wants_json(request) or request.method not in SAFE_METHODS and not _is_form(request):
        body = {"error": message, **({"fields": fields} if fields else {})}
        return web.json_response(body, status=status)
    return render(
        request,
        "error.html",
        {"status": status, "message": message, "fields": fields or {}},
        status=status,
    )


def _is_form(request: web.Request) -> bool:
    return request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def client_ip(request: web.Request, handler) -> web.StreamResponse:
    request[CLIENT_IP_KEY] = resolve_client_ip(request)
    return await handler(request)


def resolve_client_ip(request: web.Request) -> str:
    """Believe X-Forwarded-For only from SIDANG_TRUSTED_PROXIES, walking from the right."""
    peer = request.remote or "0.0.0.0"
    trusted = request.app[keys.CONFIG].trusted_proxies
    if not trusted or not _in_networks(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in_networks(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _in_networks(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@web.middleware
async def locale(request: web.Request, handler) -> web.StreamResponse:
    default = request.app[keys.CONFIG].default_locale
    chosen = negotiate(request.cookies.get(LOCALE_COOKIE), request.query.get("lang"), default)
    current_locale.set(chosen)
    response = await handler(request)
    if request.query.get("lang") == chosen and request.cookies.get(LOCALE_COOKIE) != chosen:
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=365 * 86400, samesite="Lax", path="/")
    return response


@web.middleware
async def path_ids(request: web.Request, handler) -> web.StreamResponse:
    """Every `{…_id}` (and agenda `{position}`) in a route is a record key: anything but digits
    within the key range is a page that does not exist, decided here once for every route."""
    for name, value in request.match_info.items():
        if (name.endswith("_id") or name == "position") and parse_id(value) is None:
            raise NotFound()
    return await handler(request)


@web.middleware
async def session(request: web.Request, handler) -> web.StreamResponse:
    """The signed-in user, and the CSRF seed: the session when signed in, else a cookie."""
    if getattr(_route_handler(request), "sessionless", False):
        request[USER_KEY] = None
        request[CSRF_SEED_KEY] = anonymous_seed(request) or new_seed()
        return await handler(request)
    signed_in = await load_session(request)
    request[USER_KEY] = signed_in.user if signed_in else None
    fresh_seed = None
    if signed_in is not None:
        request[SIGNED_IN_KEY] = signed_in
        request[CSRF_SEED_KEY] = session_seed(signed_in.session_id)
    else:
        request[CSRF_SEED_KEY] = anonymous_seed(request) or (fresh_seed := new_seed())
    response = await handler(request)
    if fresh_seed is not None and not response.prepared:
        set_anonymous_seed(request, response, fresh_seed)
    return response


@web.middleware
async def csrf(request: web.Request, handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS or getattr(_route_handler(request), "csrf_exempt", False):
        return await handler(request)
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and _is_form(request):
        supplied = (await request.post()).get(CSRF_FIELD)
    expected = expected_token(request, request[CSRF_SEED_KEY])
    # bytes: compare_digest refuses non-ASCII str, and a hostile header must be a 403, not a 500
    if not isinstance(supplied, str) or not hmac.compare_digest(
        supplied.encode(), expected.encode()
    ):
        log.info("CSRF check failed for %s %s", request.method, request.path)
        return error_response(
            request,
            403,
            N_(
                "Token keamanan (CSRF) tidak valid atau kedaluwarsa. "
                "Muat ulang halaman lalu coba lagi."
            ),
        )
    return await handler(request)


def _route_handler(request: web.Request):
    return getattr(request.match_info, "handler", None)
