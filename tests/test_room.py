"""The member room's store, glue and HTTP: attendance, quorum, votes, permissions, chair commands.

Media is a stand-in here (the glue's contract with media/room.py is plain calls); the real
WebRTC path is in test_room_media.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from media.program import Layout, LayoutKind
from server.app import create_app
from server.bus import MemoryBus
from server.domain.errors import Conflict, PermissionDenied
from server.domain.roles import Role
from server.domain.sitting import SittingStatus
from server.domain.votes import AlreadyVoted, AttendanceMode, Choice, NoQuorum, VoteClosed
from server.room.service import RoomService
from server.room.session import Participant, channel_for
from server.store import repo
from server.store import room as room_store
from server.store.models import utcnow
from tests.conftest import log_in
from tests.factories import new_sitting as build_sitting
from tests.live_helpers import eventually
from tests.room_helpers import Clients, add_member, set_seats

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


async def new_sitting(store, *, status=SittingStatus.LIVE, **fields) -> int:
    async with store.transaction() as session:
        sitting = await build_sitting(
            session,
            status=status,
            agenda=["Raperda Uji"],
            **{"title": "Rapat Uji", "starts_at": utcnow(), "quorum_rule": "1/2", **fields},
        )
        return sitting.id


async def present(store, sid: int, *member_ids: int, mode=AttendanceMode.HALL) -> None:
    async with store.transaction() as session:
        for member_id in member_ids:
            await room_store.mark_present(session, sid, member_id, mode)


async def open_vote(store, sid: int, **kwargs):
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        return await room_store.open_vote(
            session,
            sitting,
            title=kwargs.get("title", "Persetujuan Raperda"),
            agenda_item_id=kwargs.get("agenda_item_id"),
            closes_at=kwargs.get("closes_at"),
            opened_by="pimpinan",
            now=NOW,
        )


async def cast(store, sid: int, vote_id: int, member_id: int, choice=Choice.SETUJU, now=NOW):
    async with store.transaction() as session:
        vote = await room_store.get_vote(session, sid, vote_id)
        await room_store.cast_ballot(
            session, vote, member_id, choice, via=AttendanceMode.HALL, entered_by="staf", now=now
        )


# -- store: attendance and quorum ----------------------------------------------------------------


async def test_a_member_in_the_hall_and_online_counts_once(store):
    sid = await new_sitting(store)
    a, b = await add_member(store, "A"), await add_member(store, "B")
    await present(store, sid, a, b, mode=AttendanceMode.HALL)
    await present(store, sid, a, mode=AttendanceMode.REMOTE)
    await present(store, sid, a, mode=AttendanceMode.REMOTE)  # a rejoin adds no second row
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        quorum = await room_store.quorum(session, sitting)
        rows = await room_store.list_attendance(session, sid)
    assert (quorum.present, quorum.seats, quorum.required) == (2, 35, 18)
    assert len(rows) == 3


async def test_a_komisi_sitting_counts_its_quorum_among_the_komisi_members(store):
    await set_seats(store, 35)
    komisi_c = [await add_member(store, f"C{i}", komisi="Komisi C") for i in range(5)]
    other = await add_member(store, "A1", komisi="Komisi A")
    sid = await new_sitting(store, type="komisi", komisi="komisi c ", quorum_rule="1/2")
    await present(store, sid, other, *komisi_c[:2])
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        quorum = await room_store.quorum(session, sitting)
    assert (quorum.seats, quorum.present, quorum.required) == (5, 2, 3)
    assert not quorum.reached, "a member of another komisi does not make the quorum"
    await present(store, sid, komisi_c[2])
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        assert (await room_store.quorum(session, sitting)).reached
    paripurna = await new_sitting(store, quorum_rule="1/2")
    async with store.read() as session:
        sitting = await repo.get_sitting(session, paripurna, public_only=False)
        assert (await room_store.quorum(session, sitting)).seats == 35


async def test_leaving_closes_the_stretch_and_the_quorum_drops(store):
    sid = await new_sitting(store)
    a = await add_member(store, "A")
    await present(store, sid, a, mode=AttendanceMode.REMOTE)
    async with store.transaction() as session:
        await room_store.mark_absent(session, sid, a, AttendanceMode.REMOTE, now=NOW)
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sid, public_only=False)
        assert (await room_store.quorum(session, sitting)).present == 0
        [row] = await room_store.list_attendance(session, sid)
    assert row.left_at == NOW


# -- store: votes --------------------------------------------------------------------------------


async def test_no_vote_opens_without_quorum(store):
    sid = await new_sitting(store)
    await set_seats(store, 5)
    await present(store, sid, await add_member(store, "A"), await add_member(store, "B"))
    with pytest.raises(NoQuorum):
        await open_vote(store, sid)
    await present(store, sid, await add_member(store, "C"))
    assert (await open_vote(store, sid)).present_at_open == 3


async def test_one_ballot_per_member_and_totals_follow(store):
    sid = await new_sitting(store)
    await set_seats(store, 3)
    members = [await add_member(store, n) for n in "ABC"]
    await present(store, sid, *members)
    vote = await open_vote(store, sid)
    await cast(store, sid, vote.id, members[0], Choice.SETUJU)
    with pytest.raises(AlreadyVoted):
        await cast(store, sid, vote.id, members[0], Choice.TIDAK_SETUJU)
    await cast(store, sid, vote.id, members[1], Choice.ABSTAIN)
    async with store.read() as session:
        vote = await room_store.get_vote(session, sid, vote.id)
        assert (vote.setuju, vote.tidak_setuju, vote.abstain) == (1, 0, 1)
        assert [b.choice for b in vote.ballots] == ["setuju", "abstain"]


async def test_concurrent_double_ballots_count_once(store):
    sid = await new_sitting(store)
    await set_seats(store, 1)
    member = await add_member(store, "A")
    await present(store, sid, member)
    vote = await open_vote(store, sid)
    results = await asyncio.gather(
        *(cast(store, sid, vote.id, member) for _ in range(4)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, AlreadyVoted | Conflict) for r in results if r is not None)
    async with store.read() as session:
        assert (await room_store.get_vote(session, sid, vote.id)).setuju == 1


async def test_no_ballot_after_close_or_deadline(store):
    sid = await new_sitting(store)
    await set_seats(store, 2)
    a, b = await add_member(store, "A"), await add_member(store, "B")
    await present(store, sid, a, b)
    vote = await open_vote(store, sid, closes_at=NOW + dt.timedelta(seconds=30))
    with pytest.raises(VoteClosed):
        await cast(store, sid, vote.id, a, now=NOW + dt.timedelta(seconds=30))
    async with store.transaction() as session:
        vote = await room_store.get_vote(session, sid, vote.id)
        assert await room_store.close_vote(session, vote, NOW)
        assert not await room_store.close_vote(session, vote, NOW)
    with pytest.raises(VoteClosed):
        await cast(store, sid, vote.id, b)


async def test_a_secret_ballot_keeps_only_totals(store):
    sid = await new_sitting(store, secret_ballot=True)
    await set_seats(store, 1)
    member = await add_member(store, "A")
    await present(store, sid, member)
    vote = await open_vote(store, sid)
    await cast(store, sid, vote.id, member, Choice.TIDAK_SETUJU)
    async with store.read() as session:
        vote = await room_store.get_vote(session, sid, vote.id)
    assert vote.secret and vote.tidak_setuju == 1
    assert [b.choice for b in vote.ballots] == [None]


# -- the glue, with stand-ins for media ----------------------------------------------------------


class FakeMedia:
    def __init__(self, live, ice_servers) -> None:
        self.on_state = None
        self.allowed: dict[str, bool] = {}
        self.joined: list[str] = []
        self.left: list[str] = []
        self.closed = False

    async def join(self, key: str, offer_sdp: str, options=None) -> str:
        self.joined.append(key)
        self.allowed[key] = False  # every join starts muted, as media/room.py promises
        return "v=0\r\nanswer"

    async def leave(self, key: str) -> None:
        self.left.append(key)

    def set_audio_allowed(self, key: str, allowed: bool) -> None:
        self.allowed[key] = allowed

    async def close(self) -> None:
        self.closed = True


class FakeLive:
    def __init__(self) -> None:
        self.layouts: list[Layout] = []

    def set_layout(self, layout: Layout) -> None:
        self.layouts.append(layout)


class FakeLiveService:
    def __init__(self) -> None:
        self.sittings: dict[int, FakeLive] = {}


class FakeConnection:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        self._arrived = asyncio.Event()

    async def send(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self._arrived.set()

    async def close(self, code: int, message: str) -> None:
        self.closed = (code, message)
        self._arrived.set()

    async def until(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first state frame, from now on or the latest, for which `predicate` holds."""
        async with asyncio.timeout(10):
            while True:
                states = [f for f in self.frames if f["type"] == "state"]
                if states and predicate(states[-1]):
                    return states[-1]
                self._arrived.clear()
                await self._arrived.wait()

    def last_state(self) -> dict[str, Any]:
        return [f for f in self.frames if f["type"] == "state"][-1]


