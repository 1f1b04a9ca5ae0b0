"""The member room over HTTP: the page, the signaling socket, hall data from staff, and the
public quorum summary.

The socket protocol (docs/ROOM_PROTOCOL.md has the full tables), JSON text frames:
- server → client: `hello` (who you are, ICE servers), `answer` (SDP), `state` (members, queue,
  floor and timer, quorum, the open vote; after every change), `error` (a refused command, with
  a message), `removed` (close 4003), `ended` (close 4010); a newer socket of the same person
  closes the older one with 4009.
- client → server: `join` (an SDP offer with every candidate; again = reconnect), `hand`, `mic`,
  `ballot`; the chair also `floor`, `next`, `take_floor`, `extend`, `mute`, `mute_all`, `allow`,
  `remove`, `readmit`, `auto_mute`, `open_vote`, `close_vote`.

Every route admits the same people (`admit`): logged-in members, pimpinan and sekretariat (and
admin), and for a closed sitting only those who take part in it. Anyone else gets a 403 with a
message, the socket too, before it is upgraded.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from server import keys
from server.auth import CurrentUser, get_user, require_user, requires
from server.comments.views import check_origin
from server.domain.chair import may_chair, takes_part
from server.domain.errors import DomainError, InvalidInput, PermissionDenied
from server.domain.localtime import ZONE_LABELS
from server.domain.roles import MEMBERS_ROOM, STAFF, Role
from server.domain.sitting import SittingStatus
from server.domain.votes import CHOICE_LABELS, AttendanceMode
from server.edge import InvalidJson, loads_json
from server.forward import forward_socket, owner_elsewhere
from server.http import error_message, path_id, read_json, sitting_id
from server.i18n import N_
from server.room.session import Participant
from server.room.shapes import public_summary
from server.store import repo
from server.store import room as room_store
from server.store.models import Member, Sitting
from server.templating import render

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
MAX_FRAME_BYTES = 64 * 1024  # an SDP offer with every candidate is a few kB
QUORUM_TEXT = N_("Kuorum: {present}/{seats} hadir, syarat {required}")
FINAL_TEXT = N_("Kehadiran akhir: {present} dari {seats} anggota hadir (kuorum {required})")


async def admit(request: web.Request) -> tuple[CurrentUser, Sitting, Member | None]:
    user = get_user(request)
    if user is None:
        raise PermissionDenied(
            N_(
                "Ruang rapat hanya untuk anggota DPRD, pimpinan dan sekretariat. "
                "Silakan masuk terlebih dahulu."
            )
        )
    if not user.has(MEMBERS_ROOM):
        raise PermissionDenied(
            N_("Ruang rapat hanya untuk anggota DPRD, pimpinan dan sekretariat.")
        )
    async with request.app[keys.STORE].read() as session:
        sitting = await repo.get_sitting(session, sitting_id(request), public_only=False)
        member = await session.get(Member, user.member_id) if user.member_id else None
    if user.role is Role.ANGGOTA and member is None:
        raise PermissionDenied(
            N_("Akun Anda belum ditautkan ke data anggota DPRD. Hubungi sekretariat.")
        )
    if not takes_part(
        role=user.role,
        is_public=sitting.is_public,
        sitting_type=sitting.type,
        sitting_komisi=sitting.komisi,
        member_komisi=member.komisi if member else None,
    ):
        raise PermissionDenied(N_("Rapat ini tertutup; Anda tidak termasuk peserta rapat ini."))
    return user, sitting, member


def participant_for(user: CurrentUser, member: Member | None) -> Participant:
    return Participant(
        user.id,
        user.username,
        user.role,
        member.id if member else None,
        member.name if member else user.username,
    )


async def room_page(request: web.Request) -> web.Response:
    """Open while the sitting is live, whichever node runs its media: behind nginx the page
    may come from a node that does not own the sitting (the socket is forwarded to the owner),
    and after the owner dies the room reopens on the node that takes it over."""
    user, sitting, member = await admit(request)
    context: dict[str, Any] = {
        "sitting": sitting,
        "live": sitting.status == SittingStatus.LIVE.value,
        "member": member,
        "chair": may_chair(user.role),
        "staff": user.has(STAFF),
        "ice_servers": json.dumps(request.app[keys.CONFIG].ice_servers),
        "choices": CHOICE_LABELS,
        "choice_labels": json.dumps(_choice_labels(request)),
        "timezone": request.app[keys.CONFIG].timezone,
        "zone_label": ZONE_LABELS.get(request.app[keys.CONFIG].timezone, ""),
        "comments_readonly": True,  # members read residents' comments here; they post elsewhere
    }
    if user.has(STAFF):
        async with request.app[keys.STORE].read() as session:
            context["members"] = await repo.list_members(session)
            context["in_hall"] = (await room_store.present_by_mode(session, sitting.id))[
                AttendanceMode.HALL
            ]
    return render(request, "room.html", context)


async def room_socket(request: web.Request) -> web.WebSocketResponse:
    check_origin(request)
    user, sitting, member = await admit(request)
    if (owner := await owner_elsewhere(request, sitting.id)) is not None:
        return await forward_socket(request, owner, HEARTBEAT_S, MAX_FRAME_BYTES)
    if sitting.id not in request.app[keys.LIVE].sittings:
        raise PermissionDenied(N_("Rapat ini tidak sedang disiarkan; ruang rapat belum dibuka."))
    rooms = request.app[keys.ROOMS]
    translations = request.app[keys.TRANSLATIONS]
    participant = participant_for(user, member)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_FRAME_BYTES, compress=False)
    await ws.prepare(request)
    connection = SocketConnection(ws)
    try:
        session = await rooms.enter(sitting.id, participant, connection)
    except DomainError as exc:
        await connection.send({"type": "error", "message": error_message(translations, exc)})
        await ws.close(code=4003, message=b"refused")
        return ws
    try:
        await connection.send(
            {
                "type": "hello",
                "you": {
                    "key": participant.key,
                    "member": participant.member_id,
                    "name": participant.name,
                    "chair": participant.chair,
                },
                "ice_servers": request.app[keys.CONFIG].ice_servers,
            }
        )
        await connection.send(rooms.snapshot(session))
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                frame = _parse(message.data)
                if frame["type"] == "join":
                    answer = await rooms.join_media(
                        session, participant, _sdp(frame), frame.get("audio_only") is True
                    )
                    await connection.send({"type": "answer", "sdp": answer})
                else:
                    await rooms.command(session, participant, frame)
            except DomainError as exc:
                message = error_message(translations, exc)
                await connection.send({"type": "error", "message": message})
            except Exception:
                log.exception("room %s: frame from %s failed", sitting.id, participant.key)
                message = translations.gettext(N_("Terjadi kesalahan di server."))
                await connection.send({"type": "error", "message": message})
    finally:
        await rooms.disconnected(session, participant, connection)
    return ws


class SocketConnection:
    """The room's view of one socket: JSON frames out, a close with a reason."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def send(self, frame: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(frame))

    async def close(self, code: int, message: str) -> None:
        await self.ws.close(code=code, message=message.encode()[:120])


