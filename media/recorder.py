"""Record once: the LL-HLS segments are the recording; recording.mp4 is a remux, no encode.

`finalize` concatenates init.mp4 and the segments of one rendition, demuxes them with PyAV and
remuxes to a faststart MP4 (and an audio-only M4A). `recover` does the same for a sitting that
died mid-stream, after rebuilding a VOD playlist from the segments that are complete on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import av

from media.boxes import fragment_timing, init_tracks, iter_boxes
from media.encode import RENDITIONS, SEGMENT_SECONDS
from media.playlist import Part, Segment, part_target_for, render_playlist, segment_name
from media.storage import MediaStorageError, atomic_write

log = logging.getLogger(__name__)

FINISHED = "FINISHED"
META = "sitting.json"
RECORDING = "recording.mp4"
AUDIO = "audio.m4a"
_SEGMENT = re.compile(r"^seg(\d+)\.m4s$")


GAP_MIN_S = 0.5  # a hole in the media shorter than this is not worth a mark


@dataclass(frozen=True)
class RecordingInfo:
    """A finished recording, and how far it tells the truth: `expected_s` is the wall time
    the sitting was live, `gaps` the (start, end) holes in the media, in recording seconds."""

    path: Path
    duration_s: float
    sha256: str
    size: int
    audio_path: Path | None = None
    rendition: str = "720p"
    expected_s: float | None = None
    gaps: tuple[tuple[float, float], ...] = ()

    @property
    def missing_s(self) -> float:
        """How much shorter than the wall time the recording is (0 when unknown)."""
        if self.expected_s is None:
            return 0.0
        return max(0.0, self.expected_s - self.duration_s)


class _ChainReader:
    """Read several files as one stream (init segment followed by media segments)."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = list(paths)
        self._fh = None

    def read(self, n: int = -1) -> bytes:
        while self._paths or self._fh:
            if self._fh is None:
                self._fh = open(self._paths.pop(0), "rb")  # noqa: SIM115 - closed below
            data = self._fh.read(n)
            if data:
                return data
            self._fh.close()
            self._fh = None
        return b""

    def close(self) -> None:
        if self._fh:
            self._fh.close()


def _whole_boxes(data: bytes) -> bool:
    """A segment is usable when it is nothing but complete moof+mdat pairs."""
    end = 0
    kinds = []
    for kind, _start, box_end in iter_boxes(data):
        kinds.append(kind)
        end = box_end
    return end == len(data) and bool(kinds) and kinds[0] == "moof" and "mdat" in kinds


def segment_msn(path: Path) -> int:
    match = _SEGMENT.match(path.name)
    if match is None:
        raise ValueError(f"not a segment: {path.name}")
    return int(match[1])


def complete_segments(rendition_dir: Path) -> list[Path]:
    """The whole segments, in order. A missing or damaged one is skipped, so a hole costs only
    itself; a trailing one that a crash cut short is left out too."""
    found = sorted(
        (int(m[1]), p) for p in rendition_dir.glob("seg*.m4s") if (m := _SEGMENT.match(p.name))
    )
    out: list[Path] = []
    for _msn, path in found:
        if _whole_boxes(path.read_bytes()):
            out.append(path)
        else:
            log.warning("left out a damaged segment: %s", path)
    return out


@dataclass(frozen=True)
class SegmentSpan:
    """Where one segment file lies on the media timeline, in seconds."""

    path: Path
    start: float  # on the rendition's main track (video, else audio)
    duration: float
    media_start: float  # first sample of any track
    media_end: float  # end of the last sample of any track


def segment_spans(rendition_dir: Path) -> list[SegmentSpan]:
    """Timing of each whole segment of a rendition, read from its fragments."""
    tracks = init_tracks((rendition_dir / "init.mp4").read_bytes())
    main = "vide" if any(t.kind == "vide" for t in tracks.values()) else "soun"
    spans = []
    for path in complete_segments(rendition_dir):
        data = path.read_bytes()
        start, duration, lo, hi = None, 0.0, float("inf"), 0.0
        for kind, s, e in iter_boxes(data):
            if kind != "moof":
                continue
            for t in fragment_timing(data[s:e], tracks):
                lo, hi = min(lo, t.start), max(hi, t.start + t.duration)
                if tracks[t.track_id].kind == main:
                    start = t.start if start is None else start
                    duration += t.duration
        if start is None:  # a part of a video rendition without video (a stall)
            start, duration = lo, hi - lo
        spans.append(SegmentSpan(path, start, duration, lo, hi))
    return spans


