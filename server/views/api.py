"""The JSON API under /api/v1. Every route is declared once, on `routes`, and so documented."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys, sittings
from server.auth import get_user, require_user
from server.documents import save_upload
from server.domain.errors import InvalidInput
from server.domain.roles import STAFF
from server.domain.sitting import SittingStatus
from server.forward import forward, owner_elsewhere
from server.http import path_id, read_json, sitting_id
from server.i18n import N_
from server.openapi import ApiRoutes
from server.room.shapes import attendance_json, vote_json
from server.schemas import (
    AgendaItemIn,
    AgendaOrder,
    DocumentMeta,
    SittingIn,
    SittingPatch,
    StatusChange,
    parse,
    provided,
)
from server.store import repo
from server.store import room as room_store
from server.store.models import AgendaItem, Document, Recording, Sitting

routes = ApiRoutes("Sidang API", "1.0.0")
STATUS_QUERY = {"status": {"type": "string", "enum": [s.value for s in SittingStatus]}}
# The shapes DESIGN.md fixes for outside tools: the list's items, and the detail's parts.
SITTING_SUMMARY = {
    "type": "object",
    "required": ["id", "title", "status", "starts_at"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "status": STATUS_QUERY["status"],
        "starts_at": {"type": "string", "format": "date-time"},
    },
}
SITTING_LIST = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": SITTING_SUMMARY}},
}
SITTING_DETAIL = {
    "type": "object",
    "required": [*SITTING_SUMMARY["required"], "agenda", "recording", "attendance", "votes"],
    "properties": {
        **SITTING_SUMMARY["properties"],
        "agenda": {"type": "array", "items": {"type": "object"}},
        "recording": {"type": ["object", "null"]},
        "attendance": {"type": "array"},
        "votes": {"type": "array"},
    },
}


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def sitting_summary(sitting: Sitting) -> dict[str, Any]:
    return {
        "id": sitting.id,
        "title": sitting.title,
        "status": sitting.status,
        "type": sitting.type,
        "starts_at": iso(sitting.starts_at),
        "location": sitting.location,
        "url": f"/sidang/{sitting.id}",
    }


def agenda_json(item: AgendaItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "order": item.position,
        "title": item.title,
        "description": item.description,
        "start_offset": item.start_offset,
        "end_offset": item.end_offset,
        "documents": [document_json(d) for d in item.documents],
    }


def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "jenis": document.jenis,
        "nomor": document.nomor,
        "tahun": document.tahun,
        "judul": document.judul,
        "tanggal_penetapan": iso(document.tanggal_penetapan),
        "status": document.status,
        "sha256": document.sha256,
        "size": document.size,
        "sitting_id": document.sitting_id,
        "agenda_item_id": document.agenda_item_id,
        "url": f"/dokumen/{document.id}/unduh",
    }


def recording_json(recording: Recording | None) -> dict[str, Any] | None:
    if recording is None:
        return None
    return {
        "duration_s": recording.duration_s,
        "sha256": recording.sha256,
        "size": recording.size,
        "playlist": recording.playlist_path,
        "recovered": recording.recovered,
        "expected_s": recording.expected_s,
        "gaps": recording.gap_list,
    }


def sitting_detail(sitting: Sitting, *, staff: bool) -> dict[str, Any]:
    detail = {
        **sitting_summary(sitting),
        "is_public": sitting.is_public,
        "quorum_rule": sitting.quorum_rule,
        "secret_ballot": sitting.secret_ballot,
        "komisi": sitting.komisi,
        "live_started_at": iso(sitting.live_started_at),
        "ended_at": iso(sitting.ended_at),
        "agenda": [agenda_json(i) for i in sitting.agenda_items],
        "documents": [document_json(d) for d in sitting.documents if d.agenda_item_id is None],
        "recording": recording_json(sitting.recording),
        "attendance": [],
        "votes": [],
    }
    if staff:
        detail["ingest_key"] = sitting.ingest_key
    return detail


def _is_staff(request: web.Request) -> bool:
    user = get_user(request)
    return user is not None and user.has(STAFF)


@routes.route(
    "GET", "/api/v1/sittings", summary="Daftar rapat", query=STATUS_QUERY, returns=SITTING_LIST
)
async def list_sittings(request: web.Request) -> web.Response:
    raw = request.query.get("status")
    try:
        status = SittingStatus(raw) if raw else None
    except ValueError:
        raise InvalidInput(
            N_("Parameter status harus salah satu dari: %(statuses)s."),
            statuses=", ".join(s.value for s in SittingStatus),
        ) from None
    async with request.app[keys.STORE].read() as session:
        sittings = await repo.list_sittings(
            session, status=status, public_only=not _is_staff(request)
        )
    return web.json_response({"items": [sitting_summary(s) for s in sittings]})


@routes.route(
    "GET",
    "/api/v1/sittings/{sitting_id}",
    summary="Rincian rapat",
    returns=SITTING_DETAIL,
    responses={404: "Rapat tidak ditemukan"},
)
async def get_sitting(request: web.Request) -> web.Response:
    staff = _is_staff(request)
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sitting_id(request), public_only=not staff)
        detail = sitting_detail(sitting, staff=staff)
        detail["attendance"] = attendance_json(
            await room_store.list_attendance(session, sitting.id)
        )
        detail["votes"] = [
            vote_json(v, live=True) for v in await room_store.list_votes(session, sitting.id)
        ]
    return web.json_response(detail)


@routes.route(
    "POST",
    "/api/v1/sittings",
    summary="Buat rapat",
    body=SittingIn,
    returns=SITTING_DETAIL,
    roles=STAFF,
    responses={201: "Rapat dibuat"},
)
async def create_sitting(request: web.Request) -> web.Response:
    user = require_user(request)
    data = parse(SittingIn, await read_json(request))
    sitting = await sittings.create_sitting(request.app[keys.STORE], user.username, vars(data))
    return web.json_response(
        sitting_detail(sitting, staff=True),
        status=201,
        headers={"Location": f"/api/v1/sittings/{sitting.id}"},
    )


@routes.route(
    "PATCH",
    "/api/v1/sittings/{sitting_id}",
    summary="Ubah rapat",
    body=SittingPatch,
    roles=STAFF,
    returns=SITTING_DETAIL,
)
async def update_sitting(request: web.Request) -> web.Response:
    user = require_user(request)
    changes = provided(parse(SittingPatch, await read_json(request), partial=True))
    sitting = await sittings.update_sitting(
        request.app[keys.STORE], user.username, sitting_id(request), changes
    )
    return web.json_response(sitting_detail(sitting, staff=True))


@routes.route(
    "DELETE",
    "/api/v1/sittings/{sitting_id}",
    summary="Hapus rapat (hanya draf)",
    roles=STAFF,
    responses={204: "Dihapus", 409: "Bukan draf"},
)
async def delete_sitting(request: web.Request) -> web.Response:
    user = require_user(request)
    await sittings.delete_sitting(request.app[keys.STORE], user.username, sitting_id(request))
    return web.Response(status=204)


@routes.route(
    "POST",
    "/api/v1/sittings/{sitting_id}/status",
    summary="Ubah status rapat",
    body=StatusChange,
    returns=SITTING_DETAIL,
    roles=STAFF,
    responses={409: "Perubahan status tidak sah"},
)
async def change_status(request: web.Request) -> web.Response:
    user = require_user(request)
    data = parse(StatusChange, await read_json(request))
    sid = sitting_id(request)
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)  # ending: the owner node stops its pipeline
    await request.app[keys.LIVE].transition(sid, data.status, user.username)
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        body = sitting_detail(sitting, staff=True)
    return web.json_response(body)


@routes.route(
    "POST", "/api/v1/sittings/{sitting_id}/ingest-key", summary="Ganti kunci ingest", roles=STAFF
)
async def rotate_ingest_key(request: web.Request) -> web.Response:
    user = require_user(request)
    sid = sitting_id(request)
    key = await sittings.rotate_ingest_key(request.app[keys.STORE], user.username, sid)
    return web.json_response({"ingest_key": key, "whip_url": f"/whip/{sid}"})


@routes.route(
    "POST",
    "/api/v1/sittings/{sitting_id}/agenda",
    summary="Tambah acara",
    body=AgendaItemIn,
    roles=STAFF,
    responses={201: "Acara ditambahkan"},
)
async def add_agenda_item(request: web.Request) -> web.Response:
    user = require_user(request)
    data = parse(AgendaItemIn, await read_json(request))
    item = await sittings.add_agenda_item(
        request.app[keys.STORE], user.username, sitting_id(request), vars(data)
    )
    return web.json_response(agenda_json(item), status=201)


@routes.route(
    "PATCH",
    "/api/v1/sittings/{sitting_id}/agenda/{item_id:\\d+}",
    summary="Ubah acara",
    body=AgendaItemIn,
    roles=STAFF,
)
async def update_agenda_item(request: web.Request) -> web.Response:
    user = require_user(request)
    payload = await read_json(request)
    changes = {
        k: v for k, v in vars(parse(AgendaItemIn, payload, partial=True)).items() if k in payload
    }
    item = await sittings.update_agenda_item(
        request.app[keys.STORE],
        user.username,
        sitting_id(request),
        path_id(request, "item_id"),
        changes,
    )
    return web.json_response(agenda_json(item))


@routes.route(
    "DELETE",
    "/api/v1/sittings/{sitting_id}/agenda/{item_id:\\d+}",
    summary="Hapus acara",
    roles=STAFF,
    responses={204: "Dihapus"},
)
async def delete_agenda_item(request: web.Request) -> web.Response:
    user = require_user(request)
    await sittings.delete_agenda_item(
        request.app[keys.STORE], user.username, sitting_id(request), path_id(request, "item_id")
    )
    return web.Response(status=204)


@routes.route(
    "PUT",
    "/api/v1/sittings/{sitting_id}/agenda/order",
    summary="Urutkan ulang acara",
    body=AgendaOrder,
    roles=STAFF,
)
async def reorder_agenda(request: web.Request) -> web.Response:
    user = require_user(request)
    data = parse(AgendaOrder, await read_json(request))
    items = await sittings.reorder_agenda(
        request.app[keys.STORE], user.username, sitting_id(request), data.item_ids
    )
    return web.json_response({"items": [agenda_json(i) for i in items]})


@routes.route("GET", "/api/v1/documents", summary="Daftar dokumen")
async def list_documents(request: web.Request) -> web.Response:
    async with request.app[keys.STORE].read() as session:
        documents = await repo.list_documents(session)
        staff = _is_staff(request)
        visible = [
            d
            for d in documents
            if staff or d.sitting is None or repo.is_publicly_visible(d.sitting)
        ]
    return web.json_response({"items": [document_json(d) for d in visible]})


@routes.route(
    "POST",
    "/api/v1/documents",
    summary="Unggah dokumen PDF dengan metadata JDIH",
    body=DocumentMeta,
    body_kind="multipart",
    roles=STAFF,
    responses={201: "Dokumen disimpan"},
)
async def upload_document(request: web.Request) -> web.Response:
    user = require_user(request)
    if request.content_type != "multipart/form-data":
        raise InvalidInput(N_("Kirim dokumen sebagai multipart/form-data dengan kolom 'file'."))
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise InvalidInput(N_("Kolom 'file' berisi PDF wajib diisi."))
    meta = parse(DocumentMeta, {k: v for k, v in form.items() if isinstance(v, str)})
    config = request.app[keys.CONFIG]
    document = await save_upload(
        request.app[keys.STORE],
        config.documents_dir,
        user.username,
        meta,
        upload.file.read(),
        upload.filename,
    )
    body = document_json(document)
    return web.json_response(body, status=201)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(routes.document())


def setup(app: web.Application) -> None:
    routes.install(app)
    app.router.add_get("/api/v1/openapi.json", openapi)
