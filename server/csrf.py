"""CSRF tokens: an HMAC of a seed, in every form and in <meta name="csrf-token"> for fetch().

A signed-in browser's seed is its session, so the token is bound to that session and a new one
comes with every login; before signing in, the seed is a random value in an HttpOnly cookie,
replaced at login and logout. An attacker's page can make the browser send cookies but cannot
compute the HMAC.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from server import keys
from server.cookies import read_cookie, set_cookie

CSRF_COOKIE = "sidang_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_SEED_KEY = web.RequestKey("csrf_seed", str)
SEED_LENGTH = 43  # secrets.token_urlsafe(32)


def csrf_token(request: web.Request) -> str:
    """The token pages embed in forms and in <meta name="csrf-token"> for fetch()."""
    return expected_token(request, request[CSRF_SEED_KEY])


def expected_token(request: web.Request, seed: str) -> str:
    return request.app[keys.SIGNER].digest("csrf", seed)


def session_seed(session_id: str) -> str:
    return f"session:{session_id}"


def anonymous_seed(request: web.Request) -> str | None:
    """The signed-out seed from the cookie, if it is one this server made."""
    seed = read_cookie(request, CSRF_COOKIE)
    return seed if seed is not None and len(seed) == SEED_LENGTH else None


def new_seed() -> str:
    return secrets.token_urlsafe(32)


def set_anonymous_seed(
    request: web.Request, response: web.StreamResponse, seed: str | None = None
) -> None:
    """Give the browser a signed-out seed: the one this page was rendered with, or at login and
    logout a new one, so a token from before is worth nothing after."""
    set_cookie(request, response, CSRF_COOKIE, seed or new_seed())
