"""Shared helpers: drive encoders faster than real time into an HlsPackager, and run live
sittings on a manual clock (the same result on any machine, however busy)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack

from media.clock import ManualClock
from media.encode import RENDITIONS, AudioEncoder, VideoEncoder
from media.fanout import PacketFanout
from media.hls import HlsPackager
from media.live import LiveSitting
from media.source import TestCard

LOW = (RENDITIONS[1], RENDITIONS[2])  # 360p and audio-only keep the offline tests cheap


class OfflineFeed:
    """Encoders and fanouts for 360p + audio, fed synchronously (no program clock)."""

    def __init__(self, sitting_dir: Path) -> None:
        self.video = VideoEncoder(RENDITIONS[1])
        self.aac128, self.aac48 = AudioEncoder(128_000), AudioEncoder(48_000)
        self.fanouts = {
            "360p": PacketFanout("360p", on_keyframe_request=self.video.request_keyframe),
            "aac128": PacketFanout("aac128", maxsize=600),
            "aac48": PacketFanout("aac48", maxsize=600),
        }
        self.packager = HlsPackager(
            sitting_dir,
            LOW,
            epoch=1_700_000_000.0,
            audio_templates={"360p": self.aac128.stream, "audio": self.aac48.stream},
        )
        self.packager.attach("360p", "video", self.fanouts["360p"])
        self.packager.attach("360p", "audio", self.fanouts["aac128"])
        self.packager.attach("audio", "audio", self.fanouts["aac48"])
        self.card = TestCard("Uji", 640, 360)
        self.tick = 0

    async def feed(self, frames: int, *, video: bool = True, audio: bool = True) -> None:
        """`frames` ticks of program output; a stream switched off leaves a gap in its time."""
        for _ in range(frames):
            if video:
                frame = self.card.render(self.tick, 1_700_000_000.0 + self.tick / 30)
                frame.pts, frame.time_base = self.tick, Fraction(1, 30)
                for p in self.video.encode(frame):
                    self.fanouts["360p"].publish(p)
            if audio:
                tone = np.zeros((1, 3200), np.int16)
                chunk = av.AudioFrame.from_ndarray(tone, format="s16", layout="stereo")
                chunk.sample_rate, chunk.pts, chunk.time_base = (
                    48000,
                    self.tick * 1600,
                    Fraction(1, 48000),
                )
                for enc, name in ((self.aac128, "aac128"), (self.aac48, "aac48")):
                    for p in enc.encode(chunk):
                        self.fanouts[name].publish(p)
            self.tick += 1
            await asyncio.sleep(0)

    async def close(self) -> None:
        for p in self.video.encode(None):
            self.fanouts["360p"].publish(p)
        for enc, name in ((self.aac128, "aac128"), (self.aac48, "aac48")):
            for p in enc.encode(None):
                self.fanouts[name].publish(p)
        for fanout in self.fanouts.values():
            fanout.close()
        await self.packager.close()
        for enc in (self.video, self.aac128, self.aac48):
            enc.close()


@pytest.fixture
async def offline(tmp_path: Path) -> AsyncIterator[OfflineFeed]:
    feed = OfflineFeed(tmp_path / "s1")
    yield feed
    if feed.fanouts["360p"].subscribers:
        await feed.close()


class PushedVideo(MediaStreamTrack):
    """A hall camera whose frames arrive only when the test sends them."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.card = TestCard("Aula", 640, 360)
        self.frames: asyncio.Queue[av.VideoFrame] = asyncio.Queue()
        self.sent = 0

    def push(self) -> None:
        self.frames.put_nowait(self.card.render(self.sent, 0.0))
        self.sent += 1

    async def recv(self) -> av.VideoFrame:
        return await self.frames.get()


class Rig:
    def __init__(self, sitting: LiveSitting, clock: ManualClock) -> None:
        self.sitting, self.clock = sitting, clock

    async def run(self, seconds: float, step: float, each: Callable[[], None] | None = None):
        """Let `seconds` of clock time pass in steps, calling `each` before every step."""
        for _ in range(round(seconds / step)):
            if each is not None:
                each()
            await asyncio.sleep(0)  # the program's input readers take what was sent
            self.clock.advance(step)
            assert await asyncio.to_thread(self.clock.wait_idle)

    async def stop(self):
        elapsed = self.clock.now()
        info = await self.sitting.stop()
        return info, elapsed


@pytest.fixture
async def rig(tmp_path: Path):
    made: list[LiveSitting] = []

    async def make(renditions=LOW) -> Rig:
        clock = ManualClock()
        sitting = LiveSitting("7", "Uji", tmp_path, renditions=renditions, clock=clock)
        made.append(sitting)
        await sitting.start(wait_ready=None)
        return Rig(sitting, clock)

    yield make
    for sitting in made:
        if sitting._recording is None:
            await sitting.stop()
