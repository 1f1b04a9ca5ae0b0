"""The archive over HTTP: published media, chapters, captions, comment replay, and the staff's
recording editor (search is in server/search/views.py, feeds in server/archive/feeds.py).

Published media lives under SIDANG_MEDIA_DIR/{sitting}/published/ and is served below
/sidang/{id}/rekaman/. Before publishing only staff can see it (to review the cut); the raw
recording stays staff-only for good, since it still holds the closed-door parts.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from media.archive import POSTER, PUBLISHED, SPRITE, THUMBNAILS, Timeline, is_published
from server import keys
from server.archive.formats import (
    chapters,
    chapters_vtt,
    clock,
    parse_cuts,
    parse_seconds,
    parse_webvtt,
    to_raw_cues,
    webvtt,
)
from server.auth import get_user, require_user, requires
from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.roles import STAFF
from server.domain.sitting import SittingStatus
from server.http import accel_response, path_id, read_json, sitting_id
from server.i18n import N_
from server.live.views import CONTENT_TYPES, IMMUTABLE, PLAYLIST_TYPE, RENDITION_NAMES
from server.schemas import RecordingEditIn, parse
from server.store import archive as archive_store
from server.store import repo
from server.store.models import Sitting
from server.templating import redirect
from server.views.api import routes

ASSETS = {POSTER: "image/jpeg", SPRITE: "image/jpeg", THUMBNAILS: "text/vtt"}


def _is_staff(request: web.Request) -> bool:
    user = get_user(request)
    return user is not None and user.has(STAFF)


# -- the published recording -------------------------------------------------------------------


async def _archived(request: web.Request) -> tuple[Sitting, Timeline]:
    """The sitting and its timeline, if its recording may be shown to this visitor."""
    staff = _is_staff(request)
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sitting_id(request), public_only=not staff)
        timeline = await archive_store.timeline(session, sitting)
    published = sitting.status == SittingStatus.PUBLISHED.value
    reviewable = staff and sitting.status == SittingStatus.ENDED.value
    if timeline is None or not (published or reviewable):
        raise NotFound(N_("Rekaman rapat ini belum dipublikasikan."))
    return sitting, timeline


def _media_root(request: web.Request, sitting: Sitting) -> Path:
    """The published tree; a sitting published without an edit is its whole raw recording."""
    sitting_dir = request.app[keys.CONFIG].media_dir / str(sitting.id)
    if is_published(sitting_dir):
        return sitting_dir / PUBLISHED
    if sitting.status == SittingStatus.PUBLISHED.value:
        return sitting_dir
    raise NotFound(N_("Rekaman rapat ini belum disiapkan."))


async def recording_master(request: web.Request) -> web.StreamResponse:
    sitting, _ = await _archived(request)
    return accel_response(
        request, _media_root(request, sitting) / "index.m3u8", PLAYLIST_TYPE, _cache(sitting)
    )


async def recording_media(request: web.Request) -> web.StreamResponse:
    sitting, _ = await _archived(request)
    rendition, name = request.match_info["rendition"], request.match_info["name"]
    if rendition not in RENDITION_NAMES or "/" in name or name.startswith("."):
        raise NotFound(N_("Berkas media tidak ditemukan."))
    path = _media_root(request, sitting) / rendition / name
    kind = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    cache = _cache(sitting) if path.suffix == ".m3u8" else IMMUTABLE
    return accel_response(
        request, path, kind, cache if sitting.status == "published" else "no-store"
    )


async def recording_download(request: web.Request) -> web.StreamResponse:
    """recording.mp4 and audio.m4a (remuxes, no encode); Range requests via FileResponse."""
    sitting, _ = await _archived(request)
    name = request.match_info["name"]
    path = _media_root(request, sitting) / name
    return accel_response(
        request, path, CONTENT_TYPES[path.suffix], _cache(sitting), f"sidang-{sitting.id}-{name}"
    )


async def recording_asset(request: web.Request) -> web.StreamResponse:
    sitting, _ = await _archived(request)
    name = request.match_info["name"]
    return accel_response(
        request, _media_root(request, sitting) / name, ASSETS[name], _cache(sitting)
    )


def _cache(sitting: Sitting) -> str:
    # Published media can be re-cut by staff, so it is cached briefly rather than forever.
    return "public, max-age=300" if sitting.status == "published" else "no-store"


async def chapters_track(request: web.Request) -> web.Response:
    sitting, timeline = await _archived(request)
    return web.Response(
        text=chapters_vtt(chapters(sitting.agenda_items, timeline)),
        content_type="text/vtt",
        headers={"Cache-Control": _cache(sitting)},
    )


async def captions_track(request: web.Request) -> web.Response:
    sitting, timeline = await _archived(request)
    async with request.app[keys.STORE].read() as session:
        cues = await archive_store.list_cues(session, sitting.id)
    mapped = []
    for cue in cues:
        start = timeline.to_published(cue.start_s)
        if start is not None:
            mapped.append((start, start + cue.end_s - cue.start_s, cue.text))
    return web.Response(
        text=webvtt(mapped), content_type="text/vtt", headers={"Cache-Control": _cache(sitting)}
    )


async def comment_replay(request: web.Request) -> web.Response:
    """The visible live comments on the published clock; cut-out moments drop theirs."""
    sitting, timeline = await _archived(request)
    async with request.app[keys.STORE].read() as session:
        comments = await archive_store.replay_comments(session, sitting.id)
    items = []
    for comment in comments:
        offset = timeline.to_published(comment.offset_s)
        if offset is not None:
            items.append(
                {"id": comment.id, "name": comment.name, "text": comment.text, "offset": offset}
            )
    return web.json_response({"items": items}, headers={"Cache-Control": _cache(sitting)})


async def agenda_link(request: web.Request) -> web.Response:
    """/sidang/{id}/agenda/{n}: the watch page, starting where agenda item n begins."""
    number = path_id(request, "position")
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sitting_id(request), public_only=True)
        timeline = await archive_store.timeline(session, sitting)
    item = next((i for i in sitting.agenda_items if i.position == number), None)
    if item is None:
        raise NotFound(N_("Acara %(id)s tidak ditemukan pada rapat ini."), id=number)
    target = f"/sidang/{sitting.id}"
    published = sitting.status == SittingStatus.PUBLISHED.value
    if published and timeline is not None and item.start_offset is not None:
        target += f"?t={timeline.chapter_start(item.start_offset):.1f}"
    raise web.HTTPFound(f"{target}#acara-{number}")


# -- search and browsing ---------------------------------------------------------------------


# -- feeds -------------------------------------------------------------------------------------


# -- Open Civic Data event ---------------------------------------------------------------------


# -- staff: start agenda items live, edit and publish the recording, captions ------------------


async def _start_agenda_item(request: web.Request) -> tuple[int, float]:
    """offset = now − live_started_at, the clock the recording and comments use; the item
    that was running (started, no end) ends here."""
    user = require_user(request)
    sid, item_id = sitting_id(request), path_id(request, "item_id")
    now = dt.datetime.now(dt.UTC)
    async with request.app[keys.STORE].transaction() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        if sitting.status != SittingStatus.LIVE.value or sitting.live_started_at is None:
            raise Conflict(N_("Acara hanya dapat dimulai selama siaran langsung."))
        item = await repo.get_agenda_item(session, sitting, item_id)
        offset = round((now - sitting.live_started_at).total_seconds(), 1)
        for other in sitting.agenda_items:
            running = other.start_offset is not None and other.end_offset is None
            if other.id != item.id and running and other.start_offset <= offset:
                await repo.update_agenda_item(session, other, {"end_offset": offset})
        await repo.update_agenda_item(session, item, {"start_offset": offset, "end_offset": None})
        await repo.audit(
            session, user.username, "agenda.start", f"agenda:{item.id}", f"{offset:.1f} s"
        )
    return sid, offset


@requires(STAFF)
async def start_agenda_item(request: web.Request) -> web.Response:
    sid, _ = await _start_agenda_item(request)
    return redirect(f"/konsol/rapat/{sid}#siaran")


@routes.route(
    "POST",
    "/api/v1/sittings/{sitting_id}/agenda/{item_id:\\d+}/start",
    summary="Mulai acara sekarang (offset = sekarang − mulai siaran)",
    roles=STAFF,
    responses={409: "Rapat tidak sedang disiarkan"},
)
async def start_agenda_item_api(request: web.Request) -> web.Response:
    _, offset = await _start_agenda_item(request)
    return web.json_response({"start_offset": offset})


def edit_values(data: RecordingEditIn) -> dict[str, Any]:
    return {
        "trim_start": parse_seconds(data.trim_start or "0", "trim_start"),
        "trim_end": parse_seconds(data.trim_end, "trim_end") if data.trim_end else None,
        "cuts": parse_cuts(data.cuts),
        "poster_s": parse_seconds(data.poster, "poster") if data.poster else None,
    }


def _edit_json(edit) -> dict[str, Any]:
    return {
        "sitting_id": edit.sitting_id,
        "trim_start": edit.trim_start,
        "trim_end": edit.trim_end,
        "cuts": json.loads(edit.cuts),
        "poster_s": edit.poster_s,
        "kept": json.loads(edit.kept),
        "duration_s": edit.duration_s,
        "sha256": edit.sha256,
        "size": edit.size,
    }


@routes.route(
    "POST",
    "/api/v1/sittings/{sitting_id}/recording/edit",
    summary="Potong rekaman (awal, akhir, bagian tertutup) dan pilih gambar sampul",
    body=RecordingEditIn,
    roles=STAFF,
    responses={409: "Rapat belum selesai atau tidak memiliki rekaman"},
)
async def edit_recording_api(request: web.Request) -> web.Response:
    user = require_user(request)
    values = edit_values(parse(RecordingEditIn, await read_json(request)))
    edit = await request.app[keys.ARCHIVE].apply(sitting_id(request), **values, actor=user.username)
    return web.json_response(_edit_json(edit))


@requires(STAFF)
async def cut_preview(request: web.Request) -> web.Response:
    """GET .../arsip/titik?t=0:01:00&sisi=mulai|selesai: where the cut really falls (a
    keyframe), with that frame as a small JPEG, for the trim form before anything is applied."""
    end = request.query.get("sisi") == "selesai"
    field = "trim_end" if end else "trim_start"
    asked = parse_seconds(request.query.get("t", ""), field)
    point = await request.app[keys.ARCHIVE].cut_preview(
        sitting_id(request), asked, end=end, field=field
    )
    image = None
    if point.jpeg is not None:
        image = "data:image/jpeg;base64," + base64.b64encode(point.jpeg).decode()
    return web.json_response(
        {"asked": point.asked, "at": point.at, "clock": clock(point.at), "image": image}
    )


@requires(STAFF)
async def publish_recording(request: web.Request) -> web.Response:
    """Publishing (with the whole recording when it was never cut) runs as a job."""
    user = require_user(request)
    sid = sitting_id(request)
    await request.app[keys.ARCHIVE].start(sid, "publish", user.username)
    return redirect(f"/konsol/rapat/{sid}#arsip")


async def _store_captions(request: web.Request, data: bytes) -> int:
    """Captions are timed against what staff see: the raw recording before publishing, the
    published one after; they are stored on the raw clock either way."""
    user = require_user(request)
    cues = parse_webvtt(data)
    sid = sitting_id(request)
    async with request.app[keys.STORE].transaction() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        if sitting.status not in (SittingStatus.ENDED.value, SittingStatus.PUBLISHED.value):
            raise Conflict(N_("Transkrip dapat diunggah setelah rapat selesai."))
        published = sitting.status == SittingStatus.PUBLISHED.value
        timeline = await archive_store.timeline(session, sitting) if published else None
        count = await archive_store.replace_cues(session, sid, to_raw_cues(cues, timeline))
        await repo.audit(session, user.username, "captions.upload", f"sitting:{sid}", f"{count}")
    return count


@requires(STAFF)
async def upload_captions(request: web.Request) -> web.Response:
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise InvalidInput(N_("Pilih berkas WebVTT (.vtt) untuk diunggah."))
    await _store_captions(request, upload.file.read())
    return redirect(f"/konsol/rapat/{sitting_id(request)}#arsip")


@routes.route(
    "PUT",
    "/api/v1/sittings/{sitting_id}/captions",
    summary="Unggah transkrip atau takarir WebVTT",
    body=str,
    body_kind="webvtt",
    roles=STAFF,
    responses={400: "Bukan WebVTT yang sah", 409: "Rapat belum selesai"},
)
async def upload_captions_api(request: web.Request) -> web.Response:
    count = await _store_captions(request, await request.read())
    return web.json_response({"cues": count})


# -- wiring ------------------------------------------------------------------------------------


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/sidang/{sitting_id}/agenda/{position}", agenda_link)
    base = "/sidang/{sitting_id}/rekaman"
    r.add_get(f"{base}/index.m3u8", recording_master)
    r.add_get(f"{base}/bab.vtt", chapters_track)
    r.add_get(f"{base}/teks.vtt", captions_track)
    r.add_get(f"{base}/komentar.json", comment_replay)
    r.add_get(f"{base}/{{name:recording\\.mp4|audio\\.m4a}}", recording_download)
    r.add_get(f"{base}/{{name:poster\\.jpg|sprite\\.jpg|thumbnails\\.vtt}}", recording_asset)
    r.add_get(f"{base}/{{rendition:720p|360p|audio}}/{{name}}", recording_media)
    r.add_post("/konsol/rapat/{sitting_id}/acara/{item_id}/mulai", start_agenda_item)
    r.add_post("/konsol/rapat/{sitting_id}/arsip/terbitkan", publish_recording)
    r.add_get("/konsol/rapat/{sitting_id}/arsip/titik", cut_preview)
    r.add_post("/konsol/rapat/{sitting_id}/teks", upload_captions)
