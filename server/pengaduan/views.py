"""Pengaduan pages: the form, the reporter's and the public view, the staff inbox and handling,
members' answers, settings. Handlers parse, call PengaduanService and render."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from server import keys
from server.auth import require_user, requires
from server.domain.errors import InvalidInput, RateLimited
from server.domain.roles import MEMBERS_ROOM, STAFF, Role
from server.http import error_message
from server.i18n import N_
from server.middlewares import CLIENT_IP_KEY, CONTENT_SECURITY_POLICY
from server.pengaduan import stats
from server.pengaduan.service import Filing, PengaduanService
from server.pengaduan.status import (
    NEXT,
    PRIVACY_LABELS,
    STATUS_LABELS,
    Privacy,
    Status,
    parse_privacy,
    parse_status,
)
from server.pengaduan.vault import Contact
from server.templating import redirect, render

log = logging.getLogger(__name__)

CODE = r"{code:ADU-[0-9]{4}-[A-Z0-9]{5}}"
# The form may ask for the device's location; everything else keeps the site-wide policy.
FORM_PERMISSIONS = "camera=(), microphone=(), geolocation=(self)"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/pengaduan", form_page, name="pengaduan_form")
    r.add_post("/pengaduan", file_complaint)
    r.add_get("/pengaduan/daftar", public_list, name="pengaduan_list")
    r.add_get("/pengaduan/statistik", statistics_page, name="pengaduan_statistics")
    r.add_get("/pengaduan/statistik.csv", statistics_csv)
    r.add_get("/pengaduan/kelola", inbox, name="pengaduan_inbox")
    r.add_get("/pengaduan/kelola/pengaturan", settings_page)
    r.add_post("/pengaduan/kelola/kategori", add_category)
    r.add_post("/pengaduan/kelola/libur", add_holiday)
    r.add_post("/pengaduan/kelola/kunci-api", issue_api_key)
    r.add_post("/pengaduan/kelola/rotasi-kunci", rotate_keys)
    r.add_get(f"/pengaduan/kelola/{CODE}", staff_report)
    r.add_get(f"/pengaduan/kelola/{CODE}/foto/{{n:[1-3]}}.jpg", staff_photo)
    r.add_post(f"/pengaduan/kelola/{CODE}/status", change_status)
    r.add_post(f"/pengaduan/kelola/{CODE}/kontak", reveal_contact)
    r.add_post(f"/pengaduan/kelola/{CODE}/sembunyikan", hide_text)
    r.add_post(f"/pengaduan/kelola/{CODE}/setujui", release)
    r.add_post(f"/pengaduan/kelola/{CODE}/gabung", merge)
    r.add_post(f"/pengaduan/kelola/{CODE}/rapat", link_sitting)
    r.add_get("/pengaduan/komisi", komisi_inbox)
    r.add_post(f"/pengaduan/{CODE}/jawab", answer)
    r.add_get(f"/pengaduan/{CODE}", report_page, name="pengaduan_report")
    r.add_get(f"/pengaduan/{CODE}/foto/{{n:[1-3]}}.jpg", photo)
    r.add_post(f"/pengaduan/{CODE}/hapus-kontak", erase_contact)


def page(
    request: web.Request, name: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """Every pengaduan page reads times in SIDANG_TIMEZONE and knows the labels."""
    service = request.app[keys.PENGADUAN]
    return render(
        request,
        f"pengaduan/{name}",
        {
            "when": lambda value: _when(value, service),
            "STATUS_LABELS": STATUS_LABELS,
            "PRIVACY_LABELS": PRIVACY_LABELS,
            "today": service.today(),
            **context,
        },
        status=status,
    )


def _when(value: dt.datetime | dt.date | None, service: PengaduanService) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        local = value.astimezone(service.tz)
        return f"{local:%d-%m-%Y %H.%M} {local.tzname()}"
    return f"{value:%d-%m-%Y}"


# Residents


async def form_page(request: web.Request) -> web.Response:
    return await _form(request, {}, {})


async def _form(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    alert: str = "",
) -> web.Response:
    service = request.app[keys.PENGADUAN]
    config = request.app[keys.CONFIG]
    response = page(
        request,
        "form.html",
        {
            "categories": await service.categories(),
            "values": values,
            "errors": errors,
            "alert": alert,
            "privacies": list(Privacy),
            "contact_possible": service.vault.available,
            "map_tiles": config.map_tiles,
        },
        status=status,
    )
    response.headers["Permissions-Policy"] = FORM_PERMISSIONS
    if config.map_tiles:
        response.headers["Content-Security-Policy"] = tiles_policy(config.map_tiles)
    return response


def tiles_policy(template: str) -> str:
    """The site's policy with the tile server's images allowed: tiles come from outside."""
    parts = urlsplit(template)
    origin = f"{parts.scheme}://{parts.netloc}".replace("{s}", "*")
    return CONTENT_SECURITY_POLICY.replace("img-src 'self'", f"img-src 'self' {origin}")


async def file_complaint(request: web.Request) -> web.Response:
    data = await request.post()
    values = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
    service = request.app[keys.PENGADUAN]
    translations = request.app[keys.TRANSLATIONS]
    try:
        filing = _filing(data)
        filed = await service.file(filing, service.sender(request[CLIENT_IP_KEY]))
    except InvalidInput as error:
        errors = {k: translations.gettext(v) for k, v in error.fields.items()}
        return await _form(request, values, errors, 400, error_message(translations, error))
    except RateLimited as error:
        return await _form(request, values, {}, 429, error_message(translations, error))
    return redirect(f"/pengaduan/{filed.code}?k={quote(filed.secret)}&baru=1")


def _filing(data: MultiDictProxy) -> Filing:
    def text(name: str) -> str:
        value = data.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    photos = tuple(
        part.file.read()
        for part in data.getall("photos", [])
        if isinstance(part, web.FileField) and part.filename
    )
    return Filing(
        category_id=int(text("category")) if text("category").isdigit() else None,
        description=text("description"),
        location=text("location"),
        kelurahan=text("kelurahan"),
        lat=_coordinate(text("lat")),
        lon=_coordinate(text("lon")),
        privacy=parse_privacy(text("privacy")),
        contact=Contact(text("name"), text("phone"), text("email")),
        photos=photos,
    )


def _coordinate(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        raise InvalidInput(
            N_("Koordinat lokasi tidak valid."),
            fields={"location": N_("Koordinat lokasi tidak valid.")},
        ) from None


async def report_page(request: web.Request) -> web.Response:
    secret = request.query.get("k")
    report = await request.app[keys.PENGADUAN].report(request.match_info["code"], secret)
    response = page(
        request,
        "report.html",
        {
            "report": report,
            "secret": secret if report.reporter else "",
            "new": "baru" in request.query,
        },
    )
    # The secret link must not leave in a Referer, nor sit in a shared cache.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def photo(request: web.Request) -> web.Response:
    data = await request.app[keys.PENGADUAN].photo(
        request.match_info["code"], int(request.match_info["n"]), request.query.get("k")
    )
    return _jpeg(data)


@requires(STAFF)
async def staff_photo(request: web.Request) -> web.Response:
    data = await request.app[keys.PENGADUAN].photo(
        request.match_info["code"], int(request.match_info["n"]), staff=True
    )
    return _jpeg(data)


def _jpeg(data: bytes) -> web.Response:
    return web.Response(
        body=data,
        content_type="image/jpeg",
        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )


async def erase_contact(request: web.Request) -> web.Response:
    data = await request.post()
    code, secret = request.match_info["code"], str(data.get("k", ""))
    await request.app[keys.PENGADUAN].erase_contact(code, secret)
    return redirect(f"/pengaduan/{code}?k={quote(secret)}")


async def public_list(request: web.Request) -> web.Response:
    """A list always; a map of the reports that have a place, where tiles are available."""
    reports = await request.app[keys.PENGADUAN].public_list()
    tiles = request.app[keys.CONFIG].map_tiles
    response = page(request, "list.html", {"reports": reports, "map_tiles": tiles})
    if tiles:
        response.headers["Content-Security-Policy"] = tiles_policy(tiles)
    return response


def _year(request: web.Request) -> int | None:
    value = request.query.get("tahun", "")
    if not value:
        return None
    if not (value.isdigit() and 2000 <= int(value) <= 2100):
        raise InvalidInput(N_("Tahun tidak valid."))
    return int(value)


async def statistics_page(request: web.Request) -> web.Response:
    year = _year(request)
    statistics = await request.app[keys.PENGADUAN].statistics(year)
    return page(
        request,
        "statistics.html",
        {"stats": statistics, "year": year, "share": stats.share, "days": stats.days},
    )


async def statistics_csv(request: web.Request) -> web.Response:
    year = _year(request)
    statistics = await request.app[keys.PENGADUAN].statistics(year)
    name = f"statistik-pengaduan{f'-{year}' if year else ''}.csv"
    return web.Response(
        text=stats.to_csv(statistics),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Staff


@requires(STAFF)
async def inbox(request: web.Request) -> web.Response:
    service = request.app[keys.PENGADUAN]
    komisi = request.query.get("komisi") or None
    return page(
        request,
        "inbox.html",
        {
            "reports": await service.inbox(komisi),
            "held": await service.held(),
            "komisi": komisi or "",
        },
    )


async def _staff_page(request: web.Request, code: str, contact: Contact | None) -> web.Response:
    service = request.app[keys.PENGADUAN]
    report = await service.staff_report(code)
    return page(
        request,
        "staff_report.html",
        {
            "report": report,
            "next": sorted(NEXT[Status(report.complaint.status)]),
            "contact": contact,
            "sittings": await service.sittings(),
        },
    )


@requires(STAFF)
async def staff_report(request: web.Request) -> web.Response:
    return await _staff_page(request, request.match_info["code"], None)


@requires(STAFF)
async def change_status(request: web.Request) -> web.Response:
    data = await request.post()
    code = request.match_info["code"]
    await request.app[keys.PENGADUAN].change_status(
        require_user(request),
        code,
        parse_status(data.get("status")),
        str(data.get("message", "")),
        opd=str(data.get("opd", "")),
        komisi=str(data.get("komisi", "")),
    )
    return redirect(f"/pengaduan/kelola/{code}")


@requires(STAFF)
async def reveal_contact(request: web.Request) -> web.Response:
    """A POST, so reading an identity is a deliberate act with a CSRF token, and audited."""
    code = request.match_info["code"]
    contact = await request.app[keys.PENGADUAN].contact(require_user(request), code)
    response = await _staff_page(request, code, contact)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@requires(STAFF)
async def hide_text(request: web.Request) -> web.Response:
    data = await request.post()
    code = request.match_info["code"]
    await request.app[keys.PENGADUAN].set_hidden(
        require_user(request), code, data.get("hidden") == "1"
    )
    return redirect(f"/pengaduan/kelola/{code}")


@requires(STAFF)
async def release(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    await request.app[keys.PENGADUAN].release(require_user(request), code)
    return redirect(f"/pengaduan/kelola/{code}")


@requires(STAFF)
async def merge(request: web.Request) -> web.Response:
    data = await request.post()
    code = request.match_info["code"]
    into = str(data.get("into", "")).strip().upper()
    await request.app[keys.PENGADUAN].merge(require_user(request), code, into)
    return redirect(f"/pengaduan/kelola/{into}")


@requires(STAFF)
async def link_sitting(request: web.Request) -> web.Response:
    data = await request.post()
    code = request.match_info["code"]
    sitting, position = str(data.get("sitting", "")), str(data.get("position", ""))
    await request.app[keys.PENGADUAN].link_sitting(
        require_user(request),
        code,
        int(sitting) if sitting.isdigit() else None,
        int(position) if position.isdigit() else None,
    )
    return redirect(f"/pengaduan/kelola/{code}")


@requires(STAFF)
async def settings_page(request: web.Request) -> web.Response:
    service = request.app[keys.PENGADUAN]
    return page(
        request,
        "settings.html",
        {"categories": await service.categories(), "holidays": await service.holidays()},
    )


@requires(STAFF)
async def add_category(request: web.Request) -> web.Response:
    data = await request.post()
    await request.app[keys.PENGADUAN].add_category(
        require_user(request), str(data.get("name", "")), str(data.get("komisi", ""))
    )
    return redirect("/pengaduan/kelola/pengaturan")


@requires(STAFF)
async def issue_api_key(request: web.Request) -> web.Response:
    """The new key is shown on this one page and never again."""
    data = await request.post()
    service = request.app[keys.PENGADUAN]
    key = await service.issue_api_key(require_user(request), str(data.get("name", "")))
    response = page(
        request,
        "settings.html",
        {
            "categories": await service.categories(),
            "holidays": await service.holidays(),
            "api_key": key,
        },
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@requires({Role.ADMIN})
async def rotate_keys(request: web.Request) -> web.Response:
    """After a new key is put first in SIDANG_DATA_KEY: re-encrypt, then the old key can go."""
    await request.app[keys.PENGADUAN].rotate_keys(require_user(request))
    return redirect("/pengaduan/kelola/pengaturan")


@requires(STAFF)
async def add_holiday(request: web.Request) -> web.Response:
    data = await request.post()
    try:
        day = dt.date.fromisoformat(str(data.get("day", "")))
    except ValueError:
        raise InvalidInput(
            N_("Tanggal libur tidak valid."), fields={"day": N_("Tanggal tidak valid.")}
        ) from None
    await request.app[keys.PENGADUAN].set_holiday(
        require_user(request), day, str(data.get("name", ""))
    )
    return redirect("/pengaduan/kelola/pengaturan")


# Members of the komisi


@requires(MEMBERS_ROOM)
async def komisi_inbox(request: web.Request) -> web.Response:
    service = request.app[keys.PENGADUAN]
    user = require_user(request)
    komisi = await service.member_komisi(user)
    reports = await service.inbox(komisi) if komisi else []
    return page(request, "komisi.html", {"reports": reports, "komisi": komisi})


@requires(MEMBERS_ROOM)
async def answer(request: web.Request) -> web.Response:
    data = await request.post()
    code = request.match_info["code"]
    await request.app[keys.PENGADUAN].answer(
        require_user(request), code, str(data.get("answer", ""))
    )
    return redirect("/pengaduan/komisi")
