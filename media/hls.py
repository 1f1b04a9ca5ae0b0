"""Our LL-HLS packager: FFmpeg's mp4 muxer cuts 0.5 s CMAF fragments, we publish them.

Per rendition, a muxer writes fMP4 into a `BoxSplitter`. `ftyp`+`moov` becomes `init.mp4`; each
`moof`+`mdat` becomes a part file; a segment is the concatenation of its parts, written the
moment its last part is done. Video segments close when a part ends on the 2 s keyframe grid,
so every segment starts with an IDR even when extra IDRs were forced for WebRTC.

URL layout, relative to the master playlist `/live/{id}/index.m3u8`:

    {rendition}/index.m3u8      media playlist (renditions: 720p, 360p, audio)
    {rendition}/init.mp4        init segment (EXT-X-MAP)
    {rendition}/seg00012.m4s    segment 12
    {rendition}/part00012.3.m4s part 3 of segment 12 (kept for the last few segments only)

The HTTP layer serves `index.m3u8` from `playlist(rendition, low_latency=True)`: players that
do not know LL-HLS ignore the part tags (RFC 8216 says unknown tags are ignored) and hls.js
needs parts in the first playlist it sees. `low_latency=False` gives a segments-only view (the
same text is kept on disk as `{rendition}/index.m3u8`, which also makes the directory a valid
plain/VOD HLS tree for static serving). Blocking reload: for `?_HLS_msn=M[&_HLS_part=P]` call
`await wait_for(rendition, M, P, timeout)` first; it raises `ReloadTooFar` (answer 400) when M
is more than two segments ahead. A held preload-hint request uses `wait_for_path`. Players that
send `_HLS_skip=YES` (or `v2`; there are no date ranges to skip) get a delta update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from media.boxes import Track, box_size, fragment_timing, init_tracks
from media.clock import SYSTEM_CLOCK, Clock
from media.encode import FPS, SEGMENT_SECONDS, Rendition, clone_packet
from media.fanout import PacketFanout
from media.playlist import (
    PART_SECONDS,
    Part,
    Segment,
    master_playlist,
    part_name,
    part_target_for,
    render_playlist,
)
from media.storage import MediaStorageError, StorageHealth, atomic_write

log = logging.getLogger(__name__)

KEEP_PART_FILES_FOR = 8  # segments whose part files stay on disk
MOVFLAGS = "empty_moov+default_base_moof+frag_keyframe+cmaf+delay_moov"
# A timestamp step larger than this is a broken source clock, not a stall: the timeline is
# re-anchored instead of holding one frame for an hour.
MAX_JUMP_S = 60
_NAME = re.compile(r"^(?:(?P<rendition>[A-Za-z0-9_-]+)/)?(?P<file>[A-Za-z0-9_-]+(?:\.\d+)?\.\w+)$")
_PART = re.compile(r"^part(?P<msn>\d+)\.(?P<part>\d+)\.m4s$")


class ReloadTooFar(ValueError):
    """A blocking reload asked for a segment more than two ahead of the live edge (HTTP 400)."""


class PlaylistNotReady(LookupError):
    """No complete segment yet; hold the request with `wait_for(r, 0, None, ...)` instead."""


def resolve_media_file(sitting_dir: Path, relative: str, renditions: set[str]) -> Path | None:
    """Safe lookup of a file below a sitting dir: known names only, no traversal, must exist."""
    match = _NAME.match(relative)
    if not match or ".." in relative:
        return None
    rendition = match["rendition"]
    if rendition is not None and rendition not in renditions:
        return None
    path = sitting_dir / relative
    return path if path.is_file() else None


class BoxSplitter:
    """A write-only file object for the muxer that hands out complete top-level boxes."""

    def __init__(self, on_box: Callable[[str, bytes], None]) -> None:
        self._buf = bytearray()
        self._on_box = on_box

    def write(self, data: bytes) -> int:
        self._buf += data
        while (size := box_size(self._buf)) is not None and len(self._buf) >= size:
            kind = bytes(self._buf[4:8]).decode("latin-1")
            box = bytes(self._buf[:size])
            del self._buf[:size]
            self._on_box(kind, box)
        return len(data)


@dataclass
class _StreamClock:
    """One elementary stream's output timeline: source timestamps plus an offset in seconds.

    The offset changes only when the source clock breaks (a step backwards, or forwards by
    more than MAX_JUMP_S); the stream then continues right after its last packet. Real stalls
    (shorter steps forwards) are kept: the recording must cover the wall time."""

    offset: Fraction = Fraction(0)
    last: Fraction | None = None
    step: Fraction = Fraction(0)


class RenditionPackager:
    """Muxer, segmenter and segment model for one rendition.

    Muxing and file writes happen on the packager's thread; the model (segments and parts) is
    shared with the event loop under a lock, and waiters are woken through the loop.

    It heals itself: any exception in muxing or in the muxer's write callback (a PyAV
    callback that raised leaves its muxer broken for good) is logged once, counted, and the
    rendition restarts on a fresh muxer at the next keyframe, after an EXT-X-DISCONTINUITY.
    Only a storage failure (disk full, read-only) stops it, and that turns /healthz red.
    """

    def __init__(
        self,
        rendition: Rendition,
        directory: Path,
        *,
        epoch: float,
        audio_template: av.audio.stream.AudioStream,
        notify: Callable[[], None],
        health: StorageHealth,
        fps: int = FPS,
        clock: Clock = SYSTEM_CLOCK,
        resume: list[Segment] | None = None,
        offset: int = 0,
    ) -> None:
        """`resume` continues a recording a crash cut short: its segments stay in the
        playlist, and the new media follows at `offset` seconds (on the segment grid) after a
        discontinuity; the init segment on disk is kept."""
        self.rendition = rendition
        self.clock = clock
        self.directory = directory
        self.epoch = epoch
        self.fps = fps
        self.part_target = part_target_for(rendition)
        self.segments: list[Segment] = list(resume or [])
        self.ended = False
        self.lock = threading.Lock()
        # Rendered playlists by (low_latency, skip), cleared on every change to the model: every
        # viewer's player asks for the same text each part, and a 3-hour one takes ~7 ms.
        self._rendered: dict[tuple[bool, bool], str] = {}
        self._notify = notify
        self._health = health
        # Set by HlsPackager.attach: a restart asks the encoder for an IDR instead of waiting.
        self.request_keyframe: Callable[[], object] = lambda: None
        self._audio_template = audio_template
        self._tracks: dict[int, Track] = {}
        self._moof: bytes | None = None
        self._segment_bytes: list[bytes] = []
        self._failed = False
        self._broken: BaseException | None = None
        self._seen_errors: set[str] = set()
        self._discontinuity = bool(resume)
        start = Fraction(offset)
        self._clocks = {"video": _StreamClock(offset=start), "audio": _StreamClock(offset=start)}
        if resume:
            self._tracks = init_tracks((directory / "init.mp4").read_bytes())
        self._resume_at: Fraction | None = None
        self.restarts = 0
        self.errors = 0
        self.timestamp_jumps = 0
        self.last_part_at = clock.now()
        self._open_muxer(restart=bool(resume))

    def _open_muxer(self, restart: bool) -> None:
        """A fresh fMP4 muxer. A restarted one writes absolute times (`frag_discont`), so its
        fragments continue the timeline; its init segment is the same and is not rewritten."""
        flags = MOVFLAGS + ("+frag_discont" if restart else "")
        self._init: list[bytes] = []
        self._moof = None
        self._splitter = BoxSplitter(self._on_box)
        self._out = av.open(
            self._splitter,
            "w",
            format="mp4",
            options={
                "movflags": flags,
                "frag_duration": str(int(PART_SECONDS * 1e6)),
                "max_interleave_delta": str(int(PART_SECONDS * 1e6)),
            },
        )
        self._video = None
        if self.rendition.has_video:
            self._video = self._out.add_mux_stream(
                "h264", rate=self.fps, width=self.rendition.width, height=self.rendition.height
            )
            self._video.time_base = Fraction(1, 90000)
        self._audio = self._out.add_stream_from_template(self._audio_template)

    # -- packager thread ----------------------------------------------------------------

    def mux(self, kind: str, packet: av.Packet) -> None:
        """Mux one packet; never raises (a failure restarts the rendition instead)."""
        if self._failed:
            return
        try:
            if self._broken is not None:
                self._restart()
            copy = self._retime(kind, packet)
            if copy is not None:
                self._out.mux(copy)
        except Exception as exc:  # noqa: BLE001 - any failure here must not end the rendition
            self._break(exc, f"muxing a {kind} packet")

    def _retime(self, kind: str, packet: av.Packet) -> av.Packet | None:
        """A private copy on this rendition's continuous output timeline, or None to drop it
        (after a restart, until the video resumes on a keyframe)."""
        stream = self._video if kind == "video" else self._audio
        if stream is None or packet.dts is None or packet.time_base is None:
            return None
        tb = packet.time_base
        clock = self._clocks[kind]
        out = packet.dts * tb + clock.offset
        if clock.last is not None and not 0 < out - clock.last <= MAX_JUMP_S:
            clock.offset = self._reanchor(kind, packet.dts * tb, clock)
            out = packet.dts * tb + clock.offset
            self.timestamp_jumps += 1
            self._log_once(f"{kind} jump", f"{kind} timestamps jumped; the timeline continues")
        if self._awaiting_keyframe:
            if self._resume_at is None:
                if kind != "video" or not packet.is_keyframe:
                    return None
                self._resume_at = out
            elif out < self._resume_at:
                return None
        clock.step = Fraction(packet.duration or 0) * tb or clock.step
        clock.last = out
        copy = clone_packet(packet)
        shift = round(clock.offset / tb)
        copy.pts = packet.pts + shift if packet.pts is not None else None
        copy.dts = packet.dts + shift
        copy.stream = stream
        return copy

    @property
    def _awaiting_keyframe(self) -> bool:
        return self._discontinuity and self.rendition.has_video

    def _reanchor(self, kind: str, source: Fraction, clock: _StreamClock) -> Fraction:
        """The new offset for a stream whose source clock broke: audio follows the video's
        new offset when that keeps it monotonic, so both stay in sync."""
        assert clock.last is not None
        video = self._clocks["video"]
        follows_video = kind == "audio" and self._video is not None
        if follows_video and video.offset != clock.offset and source + video.offset > clock.last:
            return video.offset
        return clock.last + (clock.step or Fraction(1, self.fps)) - source

    def _break(self, exc: BaseException, context: str) -> None:
        self.errors += 1
        self._broken = exc
        key = f"{context}: {type(exc).__name__}"
        self._log_once(key, f"{context} failed ({exc!r}); restarting the rendition", exc)

    def _log_once(self, key: str, message: str, exc: BaseException | None = None) -> None:
        """Log each kind of failure once per rendition: a broken stream repeats it 60 times a
        second (the first outage logged 19,600 lines in 6 minutes); the counters go on."""
        if key in self._seen_errors:
            return
        self._seen_errors.add(key)
        where = f"{self.directory.parent.name}/{self.rendition.name}"
        log.error("%s: %s", where, message, exc_info=exc)

    def _restart(self) -> None:
        """End the open segment and start a new muxer that waits for a keyframe; players see
        a discontinuity. What the old muxer still holds is dropped: it follows the lost data
        and would not decode."""
        with contextlib.suppress(Exception):
            self._out.close()
        self._broken = None
        self._close_segment()
        self.restarts += 1
        self._discontinuity = True
        self._resume_at = None
        self._open_muxer(restart=True)
        self.request_keyframe()
        where = f"{self.directory.parent.name}/{self.rendition.name}"
        log.warning("%s: restarted on a new muxer (restart %d)", where, self.restarts)

    def close(self) -> None:
        """Flush the muxer; the trailing fragment becomes the last (short) segment."""
        if not self._failed and self._broken is None:
            with contextlib.suppress(Exception):
                self._out.close()
        self._close_segment()
        with self.lock:
            self.ended = True
            self._rendered.clear()
        self._write_playlist()
        self._notify()

    def _on_box(self, kind: str, box: bytes) -> None:
        """The muxer's write callback: must never raise, or PyAV breaks the muxer for good."""
        if self._failed or self._broken is not None:
            return
        try:
            if kind in ("ftyp", "moov"):
                self._init.append(box)
                if kind == "moov" and not self._tracks:
                    init = b"".join(self._init)
                    self._tracks = init_tracks(init)
                    atomic_write(self.directory / "init.mp4", init)
            elif kind == "moof":
                self._moof = box
            elif kind == "mdat" and self._moof is not None:
                moof, self._moof = self._moof, None
                self._on_part(moof, box)
        except MediaStorageError as exc:
            self._failed = True
            self._health.fail(exc)
            log.error("%s: %s", self.rendition.name, exc)
            self._notify()
        except Exception as exc:  # noqa: BLE001 - see the docstring
            self._break(exc, f"packaging a {kind} box")

    def _timing(self, moof: bytes) -> tuple[float, float, bool, bool]:
        """(start, duration, independent, has video) of a fragment. A video rendition's
        fragment may hold no video sample (the video stalled while audio went on): its
        timing then comes from the audio, and it depends on no earlier picture."""
        timings = {
            self._tracks[t.track_id].kind: t for t in fragment_timing(moof[8:], self._tracks)
        }
        if self.rendition.has_video and "vide" in timings:
            t = timings["vide"]
            return t.start, t.duration, t.independent, True
        if "soun" in timings:
            t = timings["soun"]
            return t.start, t.duration, True, False
        raise ValueError("a fragment with no sample")

    def _on_part(self, moof: bytes, mdat: bytes) -> None:
        start, duration, independent, has_video = self._timing(moof)
        if independent and self._starts_segment(start, has_video):
            self._close_segment(next_start=start)
        with self.lock:
            seg = self.segments[-1] if self.segments else None
            if seg is None or seg.complete:
                seg = Segment(
                    msn=seg.msn + 1 if seg else 0, start=start, discontinuity=self._discontinuity
                )
                self._discontinuity = False
                new = True
            else:
                new = False
        name = part_name(seg.msn, len(seg.parts))
        atomic_write(self.directory / name, moof + mdat)
        self._segment_bytes.append(moof + mdat)
        part = Part(len(seg.parts), duration, independent, name, time.time())
        with self.lock:
            seg.parts.append(part)
            if new:
                self.segments.append(seg)
            self._rendered.clear()
        self.last_part_at = self.clock.now()
        if new and not independent:
            log.warning("%s: segment %d starts without an IDR", self.rendition.name, seg.msn)
        if self._segment_done(seg.start + seg.duration, seg.duration, has_video):
            self._close_segment()
        self._notify()

    def _starts_segment(self, start: float, has_video: bool) -> bool:
        """Does an independent part open a new segment although the open one was not closed
        when its last part ended? After a stall: when it starts on the keyframe grid, or when
        the open segment already holds a segment's worth of media."""
        with self.lock:
            seg = self.segments[-1] if self.segments else None
            if seg is None or seg.complete or not seg.parts:
                return False
            full = seg.duration >= SEGMENT_SECONDS - 0.5 / self.fps
        return full or (has_video and self._on_grid(start))

    def _on_grid(self, at: float) -> bool:
        """Is `at` a keyframe position of the encoder's 2 s grid? Never after the source clock
        broke by other than whole GOPs: the encoder's grid is then elsewhere, and segments
        close at the first keyframe after a full segment instead."""
        if self._clocks["video"].offset % SEGMENT_SECONDS:
            return False
        frames = round(at * self.fps)
        return abs(at * self.fps - frames) < 0.01 and frames % (self.fps * SEGMENT_SECONDS) == 0

    def _segment_done(self, end: float, duration: float, has_video: bool) -> bool:
        if self.rendition.has_video:
            return has_video and end > 0 and self._on_grid(end)
        return duration >= SEGMENT_SECONDS - self.part_target / 2

    def _close_segment(self, next_start: float | None = None) -> None:
        with self.lock:
            seg = self.segments[-1] if self.segments else None
        if seg is None or seg.complete or not seg.parts:
            return
        try:
            atomic_write(self.directory / seg.name, b"".join(self._segment_bytes))
        except MediaStorageError as exc:
            self._failed = True
            self._health.fail(exc)
            return
        self._segment_bytes = []
        with self.lock:
            seg.complete = True
            seg.end = next_start if next_start is not None and next_start > seg.start else None
            seg.written_at = time.time()
            self._rendered.clear()
        self._write_playlist()
        self._prune_parts(seg.msn - KEEP_PART_FILES_FOR)

    def _prune_parts(self, msn: int) -> None:
        if msn < 0:
            return
        with self.lock:
            old = self.segments[msn]
        for part in old.parts:
            with contextlib.suppress(OSError):
                (self.directory / part.name).unlink()

    def _write_playlist(self) -> None:
        if self._failed:
            return
        try:
            atomic_write(self.directory / "index.m3u8", self.playlist(low_latency=False))
        except MediaStorageError as exc:
            self._failed = True
            self._health.fail(exc)

    # -- any thread -------------------------------------------------------------------------

    def playlist(self, low_latency: bool, skip: bool = False) -> str:
        with self.lock:
            if (text := self._rendered.get((low_latency, skip))) is not None:
                return text
            if not any(s.complete for s in self.segments):
                raise PlaylistNotReady(self.rendition.name)
            text = self._rendered[low_latency, skip] = render_playlist(
                self.segments,
                part_target=self.part_target,
                epoch=self.epoch,
                low_latency=low_latency,
                ended=self.ended,
                skip=skip,
            )
            return text

    def edge(self) -> tuple[int, int, bool]:
        """(msn, part count, complete) of the newest segment; (-1, 0, True) before any part."""
        with self.lock:
            if not self.segments:
                return -1, 0, True
            last = self.segments[-1]
            return last.msn, len(last.parts), last.complete

    def has(self, msn: int, part: int | None) -> bool:
        """Is segment `msn` complete, or (with `part`) has that part been published?"""
        last_msn, parts, complete = self.edge()
        if self.ended or last_msn > msn or (last_msn == msn and complete):
            return True
        return last_msn == msn and part is not None and parts > part


