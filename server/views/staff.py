"""The staff console (sekretariat): sittings, agenda, documents, status and ingest keys."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server import keys, sittings
from server.archive.formats import check_edit
from server.archive.pages import console_context
from server.archive.views import edit_values
from server.auth import require_user, requires
from server.documents import save_upload
from server.domain.errors import InvalidInput
from server.domain.roles import STAFF
from server.domain.sitting import TRANSITIONS, SittingStatus
from server.forward import forward, owner_elsewhere
from server.http import error_message, path_id, sitting_id
from server.i18n import N_
from server.live.service import LAYOUTS
from server.schemas import (
    AgendaItemIn,
    DocumentMeta,
    RecordingEditIn,
    SittingIn,
    StatusChange,
    parse,
)
from server.store import repo
from server.templating import redirect, render


def _form_dict(form) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


# What a console page confirms after a form succeeded: `?tersimpan=<key>` on the redirect.
SAVED = {
    "dokumen": N_("Dokumen tersimpan."),
    "rapat": N_("Data rapat tersimpan."),
    "acara": N_("Acara tersimpan."),
    "kunci": N_("Kunci ingest baru dibuat; perbarui di OBS."),
    "dihapus": N_("Rapat draf dihapus."),
}


def _shared_context(request: web.Request) -> dict[str, Any]:
    """What every console page shows: the confirmation of the last action and the upload
    limit stated beside the file field."""
    saved = SAVED.get(request.query.get("tersimpan", ""))
    return {
        "saved": request.app[keys.TRANSLATIONS].gettext(saved) if saved else None,
        "upload_limit": _upload_limit(request),
    }


def _upload_limit(request: web.Request) -> str:
    """The upload limit as people read it: "25 MB" (or "64 KB" for a small test limit)."""
    size = request.app[keys.CONFIG].max_upload_bytes
    return f"{size // 2**20} MB" if size >= 2**20 else f"{size // 2**10} KB"


def _saved(path: str, what: str, anchor: str = "") -> web.Response:
    return redirect(f"{path}?tersimpan={what}{anchor}")


@requires(STAFF)
async def console(request: web.Request) -> web.Response:
    return await _render_home(request)


async def _render_home(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    async with request.app[keys.STORE].read() as session:
        sittings = await repo.list_sittings(session, public_only=False, limit=200)
        audit = await repo.recent_audit(session, limit=15)
    context = {"sittings": sittings, "audit": audit, **_shared_context(request), **extra}
    return render(request, "staff/console.html", context, status=status)


@requires(STAFF)
async def new_sitting_form(request: web.Request) -> web.Response:
    return render(request, "staff/sitting_form.html", {"sitting": None, "values": {}})


@requires(STAFF)
async def create_sitting(request: web.Request) -> web.Response:
    user = require_user(request)
    form = _form_dict(await request.post())
    form.setdefault("is_public", "off")
    agenda_text = form.pop("agenda", "")
    errors: dict[str, str] = {}
    try:
        data = parse(SittingIn, form)
    except InvalidInput as exc:
        errors = exc.fields
    try:
        agenda = agenda_titles(agenda_text)
    except InvalidInput as exc:
        errors = {**errors, **exc.fields}
    if errors:
        return render(
            request,
            "staff/sitting_form.html",
            {"sitting": None, "values": {**form, "agenda": agenda_text}, "errors": errors},
            status=400,
        )
    sitting = await sittings.create_sitting(
        request.app[keys.STORE], user.username, vars(data), agenda
    )
    return redirect(f"/konsol/rapat/{sitting.id}")


MAX_AGENDA_ITEMS = 50  # the numbers are in the messages below
MAX_AGENDA_TITLE = 300


def agenda_titles(text: str) -> list[str]:
    """The create form's agenda: one item per line, blank lines skipped."""
    titles = [line.strip() for line in text.splitlines() if line.strip()]
    if len(titles) > MAX_AGENDA_ITEMS:
        problem = N_("Paling banyak 50 acara sekaligus; tambahkan sisanya setelah disimpan.")
        raise InvalidInput(problem, {"agenda": problem})
    if any(len(title) > MAX_AGENDA_TITLE for title in titles):
        problem = N_("Judul acara paling banyak 300 karakter per baris.")
        raise InvalidInput(problem, {"agenda": problem})
    return titles


@requires(STAFF)
async def delete_sitting(request: web.Request) -> web.Response:
    """Only a draft can go (the store refuses any other); the form asks first, the audit log
    keeps who deleted which sitting."""
    user = require_user(request)
    await sittings.delete_sitting(request.app[keys.STORE], user.username, sitting_id(request))
    return _saved("/konsol", "dihapus")


