"""Raperda pages: the drafts, one draft by pasal and ayat, a pasal with its input, version
comparison, residents' own input, the committee summary (page, print, CSV) and the staff
console for importing, correcting and publishing. Handlers parse, call RaperdaService and
render."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from server import keys
from server.auth import get_user, requires
from server.comments.views import resident_sender
from server.cookies import delete_cookie, read_cookie, set_cookie
from server.domain.errors import (
    DeliveryUnavailable,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    PermissionDenied,
    RateLimited,
)
from server.domain.moderation import Sender
from server.domain.roles import MODERATORS, STAFF, Role
from server.edge import local_path
from server.http import error_message, path_id
from server.i18n import N_
from server.middlewares import CLIENT_IP_KEY, status_for
from server.raperda import identity
from server.raperda.html import badges
from server.raperda.identity import Resident
from server.raperda.phone import CODE_TTL, SMS_TEXT
from server.raperda.service import KIND_LABELS, POSITION_LABELS, POSITIONS, text_of_upload
from server.raperda.stage import STAGE_LABELS, Stage
from server.raperda.versions import word_diff
from server.signing import BadSignature
from server.templating import redirect, render

COOKIE = "sidang_raperda"
UNVERIFIED = N_("Verifikasi nomor ponsel atau e-mail Anda, atau masuk dahulu.")
CODE_COOKIE = "sidang_raperda_kode"  # which SMS code the resident is about to type
MINE = "/raperda/masukan-saya"
# A Raperda page to return to: path segments of letters, digits, `_` and `-` only (so no `..`
# or `%2e` a browser would resolve out of /raperda), and a plain query.
_BACK = re.compile(r"/raperda(?:/[A-Za-z0-9_-]+)*/?(?:\?[A-Za-z0-9_=&-]*)?")
# Who answers for the committee in public: the secretariat and members of the DPRD.
RESPONDERS = frozenset({*STAFF, Role.PIMPINAN, Role.ANGGOTA})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/raperda", index, name="raperda_index")
    r.add_get("/raperda/masukan-saya", mine)
    r.add_post("/raperda/identitas", ask_link)
    r.add_post("/raperda/identitas/telepon", ask_code)
    r.add_get("/raperda/identitas/kode", code_page)
    r.add_post("/raperda/identitas/kode", confirm_code)
    r.add_get(
        f"/raperda/identitas/{{token:[A-Za-z0-9_.-]{{10,{identity.LINK_TOKEN_MAX}}}}}", confirm_link
    )
    r.add_post("/raperda/masukan/{comment_id}/tarik", withdraw)
    r.add_get("/raperda/kelola", staff_index)
    r.add_post("/raperda/kelola", create)
    r.add_get("/raperda/kelola/{raperda_id}", staff_page)
    r.add_post("/raperda/kelola/{raperda_id}", update)
    r.add_post("/raperda/kelola/{raperda_id}/teks", save_text)
    r.add_post("/raperda/kelola/{raperda_id}/terbitkan", publish)
    r.add_get("/raperda/kelola/{raperda_id}/moderasi", moderation_page)
    r.add_post("/raperda/kelola/masukan/{comment_id}", moderate)
    r.add_get("/raperda/{raperda_id}", draft_page, name="raperda")
    r.add_get("/raperda/{raperda_id}/pasal/{lineage_id}", pasal_page)
    r.add_post("/raperda/{raperda_id}/masukan", post_input)
    r.add_get("/raperda/{raperda_id}/perbandingan", compare)
    r.add_get("/raperda/{raperda_id}/ringkasan", summary)
    r.add_get("/raperda/{raperda_id}/ringkasan.csv", summary_csv)
    r.add_get("/raperda/{raperda_id}/cetak", printable)
    r.add_post("/raperda/{raperda_id}/tanggapan/{lineage_id}", respond)


def page(request: web.Request, name: str, context: dict[str, Any], status: int = 200):
    gettext = request.app[keys.TRANSLATIONS].gettext
    # translated once per page, not once per pasal
    position_text = [(p, gettext(POSITION_LABELS[p])) for p in (*POSITIONS, "")]
    return render(
        request,
        f"raperda/{name}",
        {
            "STAGE_LABELS": STAGE_LABELS,
            "POSITION_LABELS": POSITION_LABELS,
            "POSITION_TEXT": position_text,
            "badges": lambda counts: badges(counts, position_text),
            "POSITION_NAME": {p: gettext(label) for p, label in POSITION_LABELS.items()},
            "AYAT_WORD": gettext(N_("ayat")),
            "REPORT_WORD": gettext(N_("Laporkan")),
            "PROPOSAL_NOTE": gettext(N_("Usulan rumusan (merah: dihapus, hijau: ditambahkan):")),
            "KIND_LABELS": KIND_LABELS,
            "POSITIONS": POSITIONS,
            "Stage": Stage,
            "word_diff": word_diff,
            "resident": resident_of(request),
            "phone_enabled": request.app[keys.PHONE_VERIFIER].enabled,
            "when": lambda value: _when(request, value),
            **context,
        },
        status=status,
    )


def _zone(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[keys.CONFIG].timezone)


def _when(request: web.Request, value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(_zone(request))
    return f"{local:%d-%m-%Y %H.%M} {local.tzname()}"


def resident_of(request: web.Request) -> Resident | None:
    """A login speaks for itself; otherwise the verified e-mail identity's cookie."""
    signer = request.app[keys.SIGNER]
    user = get_user(request)
    if user is not None:
        return identity.of_account(signer, user.username)
    return identity.from_cookie(signer, read_cookie(request, COOKIE))


