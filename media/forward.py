"""Encoded video to members without re-encoding: program packets out, member cameras through.

`PacketTrack` is what a member's video sender reads: packets from a swappable fanout
subscription (a program rendition, or another member's camera in a gallery slot), so aiortc
only packetizes. `Camera` drains a member's camera, received as packets (`media.packets`), into
a fanout; gallery slots subscribe to it, and `DecodedCamera` is the single place where that
camera is decoded, only while the program shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import av
from aiortc.mediastreams import (
    VIDEO_TIME_BASE,
    MediaStreamError,
    MediaStreamTrack,
    convert_timebase,
)

from media.encode import clone_packet
from media.fanout import PacketFanout, Subscriber

_CLOCK = VIDEO_TIME_BASE.denominator
_MAX_SKEW = _CLOCK // 2  # a new source further than 0.5 s off the wall clock is re-based


class PacketTrack(MediaStreamTrack):
    """A video track whose `recv()` returns shared encoded packets from a swappable source.

    RTP timestamps must keep following the wall clock across a swap (two cameras have unrelated
    timelines), so after `switch` the first packet may set an offset; while the offset is zero
    the shared packet is passed through untouched, otherwise a re-stamped copy is sent.
    """

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.delivered = 0
        self._sub: Subscriber | None = None
        self._changed = asyncio.Event()
        self._offset = 0
        self._last: tuple[int, float] | None = None
        self._rebase = False
        self._retired_drops = 0

    @property
    def dropped(self) -> int:
        """Packets this track's subscriptions lost (gating, overflow), over its lifetime."""
        return self._retired_drops + (self._sub.dropped if self._sub else 0)

    @property
    def source(self) -> Subscriber | None:
        return self._sub

    def switch(self, sub: Subscriber | None) -> None:
        """Send from `sub` (already gated to a keyframe) from now on; None idles the track."""
        old, self._sub = self._sub, sub
        if old is not None:
            self._retired_drops += old.dropped
            old.close()
        self._rebase = True
        self._changed.set()

    def request_keyframe(self) -> None:
        """The remote decoder lost a picture (PLI/FIR): ask the current source, throttled."""
        if self._sub is not None:
            self._sub.request_keyframe()

    def stop(self) -> None:
        super().stop()
        self.switch(None)

    async def recv(self) -> av.Packet:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            sub = self._sub
            if sub is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                packet = await sub.recv()
            except EOFError:
                if self._sub is sub:  # the source ended (camera left, sitting stopped)
                    self.switch(None)
                continue
            if sub is self._sub:
                self.delivered += 1
                return self._stamp(packet)

    def _stamp(self, packet: av.Packet) -> av.Packet:
        ts = convert_timebase(packet.pts, packet.time_base, VIDEO_TIME_BASE)
        now = time.monotonic()
        if self._rebase and self._last is not None:
            last_ts, at = self._last
            expected = last_ts + max(1, round((now - at) * _CLOCK))
            if abs(ts + self._offset - expected) > _MAX_SKEW or ts + self._offset <= last_ts:
                self._offset = expected - ts
        self._rebase = False
        self._last = (ts + self._offset, now)
        if self._offset == 0:
            return packet
        copy = clone_packet(packet)
        copy.pts = copy.dts = ts + self._offset
        copy.time_base = VIDEO_TIME_BASE
        return copy


class Camera:
    """A member's camera as encoded packets, drained continuously into a fanout.

    `request_upstream_keyframe` sends a PLI to the member; the fanout throttles it, so a
    dozen gallery slots joining at once cost the member one IDR. `on_end` runs once the
    member's track ends (so their gallery slots can be refilled).
    """

    def __init__(
        self,
        name: str,
        track: MediaStreamTrack,
        request_upstream_keyframe: Callable[[], None],
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.fanout = PacketFanout(name, maxsize=60, on_keyframe_request=request_upstream_keyframe)
        self._on_end = on_end
        self._task = asyncio.get_running_loop().create_task(self._pump(track))

    @property
    def live(self) -> bool:
        return not self._task.done()

    async def _pump(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                self.fanout.publish(await track.recv())
        self.fanout.close()
        if self._on_end is not None:
            self._on_end()

    def close(self) -> None:
        self._task.cancel()
        self.fanout.close()


class DecodedCamera(MediaStreamTrack):
    """The camera's one decode, for the program, done only while `on_air()` says it is shown.

    Off air, packets are read and dropped (cheap); back on air, decoding resumes at the next
    keyframe, which we ask the member for. Decoding runs in a worker thread.
    """

    kind = "video"

    def __init__(self, camera: Camera, on_air: Callable[[], bool]) -> None:
        super().__init__()
        self.decoded = 0
        self._sub = camera.fanout.subscribe()
        self._on_air = on_air
        self._codec = av.CodecContext.create("h264", "r")
        self._gated = True

    @property
    def decoding(self) -> bool:
        return not self._gated

    async def recv(self) -> av.VideoFrame:
        loop = asyncio.get_running_loop()
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            try:
                packet = await self._sub.recv()
            except EOFError:
                self.stop()
                raise MediaStreamError from None
            if not self._on_air():
                self._gated = True
                continue
            if self._gated:
                if not packet.is_keyframe:
                    self._sub.request_keyframe()
                    continue
                self._gated = False
            try:
                frames = await loop.run_in_executor(None, self._codec.decode, packet)
            except av.FFmpegError:
                self._gated = True
                continue
            if frames:
                self.decoded += len(frames)
                return frames[-1]

    def stop(self) -> None:
        super().stop()
        self._sub.close()