def _parse(raw: str) -> dict[str, Any]:
    try:
        frame = loads_json(raw)
    except InvalidJson:
        frame = None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise InvalidInput(N_("Jenis pesan tidak dikenal."))
    return frame


def _sdp(frame: dict[str, Any]) -> str:
    sdp = frame.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise InvalidInput(N_("SDP offer tidak valid."))
    return sdp


# -- staff: the hall -----------------------------------------------------------------------------


@requires(STAFF)
async def mark_hall(request: web.Request) -> web.Response:
    """POST {"member_id": 12, "present": true}: a member seen in the hall (or gone from it)."""
    user = require_user(request)
    sid = sitting_id(request)
    data = await read_json(request)
    member_id = _member_id(data)
    async with request.app[keys.STORE].transaction() as session:
        await repo.get_sitting(session, sid, public_only=False)
        await room_store.get_member(session, member_id)
        if data.get("present") is False:
            await room_store.mark_absent(session, sid, member_id, AttendanceMode.HALL)
        else:
            await room_store.mark_present(
                session, sid, member_id, AttendanceMode.HALL, marked_by=user.username
            )
        await repo.audit(
            session, user.username, "attendance.hall", f"sitting:{sid}", f"member:{member_id}"
        )
    await request.app[keys.ROOMS].votes.attendance_changed(sid)
    return web.json_response({"ok": True, "present": data.get("present") is not False})


