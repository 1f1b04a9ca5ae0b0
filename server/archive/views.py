"""The archive over HTTP: published media, chapters, captions, comment replay, search, feeds,
the staff's recording editor and the Open Civic Data event.

Published media lives under SIDANG_MEDIA_DIR/{sitting}/published/ and is served below
/sidang/{id}/rekaman/. Before publishing only staff can see it (to review the cut); the raw
recording stays staff-only for good, since it still holds the closed-door parts.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

from media.archive import POSTER, PUBLISHED, SPRITE, THUMBNAILS, Timeline, is_published
from server import keys
from server.archive.service import (
    ArchiveService,
    chapters,
    chapters_vtt,
    parse_cuts,
    parse_seconds,
    parse_webvtt,
    to_raw_cues,
    webvtt,
)
from server.auth import get_user, require_user, requires
from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.roles import STAFF
from server.domain.sitting import SITTING_TYPE_LABELS, SittingStatus, SittingType
from server.domain.votes import VoteStatus
from server.edge import content_disposition
from server.i18n import N_
from server.live.views import CONTENT_TYPES, IMMUTABLE, PLAYLIST_TYPE, RENDITION_NAMES
from server.middlewares import read_json
from server.room.service import attendance_json, vote_json
from server.schemas import MONTH, OFFSET, YEAR, RecordingEditIn, parse
from server.search.service import KINDS, Hit, SearchQuery, backend_for
from server.store import archive as archive_store
from server.store import repo
from server.store import room as room_store
from server.store.models import Sitting
from server.templating import MONTHS_ID, redirect, render
from server.views.api import document_json, routes
from server.views.public import sitting_id

ARCHIVE = web.AppKey("archive", ArchiveService)
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
PAGE_SIZE = 20
SEARCH_QUERY = {
    "q": {"type": "string"},
    "tahun": YEAR.schema(),
    "bulan": MONTH.schema(),
    "jenis": {"type": "string"},
    "komisi": {"type": "string"},
    "kind": {"type": "string", "enum": list(KINDS)},
    "offset": OFFSET.schema(),
}
ASSETS = {POSTER: "image/jpeg", SPRITE: "image/jpeg", THUMBNAILS: "text/vtt"}


def _item_number(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise web.HTTPNotFound(text="Tidak ditemukan.") from None


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


def _file(path: Path, content_type: str, cache: str, download: str | None = None):
    if not path.is_file():
        raise web.HTTPNotFound(text="Berkas rekaman tidak ditemukan.")
    headers = {"Content-Type": content_type, "Cache-Control": cache}
    if download:
        headers["Content-Disposition"] = content_disposition("attachment", download)
    return web.FileResponse(path, headers=headers)


async def recording_master(request: web.Request) -> web.StreamResponse:
    sitting, _ = await _archived(request)
    return _file(_media_root(request, sitting) / "index.m3u8", PLAYLIST_TYPE, _cache(sitting))


async def recording_media(request: web.Request) -> web.StreamResponse:
    sitting, _ = await _archived(request)
    rendition, name = request.match_info["rendition"], request.match_info["name"]
    if rendition not in RENDITION_NAMES or "/" in name or name.startswith("."):
        raise web.HTTPNotFound(text="Berkas rekaman tidak ditemukan.")
    path = _media_root(request, sitting) / rendition / name
    kind = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    cache = _cache(sitting) if path.suffix == ".m3u8" else IMMUTABLE
    return _file(path, kind, cache if sitting.status == "published" else "no-store")


async def recording_download(request: web.Request) -> web.StreamResponse:
    """recording.mp4 and audio.m4a (remuxes, no encode); Range requests via FileResponse."""
    sitting, _ = await _archived(request)
    name = request.match_info["name"]
    path = _media_root(request, sitting) / name
    return _file(path, CONTENT_TYPES[path.suffix], _cache(sitting), f"sidang-{sitting.id}-{name}")


async def recording_asset(request: web.Request) -> web.StreamResponse:
    sitting, _ = await _archived(request)
    name = request.match_info["name"]
    return _file(_media_root(request, sitting) / name, ASSETS[name], _cache(sitting))


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
    number = _item_number(request, "position")
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


def _search_query(request: web.Request, kinds: tuple[str, ...] = KINDS) -> SearchQuery:
    query = request.query
    kind = query.get("kind")
    if kind:
        if kind not in KINDS:
            raise InvalidInput(N_("kind harus salah satu dari: %(kinds)s."), kinds=", ".join(KINDS))
        kinds = (kind,)
    return SearchQuery(
        text=query.get("q", "")[:200],
        year=YEAR.read(query, "tahun"),
        month=MONTH.read(query, "bulan"),
        category=query.get("jenis") or None,
        komisi=query.get("komisi") or None,
        kinds=kinds,
        limit=PAGE_SIZE,
        offset=OFFSET.read(query, "offset") or 0,
    )


async def _resolve(session, hits: list[Hit]) -> list[dict[str, Any]]:
    """Turn hits into links: agenda items by their current number, cues and agenda starts
    on the published clock."""
    sitting_ids = {h.sitting_id for h in hits if h.sitting_id is not None}
    sittings = {s: await session.get(Sitting, s) for s in sitting_ids}
    lines = await archive_store.timelines(session, [s for s in sittings.values() if s])
    out = []
    for hit in hits:
        sitting = sittings.get(hit.sitting_id)
        published = sitting is not None and sitting.status == SittingStatus.PUBLISHED.value
        timeline = lines.get(hit.sitting_id) if published else None
        url, at = f"/sidang/{hit.sitting_id}", None
        if hit.kind == "document":
            url = f"/dokumen/{hit.ref_id}/unduh"
        elif hit.kind == "agenda" and sitting is not None:
            item = next((i for i in sitting.agenda_items if i.id == hit.ref_id), None)
            if item is not None:
                url = f"/sidang/{sitting.id}/agenda/{item.position}"
                if timeline is not None and item.start_offset is not None:
                    at = timeline.chapter_start(item.start_offset)
        elif hit.kind == "cue" and timeline is not None and hit.offset_s is not None:
            at = timeline.to_published(hit.offset_s)
            if at is not None:
                url = f"/sidang/{hit.sitting_id}?t={at:.1f}"
        out.append(
            {
                "kind": hit.kind,
                "id": hit.ref_id,
                "sitting_id": hit.sitting_id,
                "title": hit.title,
                "snippet": hit.snippet,
                "url": url,
                "offset": at,
                "year": hit.year,
                "month": hit.month,
                "category": hit.category,
            }
        )
    return out


async def archive_page(request: web.Request) -> web.Response:
    query = SearchQuery(**{**vars(_search_query(request)), "held_only": True})
    searching = bool(query.text.strip())
    if not searching:
        query = SearchQuery(**{**vars(query), "kinds": ("sitting",)})
    store = request.app[keys.STORE]
    async with store.read() as session:
        hits = await backend_for(store.dialect).search(session, query)
        results = await _resolve(session, hits)
        years = await archive_store.archive_years(session)
        komisi = await archive_store.komisi_names(session)
    return render(
        request,
        "archive.html",
        {
            "query": query,
            "searching": searching,
            "results": results,
            "years": years,
            "komisi_names": komisi,
            "months": MONTHS_ID,
            "kinds": KINDS,
            "next_offset": query.offset + PAGE_SIZE if len(hits) == PAGE_SIZE else None,
            "params": {k: v for k, v in request.query.items() if k != "offset"},
        },
    )


@routes.route(
    "GET",
    "/api/v1/search",
    summary="Cari arsip (judul, acara, dokumen, transkrip) dengan stemming Bahasa Indonesia",
    query=SEARCH_QUERY,
)
async def search_api(request: web.Request) -> web.Response:
    query = _search_query(request)
    store = request.app[keys.STORE]
    async with store.read() as session:
        hits = await backend_for(store.dialect).search(session, query)
        results = await _resolve(session, hits)
    return web.json_response({"items": results, "offset": query.offset, "limit": query.limit})


# -- feeds -------------------------------------------------------------------------------------


def _iso(value: dt.datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


async def atom_feed(request: web.Request) -> web.Response:
    """New recordings and documents, newest first."""
    base = request.app[keys.CONFIG].public_url
    async with request.app[keys.STORE].read() as session:
        recordings = await archive_store.recent_recordings(session)
        documents = await archive_store.recent_documents(session)
    entries = [
        (
            s.updated_at,
            f"{base}/sidang/{s.id}",
            f"Rekaman: {s.title}",
            f"{SITTING_TYPE_LABELS[SittingType(s.type)]}, {s.location}",
        )
        for s in recordings
    ] + [
        (
            d.created_at,
            f"{base}/dokumen/{d.id}/unduh",
            f"Dokumen: {d.judul}",
            f"{d.jenis} {d.nomor} {d.tahun}".strip(),
        )
        for d in documents
    ]
    entries.sort(key=lambda e: _iso(e[0]), reverse=True)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "Arsip rapat dan dokumen DPRD"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base}/arsip.atom"
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/arsip.atom", rel="self")
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/arsip")
    updated = _iso(entries[0][0]) if entries else _iso(dt.datetime.now(dt.UTC))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "DPRD"
    for when, url, title, summary in entries[:50]:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = url
        ET.SubElement(entry, f"{{{ATOM}}}link", href=url)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _iso(when)
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = summary
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return web.Response(
        body=body,
        content_type="application/atom+xml",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def sitemap(request: web.Request) -> web.Response:
    base = request.app[keys.CONFIG].public_url
    async with request.app[keys.STORE].read() as session:
        sittings = await archive_store.sitemap_sittings(session)
    ET.register_namespace("", SITEMAP)
    urlset = ET.Element(f"{{{SITEMAP}}}urlset")
    for path in ("/", "/jadwal", "/arsip", "/dokumen"):
        ET.SubElement(ET.SubElement(urlset, f"{{{SITEMAP}}}url"), f"{{{SITEMAP}}}loc").text = (
            base + path
        )
    for row in sittings:
        url = ET.SubElement(urlset, f"{{{SITEMAP}}}url")
        ET.SubElement(url, f"{{{SITEMAP}}}loc").text = f"{base}/sidang/{row.id}"
        ET.SubElement(url, f"{{{SITEMAP}}}lastmod").text = _iso(row.updated_at)[:10]
    return web.Response(
        body=ET.tostring(urlset, encoding="utf-8", xml_declaration=True),
        content_type="application/xml",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# -- Open Civic Data event ---------------------------------------------------------------------


def _media_links(base: str, sitting_id_: int) -> list[dict[str, str]]:
    root = f"{base}/sidang/{sitting_id_}/rekaman"
    return [
        {"media_type": "application/vnd.apple.mpegurl", "url": f"{root}/index.m3u8"},
        {"media_type": "video/mp4", "url": f"{root}/recording.mp4"},
        {"media_type": "audio/mp4", "url": f"{root}/audio.m4a"},
    ]


def _ocd_vote(vote: dict[str, Any], order: int | None) -> dict[str, Any]:
    totals = vote.get("totals") or {}
    options = (("yes", "setuju"), ("no", "tidak_setuju"), ("abstain", "abstain"))
    adopted = vote.get("adopted")
    return {
        "id": f"sidang-vote/{vote['id']}",
        "motion_text": vote["title"],
        "start_date": vote["opened_at"],
        "end_date": vote["closed_at"],
        "result": None if adopted is None else ("pass" if adopted else "fail"),
        "agenda_item": order,
        "secret": vote["secret"],
        "counts": [{"option": ocd, "value": totals.get(ours, 0)} for ocd, ours in options],
        "votes": [
            {
                "option": dict((o, c) for c, o in options).get(b["choice"], b["choice"]),
                "voter_name": b["name"],
                "voter_id": b["member_id"],
            }
            for b in vote.get("ballots", [])
        ],
    }


@routes.route(
    "GET",
    "/api/v1/events/{sitting_id}",
    summary="Rapat dalam bentuk Open Civic Data event (media, agenda, voting, kehadiran)",
    responses={404: "Rapat tidak ditemukan"},
)
async def ocd_event(request: web.Request) -> web.Response:
    base = request.app[keys.CONFIG].public_url
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sitting_id(request), public_only=True)
        published = sitting.status == SittingStatus.PUBLISHED.value
        timeline = await archive_store.timeline(session, sitting) if published else None
        votes = [
            vote_json(v)
            for v in await room_store.list_votes(session, sitting.id)
            if v.status == VoteStatus.CLOSED.value
        ]
        attendance = attendance_json(await room_store.list_attendance(session, sitting.id))
    order_of = {i.id: i.position for i in sitting.agenda_items}
    links = _media_links(base, sitting.id) if timeline is not None else []
    agenda = []
    for item in sitting.agenda_items:
        offset = end = None
        if timeline is not None and item.start_offset is not None:
            offset = timeline.chapter_start(item.start_offset)
            end = timeline.chapter_start(item.end_offset) if item.end_offset is not None else None
        reference = {"offset": offset, "end_offset": end} if offset is not None else None
        agenda.append(
            {
                "order": str(item.position),
                "description": item.title,
                "notes": [item.description] if item.description else [],
                "media_reference": reference,
                "media": (
                    [{"note": item.title, "offset": offset, "links": links}]
                    if offset is not None
                    else []
                ),
                "url": f"{base}/sidang/{sitting.id}/agenda/{item.position}",
                "documents": [document_json(d) for d in item.documents],
                "related_entities": [
                    {"entity_type": "vote_event", "vote_event_id": f"sidang-vote/{v['id']}"}
                    for v in votes
                    if v["agenda_item_id"] == item.id
                ],
            }
        )
    status = {"scheduled": "confirmed", "live": "confirmed"}.get(sitting.status, "passed")
    event = {
        "_type": "event",
        "id": f"sidang-event/{sitting.id}",
        "name": sitting.title,
        "classification": sitting.type,
        "description": SITTING_TYPE_LABELS[SittingType(sitting.type)],
        "start_date": _iso(sitting.starts_at),
        "end_date": _iso(sitting.ended_at) if sitting.ended_at else None,
        "timezone": "Asia/Jakarta",
        "status": status,
        "location": {"name": sitting.location},
        "links": [{"note": "Halaman rapat", "url": f"{base}/sidang/{sitting.id}"}],
        "media": (
            [{"note": "Rekaman rapat", "offset": 0, "duration": timeline.duration, "links": links}]
            if timeline is not None
            else []
        ),
        "agenda": agenda,
        "documents": [document_json(d) for d in sitting.documents if d.agenda_item_id is None],
        "participants": [
            {"entity_type": "person", "name": a["name"], "note": f"hadir ({a['mode']})"}
            for a in attendance
        ],
        "attendance": attendance,
        "votes": [_ocd_vote(v, order_of.get(v["agenda_item_id"])) for v in votes],
        "sources": [{"url": f"{base}/api/v1/events/{sitting.id}"}],
    }
    return web.json_response(event)


# -- staff: start agenda items live, edit and publish the recording, captions ------------------


async def _start_agenda_item(request: web.Request) -> tuple[int, float]:
    """offset = now − live_started_at, the clock the recording and comments use; the item
    that was running (started, no end) ends here."""
    user = require_user(request)
    sid, item_id = sitting_id(request), _item_number(request, "item_id")
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
    edit = await request.app[ARCHIVE].apply(sitting_id(request), **values, actor=user.username)
    return web.json_response(_edit_json(edit))


@requires(STAFF)
async def publish_recording(request: web.Request) -> web.Response:
    """Publishing (with the whole recording when it was never cut) runs as a job."""
    user = require_user(request)
    sid = sitting_id(request)
    archive, live = request.app[ARCHIVE], request.app[keys.LIVE]

    async def publish() -> None:
        await archive.ensure_published_media(sid, user.username)
        await live.transition(sid, SittingStatus.PUBLISHED, user.username)

    archive.start(sid, "publish", user.username, publish)
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


async def _archive_service(app: web.Application) -> Any:
    config = app[keys.CONFIG]
    app[ARCHIVE] = ArchiveService(app[keys.STORE], config.media_dir)
    yield
    await app[ARCHIVE].close()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_archive_service)
    r = app.router
    r.add_get("/arsip", archive_page, name="archive")
    r.add_get("/arsip.atom", atom_feed, name="archive_atom")
    r.add_get("/sitemap.xml", sitemap, name="sitemap")
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
    r.add_post("/konsol/rapat/{sitting_id}/teks", upload_captions)