@requires(STAFF)
async def sitting_console(request: web.Request) -> web.Response:
    return await _render_console(request, sitting_id(request))


async def _render_console(
    request: web.Request, sid: int, status: int = 200, **extra: Any
) -> web.Response:
    """The sitting's console page; `extra` carries a form's errors and what was typed, or the
    question before ending a live sitting."""
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        archive = await console_context(session, sitting)
    context = {**await _console_context(request, sitting), **archive, **_shared_context(request)}
    return render(request, "staff/sitting.html", {**context, **extra}, status=status)


@requires(STAFF)
async def update_sitting(request: web.Request) -> web.Response:
    user = require_user(request)
    form = _form_dict(await request.post())
    form.setdefault("is_public", "off")
    sid = sitting_id(request)
    try:
        data = parse(SittingIn, form)
    except InvalidInput as exc:
        return await _render_console(request, sid, 400, values=form, errors=exc.fields)
    await sittings.update_sitting(request.app[keys.STORE], user.username, sid, vars(data))
    return _saved(f"/konsol/rapat/{sid}", "rapat", "#data")


@requires(STAFF)
async def change_status(request: web.Request) -> web.Response:
    """Ending a live sitting stops the stream and the recording for good, so the console asks
    first: without `confirm=ya` the page comes back with the question instead."""
    user = require_user(request)
    form = _form_dict(await request.post())
    confirmed = form.pop("confirm", None) == "ya"
    data = parse(StatusChange, form)
    sid = sitting_id(request)
    if data.status is SittingStatus.ENDED and not confirmed:
        async with request.app[keys.STORE].read() as session:
            sitting = await repo.get_sitting(session, sid, public_only=False)
        if sitting.status == SittingStatus.LIVE.value:
            return await _render_console(request, sid, confirm_end=True)
    if (owner := await owner_elsewhere(request, sid)) is not None:
        return await forward(request, owner)  # ending: the owner node stops its pipeline
    await request.app[keys.LIVE].transition(sid, data.status, user.username)
    return redirect(f"/konsol/rapat/{sid}")


@requires(STAFF)
async def rotate_key(request: web.Request) -> web.Response:
    user = require_user(request)
    sid = sitting_id(request)
    await sittings.rotate_ingest_key(request.app[keys.STORE], user.username, sid)
    return _saved(f"/konsol/rapat/{sid}", "kunci", "#ingest")


@requires(STAFF)
async def add_agenda_item(request: web.Request) -> web.Response:
    user = require_user(request)
    data = parse(AgendaItemIn, _form_dict(await request.post()))
    sid = sitting_id(request)
    await sittings.add_agenda_item(request.app[keys.STORE], user.username, sid, vars(data))
    return _saved(f"/konsol/rapat/{sid}", "acara", "#acara")


@requires(STAFF)
async def edit_agenda_item(request: web.Request) -> web.Response:
    user = require_user(request)
    data = parse(AgendaItemIn, _form_dict(await request.post()))
    sid = sitting_id(request)
    await sittings.update_agenda_item(
        request.app[keys.STORE], user.username, sid, path_id(request, "item_id"), vars(data)
    )
    return _saved(f"/konsol/rapat/{sid}", "acara", "#acara")


@requires(STAFF)
async def delete_agenda_item(request: web.Request) -> web.Response:
    user = require_user(request)
    sid = sitting_id(request)
    await sittings.delete_agenda_item(
        request.app[keys.STORE], user.username, sid, path_id(request, "item_id")
    )
    return redirect(f"/konsol/rapat/{sid}#acara")


@requires(STAFF)
async def move_agenda_item(request: web.Request) -> web.Response:
    user = require_user(request)
    step = -1 if request.match_info["direction"] == "naik" else 1
    sid = sitting_id(request)
    await sittings.move_agenda_item(
        request.app[keys.STORE], user.username, sid, path_id(request, "item_id"), step
    )
    return redirect(f"/konsol/rapat/{sid}#acara")


@requires(STAFF)
async def upload_document(request: web.Request) -> web.Response:
    """A mistake (no file, not a PDF, missing metadata) re-shows the form that was used, with
    the message beside its field and what was typed; success says "Dokumen tersimpan"."""
    user = require_user(request)
    form = await request.post()
    values = _form_dict(form)
    values.pop("csrf_token", None)
    try:
        upload = form.get("file")
        if not isinstance(upload, web.FileField) or not upload.filename:
            problem = N_("Pilih berkas PDF untuk diunggah.")
            raise InvalidInput(problem, {"file": problem})
        meta = parse(DocumentMeta, values)
        await save_upload(
            request.app[keys.STORE],
            request.app[keys.CONFIG].documents_dir,
            user.username,
            meta,
            upload.file.read(),
            upload.filename,
        )
    except InvalidInput as exc:
        return await _upload_failed(request, exc, values, 400)
    if meta.sitting_id:
        return _saved(f"/konsol/rapat/{meta.sitting_id}", "dokumen", "#dokumen")
    return _saved("/konsol", "dokumen", "#unggah")


