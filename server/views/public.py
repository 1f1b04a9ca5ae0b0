"""Public pages: beranda, jadwal (with iCalendar), sitting detail, document downloads."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from icalendar import Calendar, Event

from server import keys
from server.archive.pages import page_context
from server.documents import DocumentFiles
from server.domain.errors import NotFound
from server.domain.sitting import (
    SITTING_TYPE_LABELS,
    SittingStatus,
    SittingType,
    schedule_groups,
)
from server.edge import content_disposition
from server.http import path_id
from server.i18n import N_
from server.pengaduan.status import STATUS_LABELS as COMPLAINT_STATUS_LABELS
from server.store import pengaduan as pengaduan_store
from server.store import raperda as raperda_store
from server.store import repo
from server.templating import render

DEFAULT_DURATION = dt.timedelta(hours=3)


def sitting_id(request: web.Request) -> int:
    return path_id(request, "sitting_id")


async def home(request: web.Request) -> web.Response:
    async with request.app[keys.STORE].read() as session:
        live = await repo.list_sittings(session, status=SittingStatus.LIVE, limit=5)
        upcoming = await repo.list_sittings(
            session, status=SittingStatus.SCHEDULED, upcoming_first=True, limit=6
        )
        archive = await repo.list_sittings(session, status=SittingStatus.PUBLISHED, limit=6)
        institution = await _institution(session)
    return render(
        request,
        "home.html",
        {"live": live, "upcoming": upcoming, "archive": archive, "institution": institution},
    )


async def schedule(request: web.Request) -> web.Response:
    async with request.app[keys.STORE].read() as session:
        sittings = await repo.list_sittings(session, upcoming_first=True, limit=500)
    groups = schedule_groups(sittings)
    return render(
        request,
        "schedule.html",
        {"live": groups.live, "upcoming": groups.upcoming, "past": groups.past[:50]},
    )


async def schedule_ics(request: web.Request) -> web.Response:
    config = request.app[keys.CONFIG]
    async with request.app[keys.STORE].read() as session:
        sittings = await repo.list_sittings(session, upcoming_first=True, limit=1000)
        institution = await _institution(session)
    calendar = Calendar()
    calendar.add("prodid", "-//Sidang//Jadwal Rapat DPRD//ID")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Jadwal Rapat {institution.name if institution else 'DPRD'}")
    calendar.add("x-wr-timezone", "Asia/Jakarta")
    for sitting in sittings:
        event = Event()
        host = config.public_url.split("://", 1)[1]
        event.add("uid", f"sitting-{sitting.id}@{host}")
        event.add("dtstamp", _aware(sitting.updated_at))
        event.add("dtstart", _aware(sitting.starts_at))
        event.add("dtend", _aware(sitting.ended_at or sitting.starts_at + DEFAULT_DURATION))
        event.add("summary", sitting.title)
        event.add("location", sitting.location)
        event.add("categories", [SITTING_TYPE_LABELS[SittingType(sitting.type)]])
        agenda = "\n".join(f"{i.position}. {i.title}" for i in sitting.agenda_items)
        event.add("description", agenda)
        event.add("url", f"{config.public_url}/sidang/{sitting.id}")
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return web.Response(
        body=calendar.to_ical(),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def sitting_page(request: web.Request) -> web.Response:
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sitting_id(request), public_only=True)
        institution = await _institution(session)
        archive = await page_context(
            session, sitting, request.app[keys.CONFIG].media_dir, request.query.get("t")
        )
        complaints = await pengaduan_store.discussed_in(session, sitting.id)
        drafts = await raperda_store.debated_in(session, sitting.id)
    threads = await request.app[keys.FORUM].linked(sitting_id=sitting.id)
    return render(
        request,
        "sitting.html",
        {
            "sitting": sitting,
            "institution": institution,
            "complaints": complaints,
            "raperda": drafts,
            "threads": threads,
            "COMPLAINT_STATUS_LABELS": COMPLAINT_STATUS_LABELS,
            **archive,
            **_stream(request, sitting),
        },
    )


def _stream(request: web.Request, sitting) -> dict[str, str | None]:
    """Where the player reads from: the live ladder, or the published recording's playlist."""
    running = sitting.id in request.app[keys.LIVE].sittings
    published = sitting.status == SittingStatus.PUBLISHED.value and sitting.recording is not None
    if not (running or published):
        return {"stream_url": None, "audio_url": None}
    base = f"/live/{sitting.id}" if running else f"/sidang/{sitting.id}/rekaman"
    return {"stream_url": f"{base}/index.m3u8", "audio_url": f"{base}/audio/index.m3u8"}


async def download_document(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.STORE].read() as session:
        document = await repo.get_document(session, path_id(request, "document_id"))
        if document.sitting is not None and not repo.is_publicly_visible(document.sitting):
            await repo.get_sitting(session, document.sitting_id, public_only=True)
    path = DocumentFiles(request.app[keys.CONFIG].documents_dir).path_for(document.sha256)
    if not path.exists():
        raise NotFound(N_("Berkas dokumen tidak tersedia."))
    filename = f"{document.jenis}-{document.nomor or document.id}-{document.tahun}.pdf"
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": content_disposition("inline", filename),
            "Cache-Control": "public, max-age=86400, immutable",
            "ETag": f'"{document.sha256}"',
        },
    )


async def _institution(session):
    try:
        return await repo.get_institution(session)
    except NotFound:  # pages still render before the institution is configured
        return None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def setup(app: web.Application) -> None:
    app.router.add_get("/", home, name="home")
    app.router.add_get("/jadwal", schedule, name="schedule")
    app.router.add_get("/jadwal.ics", schedule_ics, name="schedule_ics")
    app.router.add_get("/sidang/{sitting_id}", sitting_page, name="sitting")
    app.router.add_get("/dokumen/{document_id}/unduh", download_document, name="document")
