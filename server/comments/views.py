"""The public comment socket (DESIGN.md "Comment socket protocol") and the viewer heartbeat."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from server import keys
from server.comments import frames
from server.comments.hub import Listener
from server.comments.service import CommentService
from server.cookies import read_cookie, set_cookie
from server.domain.errors import InvalidInput, PermissionDenied
from server.domain.moderation import RefusalCode, Refused, Sender
from server.edge import InvalidJson, loads_json
from server.http import error_message, read_json, sitting_id
from server.i18n import N_, Translations
from server.middlewares import CLIENT_IP_KEY
from server.signing import BadSignature
from server.store import repo

IDENTITY_COOKIE = "sidang_warga"
DEVICE_COOKIE = "sidang_perangkat"
IDENTITY_MAX_AGE_S = 365 * 86400
HEARTBEAT_S = 30.0
MAX_FRAME_BYTES = 8 * 1024
VIEWER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
HELD_MESSAGE = N_("Komentar Anda menunggu persetujuan moderator.")


def check_origin(request: web.Request) -> None:
    """Browsers always send Origin on a WebSocket; a page on another site must not use ours
    (it would ride the resident's identity cookie). Non-browser clients send none."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    parts = urlsplit(origin)
    public = urlsplit(request.app[keys.CONFIG].public_url)
    if parts.netloc != request.host and (parts.scheme, parts.netloc) != (
        public.scheme,
        public.netloc,
    ):
        raise PermissionDenied(N_("Koneksi dari situs lain ditolak."))


def open_socket(request: web.Request) -> web.WebSocketResponse:
    """No per-message compression: a zlib context per socket would cost more memory than the
    whole rest of the connection, and comments are short."""
    return web.WebSocketResponse(
        compress=False, heartbeat=HEARTBEAT_S, max_msg_size=MAX_FRAME_BYTES, timeout=5.0
    )


async def check_sitting(request: web.Request, sitting: int, *, public_only: bool) -> None:
    """In a function of its own, so the database session does not stay in the frame of a socket
    handler for as long as the connection lives (some 20 objects each, times 5,000 sockets)."""
    async with request.app[keys.STORE].read() as session:
        await repo.get_sitting(session, sitting, public_only=public_only)


@asynccontextmanager
async def joined(
    request: web.Request, ws: web.WebSocketResponse, sitting: int, *, moderator: bool
) -> AsyncIterator[Listener]:
    """Hand the socket to this node's room for the sitting, and take it back however it ends."""
    await ws.prepare(request)
    service = request.app[keys.COMMENTS]
    service.watched.add(sitting)
    hub = service.hub
    listener = await hub.join(sitting, ws, request.transport, moderator=moderator)
    try:
        yield listener
    finally:
        await hub.leave(listener)


async def comment_socket(request: web.Request) -> web.WebSocketResponse:
    check_origin(request)
    sitting = sitting_id(request)
    await check_sitting(request, sitting, public_only=True)
    service = request.app[keys.COMMENTS]
    ws = open_socket(request)
    sender = resident_sender(request, ws)
    metrics = request.app[keys.METRICS]
    translations = request.app[keys.TRANSLATIONS]
    async with joined(request, ws, sitting, moderator=False):
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                reply = await _on_frame(service, translations, sitting, sender, message.data)
                metrics.inc("sidang_comments_total", outcome=_outcome(reply))
                if reply is not None:
                    await ws.send_str(frames.dumps(reply))
    return ws


def resident_sender(request: web.Request, response: web.StreamResponse) -> Sender:
    """The resident behind a request as the moderation gate keys them: the browser's comment
    identity, its device and its address (missing cookies are set on `response`). Comments,
    reports and the forum share it, so a ban holds in all of them."""
    return request.app[keys.COMMENTS].sender(
        _token(request, response, IDENTITY_COOKIE, "comment-identity"),
        request[CLIENT_IP_KEY],
        _token(request, response, DEVICE_COOKIE, "comment-device"),
    )


def _token(request: web.Request, response: web.StreamResponse, cookie: str, purpose: str) -> str:
    """A random token in a signed cookie, set on the socket handshake when missing. Two of them:
    the anonymous identity a display name and a ban are bound to, and the device, a second
    signal of the same browser that stays when the identity cookie alone is cleared, so a
    banned resident who does that is still recognised without banning the whole address."""
    signer = request.app[keys.SIGNER]
    try:
        return str(signer.unsign(purpose, read_cookie(request, cookie) or "", IDENTITY_MAX_AGE_S))
    except BadSignature:
        token = secrets.token_urlsafe(18)
    set_cookie(request, response, cookie, signer.sign(purpose, token), IDENTITY_MAX_AGE_S)
    return token


async def _on_frame(
    service: CommentService, translations: Translations, sitting: int, sender: Sender, raw: str
) -> frames.Frame | None:
    """The reply to a resident's frame, if any; messages in the resident's language."""
    try:
        data = loads_json(raw)
    except InvalidJson:
        data = None
    if not isinstance(data, dict) or data.get("type") != "post":
        message = translations.gettext(N_("Jenis pesan tidak dikenal."))
        return frames.error(RefusalCode.INVALID, message)
    try:
        posted = await service.post(
            sitting, sender, data.get("name"), data.get("text"), data.get("question") is True
        )
    except Refused as exc:
        return frames.error(exc.code, error_message(translations, exc))
    if posted.held:
        message = translations.gettext(HELD_MESSAGE)
        return {"type": "held", "id": posted.record["id"], "message": message}
    return None


def _outcome(reply: frames.Frame | None) -> str:
    if reply is None:
        return "published"
    return reply["type"] if reply["type"] == "held" else reply["code"]


async def heartbeat(request: web.Request) -> web.Response:
    """POST /sidang/{id}/penonton {"viewer": "<random id>"} from a player with no socket."""
    data = await read_json(request)
    viewer = data.get("viewer")
    if not isinstance(viewer, str) or not VIEWER_ID.fullmatch(viewer):
        raise InvalidInput(N_("Tanda penonton tidak valid."))
    count = await request.app[keys.COMMENTS].heartbeat(
        sitting_id(request), viewer, request[CLIENT_IP_KEY]
    )
    return web.json_response({"viewers": count})


def setup(app: web.Application) -> None:
    app.router.add_get("/sidang/{sitting_id}/komentar/ws", comment_socket, name="comment_socket")
    app.router.add_post("/sidang/{sitting_id}/penonton", heartbeat, name="viewer_heartbeat")