def media_gaps(spans: list[SegmentSpan]) -> tuple[tuple[float, float], ...]:
    """Holes longer than GAP_MIN_S where none of the segments (of any rendition) has media."""
    gaps = []
    covered: float | None = None
    for span in sorted(spans, key=lambda s: s.media_start):
        if covered is not None and span.media_start - covered >= GAP_MIN_S:
            gaps.append((round(covered, 3), round(span.media_start, 3)))
        covered = span.media_end if covered is None else max(covered, span.media_end)
    return tuple(gaps)


def best_video_rendition(sitting_dir: Path) -> str | None:
    """The video rendition that covers the most media time; the larger one on a tie within a
    segment, so a 720p hole of a second never swaps the recording to 360p."""
    best, covered = None, 0.0
    for r in RENDITIONS:
        d = sitting_dir / r.name
        if not r.has_video or not (d / "init.mp4").is_file():
            continue
        total = sum(s.media_end - s.media_start for s in segment_spans(d))
        if best is None or total > covered + SEGMENT_SECONDS:
            best, covered = r.name, total
    return best


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _remux(
    sources: list[Path],
    target: Path,
    audio_only: bool = False,
    audio_fill: list[Path] | None = None,
) -> None:
    """Copy packets from the concatenated fMP4 into a faststart MP4 (or M4A); no encode.

    `audio_fill` is another rendition with the very same AAC packets (every video rendition
    muxes one shared encode): where the sources' audio has a hole (that rendition restarted),
    its packets fill it."""
    reader = _ChainReader(sources)
    fill_reader = _ChainReader(audio_fill) if audio_fill else None
    tmp = target.with_name(f".{target.name}.tmp")
    fmt = "ipod" if audio_only else "mp4"
    try:
        with contextlib.ExitStack() as stack:
            src = stack.enter_context(av.open(reader, "r", format="mp4"))
            out = stack.enter_context(
                av.open(str(tmp), "w", format=fmt, options={"movflags": "faststart"})
            )
            chosen = src.streams.audio if audio_only else src.streams
            mapping = {s.index: out.add_stream_from_template(s) for s in chosen}
            fill = _AudioFill(None, None)
            if fill_reader is not None and src.streams.audio:
                fill_src = stack.enter_context(av.open(fill_reader, "r", format="mp4"))
                audio_out = mapping[src.streams.audio[0].index]
                fill = _AudioFill(fill_src, audio_out)
            for packet in src.demux():
                if packet.dts is None or packet.stream.index not in mapping:
                    continue
                if packet.stream.type == "audio":
                    fill.before(packet, out)
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
            fill.before(None, out)
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise MediaStorageError(target, exc) from exc
    finally:
        reader.close()
        if fill_reader is not None:
            fill_reader.close()


class _AudioFill:
    """Feeds another rendition's audio packets into the holes of the primary's audio."""

    def __init__(self, source, stream) -> None:
        self._packets = (
            (p for p in source.demux(source.streams.audio[0]) if p.dts is not None)
            if source is not None and source.streams.audio
            else iter(())
        )
        self._stream = stream
        self._next = next(self._packets, None)
        self._end: int | None = None  # end of the last audio packet written, in its time base

    def before(self, packet: av.Packet | None, out) -> None:
        """Write the fill packets that belong before `packet` (None: the end of the source)."""
        limit = None if packet is None else packet.pts
        while self._next is not None and (limit is None or self._next.pts < limit):
            fill, self._next = self._next, next(self._packets, None)
            if self._end is None or fill.pts < self._end:
                continue  # the primary has this stretch
            fill.stream = self._stream
            self._end = fill.pts + (fill.duration or 0)
            out.mux(fill)
        if packet is not None:
            self._end = max(self._end or 0, packet.pts + (packet.duration or 0))


