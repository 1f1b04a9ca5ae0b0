"""The moderator console for a sitting's comments, its live socket and its JSON actions.

Actions are JSON POSTs carrying the X-CSRF-Token header; each is audited by the service.
"""

from __future__ import annotations

from aiohttp import web

from server import keys
from server.auth import require_user, requires
from server.comments.views import (
    check_origin,
    check_sitting,
    joined,
    open_socket,
    resident_sender,
)
from server.domain import localtime
from server.domain.errors import InvalidInput, NotFound
from server.domain.moderation import (
    MAX_IP_BAN_MINUTES,
    REPORT_REASON_LABELS,
    REVIEW_STATE_LABELS,
    WORD_ACTION_LABELS,
    Decision,
    Refused,
    WordAction,
    check_slow_mode,
)
from server.domain.roles import MODERATORS
from server.http import error_message, path_id, read_json, sitting_id
from server.i18n import N_, current_locale
from server.store import repo
from server.templating import redirect, render

MAX_PINNED_CHARS = 300


@requires(MODERATORS)
async def console(request: web.Request) -> web.Response:
    sitting = sitting_id(request)
    async with request.app[keys.STORE].read() as session:
        record = await repo.get_sitting(session, sitting, public_only=False)
    service = request.app[keys.COMMENTS]
    return render(
        request,
        "moderation.html",
        {
            "sitting": record,
            "settings": await service.settings(sitting),
            "words": await service.list_words(),
            "word_actions": WORD_ACTION_LABELS,
            "bans": await service.active_bans(),
            "hidden": await service.hidden_comments(sitting),
            "max_ip_ban_minutes": MAX_IP_BAN_MINUTES,
        },
    )


@requires(MODERATORS)
async def moderator_socket(request: web.Request) -> web.WebSocketResponse:
    """Every comment with its identity tag, the held queue and the hidden events, live."""
    check_origin(request)
    sitting = sitting_id(request)
    await check_sitting(request, sitting, public_only=False)
    ws = open_socket(request)
    async with joined(request, ws, sitting, moderator=True):
        async for _message in ws:
            pass  # actions arrive as audited JSON POSTs, never on the socket
    return ws


@requires(MODERATORS)
async def hide(request: web.Request) -> web.Response:
    return await _visibility(request, hidden=True)


@requires(MODERATORS)
async def show(request: web.Request) -> web.Response:
    return await _visibility(request, hidden=False)


async def _visibility(request: web.Request, *, hidden: bool) -> web.Response:
    user = require_user(request)
    record = await request.app[keys.COMMENTS].set_visibility(
        sitting_id(request), path_id(request, "comment_id"), hidden=hidden, actor=user.username
    )
    return web.json_response({"comment": record})


