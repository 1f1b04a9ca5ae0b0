"""Publishing a recording: trim, cut closed-door parts, poster and thumbnails, with no encode.

Every LL-HLS segment starts with an IDR on the 2 s grid, so keeping or dropping whole segments
is a keyframe-aligned cut. The kept segments are copied to `{sitting}/published/` with their
`tfdt` decode times shifted so the published timeline has no gaps; `recording.mp4` and
`audio.m4a` are remuxed from them (media.recorder.finalize), so the excluded parts are absent
from every published file, not merely hidden. The raw recording stays for audit.

Times given to `publish` are raw seconds (the stream clock that agenda offsets and comment
offsets use); `Timeline` maps between the raw and the published clock.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import shutil
import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from media.boxes import Track, fragment_timing, init_tracks, iter_boxes
from media.playlist import Part, Segment, render_playlist
from media.recorder import FINISHED, RecordingInfo, complete_segments, finalize, segment_msn
from media.storage import atomic_write

PUBLISHED = "published"
RENDITION_ORDER = ("720p", "360p", "audio")
POSTER = "poster.jpg"
SPRITE = "sprite.jpg"
THUMBNAILS = "thumbnails.vtt"
THUMB_SIZE = (160, 90)
SPRITE_COLUMNS = 10
MAX_THUMBNAILS = 100

Range = tuple[float, float]


@dataclass(frozen=True)
class Timeline:
    """The raw ranges that the published recording keeps, in order; maps the two clocks."""

    kept: tuple[Range, ...]

    @property
    def duration(self) -> float:
        return sum(end - start for start, end in self.kept)

    def to_published(self, raw: float) -> float | None:
        """Where a raw moment plays in the published recording; None if it was cut out."""
        elapsed = 0.0
        for start, end in self.kept:
            if start <= raw < end:
                return elapsed + raw - start
            elapsed += end - start
        return None

    def chapter_start(self, raw: float) -> float:
        """Like `to_published`, but a moment inside a cut moves to where playback resumes."""
        elapsed = 0.0
        for start, end in self.kept:
            if raw < end:
                return elapsed + max(raw - start, 0.0)
            elapsed += end - start
        return elapsed

    def to_raw(self, published: float) -> float | None:
        elapsed = 0.0
        for start, end in self.kept:
            if published < elapsed + end - start:
                return start + max(published - elapsed, 0.0)
            elapsed += end - start
        return None


def requested_ranges(
    duration: float, trim_start: float, trim_end: float | None, cuts: Sequence[Range]
) -> list[Range]:
    """[trim_start, trim_end) minus the closed-door cuts, as sorted disjoint raw ranges."""
    end = duration if trim_end is None else min(trim_end, duration)
    ranges = [(max(trim_start, 0.0), end)] if end > trim_start else []
    for cut_start, cut_end in sorted(cuts):
        next_ranges = []
        for start, stop in ranges:
            if cut_end <= start or cut_start >= stop:
                next_ranges.append((start, stop))
                continue
            if cut_start > start:
                next_ranges.append((start, cut_start))
            if cut_end < stop:
                next_ranges.append((cut_end, stop))
        ranges = next_ranges
    return ranges


@dataclass
class _Fragment:
    track_id: int
    tfdt_at: int  # byte offset of the tfdt version byte within the segment
    start: int  # decode time in the track's timescale
    end: int


@dataclass
class SegmentFile:
    msn: int
    path: Path
    start: float  # seconds, on the rendition's main track
    duration: float
    fragments: list[_Fragment]

    @property
    def end(self) -> float:
        return self.start + self.duration


def read_segments(rendition_dir: Path) -> tuple[dict[int, Track], list[SegmentFile]]:
    """The complete segments of one rendition, with their timing per track."""
    tracks = init_tracks((rendition_dir / "init.mp4").read_bytes())
    main = "vide" if any(t.kind == "vide" for t in tracks.values()) else "soun"
    out = []
    for path in complete_segments(rendition_dir):
        msn = segment_msn(path)
        data = path.read_bytes()
        fragments: list[_Fragment] = []
        start, duration = None, 0.0
        for kind, s, e in iter_boxes(data):
            if kind != "moof":
                continue
            for timing, tfdt_at in zip(
                fragment_timing(data[s:e], tracks), _tfdt_offsets(data, s, e), strict=True
            ):
                track = tracks[timing.track_id]
                first = round(timing.start * track.timescale)
                last = round((timing.start + timing.duration) * track.timescale)
                fragments.append(_Fragment(timing.track_id, tfdt_at, first, last))
                if track.kind == main:
                    start = timing.start if start is None else start
                    duration += timing.duration
        out.append(SegmentFile(msn, path, start or 0.0, duration, fragments))
    return tracks, out


def _tfdt_offsets(data: bytes, moof_start: int, moof_end: int) -> list[int]:
    """Offsets of each traf's tfdt payload, in the order fragment_timing reports the trafs."""
    found = []
    for kind, s, e in iter_boxes(data, moof_start, moof_end):
        if kind != "traf":
            continue
        for child, cs, _ce in iter_boxes(data, s, e):
            if child == "tfdt":
                found.append(cs)
    return found


