"""The member room's glue: one RoomSession per live sitting on this node.

A session joins the chair's state machine (server/domain/chair.py), the media room
(media/room.py: peers, tracks, the server-side hard mute), the program layout, the store
(attendance rows, votes) and the bus. After every change it pushes what follows from the state:
`set_audio_allowed` for each member whose answer changed, the FLOOR or HALL layout when the floor
changes hands, and one `state` frame to every connection. The protocol is in docs/ROOM_PROTOCOL.md.

Attendance and votes can also change from plain HTTP (staff marking hall attendance or entering
hall ballots) on any node, so those handlers publish on the bus channel `room:{sitting}`; the
session that owns the room reads it and refreshes. The public quorum/vote summary is cached on the
bus for a few seconds and dropped on every change, so thousands of polling viewers cost one query
per sitting every few seconds, cluster-wide.

This module has no aiohttp types: a connection is anything with `send` and `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from media.ingest import InvalidOffer
from media.live import LiveSitting
from media.program import Layout, LayoutKind
from media.room import MemberRoom, PeerOptions
from server.bus import Bus
from server.domain.chair import ChairState, check_limit, may_chair
from server.domain.errors import Conflict, InvalidInput, PermissionDenied
from server.domain.roles import Role
from server.domain.sitting import SittingStatus
from server.domain.votes import (
    AttendanceMode,
    HallPlan,
    Quorum,
    Totals,
    VoteStatus,
    check_hall_ballot,
    deadline,
    parse_choice,
    plan_hall_ballots,
)
from server.i18n import N_
from server.live.service import LiveService
from server.store import Store, repo
from server.store import room as room_store
from server.store.models import Attendance, Vote, utcnow

log = logging.getLogger(__name__)

GRACE_S = 60.0
TICK_S = 0.5
PUBLIC_CACHE_TTL_S = 5.0
REMOVED_CLOSE = 4003
REPLACED_CLOSE = 4009
ENDED_CLOSE = 4010
CAMERA_RENDITION = "720p"
AUDIO_ONLY_RENDITION = "360p"  # no camera up, and a lighter program down


def channel_for(sitting_id: int) -> str:
    return f"room:{sitting_id}"


def public_cache_key(sitting_id: int) -> str:
    return f"room:public:{sitting_id}"


class MediaRoom(Protocol):
    """What the glue needs of media.room.MemberRoom (tests may pass a stand-in)."""

    on_state: Callable[[str, str], None] | None

    async def join(self, member_key: str, offer_sdp: str, options: PeerOptions = ...) -> str: ...

    async def leave(self, member_key: str) -> None: ...

    def set_audio_allowed(self, member_key: str, allowed: bool) -> None: ...

    async def close(self) -> None: ...


RoomFactory = Callable[[LiveSitting, list[dict]], MediaRoom]


class Connection(Protocol):
    async def send(self, frame: dict[str, Any]) -> None: ...

    async def close(self, code: int, message: str) -> None: ...


@dataclass(frozen=True)
class Participant:
    """A logged-in user in the room. Members have seats; staff without a member record only
    watch, assist the chair and enter hall data."""

    user_id: int
    username: str
    role: Role
    member_id: int | None
    name: str

    @property
    def key(self) -> str:
        """The media room's key for this person's peer."""
        return member_key(self.member_id) if self.member_id else f"user:{self.user_id}"

    @property
    def chair(self) -> bool:
        return may_chair(self.role)


def member_key(member_id: int) -> str:
    return str(member_id)


def program_input(member_id: int) -> str:
    """The program input the media room adds for a member (`member:{key}`), which is what a
    FLOOR layout names."""
    return f"member:{member_key(member_id)}"


@dataclass
class RoomSession:
    sitting_id: int
    live: LiveSitting
    media: MediaRoom
    state: ChairState = field(default_factory=ChairState)
    connections: dict[str, tuple[Participant, Connection]] = field(default_factory=dict)
    media_state: dict[str, str] = field(default_factory=dict)
    audio: dict[str, bool] = field(default_factory=dict)
    floor_on_program: int | None = None
    quorum: Quorum | None = None
    vote: dict[str, Any] | None = None
    voted: set[int] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    listener: asyncio.Task | None = None


class RoomService:
    """The registry of this node's rooms, plus one housekeeping task for timers and graces."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        live: LiveService,
        ice_servers: list[dict],
        *,
        room_factory: RoomFactory = MemberRoom,
        grace_s: float = GRACE_S,
        tick_s: float = TICK_S,
    ) -> None:
        self.store = store
        self.bus = bus
        self.live = live
        self.ice_servers = ice_servers
        self.room_factory = room_factory
        self.grace_s = grace_s
        self.tick_s = tick_s
        self.rooms: dict[int, RoomSession] = {}
        self._housekeeping: asyncio.Task | None = None
        self._create_lock = asyncio.Lock()

    async def start(self) -> None:
        self._housekeeping = asyncio.create_task(self._keep_house(), name="room-housekeeping")

    async def close(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        for sitting_id in list(self.rooms):
            await self._close_room(sitting_id, "Server dihentikan.")

    # -- entering and leaving ---------------------------------------------------------------------

    async def enter(
        self, sitting_id: int, participant: Participant, connection: Connection
    ) -> RoomSession:
        """Register a connection; a second connection of the same person replaces the first
        (a reconnection whose old socket has not timed out yet)."""
        session = await self._room(sitting_id)
        async with session.lock:
            if participant.member_id is not None:
                session.state.join(participant.member_id, participant.name, participant.chair)
            previous = session.connections.get(participant.key)
            session.connections[participant.key] = (participant, connection)
        if previous is not None:
            await previous[1].close(REPLACED_CLOSE, "Tersambung dari koneksi lain.")
        if participant.member_id is not None:
            async with self.store.transaction() as db:
                await room_store.mark_present(
                    db, sitting_id, participant.member_id, AttendanceMode.REMOTE
                )
            await self.attendance_changed(sitting_id)
        else:
            await self._broadcast(session)
        return session

    async def join_media(
        self, session: RoomSession, participant: Participant, offer_sdp: str, audio_only: bool
    ) -> str:
        """Answer a member's offer; the same key again replaces their peer (a reconnection).
        Media starts muted, so the member's current right to be heard is applied at once."""
        options = PeerOptions(rendition=AUDIO_ONLY_RENDITION if audio_only else CAMERA_RENDITION)
        try:
            answer = await session.media.join(participant.key, offer_sdp, options)
        except InvalidOffer as exc:
            raise InvalidInput(N_("SDP offer tidak valid: %(error)s"), error=exc) from None
        async with session.lock:
            session.audio.pop(participant.key, None)
            self._sync_media(session)
        return answer

    async def disconnected(
        self, session: RoomSession, participant: Participant, connection: Connection
    ) -> None:
        """The socket closed. A member's seat is held for the grace period; staff just go."""
        async with session.lock:
            current = session.connections.get(participant.key)
            if current is None or current[1] is not connection:
                return
            del session.connections[participant.key]
            if participant.member_id is not None:
                session.state.disconnect(participant.member_id, time.time())
        if participant.member_id is None:
            await session.media.leave(participant.key)
        await self._broadcast(session)

    # -- commands ---------------------------------------------------------------------------------

    async def command(
        self, session: RoomSession, participant: Participant, frame: dict[str, Any]
    ) -> None:
        kind = frame.get("type")
        member_commands = {"hand": self._hand, "mic": self._mic, "ballot": self._ballot}
        chair_commands = {
            "floor": self._give_floor,
            "next": self._next,
            "take_floor": self._take_floor,
            "extend": self._extend,
            "mute": self._mute,
            "mute_all": self._mute_all,
            "allow": self._allow,
            "remove": self._remove,
            "readmit": self._readmit,
            "auto_mute": self._auto_mute,
            "open_vote": self._open_vote,
            "close_vote": self._close_vote,
        }
        if kind in member_commands:
            if participant.member_id is None:
                raise PermissionDenied(N_("Perintah ini hanya untuk anggota DPRD."))
            handler = member_commands[kind]
        elif kind in chair_commands:
            if not participant.chair:
                raise PermissionDenied(N_("Perintah ini hanya untuk pimpinan rapat."))
            handler = chair_commands[kind]
        else:
            raise InvalidInput(N_("Jenis pesan tidak dikenal."))
        await handler(session, participant, frame)

    async def _hand(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            if frame.get("raise") is False:
                session.state.lower_hand(_member(who))
            else:
                session.state.raise_hand(_member(who), frame.get("interupsi") is True)

    async def _mic(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.set_mic(_member(who), frame.get("open") is True)

    async def _give_floor(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.give_floor(_target(frame), time.time(), _limit(frame))

    async def _next(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.next_speaker(time.time(), _limit(frame))

    async def _take_floor(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.take_floor()

    async def _extend(self, session: RoomSession, who: Participant, frame: dict) -> None:
        seconds = frame.get("seconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise InvalidInput(N_("Tambahan waktu harus bilangan detik."))
        async with self._changing(session):
            session.state.extend(seconds)

    async def _mute(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.mute(_target(frame))

    async def _mute_all(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.mute_all()

    async def _allow(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.allow(_target(frame))

    async def _auto_mute(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.auto_mute = frame.get("on") is True
            if isinstance(frame.get("default_limit_s"), int):
                session.state.default_limit_s = check_limit(frame["default_limit_s"])

    async def _readmit(self, session: RoomSession, who: Participant, frame: dict) -> None:
        async with self._changing(session):
            session.state.readmit(_target(frame))

    async def _remove(self, session: RoomSession, who: Participant, frame: dict) -> None:
        target = _target(frame)
        key = member_key(target)
        async with self._changing(session):
            session.state.remove(target)
            removed = session.connections.pop(key, None)
        await session.media.leave(key)
        if removed is not None:
            message = "Anda telah dikeluarkan dari ruang rapat oleh pimpinan."
            await removed[1].send({"type": "removed", "message": message})
            await removed[1].close(REMOVED_CLOSE, message)
        await self._member_left(session.sitting_id, target, utcnow())
        async with self.store.transaction() as db:
            await repo.audit(db, who.username, "room.remove", f"sitting:{session.sitting_id}", key)

    # -- votes ------------------------------------------------------------------------------------

    async def _open_vote(self, session: RoomSession, who: Participant, frame: dict) -> None:
        item = frame.get("agenda_item")
        if item is not None and (not isinstance(item, int) or isinstance(item, bool)):
            raise InvalidInput(N_("Acara yang dipilih tidak valid."))
        title = frame.get("title") or ""
        if not isinstance(title, str):
            raise InvalidInput(N_("Judul pemungutan suara harus berupa teks."))
        now = utcnow()
        closes_at = deadline(now, frame.get("duration_s"))
        async with self.store.transaction() as db:
            sitting = await repo.get_sitting(db, session.sitting_id, public_only=False)
            vote = await room_store.open_vote(
                db,
                sitting,
                title=title,
                agenda_item_id=item,
                closes_at=closes_at,
                opened_by=who.username,
                now=now,
            )
            await repo.audit(
                db, who.username, "vote.open", f"sitting:{sitting.id}", f"vote:{vote.id}"
            )
        await self.votes_changed(session.sitting_id)

    async def _close_vote(self, session: RoomSession, who: Participant, frame: dict) -> None:
        vote_id = frame.get("vote")
        if not isinstance(vote_id, int):
            raise InvalidInput(N_("Pemungutan suara yang dipilih tidak valid."))
        await self.close_vote(session.sitting_id, vote_id, who.username)

    async def close_vote(self, sitting_id: int, vote_id: int, actor: str) -> None:
        async with self.store.transaction() as db:
            vote = await room_store.get_vote(db, sitting_id, vote_id)
            if await room_store.close_vote(db, vote, utcnow()):
                target = f"sitting:{sitting_id}"
                await repo.audit(db, actor, "vote.close", target, f"vote:{vote_id}")
        await self.votes_changed(sitting_id)

    async def _ballot(self, session: RoomSession, who: Participant, frame: dict) -> None:
        vote_id = frame.get("vote")
        if not isinstance(vote_id, int):
            raise InvalidInput(N_("Pemungutan suara yang dipilih tidak valid."))
        await self.cast(
            session.sitting_id,
            vote_id,
            _member(who),
            frame.get("choice"),
            via=AttendanceMode.REMOTE,
            entered_by=who.username,
        )

    async def cast(
        self,
        sitting_id: int,
        vote_id: int,
        member_id: int,
        choice: object,
        *,
        via: AttendanceMode,
        entered_by: str,
    ) -> None:
        """One ballot, remote or entered by staff for a member in the hall. Only a member who
        is present in that way may vote."""
        parsed = parse_choice(choice)
        async with self.store.transaction() as db:
            present = await room_store.present_by_mode(db, sitting_id)
            if via is AttendanceMode.HALL:
                check_hall_ballot(member_id, present)
            elif member_id not in present[via]:
                raise Conflict(N_("Anda belum tercatat hadir di ruang rapat."))
            vote = await room_store.get_vote(db, sitting_id, vote_id)
            await room_store.cast_ballot(
                db, vote, member_id, parsed, via=via, entered_by=entered_by, now=utcnow()
            )
        await self.votes_changed(sitting_id)

    async def cast_hall_bulk(
        self,
        sitting_id: int,
        vote_id: int,
        default: object,
        exceptions: dict[int, object],
        *,
        entered_by: str,
    ) -> HallPlan:
        """Staff's "all present in the hall vote X, except ..." in one transaction: all the
        ballots are recorded, or none."""
        choice = parse_choice(default)
        parsed = {m: None if c in (None, "") else parse_choice(c) for m, c in exceptions.items()}
        async with self.store.transaction() as db:
            present = await room_store.present_by_mode(db, sitting_id)
            vote = await room_store.get_vote(db, sitting_id, vote_id)
            voted = {b.member_id for b in vote.ballots}
            plan = plan_hall_ballots(choice, parsed, present, voted)
            now = utcnow()
            for member_id, ballot in plan.ballots.items():
                await room_store.cast_ballot(
                    db,
                    vote,
                    member_id,
                    ballot,
                    via=AttendanceMode.HALL,
                    entered_by=entered_by,
                    now=now,
                )
            await repo.audit(
                db,
                entered_by,
                "vote.hall_bulk",
                f"sitting:{sitting_id}",
                f"vote:{vote_id} {len(plan.ballots)}",
            )
        await self.votes_changed(sitting_id)
        return plan

    async def hall_state(self, sitting_id: int) -> dict[str, Any]:
        """What the staff's hall panel needs, without joining the room: the open vote, who is
        in the hall, who is connected remotely, and whose ballot is in."""
        async with self.store.read() as db:
            await repo.get_sitting(db, sitting_id, public_only=False)
            present = await room_store.present_by_mode(db, sitting_id)
            vote = await room_store.current_vote(db, sitting_id)
            ballots = [] if vote is None else vote.ballots
        return {
            "vote": None if vote is None else {"id": vote.id, "title": vote.title},
            "hall": sorted(present[AttendanceMode.HALL]),
            "remote": sorted(present[AttendanceMode.REMOTE]),
            "ballots": {str(b.member_id): {"via": b.via, "choice": b.choice} for b in ballots},
        }

    # -- changes from anywhere --------------------------------------------------------------------

    async def attendance_changed(self, sitting_id: int) -> None:
        await self._changed(sitting_id, "attendance")

    async def votes_changed(self, sitting_id: int) -> None:
        await self._changed(sitting_id, "vote")

    async def _changed(self, sitting_id: int, what: str) -> None:
        await self.bus.delete_value(public_cache_key(sitting_id))
        await self.bus.publish(channel_for(sitting_id), {"type": what})

    # -- internals --------------------------------------------------------------------------------

    async def _room(self, sitting_id: int) -> RoomSession:
        async with self._create_lock:
            session = self.rooms.get(sitting_id)
            if session is not None:
                return session
            live = self.live.sittings.get(sitting_id)
            if live is None:
                raise Conflict(
                    N_("Rapat ini belum disiarkan; ruang rapat dibuka saat siaran dimulai.")
                )
            media = self.room_factory(live, self.ice_servers)
            session = RoomSession(sitting_id, live, media)
            media.on_state = lambda key, state: self._on_media_state(session, key, state)
            await self._refresh(session)
            session.listener = asyncio.create_task(
                self._listen(session), name=f"room-{sitting_id}-bus"
            )
            self.rooms[sitting_id] = session
            return session

    def _on_media_state(self, session: RoomSession, key: str, state: str) -> None:
        session.media_state[key] = state
        asyncio.get_running_loop().create_task(self._broadcast(session))

    async def _listen(self, session: RoomSession) -> None:
        with self.bus.subscribe(channel_for(session.sitting_id), maxsize=100) as events:
            async for _event in events:
                try:
                    await self._refresh(session)
                    await self._broadcast(session)
                except Exception:
                    log.exception("room %s could not refresh", session.sitting_id)

    async def _refresh(self, session: RoomSession) -> None:
        """Quorum and the open vote, from the store (the truth on every node)."""
        async with self.store.read() as db:
            sitting = await repo.get_sitting(db, session.sitting_id, public_only=False)
            session.quorum = await room_store.quorum(db, sitting)
            vote = await room_store.current_vote(db, session.sitting_id)
            session.vote = None if vote is None else vote_json(vote, live=True)
            session.voted = set() if vote is None else {b.member_id for b in vote.ballots}

    @contextlib.asynccontextmanager
    async def _changing(self, session: RoomSession):
        """Apply a state change under the room's lock, then push what follows from it."""
        async with session.lock:
            yield
            self._sync_media(session)
        await self._broadcast(session)

    def _sync_media(self, session: RoomSession) -> None:
        state = session.state
        for member_id in state.seats:
            key = member_key(member_id)
            allowed = state.audio_allowed(member_id)
            if session.audio.get(key) != allowed:
                session.audio[key] = allowed
                session.media.set_audio_allowed(key, allowed)
        holder = state.floor.member_id if state.floor is not None else None
        if holder != session.floor_on_program:
            session.floor_on_program = holder
            layout = (
                Layout(LayoutKind.HALL)
                if holder is None
                else Layout(LayoutKind.FLOOR, floor=program_input(holder))
            )
            session.live.set_layout(layout)

    async def _broadcast(self, session: RoomSession) -> None:
        frame = self.snapshot(session)
        for _participant, connection in list(session.connections.values()):
            try:
                await connection.send(frame)
            except Exception:
                log.debug("room %s: a connection went away mid-send", session.sitting_id)

    def snapshot(self, session: RoomSession) -> dict[str, Any]:
        state, now = session.state, time.time()
        floor = state.floor
        queue = state.queue()
        members = [
            {
                "id": seat.member_id,
                "name": seat.name,
                "connected": seat.connected,
                "media": session.media_state.get(member_key(seat.member_id), "new"),
                "mic": seat.mic_open,
                "muted": seat.hard_muted,
                "hand": seat.request.value if seat.request else None,
                "queue": queue.index(seat.member_id) + 1 if seat.member_id in queue else None,
                "floor": floor is not None and floor.member_id == seat.member_id,
                "voted": seat.member_id in session.voted,
            }
            for seat in sorted(state.seats.values(), key=lambda s: s.name)
        ]
        quorum = session.quorum
        return {
            "type": "state",
            "members": members,
            "queue": queue,
            "floor": None
            if floor is None
            else {
                "member": floor.member_id,
                "limit_s": floor.limit_s,
                "remaining_s": round(floor.remaining(now), 1),
                "overtime": floor.overtime(now),
            },
            "removed": [
                {"id": member_id, "name": name}
                for member_id, name in sorted(state.removed.items(), key=lambda item: item[1])
            ],
            "auto_mute": state.auto_mute,
            "default_limit_s": state.default_limit_s,
            "quorum": None if quorum is None else quorum_json(quorum),
            "vote": session.vote,
        }

    async def _keep_house(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            for sitting_id, session in list(self.rooms.items()):
                try:
                    await self._tend(sitting_id, session)
                except Exception:
                    log.exception("room %s housekeeping failed", sitting_id)

    async def _tend(self, sitting_id: int, session: RoomSession) -> None:
        if self.live.sittings.get(sitting_id) is not session.live:
            await self._close_room(sitting_id, "Rapat telah selesai.")
            return
        now = time.time()
        if session.state.tick(now):
            async with self._changing(session):
                pass
        for member_id in session.state.expired(now, self.grace_s):
            async with self._changing(session):
                seat = session.state.leave(member_id)
            await session.media.leave(member_key(member_id))
            left = seat.disconnected_at if seat and seat.disconnected_at else now
            await self._member_left(sitting_id, member_id, dt.datetime.fromtimestamp(left, dt.UTC))
        vote = session.vote
        closes_at = vote and vote["closes_at"]
        if closes_at and dt.datetime.fromisoformat(closes_at) <= utcnow():
            await self.close_vote(sitting_id, vote["id"], "system:deadline")
            session.vote = None

    async def _member_left(self, sitting_id: int, member_id: int, at: dt.datetime) -> None:
        async with self.store.transaction() as db:
            await room_store.mark_absent(db, sitting_id, member_id, AttendanceMode.REMOTE, now=at)
        await self.attendance_changed(sitting_id)

    async def _close_room(self, sitting_id: int, message: str) -> None:
        session = self.rooms.pop(sitting_id, None)
        if session is None:
            return
        if session.listener is not None:
            session.listener.cancel()
        for _participant, connection in list(session.connections.values()):
            with contextlib.suppress(Exception):
                await connection.send({"type": "ended", "message": message})
                await connection.close(ENDED_CLOSE, message)
        await session.media.close()
        async with self.store.transaction() as db:
            now = utcnow()
            await room_store.close_attendance(db, sitting_id, now)
            vote = await room_store.current_vote(db, sitting_id)
            if vote is not None:
                await room_store.close_vote(db, vote, now)
        await self.bus.delete_value(public_cache_key(sitting_id))


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


# -- JSON shapes shared by the room, the public summary and the API ------------------------------


def quorum_json(quorum: Quorum) -> dict[str, Any]:
    return {
        "rule": quorum.rule.value,
        "seats": quorum.seats,
        "present": quorum.present,
        "required": quorum.required,
        "reached": quorum.reached,
    }


def vote_json(vote: Vote, *, live: bool = False) -> dict[str, Any]:
    """Totals always; per-member choices only for an open ballot (never for a secret one).
    While a vote is open (`live`), the running totals stay hidden so nobody votes by the trend."""
    totals = Totals(vote.setuju, vote.tidak_setuju, vote.abstain)
    closed = vote.status == VoteStatus.CLOSED.value
    body: dict[str, Any] = {
        "id": vote.id,
        "title": vote.title,
        "agenda_item_id": vote.agenda_item_id,
        "status": vote.status,
        "secret": vote.secret,
        "opened_at": vote.opened_at.isoformat(),
        "closes_at": vote.closes_at.isoformat() if vote.closes_at else None,
        "closed_at": vote.closed_at.isoformat() if vote.closed_at else None,
        "present_at_open": vote.present_at_open,
        "cast": totals.cast,
    }
    if live and not closed:
        return body
    body["totals"] = {"setuju": totals.setuju, "tidak_setuju": totals.tidak_setuju}
    body["totals"]["abstain"] = totals.abstain
    body["adopted"] = totals.adopted(vote.present_at_open) if closed else None
    body["ballots"] = (
        []
        if vote.secret
        else [
            {"member_id": b.member_id, "name": b.member.name, "choice": b.choice, "via": b.via}
            for b in vote.ballots
        ]
    )
    return body


def attendance_json(rows: list[Attendance]) -> list[dict[str, Any]]:
    return [
        {
            "member_id": row.member_id,
            "name": row.member.name,
            "mode": row.mode,
            "joined_at": row.joined_at.isoformat(),
            "left_at": row.left_at.isoformat() if row.left_at else None,
        }
        for row in rows
    ]


async def public_summary(store: Store, bus: Bus, sitting_id: int) -> dict[str, Any]:
    """Quorum and vote results for the public page, cached briefly on the bus. Once the sitting
    is over, `quorum` holds the final attendance (everyone who attended), not the empty room."""
    cached = await bus.get_value(public_cache_key(sitting_id))
    if cached is not None:
        return json.loads(cached)
    async with store.read() as db:
        sitting = await repo.get_sitting(db, sitting_id, public_only=True)
        live = sitting.status == SittingStatus.LIVE.value
        quorum = await room_store.quorum(db, sitting, final=not live)
        votes = await room_store.list_votes(db, sitting_id)
        summary = {
            "status": sitting.status,
            "live": live,
            "quorum": quorum_json(quorum),
            "votes": [vote_json(v, live=True) for v in votes],
        }
    await bus.set_value(public_cache_key(sitting_id), json.dumps(summary), PUBLIC_CACHE_TTL_S)
    return summary
