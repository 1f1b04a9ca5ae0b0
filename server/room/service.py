"""The member room's glue: one RoomSession per live sitting on this node.

A session joins the chair's state machine (server/domain/chair.py), the media room
(media/room.py: peers, tracks, the server-side hard mute), the program layout, the store
(attendance rows, votes) and the bus. After every change it pushes what follows from the state:
`set_audio_allowed` for each member whose answer changed, the FLOOR or HALL layout when the floor
changes hands, and one `state` frame to every connection. The protocol is in docs/ROOM_PROTOCOL.md.

Attendance and votes can also change from plain HTTP on any node (server/room/votes.py); the
session that owns the room hears of it on the bus channel `room:{sitting}` and refreshes. The
public quorum/vote summary is cached on the bus for a few seconds and dropped on every change, so
thousands of polling viewers cost one query per sitting every few seconds, cluster-wide.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from typing import Any

from media.ingest import InvalidOffer
from media.program import Layout, LayoutKind
from media.room import MemberRoom, PeerOptions
from server.bus import Bus
from server.domain.chair import ChairState
from server.domain.errors import Conflict, InvalidInput
from server.domain.votes import AttendanceMode
from server.i18n import N_
from server.live.service import LiveService
from server.room import commands
from server.room.session import (
    ENDED_CLOSE,
    REPLACED_CLOSE,
    Connection,
    Participant,
    RoomFactory,
    RoomSession,
    chair_state_key,
    channel_for,
    member_key,
    program_input,
)
from server.room.shapes import public_cache_key, quorum_json, vote_json
from server.room.votes import VoteDesk
from server.store import Store, repo
from server.store import room as room_store
from server.store.models import utcnow
from server.tasks import stop

log = logging.getLogger(__name__)

GRACE_S = 60.0
# The chair's state stays on the bus this long after its last change: longer than any sitting.
CHAIR_STATE_TTL_S = 24 * 3600.0
TICK_S = 0.5
CAMERA_RENDITION = "720p"
AUDIO_ONLY_RENDITION = "360p"  # no camera up, and a lighter program down


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
        self.votes = VoteDesk(store, bus)
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
            await stop(self._housekeeping)
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
            await self.votes.attendance_changed(sitting_id)
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

    async def command(
        self, session: RoomSession, participant: Participant, frame: dict[str, Any]
    ) -> None:
        await commands.run(self, session, participant, frame)

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
            saved = await self.bus.get_value(chair_state_key(sitting_id))
            state = (
                ChairState()
                if saved is None
                else ChairState.from_json(json.loads(saved), time.time())
            )
            session = RoomSession(sitting_id, live, media, state)
            media.on_state = lambda key, state: self._on_media_state(session, key, state)
            self._sync_media(session)  # a floor carried over goes back on the program
            await self._refresh(session)
            session.listener = asyncio.create_task(
                self._listen(session), name=f"room-{sitting_id}-bus"
            )
            self.rooms[sitting_id] = session
            return session

    def peers(self) -> dict[int, tuple[int, int]]:
        """Per room on this node: (people with the room open, their media peers connected)."""
        return {
            sitting_id: (
                len(session.connections),
                sum(session.media_state.get(key) == "connected" for key in session.connections),
            )
            for sitting_id, session in self.rooms.items()
        }

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
    async def changing(self, session: RoomSession):
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
        """Every change ends here: the chair's state is kept on the bus first, for the node
        that would take the sitting over if this one died."""
        async with session.saving:
            # One write at a time, each of the state as it is then: two writes in flight on
            # separate Redis connections could land in either order, an older over a newer.
            await self.bus.set_value(
                chair_state_key(session.sitting_id),
                json.dumps(session.state.to_json()),
                CHAIR_STATE_TTL_S,
            )
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
            await self.bus.delete_value(chair_state_key(sitting_id))
            return
        now = time.time()
        if session.state.tick(now):
            async with self.changing(session):
                pass
        for member_id in session.state.expired(now, self.grace_s):
            async with self.changing(session):
                seat = session.state.leave(member_id)
            await session.media.leave(member_key(member_id))
            left = seat.disconnected_at if seat and seat.disconnected_at else now
            await self.member_left(sitting_id, member_id, dt.datetime.fromtimestamp(left, dt.UTC))
        vote = session.vote
        closes_at = vote and vote["closes_at"]
        if closes_at and dt.datetime.fromisoformat(closes_at) <= utcnow():
            await self.votes.close_vote(sitting_id, vote["id"], "system:deadline")
            session.vote = None

    async def member_left(self, sitting_id: int, member_id: int, at: dt.datetime) -> None:
        async with self.store.transaction() as db:
            await room_store.mark_absent(db, sitting_id, member_id, AttendanceMode.REMOTE, now=at)
        await self.votes.attendance_changed(sitting_id)

    async def _close_room(self, sitting_id: int, message: str) -> None:
        session = self.rooms.pop(sitting_id, None)
        if session is None:
            return
        if session.listener is not None:
            # Awaited: a listener cancelled mid-query must finish before the store can close.
            await stop(session.listener)
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