def back_path(value: str | None) -> str | None:
    """`value` if it is a Raperda page to send a resident back to once verified, else None: a
    path on this site (server.edge.local_path refuses schemes, hosts and backslashes) under
    /raperda, short enough to sign into an e-mailed link."""
    path = local_path(value)
    if path is None or len(path) > 200 or not _BACK.fullmatch(path):
        return None
    return path


def verified_destination(value: str | None) -> str:
    """Where verifying (or signing in) from `value` lands: that Raperda page at its input form,
    told it may write now; without one, "Masukan saya" as before."""
    path = back_path(value)
    if path is None:
        return MINE
    return f"{path}{'&' if '?' in path else '?'}terverifikasi=1#form-masukan"


def _with_next(path: str, next_path: str | None) -> str:
    if not next_path:
        return path
    return f"{path}{'&' if '?' in path else '?'}next={quote(next_path, safe='/')}"


def _version(request: web.Request) -> int | None:
    value = request.query.get("versi", "")
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 10_000:
        raise InvalidInput(N_("Versi tidak valid."))
    return int(value)


def _before(request: web.Request) -> int | None:
    """The keyset cursor of a page of input: the id the page's input comes before."""
    value = request.query.get("sebelum", "")
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise InvalidInput(N_("Halaman tidak valid."))
    return int(value)


# Residents


async def index(request: web.Request) -> web.Response:
    drafts = await request.app[keys.RAPERDA].drafts()
    return page(request, "index.html", {"drafts": drafts})


async def draft_page(request: web.Request) -> web.Response:
    service = request.app[keys.RAPERDA]
    raperda_id = path_id(request, "raperda_id")
    draft = await service.draft_page(raperda_id, _version(request))
    threads = await request.app[keys.FORUM].linked(raperda_id=raperda_id)
    return page(request, "draft.html", {"d": draft, "threads": threads})


async def pasal_page(request: web.Request, errors=None, values=None, status=200, alert=""):
    service = request.app[keys.RAPERDA]
    lineage = path_id(request, "lineage_id")
    view = await service.pasal_page(
        path_id(request, "raperda_id"), lineage, _version(request), _before(request)
    )
    return page(
        request,
        "pasal.html",
        {
            "p": view,
            "d": view.page,
            "errors": errors or {},
            "values": values or {},
            "alert": alert,
            "sent": request.query.get("terkirim", ""),
        },
        status=status,
    )