def _select(segments: list[SegmentFile], keep: Sequence[Range]) -> list[SegmentFile]:
    """Segments whose middle lies in a kept range: cuts snap to the nearest segment edge."""
    return [
        seg
        for seg in segments
        if any(start <= seg.start + seg.duration / 2 < end for start, end in keep)
    ]


def _shifted(segments: list[SegmentFile], all_segments: list[SegmentFile]) -> list[bytes]:
    """Segment bytes with decode times moved so each kept run follows the previous one."""
    cursor: dict[int, int] = {}
    for fragment in all_segments[0].fragments if all_segments else ():
        cursor.setdefault(fragment.track_id, fragment.start)
    shift: dict[int, int] = {}
    previous: int | None = None
    out = []
    for seg in segments:
        firsts: dict[int, int] = {}
        for fragment in seg.fragments:
            firsts.setdefault(fragment.track_id, fragment.start)
        if previous is None or seg.msn != previous + 1:
            shift = {tid: first - cursor.get(tid, first) for tid, first in firsts.items()}
        data = bytearray(seg.path.read_bytes())
        for fragment in seg.fragments:
            delta = shift.get(fragment.track_id, 0)
            value = fragment.start - delta
            if data[fragment.tfdt_at] == 1:
                struct.pack_into(">Q", data, fragment.tfdt_at + 4, value)
            else:
                struct.pack_into(">I", data, fragment.tfdt_at + 4, value)
            cursor[fragment.track_id] = fragment.end - delta
        previous = seg.msn
        out.append(bytes(data))
    return out


@dataclass(frozen=True)
class PublishedMedia:
    timeline: Timeline
    recording: RecordingInfo
    poster: bool
    thumbnails: int


def renditions(sitting_dir: Path) -> list[str]:
    return [r for r in RENDITION_ORDER if (sitting_dir / r / "init.mp4").is_file()]


def primary_rendition(sitting_dir: Path) -> str:
    """The rendition whose segments define the timeline: the best video one."""
    names = renditions(sitting_dir)
    if not names:
        raise FileNotFoundError(f"no recorded renditions under {sitting_dir}")
    return names[0]


