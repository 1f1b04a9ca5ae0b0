"""The live plane over HTTP: WHIP ingest, LL-HLS delivery, and the staff's live controls.

HLS files are plain files under SIDANG_MEDIA_DIR/{sitting}/, so nginx can serve the same tree in
production; aiohttp adds what static serving cannot: blocking playlist reload and held
preload-hint parts.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from aiohttp import web
from aiortc.sdp import SessionDescription
from babel.numbers import format_decimal

from media.hls import PlaylistNotReady, ReloadTooFar, resolve_media_file
from media.ingest import InvalidOffer
from media.live import LiveProblem
from media.overload import LoadState
from server import keys
from server.auth import get_user, require_user, requires
from server.domain.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    UnsupportedMedia,
)
from server.domain.ingest import ingest_warnings
from server.domain.roles import STAFF
from server.forward import forward, owner_elsewhere
from server.http import file_response, read_json, sitting_id
from server.i18n import N_, Translations, current_locale
from server.live.service import LAYOUTS
from server.middlewares import CLIENT_IP_KEY, csrf_exempt
from server.store import repo
from server.templating import redirect

RENDITION_NAMES = {"720p", "360p", "audio"}
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
CONTENT_TYPES = {
    ".m3u8": PLAYLIST_TYPE,
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".ts": "video/mp2t",
    ".vtt": "text/vtt",
}
IMMUTABLE = "public, max-age=31536000, immutable"
# What aiortc's SDP parser raises on a malformed line, besides ValueError.
SDP_PARSE_ERRORS = (
    AssertionError,
    AttributeError,
    IndexError,
    KeyError,
    StopIteration,
    TypeError,
    ValueError,
)
BLOCKING_RELOAD_TIMEOUT_S = 6.0  # three part targets of slack over a 2 s segment
FIRST_SEGMENT_TIMEOUT_S = 8.0


# -- WHIP (RFC 9725) ---------------------------------------------------------------------------


async def _check_ingest_key(request: web.Request, sid: int) -> None:
    supplied = request.headers.get("Authorization", "")
    scheme, _, token = supplied.partition(" ")
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), sitting.ingest_key):
        raise NotAuthenticated(N_("Kunci ingest salah atau tidak ada (Authorization: Bearer …)."))


def parse_offer(body: bytes) -> str:
    """The WHIP body as an SDP offer that aiortc can answer, checked before a peer connection
    exists: on malformed offers aiortc raises untyped errors (StopIteration, AttributeError)
    from its parser and from setRemoteDescription, and leaves that connection open."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(N_("SDP offer harus berupa teks UTF-8.")) from None
    try:
        problem = _offer_problem(SessionDescription.parse(text))
    except SDP_PARSE_ERRORS as exc:
        problem = f"unreadable SDP ({type(exc).__name__})"
    if problem is not None:
        raise InvalidInput(N_("SDP offer tidak valid: %(error)s"), error=problem)
    return text


def _offer_problem(description: SessionDescription) -> str | None:
    mids = [media.rtp.muxId for media in description.media]
    if not all(mids) or len(set(mids)) != len(mids):
        return "every m-line needs its own a=mid"
    for media in description.media:
        if media.ice is None or not (media.ice.usernameFragment and media.ice.password):
            return "a=ice-ufrag and a=ice-pwd are required"
        if media.dtls is None or not media.dtls.fingerprints:
            return "a=fingerprint is required"
        if any(None in codec.parameters.values() for codec in media.rtp.codecs):
            return "a=fmtp parameters must be name=value"
    bundles = [group for group in description.group if group.semantic == "BUNDLE"]
    if any(set(group.items) != set(mids) for group in bundles):
        return "the BUNDLE group must name every m-line"
    return None