def finalize(
    sitting_dir: Path, rendition: str | None = None, expected_s: float | None = None
) -> RecordingInfo:
    """Remux the sitting's segments to recording.mp4 (from `rendition`, by default the video
    rendition that covers the most) and audio.m4a (from the audio rendition, which is never
    shed); records the wall time it should cover and its holes; marks the sitting done."""
    rendition = rendition or best_video_rendition(sitting_dir) or "audio"
    rendition_dir = sitting_dir / rendition
    segments = complete_segments(rendition_dir)
    if not (rendition_dir / "init.mp4").is_file() or not segments:
        raise FileNotFoundError(f"no complete segments under {rendition_dir}")
    target, audio_target = sitting_dir / RECORDING, sitting_dir / AUDIO
    others = [
        sitting_dir / r.name
        for r in RENDITIONS
        if r.has_video and r.name != rendition and (sitting_dir / r.name / "init.mp4").is_file()
    ]
    fill = [others[0] / "init.mp4", *complete_segments(others[0])] if others else None
    _remux([rendition_dir / "init.mp4", *segments], target, audio_fill=fill)
    audio_dir = sitting_dir / "audio"
    audio_segments = complete_segments(audio_dir) if (audio_dir / "init.mp4").is_file() else []
    if audio_segments:
        _remux([audio_dir / "init.mp4", *audio_segments], audio_target, audio_only=True)
    else:
        _remux([rendition_dir / "init.mp4", *segments], audio_target, audio_only=True)
    with av.open(str(target)) as check:
        duration = (check.duration or 0) / av.time_base
    spans = [span for d in (rendition_dir, *others) for span in segment_spans(d)]
    origin = min((span.media_start for span in spans), default=0.0)
    gaps = tuple((a - origin, b - origin) for a, b in media_gaps(spans))
    info = RecordingInfo(
        target,
        duration,
        sha256_file(target),
        target.stat().st_size,
        audio_target,
        rendition=rendition,
        expected_s=expected_s,
        gaps=gaps,
    )
    atomic_write(sitting_dir / FINISHED, json.dumps(_info_json(info)))
    if info.missing_s > SEGMENT_SECONDS:
        log.error(
            "%s: the recording is %.1f s shorter than the sitting was live",
            sitting_dir.name,
            info.missing_s,
        )
    return info


def _info_json(info: RecordingInfo) -> dict:
    return {
        "path": info.path.name,
        "duration_s": info.duration_s,
        "sha256": info.sha256,
        "size": info.size,
        "rendition": info.rendition,
        "expected_s": info.expected_s,
        "gaps": info.gaps,
        "finished_at": time.time(),
    }


def segment_model(rendition_dir: Path) -> list[Segment]:
    """The complete segments on disk as a playlist model (one part each); a segment after a
    hole or an overlap follows an EXT-X-DISCONTINUITY. A resumed sitting continues it."""
    model: list[Segment] = []
    previous_end: float | None = None
    for span in segment_spans(rendition_dir):
        jumped = previous_end is not None and abs(span.start - previous_end) > GAP_MIN_S
        seg = Segment(
            msn=len(model),
            start=span.start,
            complete=True,
            discontinuity=jumped,
            file=span.path.name,
        )
        seg.parts.append(Part(0, span.duration, True, "", 0.0))
        model.append(seg)
        previous_end = span.start + span.duration
    return model


def resume_model(rendition_dir: Path) -> list[Segment]:
    """The model a resumed sitting continues. Segment files are renamed to their position if
    a damaged one was left out, and leftovers past the end removed, so the new segments'
    names (their sequence numbers) never overwrite a recorded one."""
    model = segment_model(rendition_dir)
    for seg in model:
        if seg.file != segment_name(seg.msn):
            os.replace(rendition_dir / str(seg.file), rendition_dir / segment_name(seg.msn))
            seg.file = None
    for path in rendition_dir.glob("seg*.m4s"):
        if segment_msn(path) >= len(model):
            path.unlink()
    return model


def rebuild_playlist(rendition_dir: Path, epoch: float) -> int:
    """Write a VOD (EVENT + ENDLIST) playlist from the whole segments on disk; returns count."""
    if not (rendition_dir / "init.mp4").is_file():
        return 0
    rendition = next((r for r in RENDITIONS if r.name == rendition_dir.name), None)
    model = segment_model(rendition_dir)
    if model:
        target = part_target_for(rendition) if rendition else 0.5
        text = render_playlist(
            model, part_target=target, epoch=epoch, low_latency=False, ended=True
        )
        atomic_write(rendition_dir / "index.m3u8", text)
    return len(model)


def recover(sitting_dir: Path) -> RecordingInfo:
    """Make an interrupted sitting whole: VOD playlists from complete segments, then finalize.
    The wall time it should cover runs from its start to its newest segment on disk."""
    epoch = sitting_dir.stat().st_mtime
    with contextlib.suppress(OSError, ValueError, KeyError):
        epoch = float(json.loads((sitting_dir / META).read_text())["started_at"])
    newest = epoch
    for rendition_dir in sorted(p for p in sitting_dir.iterdir() if p.is_dir()):
        for stale in rendition_dir.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        count = rebuild_playlist(rendition_dir, epoch)
        for segment in rendition_dir.glob("seg*.m4s"):
            newest = max(newest, segment.stat().st_mtime)
        log.info("recovered %d segments in %s", count, rendition_dir)
    return finalize(sitting_dir, expected_s=newest - epoch)
