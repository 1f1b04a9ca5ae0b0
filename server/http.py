"""Request helpers every view uses: ids from the path, JSON bodies, error messages.

Route ids are checked once by the `path_ids` middleware (anything but digits within the key
range is a 404), so no view parses an id itself.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server import keys
from server.domain.errors import DomainError, InvalidInput, NotFound
from server.edge import InvalidJson, content_disposition, loads_json
from server.i18n import N_, Translations


def path_id(request: web.Request, name: str) -> int:
    """A `{…_id}` (or `{position}`) route parameter as a number, already checked."""
    return int(request.match_info[name])


def sitting_id(request: web.Request) -> int:
    return path_id(request, "sitting_id")


async def read_json(request: web.Request) -> dict:
    """Parse a JSON object body or raise a 400 with a message."""
    try:
        data = loads_json(await request.read())
    except InvalidJson as exc:
        raise InvalidInput(
            N_("Badan permintaan bukan JSON yang valid: %(error)s"), error=exc
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(N_("Badan permintaan harus berupa objek JSON."))
    return data


def error_message(translations: Translations, exc: DomainError) -> str:
    """A domain error's message in the request's language, for socket frames and forms."""
    return translations.format(exc.template, exc.params)


def file_response(
    path: Path, content_type: str, cache: str, download: str | None = None
) -> web.FileResponse:
    """A media or document file as stored, with its caching; a missing file is a 404 page."""
    if not path.is_file():
        raise NotFound(N_("Berkas media tidak ditemukan."))
    headers = {"Content-Type": content_type, "Cache-Control": cache}
    if download:
        headers["Content-Disposition"] = content_disposition("attachment", download)
    return web.FileResponse(path, headers=headers)


def accel_response(
    request: web.Request, path: Path, content_type: str, cache: str, download: str | None = None
) -> web.StreamResponse:
    """file_response, or behind nginx (deploy/nginx.conf sends X-Sidang-Accel: its internal
    location) an empty answer with X-Accel-Redirect to the file: the app decides who may see
    it, nginx sends it from the media volume with these headers."""
    response = file_response(path, content_type, cache, download)
    accel = request.headers.get("X-Sidang-Accel", "")
    media_dir = request.app[keys.CONFIG].media_dir.resolve()
    resolved = path.resolve()
    if not accel.startswith("/") or not resolved.is_relative_to(media_dir):
        return response
    headers = {k: v for k, v in response.headers.items() if k != "Content-Type"}
    headers["X-Accel-Redirect"] = accel + str(resolved.relative_to(media_dir))
    return web.Response(headers=headers, content_type=content_type)
