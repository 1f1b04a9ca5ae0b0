"""CSRF tokens: a random seed in an HttpOnly cookie, and an HMAC of it in every form and fetch().

An attacker's page can make the browser send the cookie but cannot compute the HMAC.
"""

from __future__ import annotations

from aiohttp import web

from server import keys

CSRF_COOKIE = "sidang_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_SEED_KEY = web.RequestKey("csrf_seed", str)


def csrf_token(request: web.Request) -> str:
    """The token pages embed in forms and in <meta name="csrf-token"> for fetch()."""
    return expected_token(request, request[CSRF_SEED_KEY])


def expected_token(request: web.Request, seed: str) -> str:
    return request.app[keys.SIGNER].digest("csrf", seed)
