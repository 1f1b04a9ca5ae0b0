"""Helpers for tests that run a real live sitting."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Awaitable, Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server.domain.sitting import SittingStatus
from tests.factories import new_sitting


async def scheduled_sitting(store, title: str = "Paripurna Uji Siaran") -> tuple[int, str]:
    """A public scheduled sitting; returns its id and ingest key."""
    async with store.transaction() as session:
        sitting = await new_sitting(
            session,
            title=title,
            starts_at=dt.datetime.now(dt.UTC),
            quorum_rule="1/2",
            status=SittingStatus.SCHEDULED,
            agenda=["Pembukaan"],
        )
        return sitting.id, sitting.ingest_key


async def eventually(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0
) -> None:
    """Wait for a condition that no event announces (e.g. decoded frames reaching the program,
    or a row the server writes after the last message it sends)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _holds(predicate):
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _holds(predicate: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = predicate()
    return bool(await result) if inspect.isawaitable(result) else bool(result)


async def whip_publisher() -> RTCPeerConnection:
    """An aiortc WHIP client with the synthetic hall source; the offer carries all candidates."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(SyntheticVideoTrack("Aula Uji", 640, 360))
    pc.addTrack(SyntheticAudioTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def whip_publish(client, sitting_id: int, key: str, pc: RTCPeerConnection):
    response = await client.post(
        f"/whip/{sitting_id}",
        data=pc.localDescription.sdp,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
    )
    if response.status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(await response.text(), "answer"))
    return response
