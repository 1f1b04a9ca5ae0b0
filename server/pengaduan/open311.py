"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): the categories as services,
public reports as service requests, and filing by API clients with a staff-issued key.

Only the JSON format is served. Field names and the error shape (`[{"code", "description"}]`)
are the spec's, so existing Open311 clients work; `secret_url` in a POST answer is our
addition, the reporter's own link. *Rahasia* and held reports do not exist here."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from aiohttp import web

from server import keys
from server.domain.errors import DomainError, InvalidInput, NotFound
from server.http import error_message
from server.i18n import N_
from server.middlewares import CLIENT_IP_KEY, csrf_exempt, status_for
from server.pengaduan.service import Filing
from server.pengaduan.status import CLOSED, OPEN, Privacy, parse_privacy
from server.pengaduan.vault import Contact
from server.store.models import Complaint, ComplaintCategory

MAX_RESULTS = 1000
DEFAULT_DAYS = 90


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/open311/v2/services.json", services)
    r.add_get("/open311/v2/requests.json", list_requests)
    r.add_post("/open311/v2/requests.json", post_request)
    r.add_get(r"/open311/v2/requests/{code:ADU-[0-9]{4}-[A-Z0-9]{5}}.json", one_request)


def spec_errors(handler):
    """Errors in the spec's shape; the status code still comes from the one mapping."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except DomainError as error:
            status = status_for(error)
            message = error_message(request.app[keys.TRANSLATIONS], error)
            return web.json_response([{"code": status, "description": message}], status=status)

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


def service_json(category: ComplaintCategory) -> dict[str, Any]:
    return {
        "service_code": str(category.id),
        "service_name": category.name,
        "description": category.name,
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": category.komisi,
    }


def request_json(
    complaint: Complaint, note: str, has_photo: bool, public_url: str, tz: dt.tzinfo
) -> dict[str, Any]:
    due = complaint.due_on
    return {
        "service_request_id": complaint.code,
        "status": "closed" if complaint.status in CLOSED else "open",
        "status_notes": note,
        "service_name": complaint.category.name,
        "service_code": str(complaint.category_id),
        "description": "" if complaint.text_hidden else complaint.description,
        "agency_responsible": complaint.opd or complaint.komisi,
        "service_notice": "",
        "requested_datetime": complaint.filed_at.astimezone(tz).isoformat(),
        "updated_datetime": complaint.updated_at.astimezone(tz).isoformat(),
        "expected_datetime": (
            dt.datetime.combine(due, dt.time(23, 59), tz).isoformat() if due else None
        ),
        "address": ", ".join(p for p in (complaint.location, complaint.kelurahan) if p),
        "address_id": "",
        "zipcode": "",
        "lat": complaint.lat,
        "long": complaint.lon,
        "media_url": f"{public_url}/pengaduan/{complaint.code}/foto/1.jpg" if has_photo else "",
    }


@spec_errors
async def services(request: web.Request) -> web.Response:
    categories = await request.app[keys.PENGADUAN].categories()
    return web.json_response([service_json(c) for c in categories])


@spec_errors
async def list_requests(request: web.Request) -> web.Response:
    query = request.query
    codes = [c.strip() for c in query.get("service_request_id", "").split(",") if c.strip()]
    start, end = _datetime(query, "start_date"), _datetime(query, "end_date")
    if not codes and start is None and end is None:
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=DEFAULT_DAYS)
    statuses: set[str] = set()
    for status in filter(None, query.get("status", "").split(",")):
        if status not in ("open", "closed"):
            raise InvalidInput(N_("Status Open311 harus open atau closed."))
        statuses |= OPEN if status == "open" else CLOSED
    service_code = query.get("service_code") or None
    if service_code is not None and not service_code.isdigit():
        raise InvalidInput(N_("service_code tidak dikenal."))
    found = await request.app[keys.PENGADUAN].open311_requests(
        codes=codes or None,
        category_id=int(service_code) if service_code else None,
        start=start,
        end=end,
        statuses=tuple(sorted(statuses)) or None,
        limit=MAX_RESULTS,
    )
    return _requests_response(request, found)


@spec_errors
async def one_request(request: web.Request) -> web.Response:
    found = await request.app[keys.PENGADUAN].open311_requests(codes=[request.match_info["code"]])
    if not found[0]:
        raise NotFound(N_("Laporan tidak ditemukan."))
    return _requests_response(request, found)


@csrf_exempt
@spec_errors
async def post_request(request: web.Request) -> web.Response:
    """A client files for a resident; the key names the client, the limits are the
    moderation gate's on the bus, counted per key and per address."""
    data = await request.post()
    service = request.app[keys.PENGADUAN]
    client = await service.check_api_key(str(data.get("api_key", "")))
    lat, lon = _number(data.get("lat")), _number(data.get("long"))
    name = " ".join(
        p for p in (str(data.get("first_name", "")), str(data.get("last_name", ""))) if p
    )
    filing = Filing(
        category_id=int(str(data.get("service_code", "")))
        if str(data.get("service_code", "")).isdigit()
        else None,
        description=str(data.get("description", "")).strip(),
        location=str(data.get("address_string", "")).strip(),
        lat=lat,
        lon=lon,
        privacy=parse_privacy(data.get("privacy") or Privacy.BIASA),
        contact=Contact(
            name.strip(), str(data.get("phone", "")).strip(), str(data.get("email", "")).strip()
        ),
    )
    filed = await service.file(filing, service.api_sender(client, request[CLIENT_IP_KEY]), api=True)
    public_url = request.app[keys.CONFIG].public_url
    return web.json_response(
        [
            {
                "service_request_id": filed.code,
                "service_notice": "",
                "account_id": None,
                "secret_url": f"{public_url}/pengaduan/{filed.code}?k={quote(filed.secret)}",
            }
        ],
        status=201,
    )


def _requests_response(request: web.Request, found) -> web.Response:
    complaints, notes, photos = found
    service = request.app[keys.PENGADUAN]
    public_url = request.app[keys.CONFIG].public_url
    return web.json_response(
        [
            request_json(c, notes.get(c.id, ""), c.id in photos, public_url, service.tz)
            for c in complaints
        ]
    )


def _datetime(query, name: str) -> dt.datetime | None:
    value = query.get(name)
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(N_("Tanggal Open311 harus berformat W3C (ISO 8601).")) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _number(value: object) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value))
    except ValueError:
        raise InvalidInput(N_("Koordinat lokasi tidak valid.")) from None
