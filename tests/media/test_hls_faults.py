"""Fault injection at the packager: no gap, clock jump or exception may end a rendition.

Each case feeds 4 s of normal program output, then the fault, then 6 s of normal output, and
asserts that every rendition goes on producing parts and segments and that the finished
recording is as long as the input (time is the media's own, never the wall clock's).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from media.hls import HlsPackager
from media.recorder import finalize
from tests.media.conftest import OfflineFeed

FPS = 30
BEFORE, AFTER = 4 * FPS, 6 * FPS


def segments_after(packager: HlsPackager, rendition: str, start: float) -> int:
    return sum(1 for s in packager.tracks[rendition].segments if s.complete and s.start >= start)


async def finish(feed: OfflineFeed, sitting: Path, input_s: float, restarted: bool = False):
    """Close the stream and check that every rendition kept going and the recording is
    whole: at least two complete segments in the last 6 s, and a recording of the input's
    length. Without a restart the playlist's durations add up to the input's too (after one,
    the discontinuity's PROGRAM-DATE-TIME places what follows)."""
    tail_start = input_s - AFTER / FPS
    await feed.close()
    for rendition in ("360p", "audio"):
        assert segments_after(feed.packager, rendition, tail_start + 0.5) >= 2, rendition
        text = feed.packager.playlist(rendition, low_latency=False)
        durations = [float(line[8:-1]) for line in text.splitlines() if line.startswith("#EXTINF")]
        if not restarted:
            assert sum(durations) == pytest.approx(input_s, abs=0.1), rendition
    info = finalize(sitting, "360p")
    assert info.duration_s == pytest.approx(input_s, abs=0.1)


@pytest.mark.parametrize("gap_s", [0.1, 0.5, 2, 12])
@pytest.mark.parametrize("stalled", ["video", "audio", "both"])
async def test_a_stall_never_ends_a_rendition(tmp_path: Path, gap_s: float, stalled: str) -> None:
    feed = OfflineFeed(tmp_path / "s1")
    await feed.feed(BEFORE)
    await feed.feed(round(gap_s * FPS), video=stalled == "audio", audio=stalled == "video")
    await feed.feed(AFTER)
    await finish(feed, tmp_path / "s1", feed.tick / FPS)
    assert feed.packager.tracks["360p"].restarts == 0


class ShiftedFeed(OfflineFeed):
    """A source whose clock breaks: every timestamp from then on is moved by `shift` ticks."""

    def __init__(self, sitting_dir: Path) -> None:
        super().__init__(sitting_dir)
        self.shift = 0
        for fanout in self.fanouts.values():
            fanout.publish = self._shifted(fanout.publish)  # type: ignore[method-assign]

    def _shifted(self, publish):
        def shifted(packet: av.Packet) -> None:
            ticks = int(Fraction(self.shift, FPS) / packet.time_base)
            packet.pts += ticks
            packet.dts += ticks
            publish(packet)

        return shifted


@pytest.mark.parametrize("jump_s", [-3, -0.5, 3600])
async def test_a_clock_jump_is_absorbed(tmp_path: Path, jump_s: float) -> None:
    feed = ShiftedFeed(tmp_path / "s1")
    await feed.feed(BEFORE)
    feed.shift = round(jump_s * FPS)
    await feed.feed(AFTER)
    track = feed.packager.tracks["360p"]
    assert track.timestamp_jumps >= 1
    # The output timeline continues: no segment starts an hour later or goes back in time.
    starts = [s.start for s in track.segments]
    assert starts == sorted(starts) and starts[-1] < (BEFORE + AFTER) / FPS + 2
    await finish(feed, tmp_path / "s1", (BEFORE + AFTER) / FPS)


async def test_an_exception_in_the_write_callback_restarts_the_rendition(
    tmp_path: Path, caplog
) -> None:
    feed = OfflineFeed(tmp_path / "s1")
    await feed.feed(BEFORE)
    track = feed.packager.tracks["360p"]
    on_part = track._on_part
    calls = 0

    def failing(moof: bytes, mdat: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("injected fault in the write callback")
        on_part(moof, mdat)

    track._on_part = failing  # type: ignore[method-assign]
    await feed.feed(AFTER)
    assert track.restarts == 1 and track.errors == 1
    assert sum("injected fault" in r.getMessage() for r in caplog.records) == 1  # logged once
    text = feed.packager.playlist("360p", low_latency=True)
    assert "#EXT-X-DISCONTINUITY" in text
    after = text.split("#EXT-X-DISCONTINUITY", 1)[1]
    assert after.splitlines()[1].startswith("#EXT-X-PROGRAM-DATE-TIME")
    assert "INDEPENDENT=YES" in after.splitlines()[2]  # it resumes on a keyframe
    await finish(feed, tmp_path / "s1", (BEFORE + AFTER) / FPS, restarted=True)


class FailsOnce:
    """Stands in for a muxer whose next `mux` raises, as PyAV does when FFmpeg refuses."""

    def __init__(self, muxer) -> None:
        self.muxer, self.failed = muxer, False

    def mux(self, packet: av.Packet) -> None:
        if not self.failed:
            self.failed = True
            raise av.FFmpegError(22, "injected muxer error")
        self.muxer.mux(packet)

    def close(self) -> None:
        self.muxer.close()


async def test_a_muxer_error_restarts_only_that_rendition(tmp_path: Path) -> None:
    feed = OfflineFeed(tmp_path / "s1")
    await feed.feed(BEFORE)
    track = feed.packager.tracks["360p"]
    track._out = FailsOnce(track._out)
    await feed.feed(AFTER)
    await finish(feed, tmp_path / "s1", (BEFORE + AFTER) / FPS, restarted=True)
    assert track.restarts == 1
    assert feed.packager.tracks["audio"].restarts == 0