def publish(sitting_dir: Path, keep: Sequence[Range], poster_at: float | None) -> PublishedMedia:
    """Build `{sitting}/published/` from the raw segments in `keep` (raw seconds); blocking."""
    primary = primary_rendition(sitting_dir)
    staging = sitting_dir / f".{PUBLISHED}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    timeline = Timeline(())
    kept_primary: list[SegmentFile] = []
    for name in renditions(sitting_dir):
        source = sitting_dir / name
        _tracks, segments = read_segments(source)
        kept = _select(segments, keep)
        if name == primary:
            kept_primary = kept
            timeline = Timeline(_merge([(s.start, s.end) for s in kept]))
        target = staging / name
        target.mkdir()
        shutil.copyfile(source / "init.mp4", target / "init.mp4")
        model = []
        for index, (seg, data) in enumerate(zip(kept, _shifted(kept, segments), strict=True)):
            published = Segment(msn=index, start=0.0, complete=True)
            published.parts.append(Part(0, seg.duration, True, "", 0.0))
            model.append(published)
            atomic_write(target / published.name, data)
        if not model:
            raise ValueError("nothing left to publish: every segment was cut")
        playlist = render_playlist(model, part_target=0.5, epoch=0.0, low_latency=False, ended=True)
        atomic_write(target / "index.m3u8", _vod(playlist))
    master = sitting_dir / "index.m3u8"
    if master.is_file():
        shutil.copyfile(master, staging / "index.m3u8")
    recording = finalize(staging, primary)
    init = (sitting_dir / primary / "init.mp4").read_bytes()
    poster = False
    if primary != "audio":
        poster = _write_poster(init, kept_primary, poster_at, staging / POSTER)
    thumbnails = 0 if primary == "audio" else _write_sprite(init, kept_primary, timeline, staging)
    final = sitting_dir / PUBLISHED
    old = sitting_dir / f".{PUBLISHED}.old"
    shutil.rmtree(old, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    info = RecordingInfo(
        final / recording.path.name,
        recording.duration_s,
        recording.sha256,
        recording.size,
        final / recording.audio_path.name if recording.audio_path else None,
    )
    return PublishedMedia(timeline, info, poster, thumbnails)


def _vod(playlist: str) -> str:
    """A VOD playlist; no PROGRAM-DATE-TIME, since wall-clock time jumps at every cut."""
    lines = playlist.replace("PLAYLIST-TYPE:EVENT", "PLAYLIST-TYPE:VOD").splitlines()
    return (
        "\n".join(line for line in lines if not line.startswith("#EXT-X-PROGRAM-DATE-TIME")) + "\n"
    )


def is_published(sitting_dir: Path) -> bool:
    return (sitting_dir / PUBLISHED / FINISHED).is_file()


def _merge(ranges: list[Range]) -> tuple[Range, ...]:
    merged: list[Range] = []
    for start, end in ranges:
        if merged and abs(merged[-1][1] - start) < 1e-6:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _frames(init: bytes, seg: SegmentFile):
    """Decode video frames of one segment (it starts with an IDR, so it decodes alone)."""
    with av.open(io.BytesIO(init + seg.path.read_bytes()), format="mp4") as container:
        yield from container.decode(video=0)


def _write_poster(init: bytes, kept: list[SegmentFile], at: float | None, path: Path) -> bool:
    if not kept:
        return False
    starts = [seg.start for seg in kept]
    seg = kept[max(bisect.bisect_right(starts, at) - 1, 0)] if at is not None else kept[0]
    wanted = (at or 0.0) - seg.start
    chosen = None
    for frame in _frames(init, seg):
        chosen = frame
        if frame.time is not None and frame.time - seg.start >= wanted:
            break
    if chosen is None:
        return False
    _write_jpeg(chosen, path)
    return True


def _write_sprite(init: bytes, kept: list[SegmentFile], timeline: Timeline, directory: Path) -> int:
    """A sprite of the first frame of every n-th kept segment, plus a WebVTT thumbnail track."""
    if not kept:
        return 0
    step = max(1, -(-len(kept) // MAX_THUMBNAILS))
    chosen = kept[::step]
    width, height = THUMB_SIZE
    rows = -(-len(chosen) // SPRITE_COLUMNS)
    sheet = np.zeros((rows * height, SPRITE_COLUMNS * width, 3), np.uint8)
    cues = ["WEBVTT", ""]
    for index, seg in enumerate(chosen):
        frame = next(_frames(init, seg), None)
        if frame is None:
            continue
        row, column = divmod(index, SPRITE_COLUMNS)
        x, y = column * width, row * height
        small = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
        sheet[y : y + height, x : x + width] = small
        start = timeline.to_published(seg.start + seg.duration / 2) or 0.0
        start = max(start - seg.duration / 2, 0.0)
        end = start + seg.duration * step
        cues += [
            f"{vtt_time(start)} --> {vtt_time(end)}",
            f"{SPRITE}#xywh={x},{y},{width},{height}",
            "",
        ]
    _write_jpeg(av.VideoFrame.from_ndarray(sheet, format="rgb24"), directory / SPRITE)
    atomic_write(directory / THUMBNAILS, "\n".join(cues))
    return len(chosen)


@dataclass(frozen=True)
class CutPoint:
    """Where a cut asked for at `asked` (raw seconds) really falls: on a segment edge, which is a
    keyframe, since every segment starts with one. `jpeg` shows the first frame kept after a
    start, or the last one kept before an end (None for an audio-only recording)."""

    asked: float
    at: float
    jpeg: bytes | None


PREVIEW_WIDTH = 320


def cut_point(sitting_dir: Path, asked: float, *, end: bool = False) -> CutPoint:
    """The snapped cut point, by the same rule as publish(); decodes one segment; blocking."""
    primary = primary_rendition(sitting_dir)
    _tracks, segments = read_segments(sitting_dir / primary)
    if not segments:
        raise FileNotFoundError(f"no complete segments under {sitting_dir / primary}")
    middles = [seg.start + seg.duration / 2 for seg in segments]
    if end:  # the last segment kept is the last whose middle lies before the cut
        seg = segments[max(bisect.bisect_left(middles, asked) - 1, 0)]
        at = seg.end
    else:  # the first segment kept is the first whose middle lies at or after the cut
        seg = segments[min(bisect.bisect_left(middles, asked), len(segments) - 1)]
        at = seg.start
    if primary == "audio":
        return CutPoint(asked, at, None)
    init = (sitting_dir / primary / "init.mp4").read_bytes()
    # The first frame kept after a start; the last one kept before an end.
    frames = deque(_frames(init, seg), maxlen=1) if end else [next(_frames(init, seg), None)]
    frame = frames[0] if frames else None
    if frame is None:
        return CutPoint(asked, at, None)
    height = round(frame.height * PREVIEW_WIDTH / frame.width / 2) * 2
    return CutPoint(asked, at, _jpeg(frame.reformat(width=PREVIEW_WIDTH, height=height)))


def _jpeg(frame: av.VideoFrame) -> bytes:
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = frame.width, frame.height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    image = frame.reformat(format="yuvj420p")
    image.pts = 0
    packets = [*codec.encode(image), *codec.encode(None)]
    return b"".join(bytes(p) for p in packets)


def _write_jpeg(frame: av.VideoFrame, path: Path) -> None:
    atomic_write(path, _jpeg(frame))


def vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
