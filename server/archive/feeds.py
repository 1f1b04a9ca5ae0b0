"""The archive for machines: the Atom feed, the sitemap and the Open Civic Data event."""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

from server import keys
from server.domain.sitting import SITTING_TYPE_LABELS, SittingStatus, SittingType
from server.domain.votes import VoteStatus
from server.http import sitting_id
from server.room.shapes import attendance_json, vote_json
from server.store import archive as archive_store
from server.store import repo
from server.store import room as room_store
from server.views.api import document_json, routes

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


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


def setup(app: web.Application) -> None:
    app.router.add_get("/arsip.atom", atom_feed, name="archive_atom")
    app.router.add_get("/sitemap.xml", sitemap, name="sitemap")
