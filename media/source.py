"""Synthetic hall source: a moving test card with a machine-readable wall clock, and a tone.

The clock is burned in as a row of large black/white blocks (start marker, 42 bits of epoch
milliseconds, 4 checksum bits) that survive H.264 at 360p, so the latency bench can read the
capture time back from any decoded frame with `read_burned_clock`.
Both tracks are aiortc MediaStreamTracks, so an aiortc WHIP client can publish them too.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from media.font import text_mask

VIDEO_CLOCK_RATE = 90000
MAX_BACKLOG_S = 1.0  # a video source this far behind its clock skips ahead
_BLOCK = 24
_BITS = 42
_CHECK_BITS = 4
_MARKER = (1, 0)
_CODE_X = 64
_CODE_Y = 24
_BLACK, _WHITE = 16, 235
_BAND_H = 112
_REF_W, _REF_H = 1280, 720


def _clock_bits(ms: int) -> list[int]:
    bits = [(ms >> (_BITS - 1 - i)) & 1 for i in range(_BITS)]
    check = sum(bits) % (1 << _CHECK_BITS)
    return [*_MARKER, *bits, *((check >> (_CHECK_BITS - 1 - i)) & 1 for i in range(_CHECK_BITS))]


def read_burned_clock(frame: av.VideoFrame) -> float | None:
    """Capture wall time (epoch seconds) burned into a synthetic frame, or None if unreadable."""
    if (frame.width, frame.height) != (_REF_W, _REF_H):
        frame = frame.reformat(width=_REF_W, height=_REF_H)
    luma = frame.reformat(format="gray").to_ndarray()
    n = len(_MARKER) + _BITS + _CHECK_BITS
    y0 = _CODE_Y + _BLOCK // 3
    row = luma[y0 : y0 + _BLOCK // 3, _CODE_X : _CODE_X + n * _BLOCK].astype(np.float32)
    means = row.reshape(row.shape[0], n, _BLOCK)[:, :, _BLOCK // 3 : 2 * _BLOCK // 3].mean(
        axis=(0, 2)
    )
    bits = [int(m > (_BLACK + _WHITE) / 2) for m in means]
    ms = 0
    for b in bits[len(_MARKER) : len(_MARKER) + _BITS]:
        ms = (ms << 1) | b
    if bits != _clock_bits(ms):
        return None
    return ms / 1000.0


class TestCard:
    """Renders yuv420p frames: precomputed bars and title, per-frame clock band only."""

    __test__ = False

    def __init__(self, title: str, width: int = 1280, height: int = 720) -> None:
        if width * 9 != height * 16 or width % 64:
            raise ValueError("the test card is 16:9 with a width divisible by 64")
        self.width, self.height = width, height
        # Clock geometry is defined at 1280x720 and scaled, so readers can normalise to it.
        k = width / _REF_W
        self._block, self._code_x, self._code_y = (
            round(_BLOCK * k),
            round(_CODE_X * k),
            round(_CODE_Y * k),
        )
        self._band_h, self._text_scale = round(_BAND_H * k), max(1, round(4 * k))
        period = 160
        x = np.arange(width + period)
        self._luma = np.tile((60 + 150 * ((x // 40) % 4) / 3).astype(np.uint8), (height, 1))
        cx = np.arange((width + period) // 2)
        self._u = np.tile((128 + 60 * np.sin(cx / 25.0)).astype(np.uint8), (height // 2, 1))
        self._v = np.tile((128 + 60 * np.cos(cx / 35.0)).astype(np.uint8), (height // 2, 1))
        self._period = period
        scale = max(2, min(6, (width - 80) // max(1, len(title) * 6)))
        mask = text_mask(title, scale)
        self._title_y = height - 40 - mask.shape[0]
        band = np.full((mask.shape[0] + 24, width), 32, np.uint8)
        w = min(mask.shape[1], width - 80)
        band[12 : 12 + mask.shape[0], 40 : 40 + w][mask[:, :w]] = _WHITE
        self._title_band = band
        self._clock_band = np.full((self._band_h, width), _BLACK, np.uint8)
        self._buf = np.empty((height * 3 // 2, width), np.uint8)

    def render(self, index: int, wall: float) -> av.VideoFrame:
        """Frame `index` with `wall` (epoch seconds) burned in."""
        h, w = self.height, self.width
        off = (index * 4) % self._period
        buf = self._buf
        buf[:h] = self._luma[:, off : off + w]
        quarter = h // 4
        buf[h : h + quarter] = self._u[:, off // 2 : off // 2 + w // 2].reshape(quarter, w)
        buf[h + quarter :] = self._v[:, off // 2 : off // 2 + w // 2].reshape(quarter, w)
        ty = self._title_y
        buf[ty : ty + self._title_band.shape[0]] = self._title_band
        buf[: self._band_h] = self._clock_band
        ms = int(wall * 1000)
        b, x0, y0 = self._block, self._code_x, self._code_y
        for i, bit in enumerate(_clock_bits(ms)):
            if bit:
                buf[y0 : y0 + b, x0 + i * b : x0 + (i + 1) * b] = _WHITE
        stamp = time.strftime("%H:%M:%S", time.gmtime(wall)) + f".{ms % 1000:03d} UTC"
        mask = text_mask(stamp, self._text_scale)
        ty = y0 + b + b * 2 // 3
        buf[ty : ty + mask.shape[0], x0 : x0 + mask.shape[1]][mask] = _WHITE
        # The chroma rows that sit under the clock band stay neutral so the blocks stay grey.
        return av.VideoFrame.from_ndarray(buf, format="yuv420p")


class SyntheticVideoTrack(MediaStreamTrack):
    """A paced test card track (like aiortc's VideoStreamTrack, with content)."""

    kind = "video"

    def __init__(self, title: str, width: int = 1280, height: int = 720, fps: int = 30) -> None:
        super().__init__()
        self.card = TestCard(title, width, height)
        self.fps = fps
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise asyncio.CancelledError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._index / self.fps
        if now - due > MAX_BACKLOG_S:
            # A starved loop: skip the frames a camera would have dropped. Rendering the
            # backlog back to back held the loop for 15-21 s under load (SIGTERM waited).
            self._index = int((now - self._start) * self.fps)
            due = self._start + self._index / self.fps
        # Always yield, even when late, so that catching up never holds the event loop.
        await asyncio.sleep(max(0.0, due - now))
        frame = self.card.render(self._index, time.time())
        frame.pts = self._index * VIDEO_CLOCK_RATE // self.fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self._index += 1
        return frame


class SyntheticAudioTrack(MediaStreamTrack):
    """A paced 20 ms s16 stereo sine tone."""

    kind = "audio"

    def __init__(self, freq: float = 440.0, sample_rate: int = 48000) -> None:
        super().__init__()
        self.freq = freq
        self.sample_rate = sample_rate
        self.samples = sample_rate // 50
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise asyncio.CancelledError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._sent / self.sample_rate
        await asyncio.sleep(max(0.0, due - now))  # yields when late too (see the video track)
        t = (self._sent + np.arange(self.samples)) / self.sample_rate
        tone = (0.2 * 32767 * np.sin(2 * math.pi * self.freq * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = self.sample_rate
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        self._sent += self.samples
        return frame
