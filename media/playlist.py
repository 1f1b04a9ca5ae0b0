"""The LL-HLS playlist model and its text: segments, parts, media and master playlists.

The live packager (media/hls.py) fills the model as parts are written; the recorder and the
archive build it from segments on disk. Only text comes out of here, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from media.encode import FPS, SEGMENT_SECONDS, Rendition

PART_SECONDS = 0.5
HLS_VERSION = 6  # EXT-X-MAP in a non-I-frame playlist
SKIP_HLS_VERSION = 9  # a delta update (EXT-X-SKIP) needs 9
# A delta update leaves out segments older than this many target durations from the end; the
# RFC 8216bis minimum is 6. A 3-hour sitting's playlist is some 5,400 segments long, and every
# viewer's player reloads it at each part (0.5 s) without one.
SKIP_UNTIL_TARGETS = 6
PART_LINES_FOR = 3  # segments (besides the open one) that keep EXT-X-PART lines


def segment_name(msn: int) -> str:
    return f"seg{msn:05d}.m4s"


def part_name(msn: int, index: int) -> str:
    return f"part{msn:05d}.{index}.m4s"


@dataclass
class Part:
    index: int
    duration: float
    independent: bool
    name: str
    written_at: float


@dataclass
class Segment:
    msn: int
    start: float  # media seconds since stream start
    parts: list[Part] = field(default_factory=list)
    complete: bool = False
    written_at: float = 0.0
    # Where the next segment starts, once known: a hole in the media (a stall) then counts
    # in this segment's EXTINF, so the playlist's timeline stays the media's.
    end: float | None = None
    # The timeline or the muxer restarted before this segment (EXT-X-DISCONTINUITY).
    discontinuity: bool = False
    # The file, when it is not named after `msn` (a recovered recording that skips a bad file).
    file: str | None = None

    @property
    def duration(self) -> float:
        if self.end is not None:
            return self.end - self.start
        return sum(p.duration for p in self.parts)

    @property
    def name(self) -> str:
        return self.file or segment_name(self.msn)


def part_target_for(rendition: Rendition) -> float:
    """Muxers cut at the first sample at or past 0.5 s: exact for 30 fps, 24 AAC frames else."""
    if rendition.has_video:
        return PART_SECONDS
    frame = 1024 / 48000
    return round(math.ceil(PART_SECONDS / frame - 1e-9) * frame, 3)


def render_playlist(
    segments: list[Segment],
    *,
    part_target: float,
    epoch: float,
    low_latency: bool,
    ended: bool,
    skip: bool = False,
) -> str:
    """A media playlist (EVENT) from the segment model; the caller holds the model's lock.

    `skip` asks for a delta update (`_HLS_skip=YES`): the segments that end more than
    CAN-SKIP-UNTIL before the playlist's end become one EXT-X-SKIP line."""
    done = [s for s in segments if s.complete]
    target = max([SEGMENT_SECONDS, *(round(s.duration) for s in done)])
    low_latency = low_latency and not ended
    skip_until = SKIP_UNTIL_TARGETS * target
    skipped = 0
    if low_latency and skip and done:
        boundary = done[-1].start + done[-1].duration - skip_until
        while skipped < len(done) and done[skipped].start + done[skipped].duration <= boundary:
            skipped += 1
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{SKIP_HLS_VERSION if skipped else HLS_VERSION}",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if low_latency:
        hold = max(3 * part_target, 1.5)
        lines += [
            f"#EXT-X-PART-INF:PART-TARGET={part_target:.3f}",
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
            f"CAN-SKIP-UNTIL={skip_until:.1f},PART-HOLD-BACK={hold:.3f}",
        ]
    lines.append('#EXT-X-MAP:URI="init.mp4"')
    if skipped:
        lines.append(f"#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}")
    listed = segments[skipped:]
    with_parts = {s.msn for s in done[-PART_LINES_FOR:]}
    for seg in listed:
        if seg.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if seg.discontinuity or seg is listed[0]:
            pdt = datetime.fromtimestamp(epoch + seg.start, UTC)
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{pdt.isoformat(timespec='milliseconds')}")
        if low_latency and (seg.msn in with_parts or not seg.complete):
            for part in seg.parts:
                extra = ",INDEPENDENT=YES" if part.independent else ""
                lines.append(f'#EXT-X-PART:DURATION={part.duration:.5f},URI="{part.name}"{extra}')
        if seg.complete:
            lines += [f"#EXTINF:{seg.duration:.5f},", seg.name]
    if low_latency:
        last = segments[-1] if segments else None
        if last is None:
            hint = part_name(0, 0)
        elif last.complete:
            hint = part_name(last.msn + 1, 0)
        else:
            hint = part_name(last.msn, len(last.parts))
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{hint}"')
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist(renditions: tuple[Rendition, ...] | list[Rendition], fps: int = FPS) -> str:
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in renditions:
        attrs = [f"BANDWIDTH={r.bandwidth}", f'CODECS="{r.codecs}"']
        if r.has_video:
            attrs[1:1] = [f"RESOLUTION={r.width}x{r.height}", f"FRAME-RATE={fps:.3f}"]
        lines += [f"#EXT-X-STREAM-INF:{','.join(attrs)}", f"{r.name}/index.m3u8"]
    return "\n".join(lines) + "\n"