@csrf_exempt
async def whip_publish(request: web.Request) -> web.Response:
    sid = sitting_id(request)
    await _check_ingest_key(request, sid)
    if request.content_type != "application/sdp":
        raise UnsupportedMedia(N_("WHIP memerlukan Content-Type: application/sdp."))
    offer = parse_offer(await request.read())
    service = request.app[keys.LIVE]
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    if sid not in service.sittings and not await service.take_over(sid):
        raise Conflict(N_("Rapat ini belum disiarkan. Mulai siaran dari konsol terlebih dahulu."))
    try:
        resource, answer = await service.publish(sid, offer)
    except InvalidOffer as exc:
        raise InvalidInput(N_("SDP offer tidak valid: %(error)s"), error=exc) from None
    location = f"/whip/{sid}/{resource}"
    return web.Response(
        status=201,
        text=answer,
        content_type="application/sdp",
        headers={"Location": location, "ETag": f'"{resource}"'},
    )


@csrf_exempt
async def whip_delete(request: web.Request) -> web.Response:
    sid = sitting_id(request)
    await _check_ingest_key(request, sid)
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    await request.app[keys.LIVE].unpublish(sid, request.match_info["resource"])
    return web.Response(status=200)


@csrf_exempt
async def whip_patch(request: web.Request) -> web.Response:
    """Trickle ICE and ICE restarts are optional in WHIP; our answers carry all candidates."""
    return web.Response(
        status=405,
        headers={"Allow": "DELETE"},
        text="Trickle ICE tidak didukung; kirim offer baru.",
    )


async def whip_options(request: web.Request) -> web.Response:
    return web.Response(
        status=204, headers={"Accept-Post": "application/sdp", "Allow": "POST, OPTIONS"}
    )


# -- LL-HLS delivery ----------------------------------------------------------------------------


def _sitting_dir(request: web.Request, sid: int) -> Path:
    return request.app[keys.CONFIG].media_dir / str(sid)


async def _raw_recording_or_404(request: web.Request, sid: int) -> None:
    """Off air, the raw recording (closed-door parts included) is for staff only; the public
    gets the published cut under /sidang/{id}/rekaman/ (server/archive/views.py)."""
    user = get_user(request)
    if user is None or not user.has(STAFF):
        raise NotFound(N_("Rekaman mentah hanya untuk sekretariat."))
    async with request.app[keys.STORE].read() as session:
        await repo.get_sitting(session, sid, public_only=False)


async def master_playlist(request: web.Request) -> web.StreamResponse:
    sid = sitting_id(request)
    live = request.app[keys.LIVE].sittings.get(sid)
    if live is not None and live.on_air:
        return _playlist(live.master_playlist(), live=True)
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    await _raw_recording_or_404(request, sid)
    return file_response(
        _sitting_dir(request, sid) / "index.m3u8", PLAYLIST_TYPE, "public, max-age=60"
    )