@requires(STAFF)
async def hall_state(request: web.Request) -> web.Response:
    """GET: the hall panel's data (open vote, hall and remote presence, ballots in), so staff
    enter hall data without joining the room."""
    state = await request.app[keys.ROOMS].votes.hall_state(sitting_id(request))
    return web.json_response(state, headers={"Cache-Control": "no-store"})


@requires(STAFF)
async def hall_ballot(request: web.Request) -> web.Response:
    """POST {"member_id": 12, "choice": "setuju"}: staff enter a hall member's ballot."""
    user = require_user(request)
    data = await read_json(request)
    member_id = _member_id(data)
    await request.app[keys.ROOMS].votes.cast(
        sitting_id(request),
        path_id(request, "vote_id"),
        member_id,
        data.get("choice"),
        via=AttendanceMode.HALL,
        entered_by=user.username,
    )
    return web.json_response({"ok": True, "member_id": member_id, "choice": data["choice"]})


@requires(STAFF)
async def hall_ballots_bulk(request: web.Request) -> web.Response:
    """POST {"choice": "setuju", "except": {"12": "tidak_setuju", "13": null}}: every member
    present in the hall votes `choice`, except those listed (another choice, or none)."""
    user = require_user(request)
    data = await read_json(request)
    exceptions = data.get("except") or {}
    if not isinstance(exceptions, dict):
        raise InvalidInput(N_("Daftar pengecualian tidak valid."), {"except": "objek"})
    try:
        parsed = {int(member): choice for member, choice in exceptions.items()}
    except ValueError:
        raise InvalidInput(N_("Daftar pengecualian tidak valid."), {"except": "objek"}) from None
    plan = await request.app[keys.ROOMS].votes.cast_hall_bulk(
        sitting_id(request),
        path_id(request, "vote_id"),
        data.get("choice"),
        parsed,
        entered_by=user.username,
    )
    return web.json_response(
        {
            "recorded": {str(m): c.value for m, c in plan.ballots.items()},
            "remote": sorted(plan.remote),
            "already_voted": sorted(plan.already_voted),
        }
    )


def _member_id(data: dict[str, Any]) -> int:
    value = data.get("member_id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(N_("member_id harus berupa angka."), {"member_id": "wajib"})
    return value


# -- public --------------------------------------------------------------------------------------


async def quorum_summary(request: web.Request) -> web.Response:
    """GET /sidang/{id}/kuorum: what the watch page polls (quorum and vote results)."""
    app = request.app
    summary = await public_summary(app[keys.STORE], app[keys.BUS], sitting_id(request))
    quorum = summary["quorum"]
    text = app[keys.TRANSLATIONS].gettext(QUORUM_TEXT if summary["live"] else FINAL_TEXT)
    return web.json_response(
        {**summary, "text": text.format(**quorum), "labels": _choice_labels(request)},
        headers={"Cache-Control": "no-cache"},
    )


def _choice_labels(request: web.Request) -> dict[str, str]:
    """The ballot choices in the reader's language, for the page scripts."""
    gettext = request.app[keys.TRANSLATIONS].gettext
    return {choice.value: gettext(label) for choice, label in CHOICE_LABELS.items()}


# -- wiring --------------------------------------------------------------------------------------


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/ruang/{sitting_id}", room_page, name="room")
    r.add_get("/ruang/{sitting_id}/ws", room_socket, name="room_socket")
    r.add_post("/ruang/{sitting_id}/hadir", mark_hall, name="room_hall_attendance")
    r.add_get("/ruang/{sitting_id}/aula", hall_state, name="room_hall_state")
    r.add_post("/ruang/{sitting_id}/suara/{vote_id}", hall_ballot, name="room_hall_ballot")
    r.add_post(
        "/ruang/{sitting_id}/suara/{vote_id}/semua", hall_ballots_bulk, name="room_hall_bulk"
    )
    r.add_get("/sidang/{sitting_id}/kuorum", quorum_summary, name="quorum_summary")