async def post_input(request: web.Request) -> web.Response:
    service = request.app[keys.RAPERDA]
    translations = request.app[keys.TRANSLATIONS]
    raperda_id = path_id(request, "raperda_id")
    data = await request.post()
    values = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
    lineage_text = values.get("lineage", "")
    lineage = int(lineage_text) if lineage_text.isdigit() and int(lineage_text) < 2**31 else None
    resident = resident_of(request)
    back = f"/raperda/{raperda_id}/pasal/{lineage}" if lineage else f"/raperda/{raperda_id}"
    response = web.Response(status=303)
    try:
        if resident is None:
            raise NotAuthenticated(UNVERIFIED)
        # The device and address as every feature keys them, so a moderator's ban from the
        # live comments or the forum holds here too; the identity is the verified one.
        browser = resident_sender(request, response)
        posted = await service.post(
            raperda_id,
            resident,
            Sender(resident.identity, browser.ip, browser.device),
            lineage=lineage,
            ayat=values.get("ayat", ""),
            position=values.get("position", ""),
            text=values.get("text", ""),
            proposed=values.get("proposed", ""),
        )
    except (InvalidInput, RateLimited, NotAuthenticated, PermissionDenied) as error:
        status = {InvalidInput: 400, RateLimited: 429, NotAuthenticated: 401}.get(type(error), 403)
        fields = getattr(error, "fields", {}) or {}
        errors = {k: translations.gettext(v) for k, v in fields.items()}
        alert = error_message(translations, error)
        if lineage is None:
            service_page = await service.draft_page(raperda_id)
            return page(
                request,
                "draft.html",
                {"d": service_page, "errors": errors, "values": values, "alert": alert},
                status=status,
            )
        request.match_info["lineage_id"] = str(lineage)
        return await pasal_page(request, errors, values, status, alert)
    outcome = "ditahan" if posted.held else "ya"
    response.headers["Location"] = f"{back}?terkirim={outcome}#masukan-{posted.comment_id}"
    return response


async def mine(request: web.Request) -> web.Response:
    resident = resident_of(request)
    inputs = await request.app[keys.RAPERDA].mine(resident) if resident else []
    context = {"inputs": inputs, "sent": "dikirim" in request.query}
    return page(request, "mine.html", {**context, **_next_context(request.query.get("next"))})


def _next_context(value: str | None) -> dict[str, str]:
    """What the identity forms carry: the page to return to (checked), and where the sign-in
    link should land."""
    next_path = back_path(value) or ""
    return {"next": next_path, "login_next": verified_destination(next_path)}


def _form_page(
    request: web.Request, name: str, context: dict[str, Any], error: DomainError | None = None
) -> web.Response:
    """A form page; after an error, again with what went wrong beside the field it is about,
    at the error's status."""
    status = 200
    if error is not None:
        translations = request.app[keys.TRANSLATIONS]
        fields = getattr(error, "fields", {}) or {}
        context = {
            **context,
            "errors": {k: translations.format(v, error.params) for k, v in fields.items()},
            "alert": error_message(translations, error),
        }
        status = status_for(error)
    response = page(request, name, context, status=status)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def _identity_form(
    request: web.Request, error: DomainError, values: dict[str, str], next_path: str | None
):
    context = {"inputs": [], "values": values, **_next_context(next_path)}
    return _form_page(request, "mine.html", context, error)


