"""aiohttp's own HTTP errors (an unknown address, a method a route does not take, a view's
`web.HTTPNotFound`) answered like every domain error: the site's layout, in the reader's
language, or JSON for the API. Without this they are plain text in English or Indonesian.

It sits inside the locale and session middlewares, so the page knows the reader's language
and who is signed in. Domain errors are handled by `middlewares.errors`, and so are oversized
uploads, unless the form's view declares how to show the form again (`on_too_large`): the body
is read first by the CSRF check, before the view runs.
"""

from __future__ import annotations

from aiohttp import web

from server.i18n import N_
from server.middlewares import error_response

MESSAGES = {
    400: N_("Permintaan tidak dapat diproses."),
    403: N_("Anda tidak memiliki hak akses untuk tindakan ini."),
    404: N_("Halaman yang Anda cari tidak ditemukan."),
    405: N_("Alamat ini tidak menerima cara permintaan tersebut."),
}
OTHER = N_("Permintaan tidak dapat diproses.")


@web.middleware
async def http_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        # A form view may re-show itself with the limit beside the file field (it declares
        # `on_too_large`); otherwise middlewares.errors states the limit.
        again = getattr(getattr(request.match_info, "handler", None), "on_too_large", None)
        if again is None:
            raise
        return await again(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(request, exc.status, MESSAGES.get(exc.status, OTHER))
        if isinstance(exc, web.HTTPMethodNotAllowed):
            response.headers["Allow"] = exc.headers.get("Allow", "")
        return response