@requires(MODERATORS)
async def ban(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await read_json(request)
    reason, ip = data.get("reason", ""), data.get("ip", False)
    if not isinstance(reason, str):
        raise InvalidInput(N_("Alasan harus berupa teks."))
    if not isinstance(ip, bool):
        raise InvalidInput(N_("%(name)s harus true atau false."), name="ip")
    result = await request.app[keys.COMMENTS].ban(
        sitting_id(request),
        path_id(request, "comment_id"),
        minutes=data.get("minutes"),
        reason=reason.strip(),
        actor=user.username,
        ip=ip,
    )
    return web.json_response(
        {
            "id": int(result.origin),
            "actor": user.username,
            "until": result.until.isoformat(),
            "until_text": localtime.moment(result.until, current_locale.get()),
            "reason": reason.strip()[:300],
            "ip": ip,
        }
    )


@requires(MODERATORS)
async def lift_ban(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[keys.COMMENTS].lift_ban(path_id(request, "ban_id"), actor=user.username)
    return web.json_response({"ok": True})


@requires(MODERATORS)
async def update_settings(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await read_json(request)
    changes: dict = {}
    if "slow_mode_s" in data:
        try:
            changes["slow_mode_s"] = check_slow_mode(data["slow_mode_s"])
        except Refused as exc:  # said beside the field, in plain words
            raise InvalidInput(exc.template, {"slow_mode_s": exc.template}, **exc.params) from None
    for name in ("premoderation", "allow_links"):
        if name in data:
            if not isinstance(data[name], bool):
                raise InvalidInput(N_("%(name)s harus true atau false."), name=name)
            changes[name] = data[name]
    if "pinned" in data:
        pinned = data["pinned"]
        if not isinstance(pinned, str) or len(pinned.strip()) > MAX_PINNED_CHARS:
            raise InvalidInput(
                N_("Pesan sematan paling banyak %(max)s karakter."), max=MAX_PINNED_CHARS
            )
        changes["pinned"] = pinned.strip()
    if not changes:
        raise InvalidInput(N_("Tidak ada pengaturan yang diubah."))
    settings = await request.app[keys.COMMENTS].update_settings(
        sitting_id(request), changes, actor=user.username
    )
    return web.json_response({"settings": vars(settings)})


@requires(MODERATORS)
async def list_words(request: web.Request) -> web.Response:
    words = await request.app[keys.COMMENTS].list_words()
    return web.json_response(
        {"items": [{"id": w.id, "pattern": w.pattern, "action": w.action} for w in words]}
    )


@requires(MODERATORS)
async def add_word(request: web.Request) -> web.Response:
    user = require_user(request)
    data = await read_json(request)
    try:
        action = WordAction(data.get("action", WordAction.BLOCK))
    except ValueError:
        raise InvalidInput(N_("Tindakan harus 'block' atau 'hold'.")) from None
    word = await request.app[keys.COMMENTS].add_word(
        data.get("pattern"), action, actor=user.username
    )
    return web.json_response(
        {"id": word.id, "pattern": word.pattern, "action": word.action}, status=201
    )


@requires(MODERATORS)
async def delete_word(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[keys.COMMENTS].delete_word(path_id(request, "word_id"), actor=user.username)
    return web.json_response({"deleted": True})


# Reports: any feature's items, reported by residents, reviewed here


async def report_form(request: web.Request) -> web.Response:
    kind, target_id = request.match_info["kind"], path_id(request, "target_id")
    target = await request.app[keys.REPORTS].describe(kind, target_id)
    sent = request.query.get("terkirim") == "1"
    return _report_page(request, target, {}, sent=sent)


async def send_report(request: web.Request) -> web.Response:
    kind, target_id = request.match_info["kind"], path_id(request, "target_id")
    service = request.app[keys.REPORTS]
    data = await request.post()
    response = redirect(f"/laporkan/{kind}/{target_id}?terkirim=1")
    try:
        sender = resident_sender(request, response)
        await service.report(kind, target_id, sender, data.get("reason"), data.get("note"))
    except Refused as error:
        target = await service.describe(kind, target_id)
        message = error_message(request.app[keys.TRANSLATIONS], error)
        field = "note" if error.code == "too_long" else "reason"
        status = 429 if error.code == "rate_limited" else 403 if error.code == "banned" else 400
        values = {k: v for k, v in data.items() if k in ("reason", "note")}
        return _report_page(request, target, {field: message}, values=values, status=status)
    return response


def _report_page(request, target, errors, *, values=None, sent=False, status=200):
    return render(
        request,
        "report.html",
        {
            "target": target,
            "reasons": REPORT_REASON_LABELS,
            "errors": errors,
            "values": values or {},
            "sent": sent,
        },
        status=status,
    )


@requires(MODERATORS)
async def report_queue(request: web.Request) -> web.Response:
    entries = await request.app[keys.REPORTS].queue()
    return render(
        request,
        "moderation_reports.html",
        {
            "entries": entries,
            "reasons": REPORT_REASON_LABELS,
            "states": REVIEW_STATE_LABELS,
            "done": request.query.get("tersimpan", ""),
        },
    )


@requires(MODERATORS)
async def restore_report(request: web.Request) -> web.Response:
    return await _decide(request, Decision.RESTORE)


@requires(MODERATORS)
async def confirm_report(request: web.Request) -> web.Response:
    return await _decide(request, Decision.CONFIRM)


async def _decide(request: web.Request, decision: Decision) -> web.Response:
    user = require_user(request)
    item_id = path_id(request, "item_id")
    await request.app[keys.REPORTS].decide(item_id, decision, actor=user.username)
    return redirect(f"/moderasi/laporan?tersimpan={decision.value}")


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise NotFound() from None


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get(r"/laporkan/{kind:[a-z_]+}/{target_id}", report_form, name="report")
    r.add_post(r"/laporkan/{kind:[a-z_]+}/{target_id}", send_report)
    r.add_get("/moderasi/laporan", report_queue, name="report_queue")
    r.add_post(r"/moderasi/laporan/{item_id}/pulihkan", restore_report)
    r.add_post(r"/moderasi/laporan/{item_id}/konfirmasi", confirm_report)
    r.add_get("/moderasi/kata-terlarang", list_words)
    r.add_post("/moderasi/kata-terlarang", add_word)
    r.add_post("/moderasi/kata-terlarang/{word_id}/hapus", delete_word)
    r.add_get(r"/moderasi/{sitting_id:\d+}", console, name="moderation")
    r.add_get(r"/moderasi/{sitting_id:\d+}/ws", moderator_socket)
    r.add_post(r"/moderasi/{sitting_id:\d+}/pengaturan", update_settings)
    r.add_post(r"/moderasi/{sitting_id:\d+}/komentar/{comment_id}/sembunyikan", hide)
    r.add_post(r"/moderasi/{sitting_id:\d+}/komentar/{comment_id}/tampilkan", show)
    r.add_post(r"/moderasi/{sitting_id:\d+}/komentar/{comment_id}/blokir", ban)
    r.add_post(r"/moderasi/blokir/{ban_id:\d+}/cabut", lift_ban)
