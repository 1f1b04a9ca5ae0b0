"""Documents (JDIH): the public list with filters and search, and their status for staff."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.auth import require_user, requires
from server.domain.documents import DocumentKind, DocumentStatus
from server.domain.errors import InvalidInput
from server.domain.roles import STAFF
from server.http import path_id, read_json
from server.i18n import N_
from server.schemas import YEAR, DocumentPatch, parse, provided
from server.search.service import SearchQuery, backend_for
from server.store import archive as archive_store
from server.store import repo
from server.store.models import Document
from server.templating import redirect, render
from server.views.api import document_json, routes

LIST_LIMIT = 200


def _filters(request: web.Request) -> dict[str, Any]:
    query = request.query
    jenis = query.get("jenis") or None
    status = query.get("status") or None
    if jenis is not None and jenis not in {k.value for k in DocumentKind}:
        raise InvalidInput(N_("Jenis dokumen tidak dikenal."))
    if status is not None and status not in {s.value for s in DocumentStatus}:
        raise InvalidInput(N_("Status dokumen tidak dikenal."))
    tahun = YEAR.read(query, "tahun")
    return {"q": query.get("q", "")[:200], "jenis": jenis, "tahun": tahun, "status": status}


async def _find(request: web.Request, filters: dict[str, Any]) -> list[Document]:
    """Filtered documents; with words, in search order (stemmed, over title and PDF text)."""
    store = request.app[keys.STORE]
    async with store.read() as session:
        if not filters["q"].strip():
            return list(
                await archive_store.filter_documents(
                    session,
                    jenis=filters["jenis"],
                    tahun=filters["tahun"],
                    status=filters["status"],
                    limit=LIST_LIMIT,
                )
            )
        query = SearchQuery(
            text=filters["q"],
            year=filters["tahun"],
            category=filters["jenis"],
            kinds=("document",),
            limit=LIST_LIMIT,
        )
        hits = await backend_for(store.dialect).search(session, query)
        found = await archive_store.documents_by_id(session, [h.ref_id for h in hits])
    documents = [found[h.ref_id] for h in hits if h.ref_id in found]
    return [d for d in documents if filters["status"] in (None, d.status)]


async def documents_page(request: web.Request) -> web.Response:
    filters = _filters(request)
    documents = await _find(request, filters)
    async with request.app[keys.STORE].read() as session:
        years = await archive_store.document_years(session)
        changers = await archive_store.documents_by_id(
            session, [d.changed_by_id for d in documents if d.changed_by_id]
        )
    return render(
        request,
        "documents.html",
        {
            "documents": documents,
            "filters": filters,
            "years": years,
            "changers": changers,
            "kinds": list(DocumentKind),
            "statuses": list(DocumentStatus),
        },
    )


@routes.route(
    "GET",
    "/api/v1/documents/search",
    summary="Cari dan saring dokumen (q, jenis, tahun, status)",
    query={
        "q": {"type": "string"},
        "jenis": {"type": "string", "enum": [k.value for k in DocumentKind]},
        "tahun": YEAR.schema(),
        "status": {"type": "string", "enum": [s.value for s in DocumentStatus]},
    },
)
async def search_documents(request: web.Request) -> web.Response:
    documents = await _find(request, _filters(request))
    return web.json_response({"items": [_with_status(d) for d in documents]})


def _with_status(document: Document) -> dict[str, Any]:
    return {**document_json(document), "changed_by_id": document.changed_by_id}


async def _patch(request: web.Request, data: DocumentPatch) -> Document:
    user = require_user(request)
    changes = provided(data)
    async with request.app[keys.STORE].transaction() as session:
        document = await repo.get_document(session, path_id(request, "document_id"))
        if changes.get("changed_by_id") is not None:
            if changes["changed_by_id"] == document.id:
                raise InvalidInput(N_("Dokumen tidak dapat mengubah dirinya sendiri."))
            await repo.get_document(session, changes["changed_by_id"])
        for name, value in changes.items():
            setattr(document, name, getattr(value, "value", value))
        await session.flush()
        await repo.audit(
            session,
            user.username,
            "document.status",
            f"document:{document.id}",
            ", ".join(f"{k}={getattr(v, 'value', v)}" for k, v in changes.items()),
        )
    return document


@routes.route(
    "PATCH",
    "/api/v1/documents/{document_id:\\d+}",
    summary="Ubah status dokumen (berlaku, dicabut, diubah) dan dokumen pengubahnya",
    body=DocumentPatch,
    roles=STAFF,
    responses={404: "Dokumen tidak ditemukan"},
)
async def patch_document(request: web.Request) -> web.Response:
    data = parse(DocumentPatch, await read_json(request), partial=True)
    return web.json_response(_with_status(await _patch(request, data)))


@requires(STAFF)
async def staff_documents(request: web.Request) -> web.Response:
    async with request.app[keys.STORE].read() as session:
        documents = await repo.list_documents(session)
        scanned = await archive_store.scanned_documents(session)
    return render(
        request,
        "staff/documents.html",
        {
            "documents": documents,
            "scanned": {d.id for d in scanned},
            "statuses": list(DocumentStatus),
        },
    )


@requires(STAFF)
async def update_document(request: web.Request) -> web.Response:
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    await _patch(request, parse(DocumentPatch, form, partial=True))
    return redirect("/konsol/dokumen")


def setup(app: web.Application) -> None:
    app.router.add_get("/dokumen", documents_page, name="documents")
    app.router.add_get("/konsol/dokumen", staff_documents)
    app.router.add_post("/konsol/dokumen/{document_id}", update_document)