async def ask_link(request: web.Request) -> web.Response:
    """Send a sign-in link to the address given; the address itself is never stored."""
    data = await request.post()
    translations = request.app[keys.TRANSLATIONS]
    name, email = str(data.get("name", "")), str(data.get("email", ""))
    next_path = back_path(str(data.get("next", "")))
    service = request.app[keys.RAPERDA]
    try:
        name, email = identity.check_request(name, email)
        if not service.mailer.enabled:
            raise InvalidInput(
                N_("E-mail belum dapat dikirim dari situs ini. Masuk dengan akun Anda."),
                fields={"email": N_("E-mail belum dapat dikirim dari situs ini.")},
            )
    except InvalidInput as error:
        return _identity_form(request, error, {"name": name, "email": email}, next_path)
    token = await service.link_for(name, email, request[CLIENT_IP_KEY], next_path)
    link = f"{request.app[keys.CONFIG].public_url}/raperda/identitas/{quote(token)}"
    service.mailer.send(
        email,
        translations.gettext(N_("Verifikasi e-mail untuk masukan Raperda")),
        translations.gettext(N_("Buka tautan ini untuk memberi masukan atas Raperda:"))
        + f"\n\n{link}\n",
    )
    return redirect(_with_next(f"{MINE}?dikirim=1", next_path))


async def confirm_link(request: web.Request) -> web.Response:
    _, cookie, next_path = identity.confirm(request.app[keys.SIGNER], request.match_info["token"])
    response = redirect(verified_destination(next_path))
    set_cookie(request, response, COOKIE, cookie, max_age=identity.COOKIE_MAX_AGE_S)
    return response


async def ask_code(request: web.Request) -> web.Response:
    """Text a one-time code to the number given, then ask for it; the number is not stored."""
    data = await request.post()
    name, number = str(data.get("name", "")), str(data.get("phone", ""))
    next_path = back_path(str(data.get("next", "")))
    translations = request.app[keys.TRANSLATIONS]
    verifier = request.app[keys.PHONE_VERIFIER]
    try:
        sent = await verifier.send_code(
            name, number, request[CLIENT_IP_KEY], translations.gettext(SMS_TEXT)
        )
    except (InvalidInput, RateLimited, DeliveryUnavailable) as error:
        return _identity_form(request, error, {"name": name, "phone": number}, next_path)
    response = redirect(_with_next("/raperda/identitas/kode", next_path))
    token = request.app[keys.SIGNER].sign(CODE_COOKIE, [sent.challenge_id, sent.masked])
    set_cookie(request, response, CODE_COOKIE, token, max_age=int(CODE_TTL.total_seconds()))
    return response


def _challenge(request: web.Request) -> tuple[int, str] | None:
    value = read_cookie(request, CODE_COOKIE)
    if not value or len(value) > 300:
        return None
    try:
        challenge_id, masked = request.app[keys.SIGNER].unsign(
            CODE_COOKIE, value, CODE_TTL.total_seconds()
        )
    except (BadSignature, ValueError, TypeError):
        return None
    return int(challenge_id), str(masked)


async def code_page(
    request: web.Request, error: DomainError | None = None, wanted: str | None = None
) -> web.Response:
    """The code form; `wanted` is the page to return to, from the form posted (else the query)."""
    next_path = back_path(request.query.get("next") if wanted is None else wanted)
    challenge = _challenge(request)
    if challenge is None:
        if error is None:
            return redirect(_with_next(MINE, next_path))
        return _identity_form(request, error, {}, next_path)
    gateway = request.app[keys.PHONE_VERIFIER].gateway
    context = {
        "masked": challenge[1],
        "errors": {},
        "logged_only": gateway is not None and not gateway.delivers,
        "next": next_path or "",
        "ask_again": _with_next(MINE, next_path),
    }
    return _form_page(request, "code.html", context, error)


async def confirm_code(request: web.Request) -> web.Response:
    data = await request.post()
    wanted = str(data.get("next", ""))
    challenge = _challenge(request)
    try:
        if challenge is None:
            raise InvalidInput(N_("Kode ini tidak berlaku lagi. Minta kode baru."))
        resident = await request.app[keys.PHONE_VERIFIER].confirm(
            challenge[0], str(data.get("code", ""))
        )
    except (InvalidInput, RateLimited) as error:
        return await code_page(request, error, wanted)
    response = redirect(verified_destination(wanted))
    cookie = identity.cookie_for(request.app[keys.SIGNER], resident)
    set_cookie(request, response, COOKIE, cookie, max_age=identity.COOKIE_MAX_AGE_S)
    delete_cookie(request, response, CODE_COOKIE)
    return response


