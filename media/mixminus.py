"""Member audio: a hard-mute gate on each voice, and a mix-minus feed for each listener.

The program mixes every primed input once per tick and publishes the per-input chunks to its
audio taps. `MixMinus` turns one tick into one frame per listener: the sum of all chunks minus
the listener's own, so a member hears the hall and everyone else, never themselves. Each
listener's frames go to a normal audio track, so aiortc runs one Opus encode per member.

A muted member's voice never reaches the program at all (`VoiceGate` drops it on the server),
so it is absent from the public mix, the recording and every mix-minus, whatever the client
sends. Audio already buffered in the program when the mute lands (at most its 200 ms input
backlog) still plays out.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.program import SAMPLE_RATE

OPUS_FRAME = SAMPLE_RATE // 50  # 20 ms
_MAX_BACKLOG = SAMPLE_RATE // 2


class VoiceGate(MediaStreamTrack):
    """A member's decoded microphone, passed on only while `allowed`; always drained."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.allowed = False
        self.dropped = 0
        self._source = source

    async def recv(self) -> av.AudioFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self._source.recv()
            if self.allowed:
                return frame
            self.dropped += 1


class MixMinusTrack(MediaStreamTrack):
    """One listener's mix-minus as 20 ms 48 kHz stereo s16 frames; bounded.

    aiortc's Opus encoder sends everything one input frame yields under a single RTP
    timestamp, so frames must be exactly one Opus frame (20 ms) long: program ticks (1/30 s)
    are re-chunked here. An encoder more than `_MAX_BACKLOG` behind loses the oldest audio.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0
        self._pcm = np.zeros((0, 2), np.int16)
        self._sent = 0
        self._ready = asyncio.Event()

    def offer(self, pcm: np.ndarray) -> None:
        """Append (n, 2) int16 samples."""
        self._pcm = np.concatenate([self._pcm, pcm])
        if len(self._pcm) > _MAX_BACKLOG:
            self.dropped += len(self._pcm) - _MAX_BACKLOG
            self._pcm = self._pcm[-_MAX_BACKLOG:]
        if len(self._pcm) >= OPUS_FRAME:
            self._ready.set()

    def stop(self) -> None:
        super().stop()
        self._ready.set()

    async def recv(self) -> av.AudioFrame:
        while len(self._pcm) < OPUS_FRAME:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        chunk, self._pcm = self._pcm[:OPUS_FRAME], self._pcm[OPUS_FRAME:]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._sent
        frame.time_base = Fraction(1, SAMPLE_RATE)
        self._sent += OPUS_FRAME
        return frame


class MixMinus:
    """A program audio tap feeding one `MixMinusTrack` per listener (keyed by input name).

    The tap runs on the program thread and only hands the tick's chunks to the event loop; the
    arithmetic (one sum, one subtraction per listener) runs there.
    """

    def __init__(
        self, samples_per_tick: int, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.samples_per_tick = samples_per_tick
        self._loop = loop or asyncio.get_running_loop()
        self._listeners: dict[str, MixMinusTrack] = {}

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def listen(self, name: str) -> MixMinusTrack:
        """A new feed for input `name` (e.g. "member:12"); replaces and ends an older one."""
        self.forget(name)
        track = self._listeners[name] = MixMinusTrack()
        return track

    def forget(self, name: str, track: MixMinusTrack | None = None) -> None:
        """End `name`'s feed (only if it is still `track`, when given)."""
        current = self._listeners.get(name)
        if current is not None and (track is None or track is current):
            del self._listeners[name]
            current.stop()

    def tap(self, tick: int, chunks: dict[str, np.ndarray]) -> None:
        """`Program.audio_taps` entry (program thread)."""
        if self._listeners and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.deliver, tick, chunks)

    def deliver(self, tick: int, chunks: dict[str, np.ndarray]) -> None:
        """Give every listener this tick's mix minus their own chunk (event loop); silence
        when nobody is audible, so each listener's stream keeps its pace."""
        samples = self.samples_per_tick
        total = np.zeros((samples, 2), np.int32)
        for chunk in chunks.values():
            total += chunk
        everyone = np.clip(total, -32768, 32767).astype(np.int16)
        for name, track in list(self._listeners.items()):
            own = chunks.get(name)
            if own is None:
                track.offer(everyone)
            else:
                track.offer(np.clip(total - own, -32768, 32767).astype(np.int16))