class HlsPackager:
    """LL-HLS for one sitting: consumes the encoders' fanouts, never encodes anything itself."""

    def __init__(
        self,
        sitting_dir: Path,
        renditions: tuple[Rendition, ...],
        *,
        epoch: float,
        audio_templates: dict[str, av.audio.stream.AudioStream],
        health: StorageHealth | None = None,
        fps: int = FPS,
        clock: Clock = SYSTEM_CLOCK,
        resume: dict[str, list[Segment]] | None = None,
        offset: int = 0,
    ) -> None:
        self.sitting_dir = sitting_dir
        self.renditions = renditions
        self.health = health or StorageHealth()
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pumps: list[asyncio.Task] = []
        self.tracks: dict[str, RenditionPackager] = {}
        for r in renditions:
            directory = sitting_dir / r.name
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise MediaStorageError(directory, exc) from exc
            self.tracks[r.name] = RenditionPackager(
                r,
                directory,
                epoch=epoch,
                audio_template=audio_templates[r.name],
                notify=self._notify_threadsafe,
                health=self.health,
                fps=fps,
                clock=clock,
                resume=(resume or {}).get(r.name),
                offset=offset,
            )
        atomic_write(sitting_dir / "index.m3u8", self.master_playlist())
        self._thread = threading.Thread(target=self._run, name="hls", daemon=True)
        self._thread.start()

    def attach(self, rendition: str, kind: str, fanout: PacketFanout) -> None:
        """Consume one elementary stream of a rendition from its fanout."""
        # Deep queue: the packager is the recording, it must only drop if the loop stalls ~10 s.
        sub = fanout.subscribe(maxsize=600)
        if kind == "video":
            self.tracks[rendition].request_keyframe = fanout.request_keyframe

        async def pump() -> None:
            with contextlib.suppress(EOFError):
                while True:
                    self._queue.put((rendition, kind, await sub.recv()))

        self._pumps.append(self._loop.create_task(pump()))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            rendition, kind, packet = item
            self.tracks[rendition].mux(kind, packet)
        for track in self.tracks.values():
            track.close()

    def _notify_threadsafe(self) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed at interpreter exit
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def close(self) -> None:
        """Mux what the closed fanouts still hold, flush, write ENDLIST, join the thread."""
        _, pending = await asyncio.wait(self._pumps, timeout=5) if self._pumps else ((), ())
        for task in pending:
            task.cancel()
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    # -- API for the HTTP layer -------------------------------------------------------------

    def master_playlist(self) -> str:
        return master_playlist(self.renditions)

    def playlist(self, rendition: str, low_latency: bool = True, skip: bool = False) -> str:
        """The media playlist, or with `skip` its delta update; raises KeyError (unknown) or
        PlaylistNotReady (hold it)."""
        return self.tracks[rendition].playlist(low_latency, skip)

    async def wait_for(self, rendition: str, msn: int, part: int | None, timeout: float) -> bool:
        """Blocking reload: True once segment `msn` (or its part `part`) is in the playlist."""
        track = self.tracks[rendition]
        if track.ended:
            return True  # the final playlist answers every reload
        last_msn, _, _ = track.edge()
        if msn > max(last_msn, 0) + 2:
            raise ReloadTooFar(f"segment {msn} is too far ahead of {last_msn}")
        deadline = self._loop.time() + timeout
        while not track.has(msn, part):
            remaining = deadline - self._loop.time()
            if remaining <= 0 or not self.health.ok:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        return True

    async def wait_for_path(self, relative: str, timeout: float) -> Path | None:
        """Hold a request for a part that is announced (preload hint) but not written yet."""
        rendition, _, name = relative.partition("/")
        match = _PART.match(name)
        if match and rendition in self.tracks:
            with contextlib.suppress(ReloadTooFar):
                await self.wait_for(rendition, int(match["msn"]), int(match["part"]), timeout)
        return self.path_for(relative)

    def path_for(self, relative: str) -> Path | None:
        return resolve_media_file(self.sitting_dir, relative, set(self.tracks))
