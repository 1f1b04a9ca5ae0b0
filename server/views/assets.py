"""`/static/`: fingerprinted addresses are cached for a year, others briefly; text goes out
precompressed (brotli, else gzip) when the browser accepts it (server/assets.py). No session
and no cookie: these responses are shared by caches."""

from __future__ import annotations

from aiohttp import hdrs, web

from server import keys
from server.middlewares import sessionless


@sessionless
async def static_file(request: web.Request) -> web.StreamResponse:
    accept_encoding = request.headers.get(hdrs.ACCEPT_ENCODING, "")
    found = request.app[keys.ASSETS].resolve(request.match_info["name"], accept_encoding)
    if found is None:
        raise web.HTTPNotFound()
    headers = {hdrs.CONTENT_TYPE: found.content_type, hdrs.CACHE_CONTROL: found.cache_control}
    if found.vary:
        headers[hdrs.VARY] = hdrs.ACCEPT_ENCODING
    if found.encoding:
        headers[hdrs.CONTENT_ENCODING] = found.encoding
    return web.FileResponse(found.path, headers=headers)


def setup(app: web.Application) -> None:
    app.router.add_get("/static/{name:.+}", static_file)
