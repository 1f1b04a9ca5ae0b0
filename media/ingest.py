"""WHIP ingest session (RFC 9725 semantics without HTTP): one offer in, one answer out.

The HTTP layer maps: POST body → `create(offer)` → 201 with the answer and a Location built
from `session.id`; DELETE on that Location → `close()`; `InvalidOffer` → 400. aiortc decodes
the hall's video and audio exactly once; the program drains those tracks continuously.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

log = logging.getLogger(__name__)


class InvalidOffer(ValueError):
    """The body is not a usable SDP offer (HTTP 400)."""


class HallSink(Protocol):
    """What ingest needs from the orchestrator (LiveSitting implements it)."""

    async def attach_hall(
        self, video_track: MediaStreamTrack, audio_track: MediaStreamTrack | None = None
    ) -> None: ...

    async def detach_hall(self, tracks: tuple[MediaStreamTrack, ...] | None = None) -> None: ...


def check_offer(sdp: str) -> None:
    """Reject obviously malformed SDP before aiortc parses it (aiortc errors are not typed)."""
    lines = [line.strip() for line in sdp.strip().splitlines()]
    if not lines or lines[0] != "v=0":
        raise InvalidOffer("SDP must start with v=0")
    kinds = [line.split()[0][2:] for line in lines if line.startswith("m=") and line.split()]
    if "video" not in kinds:
        raise InvalidOffer("the offer has no video m-line")
    if any(k not in ("audio", "video") for k in kinds):
        raise InvalidOffer("only audio and video m-lines are accepted")


def to_rtc_ice_servers(config: list[dict]) -> list[RTCIceServer]:
    """`SIDANG_ICE_SERVERS` entries ({"urls", "username", "credential"}) for aiortc."""
    return [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in config
    ]


class IngestSession:
    """One publisher (OBS, a mixer, or a test client) feeding a sitting's hall input."""

    def __init__(self, sink: HallSink) -> None:
        self.id = uuid.uuid4().hex
        self.sink = sink
        self.pc: RTCPeerConnection | None = None
        self.tracks: tuple[MediaStreamTrack, ...] = ()
        self._closed = False

    async def create(self, offer_sdp: str, ice_servers: list[dict] | None = None) -> str:
        """Answer the offer and attach the received tracks as the hall; returns answer SDP."""
        check_offer(offer_sdp)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=to_rtc_ice_servers(ice_servers or [])))
        self.pc = pc
        received: dict[str, MediaStreamTrack] = {}
        pc.on("track", lambda track: received.setdefault(track.kind, track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close()

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, KeyError, IndexError, AssertionError) as exc:
            await pc.close()
            raise InvalidOffer(str(exc) or type(exc).__name__) from exc
        except BaseException:
            await pc.close()  # never leave a half-made peer connection behind
            raise
        if "video" not in received:
            await pc.close()
            raise InvalidOffer("no video track was negotiated")
        self.tracks = tuple(received[k] for k in ("video", "audio") if k in received)
        await self.sink.attach_hall(received["video"], received.get("audio"))
        return pc.localDescription.sdp

    async def close(self) -> None:
        """End the session (WHIP DELETE); the program shows the interruption slate."""
        if self._closed:
            return
        self._closed = True
        await self.sink.detach_hall(self.tracks)
        if self.pc is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.pc.close()