@requires(STAFF)
async def upload_too_large(request: web.Request) -> web.Response:
    """The body was over the limit, so nothing of the form could be read: the page the form
    came from (`?rapat=`) comes back with the limit stated beside the file field."""
    limit = _upload_limit(request)
    problem = N_("Berkas terlalu besar: paling besar %(limit)s.")
    return await _upload_failed(
        request, InvalidInput(problem, {"file": problem}, limit=limit), {}, 413
    )


upload_document.on_too_large = upload_too_large  # type: ignore[attr-defined]


async def _upload_failed(
    request: web.Request, exc: InvalidInput, values: dict[str, str], status: int
) -> web.Response:
    translations = request.app[keys.TRANSLATIONS]
    message = error_message(translations, exc)
    problems = {
        name: message if problem == exc.template else translations.gettext(problem)
        for name, problem in exc.fields.items()
    } or {"file": message}
    extra = {"upload_errors": problems, "upload_values": values}
    try:
        sid = int(values.get("sitting_id") or request.query.get("rapat", ""))
    except ValueError:
        return await _render_home(request, status, **extra)
    return await _render_console(request, sid, status, **extra)


@requires(STAFF)
async def edit_recording(request: web.Request) -> web.Response:
    """Trim and cut: checked against the recording here, so a mistake comes back beside its
    field at once; the cut itself runs as a job whose progress the console shows."""
    user = require_user(request)
    sid = sitting_id(request)
    form = _form_dict(await request.post())
    form.pop("csrf_token", None)
    store, archive = request.app[keys.STORE], request.app[keys.ARCHIVE]
    try:
        values = edit_values(parse(RecordingEditIn, form))
        async with store.read() as session:
            sitting = await repo.get_sitting(session, sid, public_only=False)
        if sitting.recording is not None:
            check_edit(sitting.recording.duration_s, **values)
    except InvalidInput as exc:
        message = error_message(request.app[keys.TRANSLATIONS], exc)
        problems = {name: message for name in exc.fields} or {"form": message}
        return await _render_console(request, sid, 400, edit_form=form, edit_errors=problems)
    await archive.start(sid, "edit", user.username, values)
    return redirect(f"/konsol/rapat/{sid}#arsip")


def console_targets(sitting) -> list[SittingStatus]:
    """The plain "Ubah ke" buttons. Ending a live sitting has its own button in the live panel,
    with a question first; a recording is published by its own button, which cuts it first."""
    current = SittingStatus(sitting.status)
    hidden = {SittingStatus.ENDED} if current is SittingStatus.LIVE else set()
    if sitting.recording is not None:
        hidden.add(SittingStatus.PUBLISHED)
    return sorted(TRANSITIONS[current] - hidden)


async def _console_context(request: web.Request, sitting) -> dict:
    job = await request.app[keys.ARCHIVE].latest(sitting.id)
    return {
        "sitting": sitting,
        "targets": console_targets(sitting),
        "values": {},
        "live_running": await request.app[keys.LIVE].running(sitting.id),
        "LAYOUTS": LAYOUTS,
        "job": job,
        "job_started": None if job is None else job.started_at,
        "job_error": None
        if job is None or job.error is None
        else error_message(request.app[keys.TRANSLATIONS], job.error),
    }


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/konsol", console, name="console")
    r.add_get("/konsol/rapat/baru", new_sitting_form)
    r.add_post("/konsol/rapat/baru", create_sitting)
    r.add_get("/konsol/rapat/{sitting_id}", sitting_console)
    r.add_post("/konsol/rapat/{sitting_id}", update_sitting)
    r.add_post("/konsol/rapat/{sitting_id}/status", change_status)
    r.add_post("/konsol/rapat/{sitting_id}/kunci", rotate_key)
    r.add_post("/konsol/rapat/{sitting_id}/hapus", delete_sitting)
    r.add_post("/konsol/rapat/{sitting_id}/acara", add_agenda_item)
    r.add_post("/konsol/rapat/{sitting_id}/acara/{item_id}", edit_agenda_item)
    r.add_post("/konsol/rapat/{sitting_id}/acara/{item_id}/hapus", delete_agenda_item)
    r.add_post(
        "/konsol/rapat/{sitting_id}/acara/{item_id}/{direction:naik|turun}", move_agenda_item
    )
    r.add_post("/konsol/dokumen", upload_document)
    r.add_post("/konsol/rapat/{sitting_id}/arsip", edit_recording)