@pytest.fixture
async def rooms(store) -> AsyncIterator[RoomService]:
    bus = MemoryBus()
    await bus.start()
    service = RoomService(
        store, bus, FakeLiveService(), [], room_factory=FakeMedia, grace_s=0.3, tick_s=0.05
    )
    await service.start()
    yield service
    await service.close()
    await bus.close()


def person(member_id: int | None, role: str = "anggota", user_id: int = 0) -> Participant:
    user_id = user_id or (member_id or 0) + 1000
    return Participant(user_id, f"u{user_id}", Role(role), member_id, f"M{member_id}")


async def live_room(rooms: RoomService, store) -> tuple[int, FakeLive]:
    sid = await new_sitting(store)
    rooms.live.sittings[sid] = FakeLive()
    return sid, rooms.live.sittings[sid]


async def test_joining_logs_attendance_and_starts_muted(rooms, store):
    sid, _ = await live_room(rooms, store)
    member = await add_member(store, "Anggota Satu")
    who = person(member)
    session = await rooms.enter(sid, who, FakeConnection())
    await rooms.join_media(session, who, "v=0 offer", audio_only=False)
    assert session.media.allowed == {str(member): False}
    async with store.read() as db:
        rows = await room_store.list_attendance(db, sid)
    assert [(r.member_id, r.mode, r.left_at) for r in rows] == [(member, "remote", None)]


