"""Publishing cuts whole segments without encoding; the timeline maps both clocks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest

from media import archive
from media.recorder import finalize
from tests.media.conftest import OfflineFeed

SECONDS = 12


def test_requested_ranges_trim_and_cut():
    assert archive.requested_ranges(12.0, 2.0, 10.0, [(6.0, 8.0)]) == [(2.0, 6.0), (8.0, 10.0)]
    assert archive.requested_ranges(12.0, 0.0, None, [(0.0, 3.0), (11.0, 20.0)]) == [(3.0, 11.0)]
    assert archive.requested_ranges(12.0, 5.0, 4.0, []) == []


def test_timeline_maps_raw_and_published_clocks():
    timeline = archive.Timeline(((2.0, 6.0), (8.0, 10.0)))
    assert timeline.duration == 6.0
    assert timeline.to_published(3.0) == 1.0
    assert timeline.to_published(8.5) == 4.5
    assert timeline.to_published(7.0) is None  # inside the closed-door cut
    assert timeline.to_published(1.0) is None  # trimmed away
    assert timeline.chapter_start(7.0) == 4.0  # a chapter in a cut starts where playback resumes
    assert timeline.chapter_start(0.0) == 0.0
    assert timeline.to_raw(4.5) == 8.5
    assert timeline.to_raw(6.5) is None


def keyframe_hashes(path: Path, stream: str = "video") -> dict[str, float]:
    """Hash of every video keyframe's bytes → its time: each one is a distinct picture."""
    found = {}
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            if packet.is_keyframe and packet.size:
                found[hashlib.sha256(bytes(packet)).hexdigest()] = float(
                    packet.pts * packet.time_base
                )
    return found


def duration_of(path: Path) -> float:
    with av.open(str(path)) as container:
        return container.duration / av.time_base


@pytest.fixture
async def recorded(tmp_path: Path) -> Path:
    feed = OfflineFeed(tmp_path / "7")
    await feed.feed(30 * SECONDS)
    await feed.close()
    finalize(tmp_path / "7", "360p")
    return tmp_path / "7"


async def test_trim_and_cut_remove_the_excluded_packets(recorded: Path):
    raw_before = {p.name: p.read_bytes() for p in (recorded / "360p").glob("seg*.m4s")}
    keep = archive.requested_ranges(SECONDS, 2.0, 10.0, [(6.0, 8.0)])
    result = archive.publish(recorded, keep, poster_at=3.0)

    assert result.timeline.kept == ((2.0, 6.0), (8.0, 10.0))
    published = recorded / archive.PUBLISHED
    assert duration_of(published / "recording.mp4") == pytest.approx(6.0, abs=0.07)
    # audio.m4a is the audio rendition's own cut: its segments end on AAC frames (2.048 s),
    # so each of its three kept runs may end up to one AAC part off the video's edges.
    assert duration_of(published / "audio.m4a") == pytest.approx(6.0, abs=0.2)
    with av.open(str(published / "recording.mp4")) as container:
        assert container.streams.video[0].frames == 6 * 30

    raw = keyframe_hashes(recorded / "recording.mp4")
    kept = keyframe_hashes(published / "recording.mp4")
    excluded = {h for h, t in raw.items() if not any(a <= t < b for a, b in keep)}
    assert excluded and not excluded & set(kept), "a cut-out keyframe is still published"
    assert set(kept) == set(raw) - excluded
    # The published clock has no gaps: keyframes every 2 s from zero.
    assert sorted(round(t, 3) for t in kept.values()) == [0.0, 2.0, 4.0]

    playlist = (published / "360p" / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-ENDLIST" in playlist
    assert playlist.count("#EXTINF") == 3
    assert "PROGRAM-DATE-TIME" not in playlist
    assert (published / "audio" / "index.m3u8").read_text().count("#EXTINF") == 3
    assert {p.name: p.read_bytes() for p in (recorded / "360p").glob("seg*.m4s")} == raw_before


async def test_poster_and_sprite_are_decoded_from_a_few_segments(recorded: Path):
    result = archive.publish(recorded, [(0.0, float(SECONDS))], poster_at=5.0)
    published = recorded / archive.PUBLISHED
    assert result.poster and result.thumbnails == 6
    with av.open(str(published / archive.POSTER)) as image:
        frame = next(image.decode(video=0))
        assert (frame.width, frame.height) == (640, 360)
    with av.open(str(published / archive.SPRITE)) as image:
        frame = next(image.decode(video=0))
        assert (frame.width, frame.height) == (archive.SPRITE_COLUMNS * 160, 90)
    track = (published / archive.THUMBNAILS).read_text()
    assert track.startswith("WEBVTT") and "sprite.jpg#xywh=160,0,160,90" in track


async def test_republishing_replaces_the_published_tree(recorded: Path):
    archive.publish(recorded, [(0.0, 4.0)], None)
    archive.publish(recorded, [(0.0, 8.0)], None)
    assert duration_of(recorded / archive.PUBLISHED / "recording.mp4") == pytest.approx(
        8.0, abs=0.07
    )
    assert not list(recorded.glob(".published*"))
    with pytest.raises(ValueError):
        archive.publish(recorded, [(100.0, 200.0)], None)