async def media_playlist(request: web.Request) -> web.StreamResponse:
    sid = sitting_id(request)
    rendition = request.match_info["rendition"]
    live = request.app[keys.LIVE].sittings.get(sid)
    if live is None and (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    if live is None or not live.on_air:
        await _raw_recording_or_404(request, sid)
        path = _sitting_dir(request, sid) / rendition / "index.m3u8"
        return file_response(path, PLAYLIST_TYPE, "public, max-age=60")
    msn, part = _reload_params(request)
    skip = _skip_param(request)
    agent = request.headers.get("User-Agent", "")
    client = request[CLIENT_IP_KEY]
    request.app[keys.AUDIENCE].playlist(sid, rendition, client, agent, blocking=msn is not None)
    timeout = BLOCKING_RELOAD_TIMEOUT_S if msn is not None else FIRST_SEGMENT_TIMEOUT_S
    try:
        text = await live.media_playlist(rendition, msn, part, skip, timeout)
    except ReloadTooFar as exc:
        raise InvalidInput(str(exc)) from None
    except PlaylistNotReady:
        return web.Response(
            status=503,
            text="Siaran sedang dimulai.",
            headers={"Retry-After": "1", "Cache-Control": "no-store"},
        )
    response = _playlist(text, live=True)
    if msn is not None:
        # A blocking reload's answer stays true (it lists the part asked for), so nginx may keep
        # it as long as we would hold it: viewers running late then do not reach the origin again.
        response.headers["X-Accel-Expires"] = str(int(BLOCKING_RELOAD_TIMEOUT_S))
    return response


def _reload_params(request: web.Request) -> tuple[int | None, int | None]:
    try:
        msn = int(request.query["_HLS_msn"]) if "_HLS_msn" in request.query else None
        part = int(request.query["_HLS_part"]) if "_HLS_part" in request.query else None
    except ValueError:
        raise InvalidInput(N_("_HLS_msn dan _HLS_part harus bilangan bulat.")) from None
    if part is not None and msn is None:
        raise InvalidInput(N_("_HLS_part memerlukan _HLS_msn."))
    return msn, part


def _skip_param(request: web.Request) -> bool:
    """`_HLS_skip=YES` asks for a delta update; `v2` also skips date ranges (we have none)."""
    value = request.query.get("_HLS_skip")
    if value not in (None, "YES", "v2"):
        raise InvalidInput(N_("_HLS_skip harus YES atau v2."))
    return value is not None


async def media_file(request: web.Request) -> web.StreamResponse:
    sid = sitting_id(request)
    relative = f"{request.match_info['rendition']}/{request.match_info['name']}"
    live = request.app[keys.LIVE].sittings.get(sid)
    if live is None and (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    if live is not None and live.on_air:
        path = await live.media_file(relative, BLOCKING_RELOAD_TIMEOUT_S)
    else:
        await _raw_recording_or_404(request, sid)
        path = resolve_media_file(_sitting_dir(request, sid), relative, RENDITION_NAMES)
    if path is None:
        raise NotFound(N_("Berkas media tidak ditemukan."))
    return file_response(
        path, CONTENT_TYPES.get(path.suffix, "application/octet-stream"), IMMUTABLE
    )


async def recording_file(request: web.Request) -> web.StreamResponse:
    sid = sitting_id(request)
    await _raw_recording_or_404(request, sid)
    name = request.match_info["name"]
    path = _sitting_dir(request, sid) / name
    return file_response(
        path,
        CONTENT_TYPES[path.suffix],
        "public, max-age=3600",
        download=f"sidang-{sid}{path.suffix}",
    )


def _playlist(text: str, live: bool) -> web.Response:
    return web.Response(
        text=text,
        content_type=PLAYLIST_TYPE,
        headers={"Cache-Control": "no-cache" if live else "public, max-age=60"},
    )


# -- staff live controls ------------------------------------------------------------------------


@requires(STAFF)
async def start_live(request: web.Request) -> web.Response:
    user = require_user(request)
    sid = sitting_id(request)
    await request.app[keys.LIVE].start(sid, user.username)
    return _back(request, sid)


@requires(STAFF)
async def end_live(request: web.Request) -> web.Response:
    user = require_user(request)
    sid = sitting_id(request)
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    await request.app[keys.LIVE].end(sid, user.username)
    return _back(request, sid)


@requires(STAFF)
async def switch_layout(request: web.Request) -> web.Response:
    sid = sitting_id(request)
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    if request.content_type == "application/json":
        kind = (await read_json(request)).get("layout")
    else:
        kind = (await request.post()).get("layout")
    if kind not in LAYOUTS:
        raise InvalidInput(
            N_("Tata letak harus salah satu dari: %(layouts)s."), layouts=", ".join(LAYOUTS)
        )
    request.app[keys.LIVE].set_layout(sid, kind)
    async with request.app[keys.STORE].transaction() as session:
        await repo.audit(
            session, require_user(request).username, "live.layout", f"sitting:{sid}", kind
        )
    return _back(request, sid)


@requires(STAFF)
async def live_status(request: web.Request) -> web.Response:
    sid = sitting_id(request)
    service = request.app[keys.LIVE]
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)
    live = service.sittings.get(sid)
    if live is None:
        return web.json_response({"live": False})
    stats = live.stats()
    translations = request.app[keys.TRANSLATIONS]
    return web.json_response(
        {
            "live": True,
            "publisher": sid in service.publishers,
            "input_connected": stats.input_connected,
            "input_fps": round(stats.input_fps, 1),
            "output_fps": round(stats.output_fps, 1),
            "bitrate_kbps": {k: round(v) for k, v in stats.bitrate_kbps.items()},
            "dropped_frames": stats.dropped_frames,
            "encoders": stats.encoders,
            "storage_ok": stats.storage_ok,
            "last_error": stats.last_error,
            "layout": live.layout.kind.value,
            "problems": [_problem_text(translations, p) for p in live.problems()],
            "warnings": [
                translations.format(w.message, _numbers(w.params))
                for w in ingest_warnings(
                    target_fps=live.fps,
                    input_connected=stats.input_connected,
                    input_fps=stats.input_fps,
                    output_fps=stats.output_fps,
                    restarts={
                        name: health.restarts + health.encoder_restarts
                        for name, health in stats.renditions.items()
                    },
                )
            ],
            "degraded": _degraded_text(translations, stats.load),
            "shed_level": stats.load.level,
            "realtime_factor": round(stats.load.realtime_factor, 2),
            "encoded_fps": {k: round(v, 1) for k, v in stats.load.fps.items()},
            "renditions": {
                name: {
                    "last_part_age_s": round(health.last_part_age_s, 1),
                    "restarts": health.restarts + health.encoder_restarts,
                }
                for name, health in stats.renditions.items()
            },
        }
    )


_PROBLEM_TEXT = {
    "storage": N_("Penyimpanan media gagal: %(detail)s"),
    "stale": N_("Rendisi %(rendition)s tidak menghasilkan bagian baru selama %(seconds)s detik."),
    "slow": N_("Program hanya berjalan %(factor)s× waktu nyata selama 10 detik terakhir."),
}


def _number(value: float, digits: int) -> str:
    return format_decimal(round(value, digits), locale=current_locale.get())


def _numbers(params: dict[str, object]) -> dict[str, object]:
    return {k: _number(v, 1) if isinstance(v, float) else v for k, v in params.items()}


def _problem_text(translations: Translations, problem: LiveProblem) -> str:
    return translations.format(
        _PROBLEM_TEXT[problem.kind],
        {
            "detail": problem.detail,
            "rendition": problem.rendition,
            "seconds": _number(problem.value, 1),
            "factor": _number(problem.value, 2),
        },
    )


def _degraded_text(translations: Translations, load: LoadState) -> str | None:
    """The overload step in words for the console: which renditions lost frames."""
    if not load.level and not load.catching_up:
        return None
    reduced = ", ".join(f"{name} {_number(fps, 0)} fps" for name, fps in load.fps.items())
    return translations.format(
        N_("Beban berlebih (tingkat %(level)s): video dikurangi (%(reduced)s); audio tetap utuh."),
        {"level": load.level, "reduced": reduced},
    )


def _back(request: web.Request, sid: int) -> web.Response:
    if request.content_type == "application/json":
        return web.json_response({"ok": True})
    return redirect(f"/konsol/rapat/{sid}#siaran")


# -- wiring -----------------------------------------------------------------------------------


def setup(app: web.Application) -> None:
    r = app.router
    r.add_route("POST", "/whip/{sitting_id}", whip_publish)
    r.add_route("OPTIONS", "/whip/{sitting_id}", whip_options)
    r.add_route("DELETE", "/whip/{sitting_id}/{resource}", whip_delete)
    r.add_route("PATCH", "/whip/{sitting_id}/{resource}", whip_patch)
    r.add_get("/live/{sitting_id}/index.m3u8", master_playlist)
    r.add_get("/live/{sitting_id}/{rendition:720p|360p|audio}/index.m3u8", media_playlist)
    r.add_get("/live/{sitting_id}/{rendition:720p|360p|audio}/{name}", media_file)
    r.add_get("/live/{sitting_id}/{name:recording\\.mp4|audio\\.m4a}", recording_file)
    r.add_post("/konsol/rapat/{sitting_id}/siaran/mulai", start_live)
    r.add_post("/konsol/rapat/{sitting_id}/siaran/selesai", end_live)
    r.add_post("/konsol/rapat/{sitting_id}/siaran/tata-letak", switch_layout)
    r.add_get("/konsol/rapat/{sitting_id}/siaran/status", live_status)