async def test_hard_mute_is_enforced_through_the_media_room(rooms, store):
    sid, _ = await live_room(rooms, store)
    member = await add_member(store, "A")
    who, chair = person(member), person(None, "pimpinan", user_id=1)
    session = await rooms.enter(sid, who, FakeConnection())
    await rooms.join_media(session, who, "v=0 offer", audio_only=False)
    await rooms.command(session, who, {"type": "mic", "open": True})
    assert session.media.allowed[str(member)] is True
    await rooms.command(session, chair, {"type": "mute", "member": member})
    assert session.media.allowed[str(member)] is False
    with pytest.raises(PermissionDenied):
        await rooms.command(session, who, {"type": "mic", "open": True})
    assert session.media.allowed[str(member)] is False
    await rooms.command(session, chair, {"type": "allow", "member": member})
    await rooms.command(session, who, {"type": "mic", "open": True})
    assert session.media.allowed[str(member)] is True


async def test_mute_all_spares_the_chair_in_the_room(rooms, store):
    sid, _ = await live_room(rooms, store)
    member, ketua = await add_member(store, "A"), await add_member(store, "Ketua")
    chair = Participant(1, "ketua", Role.PIMPINAN, ketua, "Ketua")
    session = await rooms.enter(sid, person(member), FakeConnection())
    await rooms.enter(sid, chair, FakeConnection())
    for who in (person(member), chair):
        await rooms.join_media(session, who, "v=0 offer", audio_only=False)
        await rooms.command(session, who, {"type": "mic", "open": True})
    await rooms.command(session, chair, {"type": "mute_all"})
    assert session.media.allowed == {str(member): False, str(ketua): True}
    seat = next(m for m in rooms.snapshot(session)["members"] if m["id"] == ketua)
    assert seat["muted"] is False and seat["mic"] is True


async def test_members_cannot_run_the_chair_commands(rooms, store):
    sid, _ = await live_room(rooms, store)
    a, b = await add_member(store, "A"), await add_member(store, "B")
    session = await rooms.enter(sid, person(a), FakeConnection())
    await rooms.enter(sid, person(b), FakeConnection())
    with pytest.raises(PermissionDenied):
        await rooms.command(session, person(a), {"type": "mute", "member": b})


async def test_the_floor_puts_the_member_on_the_program_and_back(rooms, store):
    sid, live = await live_room(rooms, store)
    member = await add_member(store, "A")
    chair = person(None, "pimpinan", user_id=1)
    connection = FakeConnection()
    session = await rooms.enter(sid, person(member), connection)
    await rooms.command(session, person(member), {"type": "hand", "raise": True})
    await rooms.command(session, chair, {"type": "next", "limit_s": 60})
    assert live.layouts[-1] == Layout(LayoutKind.FLOOR, floor=f"member:{member}")
    assert session.media.allowed[str(member)] is True
    state = connection.last_state()
    assert state["floor"]["member"] == member and state["floor"]["limit_s"] == 60
    await rooms.command(session, chair, {"type": "take_floor"})
    assert live.layouts[-1] == Layout(LayoutKind.HALL)
    assert session.media.allowed[str(member)] is False


async def test_interupsi_jumps_the_queue_in_the_state_frame(rooms, store):
    sid, _ = await live_room(rooms, store)
    a, b = await add_member(store, "A"), await add_member(store, "B")
    connection = FakeConnection()
    session = await rooms.enter(sid, person(a), connection)
    await rooms.enter(sid, person(b), FakeConnection())
    await rooms.command(session, person(a), {"type": "hand", "raise": True})
    await rooms.command(session, person(b), {"type": "hand", "raise": True, "interupsi": True})
    assert connection.last_state()["queue"] == [b, a]


async def test_the_chair_sees_the_limit_and_auto_mute_cuts_the_speaker(rooms, store):
    sid, _ = await live_room(rooms, store)
    member = await add_member(store, "A")
    chair = person(None, "pimpinan", user_id=1)
    connection = FakeConnection()
    session = await rooms.enter(sid, person(member), connection)
    await rooms.command(session, chair, {"type": "auto_mute", "on": True})
    await rooms.command(session, chair, {"type": "floor", "member": member, "limit_s": 10})
    session.state.floor.granted_at -= 11  # ten seconds pass
    await eventually(lambda: session.media.allowed[str(member)] is False)
    assert connection.last_state()["floor"]["overtime"] is True


