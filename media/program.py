"""The program feed: a self-clocked 30 fps compositor and a 48 kHz stereo mix.

Inputs are aiortc tracks that already decode (the hall via WHIP, members later). A reader task
per track drains it (aiortc's queues are unbounded) and keeps only the latest video frame and a
short audio backlog. A worker thread ticks at a fixed rate, mixes audio and hands each tick to a
sink (the encoders), so a stalled input never stalls the output: its last frame is held for
`hold_seconds`, then the slate takes over.

Every tick is delivered, late or not: a late program catches up (the sink drops video frames,
see media/overload.py), and only a program more than MAX_LATE_S behind (a frozen machine)
gives up the backlog. The picture is composed only when the sink asks for it, so a tick whose
video frame is dropped costs just its audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.clock import SYSTEM_CLOCK, Clock
from media.font import text_mask, text_width

log = logging.getLogger(__name__)

HALL = "hall"
SLATE_WAITING = "Siaran akan segera dimulai"
SLATE_INTERRUPTED = "Siaran terputus sementara"
SAMPLE_RATE = 48000
_JITTER_SAMPLES = 2880  # 60 ms of input audio buffered before an input joins the mix
_MAX_BACKLOG = 9600  # 200 ms; beyond this the input is ahead of us and we drop the excess
MAX_LATE_S = 5.0  # further behind than this, the backlog is given up rather than caught up


class LayoutKind(enum.Enum):
    HALL = "hall"
    FLOOR = "floor"
    GRID = "grid"
    SLATE = "slate"


@dataclass(frozen=True)
class Layout:
    """What the program shows. FLOOR names the input holding the floor, e.g. "member:12"."""

    kind: LayoutKind = LayoutKind.HALL
    floor: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is LayoutKind.FLOOR) != (self.floor is not None):
            raise ValueError("a FLOOR layout names exactly one floor holder")


@dataclass
class ProgramTick:
    """One tick of program output; the picture is composed on first use."""

    index: int
    late_s: float  # how far behind the program clock this tick is produced
    audio: av.AudioFrame
    compose: Callable[[int], av.VideoFrame]
    _picture: av.VideoFrame | None = None

    def picture(self) -> av.VideoFrame:
        if self._picture is None:
            self._picture = self.compose(self.index)
        return self._picture


# Sink called on the program thread once per tick.
ProgramSink = Callable[[ProgramTick], None]
# Audio tap: (tick, per-input 1600x2 int16 chunks). Mix-minus = mix - own chunk.
AudioTap = Callable[[int, dict[str, np.ndarray]], None]


@dataclass
class _Input:
    name: str
    video: tuple[av.VideoFrame, float] | None = None
    audio: deque = field(default_factory=lambda: deque(maxlen=50))
    tasks: dict[str, asyncio.Task] = field(default_factory=dict)
    frames_in: int = 0
    resampler: av.AudioResampler | None = None
    backlog: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int16))
    primed: bool = False


@dataclass
class ProgramStats:
    ticks: int = 0
    late_ticks: int = 0
    skipped_ticks: int = 0


def _planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arr = frame.to_ndarray()
    h, w = frame.height, frame.width
    q = h // 4
    return arr[:h], arr[h : h + q].reshape(h // 2, w // 2), arr[h + q :].reshape(h // 2, w // 2)


def _even(v: float) -> int:
    """Round down to even: yuv420p positions and sizes must be even."""
    return max(0, int(v) // 2 * 2)


class Canvas:
    """A yuv420p canvas in three numpy planes; compositing only copies rectangles."""

    def __init__(self, width: int, height: int, luma: int = 16) -> None:
        self.width, self.height = width, height
        self.y = np.full((height, width), luma, np.uint8)
        self.u = np.full((height // 2, width // 2), 128, np.uint8)
        self.v = np.full((height // 2, width // 2), 128, np.uint8)

    def paste(self, frame: av.VideoFrame, x: int, y: int, w: int, h: int) -> None:
        """Scale `frame` to fit w×h (aspect kept, centred) and paste it at (x, y)."""
        scale = min(w / frame.width, h / frame.height)
        fw, fh = max(2, _even(frame.width * scale)), max(2, _even(frame.height * scale))
        x, y = _even(x + (w - fw) / 2), _even(y + (h - fh) / 2)
        small = frame.reformat(width=fw, height=fh, format="yuv420p")
        py, pu, pv = _planes(small)
        self.y[y : y + fh, x : x + fw] = py
        self.u[y // 2 : (y + fh) // 2, x // 2 : (x + fw) // 2] = pu
        self.v[y // 2 : (y + fh) // 2, x // 2 : (x + fw) // 2] = pv

    def frame(self) -> av.VideoFrame:
        q = self.height // 4
        stacked = np.concatenate(
            [self.y, self.u.reshape(q, self.width), self.v.reshape(q, self.width)]
        )
        return av.VideoFrame.from_ndarray(stacked, format="yuv420p")


def render_slate(text: str, title: str, width: int, height: int) -> np.ndarray:
    """The slate as a yuv420p ndarray: title small on top, the message large in the middle."""
    canvas = Canvas(width, height, luma=40)
    for line, scale, cy in ((title, 4, height // 4), (text, 8, height // 2)):
        while scale > 1 and text_width(line, scale) > width - 64:
            scale -= 1
        mask = text_mask(line, scale)
        y0, x0 = cy - mask.shape[0] // 2, (width - mask.shape[1]) // 2
        canvas.y[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]][mask] = 235
    canvas.u[:] = 140
    q = height // 4
    return np.concatenate([canvas.y, canvas.u.reshape(q, width), canvas.v.reshape(q, width)])


class Program:
    """Compose named inputs into one fixed-rate feed; `sink` receives every tick."""

    def __init__(
        self,
        sink: ProgramSink,
        *,
        title: str = "",
        width: int = 1280,
        height: int = 720,
        fps: int = 30,
        hold_seconds: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.clock = clock
        self.hold_seconds = hold_seconds
        self.samples_per_tick = SAMPLE_RATE // fps
        self.layout = Layout()
        self.stats = ProgramStats()
        self.audio_taps: list[AudioTap] = []
        self.started_at: float | None = None
        self.last_error: str | None = None
        self._sink = sink
        self._title = title
        self._inputs: dict[str, _Input] = {}
        self._lock = threading.Lock()
        self._hall_seen = False
        self._slates: dict[str, np.ndarray] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    # -- inputs (event loop side) -------------------------------------------------------

    def set_input(self, name: str, track: MediaStreamTrack) -> None:
        """Start draining `track` (video or audio) as input `name`; replaces a previous one."""
        with self._lock:
            inp = self._inputs.setdefault(name, _Input(name))
        old = inp.tasks.pop(track.kind, None)
        if old:
            old.cancel()
        reader = self._read_video if track.kind == "video" else self._read_audio
        inp.tasks[track.kind] = asyncio.get_running_loop().create_task(reader(inp, track))

    def remove_input(self, name: str) -> None:
        with self._lock:
            inp = self._inputs.pop(name, None)
        if inp:
            for task in inp.tasks.values():
                task.cancel()

    def input_names(self) -> list[str]:
        with self._lock:
            return list(self._inputs)

    def has_live_video(self, name: str) -> bool:
        with self._lock:
            inp = self._inputs.get(name)
        return inp is not None and self._fresh(inp, self.clock.now()) is not None

    def set_layout(self, layout: Layout) -> None:
        self.layout = layout

    async def _read_video(self, inp: _Input, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                inp.video = (frame, self.clock.now())
                inp.frames_in += 1
                if inp.name == HALL:
                    self._hall_seen = True

    async def _read_audio(self, inp: _Input, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                inp.audio.append(await track.recv())

    # -- program thread -------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="program", daemon=True)
        self._thread.start()
        self._started.wait()

    def stop(self) -> None:
        """Stop ticking (blocking join; call via a thread). Inputs are removed on the loop."""
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        t0 = self.clock.now()
        self.started_at = self.clock.wall()
        self._started.set()
        tick = 0
        while not self._stop.is_set():
            late = self.clock.now() - (t0 + tick / self.fps)
            if late < 0:
                if self.clock.wait(self._stop, -late):
                    break
                late = 0.0
            elif late > MAX_LATE_S:
                skip = int(late * self.fps)
                tick += skip
                late -= skip / self.fps
                self.stats.skipped_ticks += skip
                log.error("program %.1f s behind: gave up %d ticks", skip / self.fps, skip)
            elif late > 1.0 / self.fps:
                self.stats.late_ticks += 1
            try:
                self._sink(ProgramTick(tick, late, self.mix(tick), self.compose))
            except Exception as exc:  # keep ticking: one bad frame must not end the stream
                log.exception("program tick %d failed", tick)
                self.last_error = repr(exc)
            self.stats.ticks += 1
            tick += 1

    def _fresh(self, inp: _Input | None, now: float) -> av.VideoFrame | None:
        if inp is None or inp.video is None:
            return None
        frame, at = inp.video
        return frame if now - at <= self.hold_seconds else None

    def slate_text(self) -> str:
        return SLATE_INTERRUPTED if self._hall_seen else SLATE_WAITING

    def _slate(self) -> av.VideoFrame:
        text = self.slate_text()
        if text not in self._slates:
            self._slates[text] = render_slate(text, self._title, self.width, self.height)
        return av.VideoFrame.from_ndarray(self._slates[text], format="yuv420p")

    def compose(self, tick: int) -> av.VideoFrame:
        """The program picture for this tick, pts = tick in 1/fps."""
        now = self.clock.now()
        with self._lock:
            inputs = dict(self._inputs)
        hall = self._fresh(inputs.get(HALL), now)
        layout = self.layout
        out: av.VideoFrame | None = None
        if layout.kind is LayoutKind.FLOOR:
            floor = self._fresh(inputs.get(layout.floor or ""), now)
            if floor is not None:
                out = self._picture_in_picture(floor, hall)
        elif layout.kind is LayoutKind.GRID:
            live = [f for f in (self._fresh(i, now) for i in inputs.values()) if f is not None]
            if live:
                out = self._grid(live)
        if out is None and hall is not None and layout.kind is not LayoutKind.SLATE:
            out = self._full(hall)
        if out is None:
            out = self._slate()
        out.pts = tick
        out.time_base = Fraction(1, self.fps)
        return out

    def _full(self, frame: av.VideoFrame) -> av.VideoFrame:
        if (frame.width, frame.height) == (self.width, self.height):
            # Zero-copy path; the same frame may be reused while the input stalls.
            return frame.reformat(format="yuv420p") if frame.format.name != "yuv420p" else frame
        if frame.width * self.height == frame.height * self.width:
            return frame.reformat(width=self.width, height=self.height, format="yuv420p")
        canvas = Canvas(self.width, self.height)
        canvas.paste(frame, 0, 0, self.width, self.height)
        return canvas.frame()

    def _picture_in_picture(self, main: av.VideoFrame, inset: av.VideoFrame | None):
        canvas = Canvas(self.width, self.height)
        canvas.paste(main, 0, 0, self.width, self.height)
        if inset is not None:
            w, h = _even(self.width * 0.3), _even(self.height * 0.3)
            canvas.paste(inset, self.width - w - 32, self.height - h - 32, w, h)
        return canvas.frame()

    def _grid(self, frames: list[av.VideoFrame]) -> av.VideoFrame:
        cols = int(np.ceil(np.sqrt(len(frames))))
        rows = int(np.ceil(len(frames) / cols))
        cw, ch = self.width // cols, self.height // rows
        canvas = Canvas(self.width, self.height)
        for i, frame in enumerate(frames):
            canvas.paste(frame, (i % cols) * cw, (i // cols) * ch, cw, ch)
        return canvas.frame()

    def mix(self, tick: int) -> av.AudioFrame:
        """One tick of 48 kHz stereo s16: the clipped sum of all primed inputs, else silence."""
        n = self.samples_per_tick
        with self._lock:
            inputs = list(self._inputs.values())
        chunks: dict[str, np.ndarray] = {}
        for inp in inputs:
            chunk = self._take_audio(inp, n)
            if chunk is not None:
                chunks[inp.name] = chunk
        if chunks:
            total = np.sum([c.astype(np.int32) for c in chunks.values()], axis=0)
            mixed = np.clip(total, -32768, 32767).astype(np.int16)
        else:
            mixed = np.zeros((n, 2), np.int16)
        for tap in self.audio_taps:
            tap(tick, chunks)
        frame = av.AudioFrame.from_ndarray(mixed.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = tick * n
        frame.time_base = Fraction(1, SAMPLE_RATE)
        return frame

    def _take_audio(self, inp: _Input, n: int) -> np.ndarray | None:
        if inp.resampler is None:
            inp.resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
        pending = []
        while inp.audio:
            for out in inp.resampler.resample(inp.audio.popleft()):
                pending.append(out.to_ndarray().reshape(-1, 2))
        if pending:
            inp.backlog = np.concatenate([inp.backlog, *pending])
        if len(inp.backlog) > _MAX_BACKLOG:
            inp.backlog = inp.backlog[-_JITTER_SAMPLES:]
        if not inp.primed:
            if len(inp.backlog) < _JITTER_SAMPLES:
                return None
            inp.primed = True
        if len(inp.backlog) < n:
            inp.primed = False  # underrun: re-buffer rather than click every tick
            return None
        chunk, inp.backlog = inp.backlog[:n], inp.backlog[n:]
        return chunk

    def input_frames(self) -> dict[str, int]:
        """Frames received per input since it was added (callers difference it over time)."""
        with self._lock:
            return {name: inp.frames_in for name, inp in self._inputs.items()}
