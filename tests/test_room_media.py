"""The signaling socket end to end: an aiortc member joins a real live sitting over /ruang/{id}/ws,
receives program frames, is hard-muted by the chair, drops and comes back with its state kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from media.room import MemberRoom, h264_preferences
from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import keys
from server.keys import ROOMS
from server.store import room as room_store
from tests.conftest import log_in
from tests.live_helpers import eventually, scheduled_sitting
from tests.room_helpers import Clients, add_member

pytestmark = pytest.mark.slow


class AiortcMember:
    """A member's browser played by aiortc: tone and test card up, program down."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.tracks: list[MediaStreamTrack] = []
        self.pc.on("track", self.tracks.append)
        self.pc.addTransceiver(SyntheticAudioTrack(523.0), direction="sendrecv")
        video = self.pc.addTransceiver(SyntheticVideoTrack("Anggota", 640, 360), "sendrecv")
        video.setCodecPreferences(h264_preferences())

    async def join(self, ws) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await ws.send_json({"type": "join", "sdp": self.pc.localDescription.sdp})
        answer = await until(ws, lambda f: f["type"] in ("answer", "error"))
        assert answer["type"] == "answer", answer
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def program_frames(self, count: int) -> None:
        video = next(t for t in self.tracks if t.kind == "video")
        async with asyncio.timeout(15):
            for _ in range(count):
                await video.recv()


async def until(ws, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.receive_json()
            if predicate(frame):
                return frame


def seat(frame: dict[str, Any], member_id: int) -> dict[str, Any] | None:
    if frame["type"] != "state":
        return None
    return next((m for m in frame["members"] if m["id"] == member_id), None)


async def test_join_floor_hard_mute_and_reconnect(client, store, loopback_ice, monkeypatch):
    allowed: list[tuple[str, bool]] = []
    original = MemberRoom.set_audio_allowed

    def spy(room: MemberRoom, key: str, value: bool) -> None:
        allowed.append((key, value))
        original(room, key, value)

    monkeypatch.setattr(MemberRoom, "set_audio_allowed", spy)
    sid, _ = await scheduled_sitting(store)
    app = client.server.app
    live = await app[keys.LIVE].start(sid, "test")
    await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack(440.0))
    member_id = await add_member(store, "Anggota Uji")
    await log_in(client, store, "anggota", member_id=member_id)
    clients = Clients(client)
    members: list[AiortcMember] = []
    try:
        chair = await clients.new()
        await log_in(chair, store, "pimpinan")
        chair_ws = await chair.ws_connect(f"/ruang/{sid}/ws")
        ws = await client.ws_connect(f"/ruang/{sid}/ws")
        hello = await until(ws, lambda f: f["type"] == "hello")
        assert hello["you"] == {
            "key": str(member_id),
            "member": member_id,
            "name": "Anggota Uji",
            "chair": False,
        }
        members.append(AiortcMember())
        await members[0].join(ws)
        await members[0].program_frames(10)
        room = app[ROOMS].rooms[sid].media
        await eventually(lambda: room.stats().cameras == 1)
        assert (str(member_id), False) in allowed, "a member joins muted"

        await chair_ws.send_json({"type": "floor", "member": member_id, "limit_s": 120})
        await until(ws, lambda f: (seat(f, member_id) or {}).get("floor") is True)
        assert allowed[-1] == (str(member_id), True)
        program_input = f"member:{member_id}"
        await eventually(lambda: live.program.input_frames().get(program_input, 0) > 5)

        await chair_ws.send_json({"type": "mute", "member": member_id})
        await until(ws, lambda f: (seat(f, member_id) or {}).get("muted") is True)
        assert allowed[-1] == (str(member_id), False)
        await ws.send_json({"type": "mic", "open": True})
        refused = await until(ws, lambda f: f["type"] == "error")
        assert "pimpinan" in refused["message"]
        assert allowed[-1] == (str(member_id), False), "the server keeps the audio dropped"

        # The network drops: the transport goes, then the page reconnects with a new socket
        # and a new peer connection.
        await members[0].pc.close()
        await ws.close()
        await until(chair_ws, lambda f: (seat(f, member_id) or {}).get("connected") is False)
        ws = await client.ws_connect(f"/ruang/{sid}/ws")
        members.append(AiortcMember())
        await members[1].join(ws)
        state = await until(ws, lambda f: (seat(f, member_id) or {}).get("connected") is True)
        mine = seat(state, member_id)
        assert mine["floor"] and mine["muted"] and not mine["mic"]
        assert allowed[-1] == (str(member_id), False), "the hard mute holds on the new peer"
        await members[1].program_frames(10)
        async with store.read() as session:
            rows = await room_store.list_attendance(session, sid)
        assert [(r.member_id, r.mode, r.left_at) for r in rows] == [(member_id, "remote", None)]
        await ws.close()
        await chair_ws.close()
    finally:
        for member in members:
            await member.pc.close()
        await clients.close()
