"""The room's command table: what members and the chair may send over the room socket.

Each command applies one change to the chair's state (server/domain/chair.py) under the room's
lock, through `RoomService.changing`, which then syncs media and broadcasts the new state.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from server.domain.chair import check_limit
from server.domain.errors import InvalidInput, PermissionDenied
from server.domain.votes import AttendanceMode
from server.i18n import N_
from server.room.session import REMOVED_CLOSE, Participant, RoomSession, member_key
from server.store import repo
from server.store.models import utcnow

if TYPE_CHECKING:
    from server.room.service import RoomService

Command = Callable[["RoomService", RoomSession, Participant, dict], Awaitable[None]]


async def run(
    rooms: RoomService, session: RoomSession, participant: Participant, frame: dict[str, Any]
) -> None:
    kind = frame.get("type")
    if kind in MEMBER_COMMANDS:
        if participant.member_id is None:
            raise PermissionDenied(N_("Perintah ini hanya untuk anggota DPRD."))
        command = MEMBER_COMMANDS[kind]
    elif kind in CHAIR_COMMANDS:
        if not participant.chair:
            raise PermissionDenied(N_("Perintah ini hanya untuk pimpinan rapat."))
        command = CHAIR_COMMANDS[kind]
    else:
        raise InvalidInput(N_("Jenis pesan tidak dikenal."))
    await command(rooms, session, participant, frame)


async def hand(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    async with rooms.changing(session):
        if frame.get("raise") is False:
            session.state.lower_hand(_member(who))
        else:
            session.state.raise_hand(_member(who), frame.get("interupsi") is True)


async def mic(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    async with rooms.changing(session):
        session.state.set_mic(_member(who), frame.get("open") is True)


async def give_floor(
    rooms: RoomService, session: RoomSession, who: Participant, frame: dict
) -> None:
    async with rooms.changing(session):
        session.state.give_floor(_target(frame), time.time(), _limit(frame))


async def next_speaker(
    rooms: RoomService, session: RoomSession, who: Participant, frame: dict
) -> None:
    async with rooms.changing(session):
        session.state.next_speaker(time.time(), _limit(frame))


async def take_floor(
    rooms: RoomService, session: RoomSession, who: Participant, frame: dict
) -> None:
    async with rooms.changing(session):
        session.state.take_floor()


async def extend(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    seconds = frame.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise InvalidInput(N_("Tambahan waktu harus bilangan detik."))
    async with rooms.changing(session):
        session.state.extend(seconds)


async def mute(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    async with rooms.changing(session):
        session.state.mute(_target(frame))


async def mute_all(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    async with rooms.changing(session):
        session.state.mute_all()


async def allow(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    async with rooms.changing(session):
        session.state.allow(_target(frame))


async def auto_mute(
    rooms: RoomService, session: RoomSession, who: Participant, frame: dict
) -> None:
    async with rooms.changing(session):
        session.state.auto_mute = frame.get("on") is True
        if isinstance(frame.get("default_limit_s"), int):
            session.state.default_limit_s = check_limit(frame["default_limit_s"])


async def readmit(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    async with rooms.changing(session):
        session.state.readmit(_target(frame))


async def remove(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    target = _target(frame)
    key = member_key(target)
    async with rooms.changing(session):
        session.state.remove(target)
        removed = session.connections.pop(key, None)
    await session.media.leave(key)
    if removed is not None:
        message = "Anda telah dikeluarkan dari ruang rapat oleh pimpinan."
        await removed[1].send({"type": "removed", "message": message})
        await removed[1].close(REMOVED_CLOSE, message)
    await rooms.member_left(session.sitting_id, target, utcnow())
    async with rooms.store.transaction() as db:
        await repo.audit(db, who.username, "room.remove", f"sitting:{session.sitting_id}", key)


async def open_vote(
    rooms: RoomService, session: RoomSession, who: Participant, frame: dict
) -> None:
    item = frame.get("agenda_item")
    if item is not None and (not isinstance(item, int) or isinstance(item, bool)):
        raise InvalidInput(N_("Acara yang dipilih tidak valid."))
    title = frame.get("title") or ""
    if not isinstance(title, str):
        raise InvalidInput(N_("Judul pemungutan suara harus berupa teks."))
    await rooms.votes.open_vote(
        session.sitting_id,
        who.username,
        title=title,
        agenda_item=item,
        duration_s=frame.get("duration_s"),
    )


async def close_vote(
    rooms: RoomService, session: RoomSession, who: Participant, frame: dict
) -> None:
    vote_id = frame.get("vote")
    if not isinstance(vote_id, int):
        raise InvalidInput(N_("Pemungutan suara yang dipilih tidak valid."))
    await rooms.votes.close_vote(session.sitting_id, vote_id, who.username)


async def ballot(rooms: RoomService, session: RoomSession, who: Participant, frame: dict) -> None:
    vote_id = frame.get("vote")
    if not isinstance(vote_id, int):
        raise InvalidInput(N_("Pemungutan suara yang dipilih tidak valid."))
    await rooms.votes.cast(
        session.sitting_id,
        vote_id,
        _member(who),
        frame.get("choice"),
        via=AttendanceMode.REMOTE,
        entered_by=who.username,
    )


def _member(participant: Participant) -> int:
    if participant.member_id is None:
        raise PermissionDenied(N_("Perintah ini hanya untuk anggota DPRD."))
    return participant.member_id


def _target(frame: dict) -> int:
    member_id = frame.get("member")
    if not isinstance(member_id, int) or isinstance(member_id, bool):
        raise InvalidInput(N_("Anggota yang dipilih tidak valid."))
    return member_id


def _limit(frame: dict) -> int | None:
    limit = frame.get("limit_s")
    return None if limit is None else check_limit(limit)


MEMBER_COMMANDS: dict[str, Command] = {"hand": hand, "mic": mic, "ballot": ballot}
CHAIR_COMMANDS: dict[str, Command] = {
    "floor": give_floor,
    "next": next_speaker,
    "take_floor": take_floor,
    "extend": extend,
    "mute": mute,
    "mute_all": mute_all,
    "allow": allow,
    "remove": remove,
    "readmit": readmit,
    "auto_mute": auto_mute,
    "open_vote": open_vote,
    "close_vote": close_vote,
}