async def withdraw(request: web.Request) -> web.Response:
    resident = resident_of(request)
    if resident is None:
        raise NotAuthenticated(UNVERIFIED)
    await request.app[keys.RAPERDA].withdraw(path_id(request, "comment_id"), resident)
    return redirect("/raperda/masukan-saya")


async def compare(request: web.Request) -> web.Response:
    def number(name: str) -> int:
        value = request.query.get(name, "")
        if not value.isdigit() or not 0 < int(value) < 10_000:
            raise InvalidInput(N_("Pilih dua versi untuk dibandingkan."))
        return int(value)

    raperda_id = path_id(request, "raperda_id")
    service = request.app[keys.RAPERDA]
    old, new = number("dari"), number("ke")
    rows = await service.compare(raperda_id, old, new)
    draft = await service.draft_page(raperda_id, new)
    return page(request, "compare.html", {"d": draft, "rows": rows, "old": old, "new": new})


async def summary(request: web.Request) -> web.Response:
    service = request.app[keys.RAPERDA]
    raperda_id = path_id(request, "raperda_id")
    value = request.query.get("pasal", "")
    lineage = int(value) if value.isdigit() and int(value) < 2**31 else None
    position = request.query.get("sikap") or None
    if position is not None and position not in POSITIONS:
        raise InvalidInput(N_("Pilih salah satu sikap."))
    draft, rows = await service.summary(
        raperda_id, lineage, inputs=False, before=_before(request), position=position
    )
    context = {"d": draft, "rows": rows, "one": lineage is not None, "position": position}
    return page(request, "summary.html", context)


async def printable(request: web.Request) -> web.Response:
    service = request.app[keys.RAPERDA]
    raperda_id = path_id(request, "raperda_id")
    draft, rows = await service.summary(raperda_id)
    return page(request, "print.html", {"d": draft, "rows": rows})


async def summary_csv(request: web.Request) -> web.Response:
    raperda_id = path_id(request, "raperda_id")
    text = await request.app[keys.RAPERDA].export_csv(raperda_id)
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="masukan-raperda-{raperda_id}.csv"'},
    )


@requires(RESPONDERS)
async def respond(request: web.Request) -> web.Response:
    user = get_user(request)
    assert user is not None
    data = await request.post()
    raperda_id, lineage = path_id(request, "raperda_id"), path_id(request, "lineage_id")
    await request.app[keys.RAPERDA].respond(
        raperda_id, lineage, str(data.get("response", "")), user.username
    )
    return redirect(f"/raperda/{raperda_id}/ringkasan?pasal={lineage}")


# Staff


@requires(STAFF)
async def staff_index(request: web.Request) -> web.Response:
    return await _staff_index(request)


async def _staff_index(request: web.Request, errors=None, values=None, status=200):
    drafts = await request.app[keys.RAPERDA].drafts(staff=True)
    return page(
        request,
        "staff_index.html",
        {"drafts": drafts, "errors": errors or {}, "values": values or {}},
        status=status,
    )


async def _source(data) -> str:
    upload = data.get("file")
    if isinstance(upload, web.FileField) and upload.filename:
        return await text_of_upload(upload.filename, upload.file.read())
    return str(data.get("source", ""))


@requires(STAFF)
async def create(request: web.Request) -> web.Response:
    user = get_user(request)
    assert user is not None
    data = await request.post()
    values = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
    translations = request.app[keys.TRANSLATIONS]
    try:
        raperda_id = await request.app[keys.RAPERDA].create(
            str(data.get("title", "")), await _source(data), user.username
        )
    except InvalidInput as error:
        errors = {k: translations.gettext(v) for k, v in error.fields.items()}
        return await _staff_index(request, errors, values, 400)
    return redirect(f"/raperda/kelola/{raperda_id}")


@requires(STAFF)
async def staff_page(request: web.Request) -> web.Response:
    return await _staff_page(request)