async def test_a_reconnection_within_the_grace_keeps_everything(rooms, store):
    sid, live = await live_room(rooms, store)
    member, other = await add_member(store, "A"), await add_member(store, "B")
    chair = person(None, "pimpinan", user_id=1)
    first = FakeConnection()
    session = await rooms.enter(sid, person(member), first)
    await rooms.enter(sid, person(other), FakeConnection())
    await rooms.command(session, person(other), {"type": "hand", "raise": True})
    await rooms.command(session, chair, {"type": "floor", "member": member})
    await rooms.disconnected(session, person(member), first)
    assert session.state.seats[member].connected is False
    second = FakeConnection()
    await rooms.enter(sid, person(member), second)
    await rooms.join_media(session, person(member), "v=0 offer", audio_only=True)

    def settled(state: dict) -> bool:
        mine = next(m for m in state["members"] if m["id"] == member)
        return mine["connected"] and mine["floor"] and mine["mic"]

    state = await second.until(settled)
    assert session.media.allowed[str(member)] is True, "the floor's mic is re-applied"
    assert state["queue"] == [other]
    async with store.read() as db:
        rows = await room_store.list_attendance(db, sid)
    assert [(r.member_id, r.left_at) for r in rows if r.member_id == member] == [(member, None)]


async def test_after_the_grace_the_member_has_left(rooms, store):
    sid, live = await live_room(rooms, store)
    member = await add_member(store, "A")
    chair = person(None, "pimpinan", user_id=1)
    connection = FakeConnection()
    session = await rooms.enter(sid, person(member), connection)
    await rooms.command(session, chair, {"type": "floor", "member": member})
    await rooms.disconnected(session, person(member), connection)
    await asyncio.sleep(0.5)
    assert member not in session.state.seats
    assert session.media.left == [str(member)]
    assert live.layouts[-1] == Layout(LayoutKind.HALL)
    async with store.read() as db:
        [row] = await room_store.list_attendance(db, sid)
    assert row.left_at is not None


async def test_a_replaced_connection_is_closed_and_not_counted_as_a_drop(rooms, store):
    sid, _ = await live_room(rooms, store)
    member = await add_member(store, "A")
    old, new = FakeConnection(), FakeConnection()
    session = await rooms.enter(sid, person(member), old)
    await rooms.enter(sid, person(member), new)
    assert old.closed and old.closed[0] == 4009
    await rooms.disconnected(session, person(member), old)
    assert session.state.seats[member].connected


async def test_removing_a_member_closes_their_socket_and_bars_them(rooms, store):
    sid, _ = await live_room(rooms, store)
    member = await add_member(store, "A")
    chair = person(None, "pimpinan", user_id=1)
    connection = FakeConnection()
    session = await rooms.enter(sid, person(member), connection)
    await rooms.command(session, chair, {"type": "remove", "member": member})
    assert connection.closed[0] == 4003 and connection.frames[-1]["type"] == "removed"
    assert session.media.left == [str(member)]
    with pytest.raises(PermissionDenied):
        await rooms.enter(sid, person(member), FakeConnection())


async def test_the_chair_sees_who_was_removed_and_can_let_them_back_in(rooms, store):
    sid, _ = await live_room(rooms, store)
    member = await add_member(store, "A")
    chair, chair_connection = person(None, "pimpinan", user_id=1), FakeConnection()
    session = await rooms.enter(sid, person(member), FakeConnection())
    await rooms.enter(sid, chair, chair_connection)
    await rooms.command(session, chair, {"type": "remove", "member": member})
    assert chair_connection.last_state()["removed"] == [{"id": member, "name": f"M{member}"}]
    await rooms.command(session, chair, {"type": "readmit", "member": member})
    assert chair_connection.last_state()["removed"] == []
    await rooms.enter(sid, person(member), FakeConnection())
    assert session.state.seats[member].connected


async def test_the_node_taking_a_sitting_over_carries_on_the_chairs_room(store, bus):
    """kill -9 of the owner (issue 17): the floor, the queue, a hard mute and a removal outlive
    it. The second node finds them on the bus; its members come back to the same room."""
    dead = RoomService(store, bus, FakeLiveService(), [], room_factory=FakeMedia, grace_s=60)
    sid, _ = await live_room(dead, store)
    speaker, waiting, muted, removed = [await add_member(store, n) for n in "ABCD"]
    chair = person(None, "pimpinan", user_id=1)
    session = await dead.enter(sid, person(speaker), FakeConnection())
    for member in (waiting, muted, removed):
        await dead.enter(sid, person(member), FakeConnection())
    await dead.command(session, chair, {"type": "auto_mute", "on": True})
    await dead.command(session, chair, {"type": "floor", "member": speaker, "limit_s": 120})
    await dead.command(session, person(waiting), {"type": "hand", "raise": True})
    await dead.command(session, chair, {"type": "mute", "member": muted})
    await dead.command(session, chair, {"type": "remove", "member": removed})
    # The owner dies here: nothing of it runs any more, and its memory is gone.

    taker = RoomService(store, bus, FakeLiveService(), [], room_factory=FakeMedia, grace_s=60)
    live = taker.live.sittings[sid] = FakeLive()
    try:
        await carries_on(taker, sid, live, speaker, waiting, muted, removed)
    finally:
        await taker.close()
        await dead.close()


