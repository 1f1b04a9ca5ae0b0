"""Archive search over HTTP: the /arsip page and the JSON search API."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys
from server.domain.errors import InvalidInput
from server.domain.sitting import SittingStatus
from server.forum.service import hit_urls as forum_urls
from server.i18n import N_
from server.schemas import MONTH, OFFSET, YEAR
from server.search.service import KINDS, Hit, SearchQuery, backend_for
from server.store import archive as archive_store
from server.store import raperda as raperda_store
from server.store.models import Sitting
from server.templating import MONTHS_ID, render
from server.views.api import routes

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
    on the published clock, forum replies to their thread's page."""
    sitting_ids = {h.sitting_id for h in hits if h.sitting_id is not None}
    sittings = {s: await session.get(Sitting, s) for s in sitting_ids}
    lines = await archive_store.timelines(session, [s for s in sittings.values() if s])
    pasal = await raperda_store.pasal_links(session, (h.ref_id for h in hits if h.kind == "pasal"))
    forum = await forum_urls(session, hits)
    out = []
    for hit in hits:
        sitting = sittings.get(hit.sitting_id)
        published = sitting is not None and sitting.status == SittingStatus.PUBLISHED.value
        timeline = lines.get(hit.sitting_id) if published else None
        url, at = f"/sidang/{hit.sitting_id}", None
        if hit.kind == "document":
            url = f"/dokumen/{hit.ref_id}/unduh"
        elif hit.kind == "raperda":
            url = f"/raperda/{hit.ref_id}"
        elif hit.kind == "pasal" and hit.ref_id in pasal:
            url = "/raperda/{}/pasal/{}".format(*pasal[hit.ref_id])
        elif (hit.kind, hit.ref_id) in forum:
            url = forum[hit.kind, hit.ref_id]
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


def setup(app: web.Application) -> None:
    app.router.add_get("/arsip", archive_page, name="archive")