async def _staff_page(request: web.Request, errors=None, values=None, status=200):
    service = request.app[keys.RAPERDA]
    raperda_id = path_id(request, "raperda_id")
    view = await service.staff_view(raperda_id)
    return page(
        request,
        "staff_draft.html",
        {
            "r": view.raperda,
            "versions": view.versions,
            "preview": await service.preview(raperda_id),
            "documents": view.documents,
            "sittings": view.sittings,
            "sitting_ids": view.sitting_ids,
            "errors": errors or {},
            "values": values or {},
            "saved": request.query.get("tersimpan", ""),
        },
        status=status,
    )


def _local_time(request: web.Request, value: str, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        naive = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise InvalidInput(
            N_("Waktu tidak valid."), fields={field: N_("Isi tanggal dan jam.")}
        ) from None
    return naive.replace(tzinfo=_zone(request)).astimezone(dt.UTC)


def _optional_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


@requires(STAFF)
async def update(request: web.Request) -> web.Response:
    user = get_user(request)
    assert user is not None
    raperda_id = path_id(request, "raperda_id")
    data = await request.post()
    values = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
    translations = request.app[keys.TRANSLATIONS]
    try:
        await request.app[keys.RAPERDA].update(
            raperda_id,
            title=values.get("title", ""),
            summary=values.get("summary", ""),
            opens_at=_local_time(request, values.get("opens_at", ""), "opens_at"),
            closes_at=_local_time(request, values.get("closes_at", ""), "closes_at"),
            document_id=_optional_id(values.get("document_id", "")),
            naskah_id=_optional_id(values.get("naskah_id", "")),
            sitting_ids=[
                i for v in data.getall("sitting", []) if (i := _optional_id(str(v))) is not None
            ],
            enacted=values.get("enacted") == "ya",
            actor=user.username,
        )
    except InvalidInput as error:
        errors = {k: translations.gettext(v) for k, v in error.fields.items()}
        return await _staff_page(request, errors, values, 400)
    return redirect(f"/raperda/kelola/{raperda_id}?tersimpan=data")


@requires(STAFF)
async def save_text(request: web.Request) -> web.Response:
    user = get_user(request)
    assert user is not None
    raperda_id = path_id(request, "raperda_id")
    data = await request.post()
    translations = request.app[keys.TRANSLATIONS]
    try:
        await request.app[keys.RAPERDA].save_text(
            raperda_id, await _source(data), str(data.get("note", "")), user.username
        )
    except InvalidInput as error:
        errors = {k: translations.gettext(v) for k, v in error.fields.items()}
        values = {"source": str(data.get("source", ""))}
        return await _staff_page(request, errors, values, 400)
    return redirect(f"/raperda/kelola/{raperda_id}?tersimpan=teks#pratinjau")


@requires(STAFF)
async def publish(request: web.Request) -> web.Response:
    """Each `lanjut-N` field is the lineage pasal N of the new version continues ("baru": a new
    pasal); staff confirmed each one by submitting the form."""
    user = get_user(request)
    assert user is not None
    raperda_id = path_id(request, "raperda_id")
    data = await request.post()
    continues: dict[int, int | None] = {}
    for key, value in data.items():
        if key.startswith("lanjut-") and key[7:].isdigit() and isinstance(value, str):
            continues[int(key[7:])] = _optional_id(value)
    number = await request.app[keys.RAPERDA].publish(raperda_id, continues, user.username)
    return redirect(f"/raperda/{raperda_id}?versi={number}")


@requires(MODERATORS)
async def moderate(request: web.Request) -> web.Response:
    user = get_user(request)
    assert user is not None
    data = await request.post()
    raperda_id = await request.app[keys.RAPERDA].moderate(
        path_id(request, "comment_id"), str(data.get("action", "")), user.username
    )
    return redirect(f"/raperda/kelola/{raperda_id}/moderasi")


@requires(MODERATORS)
async def moderation_page(request: web.Request) -> web.Response:
    raperda_id = path_id(request, "raperda_id")
    held = await request.app[keys.RAPERDA].held(raperda_id)
    return page(request, "moderation.html", {"raperda_id": raperda_id, "held": held})