async def carries_on(taker, sid, live, speaker, waiting, muted, removed) -> None:
    for member in (speaker, waiting, muted):
        taken = await taker.enter(sid, person(member), FakeConnection())
        await taker.join_media(taken, person(member), "v=0 offer", audio_only=False)
    assert live.layouts[-1] == Layout(LayoutKind.FLOOR, floor=f"member:{speaker}")
    assert taken.media.allowed == {str(speaker): True, str(waiting): False, str(muted): False}
    with pytest.raises(PermissionDenied):
        await taker.command(taken, person(muted), {"type": "mic", "open": True})
    with pytest.raises(PermissionDenied):
        await taker.enter(sid, person(removed), FakeConnection())
    state = taker.snapshot(taken)
    assert state["queue"] == [waiting] and state["auto_mute"] is True
    assert state["floor"]["member"] == speaker and state["floor"]["limit_s"] == 120
    assert [m["id"] for m in state["members"] if m["connected"]] == sorted(
        [speaker, waiting, muted], key=lambda m: f"M{m}"
    )
    await taker.command(taken, person(muted), {"type": "hand", "raise": True})
    assert taker.snapshot(taken)["queue"] == [waiting, muted], "raised later, queued later"


class LosesACancellation(MemoryBus):
    """A bus whose chair-state write, made by a room's bus listener, loses the listener's
    cancellation: what redis-py's socket writes do under Python 3.11 (asyncio.wait_for)."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = asyncio.Event()

    async def set_value(self, key: str, value: str, ttl_s: float | None = None) -> None:
        if asyncio.current_task().get_name().startswith("room-") and not self.writing.is_set():
            self.writing.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
        await super().set_value(key, value, ttl_s)


async def test_a_room_closes_even_when_its_listener_loses_a_cancellation(store):
    """In CI a node's shutdown hung for minutes: the room's listener was cancelled while it
    wrote the chair's state to Redis, the write swallowed the cancellation, and the listener
    went back to waiting for bus events while close() waited for it to end."""
    bus = LosesACancellation()
    rooms = RoomService(store, bus, FakeLiveService(), [], room_factory=FakeMedia)
    sid, _ = await live_room(rooms, store)
    session = await rooms.enter(sid, person(await add_member(store, "A")), FakeConnection())
    await bus.publish(channel_for(sid), {"type": "attendance"})  # as another node would
    await bus.writing.wait()
    closing = asyncio.create_task(rooms.close())
    # Not asyncio.timeout(): the old close() swallowed that cancellation too, and returned.
    done, _ = await asyncio.wait({closing}, timeout=30)
    assert closing in done, "close() is still waiting for the room's listener"
    assert session.listener.done() and sid not in rooms.rooms


async def test_votes_in_the_room(rooms, store):
    sid, _ = await live_room(rooms, store)
    await set_seats(store, 3)
    a, b, c = [await add_member(store, n) for n in "ABC"]
    chair = person(None, "pimpinan", user_id=1)
    watcher = FakeConnection()
    session = await rooms.enter(sid, person(a), watcher)
    with pytest.raises(NoQuorum):
        await rooms.command(session, chair, {"type": "open_vote", "title": "Raperda"})
    await rooms.enter(sid, person(b), FakeConnection())
    await present(store, sid, c)
    await rooms.votes.attendance_changed(sid)
    await watcher.until(lambda s: s["quorum"]["reached"])
    await rooms.command(session, chair, {"type": "open_vote", "title": "Raperda"})
    await watcher.until(lambda s: s["vote"] is not None)
    vote = watcher.last_state()["vote"]
    assert vote["title"] == "Raperda" and "totals" not in vote
    await rooms.command(
        session, person(a), {"type": "ballot", "vote": vote["id"], "choice": "setuju"}
    )
    with pytest.raises(AlreadyVoted):
        await rooms.command(
            session, person(a), {"type": "ballot", "vote": vote["id"], "choice": "abstain"}
        )
    with pytest.raises(Conflict, match="daring"):  # b is connected remotely
        await rooms.votes.cast(
            sid, vote["id"], b, "setuju", via=AttendanceMode.HALL, entered_by="staf"
        )
    await rooms.votes.cast(
        sid, vote["id"], c, "tidak_setuju", via=AttendanceMode.HALL, entered_by="staf"
    )
    voted = await watcher.until(lambda s: all(m["voted"] for m in s["members"] if m["id"] == a))
    assert {m["id"]: m["voted"] for m in voted["members"]} == {a: True, b: False}
    await rooms.command(session, chair, {"type": "close_vote", "vote": vote["id"]})
    with pytest.raises(VoteClosed):
        await rooms.command(
            session, person(b), {"type": "ballot", "vote": vote["id"], "choice": "setuju"}
        )
    await watcher.until(lambda s: s["vote"] is None)


async def test_a_vote_closes_itself_at_its_deadline(rooms, store):
    sid, _ = await live_room(rooms, store)
    await set_seats(store, 1)
    member = await add_member(store, "A")
    session = await rooms.enter(sid, person(member), FakeConnection())
    await rooms.command(
        session, person(None, "pimpinan", 1), {"type": "open_vote", "title": "X", "duration_s": 1}
    )
    await asyncio.sleep(1.3)
    async with store.read() as db:
        assert await room_store.current_vote(db, sid) is None


async def test_the_room_closes_when_the_sitting_ends(rooms, store):
    sid, _ = await live_room(rooms, store)
    member = await add_member(store, "A")
    connection = FakeConnection()
    session = await rooms.enter(sid, person(member), connection)
    del rooms.live.sittings[sid]

    async def attendance_closed() -> bool:
        async with store.read() as db:
            return all(row.left_at for row in await room_store.list_attendance(db, sid))

    await eventually(attendance_closed)
    assert connection.closed[0] == 4010 and session.media.closed


# -- HTTP: permissions, pages, hall data, public summary, API ------------------------------------


async def test_the_room_refuses_anonymous_visitors_with_a_message(client, store):
    sid = await new_sitting(store)
    response = await client.get(f"/ruang/{sid}")
    assert response.status == 403
    assert "Silakan masuk" in await response.text()


async def test_the_room_refuses_other_roles(client, store, login):
    sid = await new_sitting(store)
    await login("moderator")
    response = await client.get(f"/ruang/{sid}")
    assert response.status == 403
    assert "hanya untuk anggota DPRD" in await response.text()


async def test_an_anggota_needs_a_member_record(client, store, login):
    sid = await new_sitting(store)
    await login("anggota")
    response = await client.get(f"/ruang/{sid}")
    assert response.status == 403
    assert "belum ditautkan" in await response.text()


async def test_a_closed_komisi_sitting_admits_its_own_members_only(client, store):
    sid = await new_sitting(store, type="komisi", komisi="Komisi B", is_public=False)
    outsider = await add_member(store, "Luar", komisi="Komisi A")
    await log_in(client, store, "anggota", member_id=outsider)
    response = await client.get(f"/ruang/{sid}")
    assert response.status == 403
    assert "tertutup" in await response.text()
    clients = Clients(client)
    try:
        insider = await clients.new()
        await log_in(
            insider, store, "anggota", member_id=await add_member(store, "Dalam", "Komisi B")
        )
        assert (await insider.get(f"/ruang/{sid}")).status == 200
        staff = await clients.new()
        await log_in(staff, store, "sekretariat")
        assert (await staff.get(f"/ruang/{sid}")).status == 200
    finally:
        await clients.close()


async def test_the_page_explains_when_the_sitting_is_not_live(client, store):
    sid = await new_sitting(store, status=SittingStatus.SCHEDULED)
    await log_in(client, store, "anggota", member_id=await add_member(store, "A"))
    response = await client.get(f"/ruang/{sid}")
    assert response.status == 200
    assert "tidak sedang disiarkan" in await response.text()


async def test_the_page_opens_the_room_of_a_sitting_live_on_another_node(client, store):
    """Behind nginx the page may come from a node that does not run the sitting's media; its
    socket is forwarded to the owner (server/forward.py), so the page offers to join."""
    sid = await new_sitting(store)  # live in the database, no pipeline on this node
    await log_in(client, store, "anggota", member_id=await add_member(store, "A"))
    response = await client.get(f"/ruang/{sid}")
    assert response.status == 200
    page = await response.text()
    assert "tidak sedang disiarkan" not in page
    assert 'data-join="video"' in page and f'data-socket="/ruang/{sid}/ws"' in page


async def test_the_socket_refuses_anonymous_and_cross_origin(client, store):
    sid = await new_sitting(store)
    response = await client.get(f"/ruang/{sid}/ws", headers={"Accept": "application/json"})
    assert response.status == 403
    assert "Silakan masuk" in (await response.json())["error"]
    await log_in(client, store, "anggota", member_id=await add_member(store, "A"))
    response = await client.get(
        f"/ruang/{sid}/ws",
        headers={"Origin": "https://jahat.example", "Accept": "application/json"},
    )
    assert response.status == 403
    assert "situs lain" in (await response.json())["error"]


async def test_staff_mark_hall_attendance_and_the_public_sees_quorum(client, store):
    sid = await new_sitting(store)
    await set_seats(store, 3)
    token = await log_in(client, store, "sekretariat")
    members = [await add_member(store, n) for n in "AB"]
    for member in members:
        response = await client.post(
            f"/ruang/{sid}/hadir",
            json={"member_id": member, "present": True},
            headers={"X-CSRF-Token": token},
        )
        assert response.status == 200, await response.text()
    summary = await (await client.get(f"/sidang/{sid}/kuorum")).json()
    assert summary["text"] == "Kuorum: 2/3 hadir, syarat 2"
    assert summary["quorum"]["reached"] is True
    response = await client.post(
        f"/ruang/{sid}/hadir", json={"member_id": members[0], "present": False}
    )
    assert response.status == 403, "no CSRF token, no change"
    await client.post(
        f"/ruang/{sid}/hadir",
        json={"member_id": members[0], "present": False},
        headers={"X-CSRF-Token": token},
    )
    summary = await (await client.get(f"/sidang/{sid}/kuorum")).json()
    assert summary["quorum"]["present"] == 1 and not summary["quorum"]["reached"]


async def test_only_staff_enter_hall_data(client, store):
    sid = await new_sitting(store)
    token = await log_in(client, store, "anggota", member_id=await add_member(store, "A"))
    response = await client.post(
        f"/ruang/{sid}/hadir", json={"member_id": 1}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 403


async def test_staff_enter_hall_ballots_and_results_reach_the_api(client, store):
    sid = await new_sitting(store)
    await set_seats(store, 2)
    token = await log_in(client, store, "sekretariat")
    a, b = await add_member(store, "Ani"), await add_member(store, "Budi")
    await present(store, sid, a, b)
    async with store.read() as session:
        [item] = (await repo.get_sitting(session, sid, public_only=False)).agenda_items
    vote = await open_vote(store, sid, agenda_item_id=item.id)
    headers = {"X-CSRF-Token": token}
    url = f"/ruang/{sid}/suara/{vote.id}"
    ok = await client.post(url, json={"member_id": a, "choice": "setuju"}, headers=headers)
    assert ok.status == 200, await ok.text()
    again = await client.post(url, json={"member_id": a, "choice": "abstain"}, headers=headers)
    assert again.status == 409
    assert "sudah memberikan suara" in (await again.json())["error"]
    async with store.transaction() as session:
        await room_store.close_vote(session, await room_store.get_vote(session, sid, vote.id), NOW)
    late = await client.post(url, json={"member_id": b, "choice": "setuju"}, headers=headers)
    assert late.status == 409
    assert "sudah ditutup" in (await late.json())["error"]

    detail = await (await client.get(f"/api/v1/sittings/{sid}")).json()
    [result] = detail["votes"]
    assert result["totals"] == {"setuju": 1, "tidak_setuju": 0, "abstain": 0}
    assert result["adopted"] is False, "1 of 2 present is not more than half"
    assert result["ballots"] == [{"member_id": a, "name": "Ani", "choice": "setuju", "via": "hall"}]
    assert {(r["name"], r["mode"]) for r in detail["attendance"]} == {
        ("Ani", "hall"),
        ("Budi", "hall"),
    }
    summary = await (await client.get(f"/sidang/{sid}/kuorum")).json()
    assert summary["votes"][0]["totals"]["setuju"] == 1
    page = await (await client.get(f"/sidang/{sid}")).text()
    assert "<li>Ani: Setuju</li>" in page, "each ballot under its agenda item, in words"


async def test_a_hall_ballot_for_a_member_connected_remotely_is_refused(client, store):
    sid = await new_sitting(store)
    await set_seats(store, 1)
    token = await log_in(client, store, "sekretariat")
    ketua = await add_member(store, "Ketua")
    await present(store, sid, ketua)
    await present(store, sid, ketua, mode=AttendanceMode.REMOTE)
    vote = await open_vote(store, sid)
    response = await client.post(
        f"/ruang/{sid}/suara/{vote.id}",
        json={"member_id": ketua, "choice": "setuju"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 409
    assert "daring" in (await response.json())["error"]
    async with store.read() as session:
        assert (await room_store.get_vote(session, sid, vote.id)).ballots == []


async def test_staff_see_the_hall_panel_state_without_joining_the_room(client, store):
    sid = await new_sitting(store)
    await set_seats(store, 3)
    token = await log_in(client, store, "sekretariat")
    a, b, c = [await add_member(store, n) for n in ("Ani", "Budi", "Citra")]
    await present(store, sid, a, b)
    await present(store, sid, c, mode=AttendanceMode.REMOTE)
    assert (await (await client.get(f"/ruang/{sid}/aula")).json())["vote"] is None
    vote = await open_vote(store, sid, title="Raperda Pajak")
    headers = {"X-CSRF-Token": token}
    ok = await client.post(
        f"/ruang/{sid}/suara/{vote.id}", json={"member_id": a, "choice": "setuju"}, headers=headers
    )
    assert (await ok.json()) == {"ok": True, "member_id": a, "choice": "setuju"}
    state = await (await client.get(f"/ruang/{sid}/aula")).json()
    assert state["vote"] == {"id": vote.id, "title": "Raperda Pajak"}
    assert (state["hall"], state["remote"]) == ([a, b], [c])
    assert state["ballots"] == {str(a): {"via": "hall", "choice": "setuju"}}


async def test_staff_record_hall_ballots_in_bulk_with_exceptions(client, store):
    sid = await new_sitting(store)
    await set_seats(store, 5)
    token = await log_in(client, store, "sekretariat")
    ids = [await add_member(store, n) for n in ("Ani", "Budi", "Citra", "Dedi", "Eka")]
    ani, budi, citra, dedi, eka = ids
    await present(store, sid, *ids)
    await present(store, sid, eka, mode=AttendanceMode.REMOTE)  # votes from their own screen
    vote = await open_vote(store, sid)
    await cast(store, sid, vote.id, ani, Choice.ABSTAIN)
    url = f"/ruang/{sid}/suara/{vote.id}/semua"
    headers = {"X-CSRF-Token": token}
    body = {"choice": "setuju", "except": {str(citra): "tidak_setuju", str(dedi): None}}
    assert (await client.post(url, json=body)).status == 403, "CSRF"
    response = await client.post(url, json=body, headers=headers)
    assert response.status == 200, await response.text()
    assert await response.json() == {
        "recorded": {str(budi): "setuju", str(citra): "tidak_setuju"},
        "remote": [eka],
        "already_voted": [ani],
    }
    async with store.read() as session:
        counted = await room_store.get_vote(session, sid, vote.id)
        assert (counted.setuju, counted.tidak_setuju, counted.abstain) == (1, 1, 1)
    again = await client.post(url, json=body, headers=headers)
    assert (await again.json())["recorded"] == {}, "repeating the entry records nothing twice"
    stranger = await add_member(store, "Fajar")
    bad = await client.post(
        url, json={"choice": "setuju", "except": {str(stranger): "abstain"}}, headers=headers
    )
    assert bad.status == 400
    assert (await client.post(url, json={"choice": "ya"}, headers=headers)).status == 400


async def test_a_finished_sitting_shows_its_final_attendance_and_results(client, store):
    sid = await new_sitting(store)
    await set_seats(store, 3)
    a, b = await add_member(store, "Ani"), await add_member(store, "Budi")
    await present(store, sid, a, b)
    vote = await open_vote(store, sid)
    await cast(store, sid, vote.id, a)
    await cast(store, sid, vote.id, b)
    async with store.transaction() as session:
        await room_store.close_vote(session, await room_store.get_vote(session, sid, vote.id), NOW)
        await room_store.close_attendance(session, sid)
        sitting = await repo.get_sitting(session, sid, public_only=False)
        await repo.change_status(session, sitting, SittingStatus.ENDED)
    summary = await (await client.get(f"/sidang/{sid}/kuorum")).json()
    assert (summary["status"], summary["live"]) == ("ended", False)
    assert summary["text"] == "Kehadiran akhir: 2 dari 3 anggota hadir (kuorum 2)"
    [result] = summary["votes"]
    assert result["totals"]["setuju"] == 2 and result["adopted"] is True
    page = await (await client.get(f"/sidang/{sid}")).text()
    assert '<p class="viewers" hidden>' in page, "no viewer count once the sitting is over"


async def test_the_public_summary_of_a_closed_sitting_is_not_found(client, store):
    sid = await new_sitting(store, is_public=False)
    assert (await client.get(f"/sidang/{sid}/kuorum")).status == 404


async def test_the_watch_page_includes_the_quorum_panel(client, store):
    sid = await new_sitting(store)
    html = await (await client.get(f"/sidang/{sid}")).text()
    assert f'data-summary="/sidang/{sid}/kuorum"' in html
    assert "/static/js/quorum." in html  # a fingerprinted address since bba2d6a


async def test_staff_mark_a_sitting_secret_ballot_through_the_api(client, store, login):
    sid = await new_sitting(store)
    token = await login("sekretariat")
    response = await client.patch(
        f"/api/v1/sittings/{sid}", json={"secret_ballot": True}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["secret_ballot"] is True


async def test_the_room_reads_times_in_the_dprds_zone(
    aiohttp_client, make_config, database_url, store
):
    client = await aiohttp_client(
        create_app(make_config(database_url=database_url, timezone="Asia/Makassar"))
    )
    sid = await new_sitting(store)
    await log_in(client, store, "sekretariat")
    english = await (await client.get(f"/ruang/{sid}?lang=en")).text()
    assert 'data-timezone="Asia/Makassar" data-zone-label="WITA"' in english
    assert 'data-label-deadline="closes at {time}"' in english
