"""One live sitting: program → encoders (once per rendition) → fanouts → LL-HLS (= recording).

The orchestrator is the only place that knows all subsystems; they never reach into each
other. The program, encoders and muxers run on worker threads; this object is used from the
event loop. The stream, playlist and recording survive publisher drops: the slate fills the
gap inside the same timeline, and a reconnect simply replaces the hall input.

Nothing on the program thread may end the stream: an encoder that raises is replaced by a
new one (its rendition resumes on the new encoder's keyframe), and under overload video
frames are shed in the order media/overload.py states while audio is never shed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import av
from aiortc.mediastreams import MediaStreamTrack

from media import recorder
from media.clock import SYSTEM_CLOCK, Clock
from media.encode import (
    FPS,
    RENDITIONS,
    SEGMENT_SECONDS,
    AudioEncoder,
    Rendition,
    VideoEncoder,
    encoder_count,
)
from media.fanout import PacketFanout, Subscriber
from media.hls import HlsPackager, PlaylistNotReady
from media.overload import RTF_WINDOW_S, LoadShedder, LoadState
from media.program import HALL, AudioTap, Layout, Program, ProgramTick
from media.recorder import RecordingInfo
from media.storage import MediaStorageError, StorageHealth, atomic_write, ensure_dir

log = logging.getLogger(__name__)

AAC_VIDEO = "aac128"  # shared by all video renditions
AAC_AUDIO_ONLY = "aac48"
STALE_PART_S = 3 * SEGMENT_SECONDS  # a rendition with no new part for this long is stuck
MIN_REALTIME_FACTOR = 0.9  # over RTF_WINDOW_S: the program is falling behind


@dataclass(frozen=True)
class LiveProblem:
    """Why a live sitting is unhealthy: "storage" (writes refused), "stale" (a rendition made
    no part for STALE_PART_S), or "slow" (the program below MIN_REALTIME_FACTOR)."""

    kind: str
    rendition: str = ""
    value: float = 0.0
    detail: str = ""

    def describe(self) -> str:
        """For operators (/healthz, logs); people read the translated text instead."""
        if self.kind == "stale":
            return f"rendition {self.rendition}: no part for {self.value:.1f} s"
        if self.kind == "slow":
            return f"program at {self.value:.2f}x real time over {RTF_WINDOW_S:.0f} s"
        return f"storage: {self.detail}"


@dataclass(frozen=True)
class RenditionHealth:
    last_part_age_s: float
    restarts: int  # packager restarts (muxer or callback failures)
    encoder_restarts: int
    timestamp_jumps: int


@dataclass
class LiveStats:
    input_connected: bool
    input_fps: float
    output_fps: float
    bitrate_kbps: dict[str, float]
    dropped_frames: int
    encoders: int
    subscribers: dict[str, int]
    storage_ok: bool
    last_error: str | None
    load: LoadState
    renditions: dict[str, RenditionHealth]


RATE_WINDOW_S = 1.0


@dataclass
class _Rates:
    input_fps: float = 0.0
    output_fps: float = 0.0
    bitrate_kbps: dict[str, float] = field(default_factory=dict)


@dataclass
class _Sample:
    at: float
    ticks: int
    hall_frames: int
    bytes: dict[str, int] = field(default_factory=dict)


class LiveSitting:
    """A sitting's live stream from start to recording; see module docstring."""

    def __init__(
        self,
        sitting_id: str,
        title: str,
        media_dir: Path,
        *,
        renditions: tuple[Rendition, ...] = RENDITIONS,
        fps: int = FPS,
        hold_seconds: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
        resume: bool = False,
    ) -> None:
        """With `resume`, continue the recording in `media_dir/sitting_id` that a crash cut
        short: one record, the hole marked, offsets from the first start kept."""
        self.sitting_id = sitting_id
        self.resume = resume
        self.title = title
        self.sitting_dir = Path(media_dir) / sitting_id
        self.renditions = renditions
        self.fps = fps
        self.health = StorageHealth()
        self.started_at: float | None = None
        self.packager: HlsPackager | None = None
        self.clock = clock
        self.program = Program(
            self._encode, title=title, fps=fps, hold_seconds=hold_seconds, clock=clock
        )
        self.load = LoadShedder(fps, clock)
        self.encoder_restarts: dict[str, int] = {}
        self._logged: set[str] = set()
        self._video: dict[str, VideoEncoder] = {}
        self._audio: dict[str, AudioEncoder] = {}
        self._fanouts: dict[str, PacketFanout] = {}
        self._sample: _Sample | None = None
        self._rates = _Rates()
        self._hall_tracks: tuple[MediaStreamTrack, ...] = ()
        self._recording: RecordingInfo | None = None
        self._resume_models: dict[str, list] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, wait_ready: float | None = 10.0) -> None:
        """Start the program and the ladder; by default return once every rendition has its
        first complete segment, so no player ever sees a playlist of parts only."""
        if self.packager is not None:
            raise RuntimeError("already started")
        ensure_dir(self.sitting_dir)
        loop = asyncio.get_running_loop()
        earlier = self._resumed_model() if self.resume else None
        for r in self.renditions:
            if r.has_video:
                self._video[r.name] = VideoEncoder(r, self.fps)
                self._fanouts[r.name] = PacketFanout(
                    r.name, on_keyframe_request=self._keyframe_requester(r.name)
                )
        self._audio = {AAC_VIDEO: AudioEncoder(128_000), AAC_AUDIO_ONLY: AudioEncoder(48_000)}
        for name in self._audio:
            self._fanouts[name] = PacketFanout(name, maxsize=250)
        # Output wall clock: the program's first tick, so segment PDTs and comment offsets agree.
        self.program.start()
        offset = 0
        if earlier is None:
            self.started_at = self.program.started_at
            atomic_write(
                self.sitting_dir / recorder.META,
                json.dumps(
                    {
                        "sitting_id": self.sitting_id,
                        "title": self.title,
                        "started_at": self.started_at,
                    }
                ),
            )
        else:
            self.started_at, recorded_end = earlier
            since = max((self.program.started_at or 0) - self.started_at, recorded_end)
            offset = math.ceil(since / SEGMENT_SECONDS) * SEGMENT_SECONDS
        templates = {r.name: self._audio[self._aac_for(r)].stream for r in self.renditions}
        self.packager = HlsPackager(
            self.sitting_dir,
            self.renditions,
            epoch=self.started_at or self.clock.wall(),
            audio_templates=templates,
            health=self.health,
            fps=self.fps,
            clock=self.clock,
            resume=self._resume_models,
            offset=offset,
        )
        for r in self.renditions:
            if r.has_video:
                self.packager.attach(r.name, "video", self._fanouts[r.name])
            self.packager.attach(r.name, "audio", self._fanouts[self._aac_for(r)])
        self._sample = self._take_sample(loop.time())
        if wait_ready:
            await self.wait_ready(wait_ready)

    def _resumed_model(self) -> tuple[float, float]:
        """Load what the interrupted run recorded; (its start, the end of its media)."""
        meta = json.loads((self.sitting_dir / recorder.META).read_text())
        (self.sitting_dir / recorder.FINISHED).unlink(missing_ok=True)
        self._resume_models = {
            r.name: recorder.resume_model(self.sitting_dir / r.name)
            for r in self.renditions
            if (self.sitting_dir / r.name / "init.mp4").is_file()
        }
        ends = [m[-1].start + m[-1].duration for m in self._resume_models.values() if m]
        return float(meta["started_at"]), max(ends, default=0.0)

    async def wait_ready(self, timeout: float) -> bool:
        """True once segment 0 of every rendition is complete."""
        if self.packager is None:
            return False
        waits = [self.packager.wait_for(r.name, 0, None, timeout) for r in self.renditions]
        return all(await asyncio.gather(*waits))

    async def stop(self) -> RecordingInfo:
        """End the stream: flush encoders, ENDLIST every playlist, remux the recording."""
        if self._recording is not None:
            return self._recording
        if self.packager is None:
            raise RuntimeError("not started")
        await asyncio.to_thread(self.program.stop)
        expected_s = self.clock.wall() - (self.started_at or self.clock.wall())
        for name in self.program.input_names():
            self.program.remove_input(name)
        await asyncio.to_thread(self._flush)
        for fanout in self._fanouts.values():
            fanout.close()
        await self.packager.close()
        for enc in [*self._video.values(), *self._audio.values()]:
            enc.close()
        if not self.health.ok:
            raise MediaStorageError(self.sitting_dir, OSError(self.health.error))
        self._recording = await asyncio.to_thread(
            recorder.finalize, self.sitting_dir, None, expected_s
        )
        return self._recording

    # -- inputs ----------------------------------------------------------------------------

    async def attach_hall(
        self, video_track: MediaStreamTrack, audio_track: MediaStreamTrack | None = None
    ) -> None:
        """(Re)connect the hall feed; replaces any previous hall tracks in the same stream."""
        self._hall_tracks = tuple(t for t in (video_track, audio_track) if t is not None)
        for track in self._hall_tracks:
            self.program.set_input(HALL, track)

    async def detach_hall(self, tracks: tuple[MediaStreamTrack, ...] | None = None) -> None:
        """The publisher left: the slate takes over. With `tracks`, only if they are current
        (a late close of an old WHIP session must not cut a newer one)."""
        if tracks is not None and set(tracks) != set(self._hall_tracks):
            return
        self._hall_tracks = ()
        self.program.remove_input(HALL)

    def add_member_input(
        self,
        name: str,
        video: MediaStreamTrack | None = None,
        audio: MediaStreamTrack | None = None,
    ) -> None:
        """A member's decoded camera/mic, addressable by layouts as `name` (e.g. "member:12")."""
        if name == HALL:
            raise ValueError("the hall is attached with attach_hall")
        for track in (video, audio):
            if track is not None:
                self.program.set_input(name, track)

    def remove_member_input(self, name: str) -> None:
        self.program.remove_input(name)

    def set_layout(self, layout: Layout) -> None:
        self.program.set_layout(layout)

    # -- outputs ---------------------------------------------------------------------------

    @property
    def on_air(self) -> bool:
        return self.packager is not None

    @property
    def layout(self) -> Layout:
        return self.program.layout

    @property
    def samples_per_tick(self) -> int:
        return self.program.samples_per_tick

    def add_audio_tap(self, tap: AudioTap) -> None:
        """Per-input audio of every tick (the member room's mix-minus)."""
        self.program.audio_taps.append(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        with contextlib.suppress(ValueError):
            self.program.audio_taps.remove(tap)

    def master_playlist(self) -> str:
        return self._packager().master_playlist()

    async def media_playlist(
        self, rendition: str, msn: int | None, part: int | None, skip: bool, timeout: float
    ) -> str:
        """The LL-HLS media playlist; with `msn` (and `part`) held until that much exists
        (blocking reload). Raises KeyError (unknown rendition), ReloadTooFar (too far ahead),
        PlaylistNotReady (no first segment within `timeout`)."""
        packager = self._packager()
        if msn is not None:
            await packager.wait_for(rendition, msn, part, timeout)
        try:
            return packager.playlist(rendition, low_latency=True, skip=skip)
        except PlaylistNotReady:
            await packager.wait_for(rendition, 0, None, timeout)
            return packager.playlist(rendition, low_latency=True, skip=skip)

    async def media_file(self, relative: str, timeout: float) -> Path | None:
        """A part, segment or init file; a part announced by a preload hint is waited for."""
        return await self._packager().wait_for_path(relative, timeout)

    def _packager(self) -> HlsPackager:
        if self.packager is None:
            raise RuntimeError("not started")
        return self.packager

    def subscribe(self, rendition: str = "720p") -> Subscriber:
        """Encoded H.264 packets of a rendition for a WebRTC sender; gated to a keyframe."""
        return self._fanouts[rendition].subscribe()

    def fanout(self, name: str) -> PacketFanout:
        """A rendition's video fanout, or AAC_VIDEO / AAC_AUDIO_ONLY."""
        return self._fanouts[name]

    def stats(self) -> LiveStats:
        """Counters now, rates over the last window of at least RATE_WINDOW_S: several
        readers (the staff console, /metrics) may call this without skewing each other."""
        sample = self._take_sample(asyncio.get_running_loop().time())
        base = self._sample or sample
        if sample.at - base.at >= RATE_WINDOW_S:
            dt = sample.at - base.at
            self._rates = _Rates(
                input_fps=(sample.hall_frames - base.hall_frames) / dt,
                output_fps=(sample.ticks - base.ticks) / dt,
                bitrate_kbps={
                    name: (sample.bytes[name] - base.bytes.get(name, 0)) * 8 / dt / 1000
                    for name in sample.bytes
                },
            )
            self._sample = sample
        return LiveStats(
            input_connected=self.program.has_live_video(HALL),
            input_fps=self._rates.input_fps,
            output_fps=self._rates.output_fps,
            bitrate_kbps=self._rates.bitrate_kbps,
            dropped_frames=self.program.stats.skipped_ticks,
            encoders=encoder_count(),
            subscribers={name: f.subscribers for name, f in self._fanouts.items()},
            storage_ok=self.health.ok,
            last_error=self.health.error or self.program.last_error,
            load=self.load.state([r.name for r in self.renditions if r.has_video]),
            renditions=self._rendition_health(),
        )

    def _rendition_health(self) -> dict[str, RenditionHealth]:
        if self.packager is None:
            return {}
        now = self.clock.now()
        return {
            name: RenditionHealth(
                last_part_age_s=max(0.0, now - track.last_part_at),
                restarts=track.restarts,
                encoder_restarts=self.encoder_restarts.get(
                    name if track.rendition.has_video else AAC_AUDIO_ONLY, 0
                ),
                timestamp_jumps=track.timestamp_jumps,
            )
            for name, track in self.packager.tracks.items()
        }

    def problems(self) -> list[LiveProblem]:
        """What makes this sitting unhealthy now (for /healthz and the console)."""
        found = [] if self.health.ok else [LiveProblem("storage", detail=self.health.error or "")]
        for name, health in self._rendition_health().items():
            if health.last_part_age_s > STALE_PART_S:
                found.append(LiveProblem("stale", name, health.last_part_age_s))
        rtf, span = self.load.realtime_factor()
        if span >= RTF_WINDOW_S and rtf < MIN_REALTIME_FACTOR:
            found.append(LiveProblem("slow", value=rtf))
        return found

    # -- internals -------------------------------------------------------------------------

    def _aac_for(self, rendition: Rendition) -> str:
        return AAC_VIDEO if rendition.has_video else AAC_AUDIO_ONLY

    def _take_sample(self, at: float) -> _Sample:
        return _Sample(
            at=at,
            ticks=self.program.stats.ticks,
            hall_frames=self.program.input_frames().get(HALL, 0),
            bytes={name: f.bytes for name, f in self._fanouts.items()},
        )

    def _keyframe_requester(self, name: str):
        """Asks whichever encoder the rendition has now (it may have been replaced)."""
        return lambda: self._video[name].request_keyframe()

    def _encode(self, tick: ProgramTick) -> None:
        """Program-thread sink: each rendition is encoded at most once per tick; audio always,
        video as the load allows."""
        self.load.observe(tick.late_s)
        for name, enc in list(self._video.items()):
            if not self.load.encodes(name, tick.index):
                continue
            r = enc.rendition
            video = tick.picture()
            frame = video
            if (video.width, video.height) != (r.width, r.height):
                frame = video.reformat(width=r.width, height=r.height, format="yuv420p")
                frame.pts, frame.time_base = video.pts, video.time_base
            self._publish(name, enc, frame)
        for name, aenc in list(self._audio.items()):
            self._publish(name, aenc, tick.audio)

    def _publish(self, name: str, encoder, frame) -> None:
        try:
            packets = encoder.encode(frame)
        except Exception as exc:  # noqa: BLE001 - replace the encoder, keep the stream
            self._replace_encoder(name, exc)
            return
        for packet in packets:
            self._fanouts[name].publish_threadsafe(packet)

    def _replace_encoder(self, name: str, exc: Exception) -> None:
        """An encoder that raised may be in any state: a new one starts on a keyframe."""
        self.encoder_restarts[name] = self.encoder_restarts.get(name, 0) + 1
        key = f"{name}: {type(exc).__name__}"
        if key not in self._logged:
            self._logged.add(key)
            log.error("sitting %s: encoder %s failed", self.sitting_id, name, exc_info=exc)
        if name in self._video:
            old = self._video[name]
            self._video[name] = VideoEncoder(old.rendition, self.fps)
        else:
            old = self._audio[name]
            self._audio[name] = AudioEncoder(old.bitrate)
        old.close()

    def _flush(self) -> None:
        for name, enc in self._video.items():
            for packet in enc.encode(None):
                self._fanouts[name].publish_threadsafe(packet)
        for name, aenc in self._audio.items():
            for packet in aenc.encode(None):
                self._fanouts[name].publish_threadsafe(packet)


def recover_interrupted(
    media_dir: Path, skip: Collection[str] = ()
) -> list[tuple[str, RecordingInfo]]:
    """At start-up: finish every sitting dir that has media but no FINISHED marker, except
    those named in `skip` (still being recorded by another node on a shared volume)."""
    recovered: list[tuple[str, RecordingInfo]] = []
    if not Path(media_dir).is_dir():
        return recovered
    for sitting_dir in sorted(Path(media_dir).iterdir()):
        if not sitting_dir.is_dir() or (sitting_dir / recorder.FINISHED).exists():
            continue
        if sitting_dir.name in skip:
            continue
        if not any((sitting_dir / r.name / "init.mp4").exists() for r in RENDITIONS):
            continue
        try:
            recovered.append((sitting_dir.name, recorder.recover(sitting_dir)))
        except (FileNotFoundError, av.FFmpegError) as exc:
            log.error("cannot recover %s: %s", sitting_dir, exc)
    return recovered
