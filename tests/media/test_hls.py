import asyncio
import io

import av
import pytest

from media.boxes import fragment_timing, init_tracks, iter_boxes
from media.encode import RENDITIONS
from media.hls import BoxSplitter, PlaylistNotReady, ReloadTooFar
from media.playlist import Part, Segment, master_playlist, render_playlist


def test_box_splitter_emits_whole_boxes_across_writes() -> None:
    boxes = []
    splitter = BoxSplitter(lambda kind, box: boxes.append((kind, len(box))))
    data = b"\x00\x00\x00\x0cftyp1234" + b"\x00\x00\x00\x10moof" + b"x" * 8
    for i in range(0, len(data), 5):
        splitter.write(data[i : i + 5])
    assert boxes == [("ftyp", 12), ("moof", 16)]


async def test_parts_segments_and_timing(offline) -> None:
    await offline.feed(30 * 5)
    pk = offline.packager
    assert await pk.wait_for("360p", 1, None, timeout=5)
    video = pk.tracks["360p"]
    seg0, seg1 = video.segments[0], video.segments[1]
    assert [p.duration for p in seg0.parts] == [0.5] * 4
    assert [p.independent for p in seg0.parts] == [True, False, False, False]
    assert seg1.start == pytest.approx(2.0) and seg1.duration == pytest.approx(2.0)
    # The segment on disk is exactly its parts, and its tfdt/trun timing matches the model.
    d = offline.packager.sitting_dir / "360p"
    seg_bytes = (d / "seg00001.m4s").read_bytes()
    assert seg_bytes == b"".join((d / p.name).read_bytes() for p in seg1.parts)
    tracks = init_tracks((d / "init.mp4").read_bytes())
    moofs = [seg_bytes[s:e] for k, s, e in iter_boxes(seg_bytes) if k == "moof"]
    video_tid = next(t.track_id for t in tracks.values() if t.kind == "vide")
    starts = [t.start for m in moofs for t in fragment_timing(m, tracks) if t.track_id == video_tid]
    assert starts == pytest.approx([2.0, 2.5, 3.0, 3.5])
    audio = pk.tracks["audio"].segments[0]
    assert all(p.independent for p in audio.parts)
    assert audio.duration == pytest.approx(2.048, abs=0.03)
    # The segment decodes on its own: H.264 640x360 + AAC.
    with av.open(io.BytesIO((d / "init.mp4").read_bytes() + seg_bytes)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.audio[0].codec_context.name == "aac"
        frames = list(c.decode(video=0))
        assert len(frames) == 60 and (frames[0].width, frames[0].height) == (640, 360)


async def test_playlist_tags_and_startup(offline) -> None:
    pk = offline.packager
    with pytest.raises(PlaylistNotReady):
        pk.playlist("360p", low_latency=True)  # never a playlist of parts only
    await offline.feed(30 * 2 + 20)
    assert await pk.wait_for("360p", 0, None, timeout=5)
    assert await pk.wait_for("360p", 1, 0, timeout=5)
    text = pk.playlist("360p", low_latency=True)
    for tag in (
        "#EXT-X-VERSION:6",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
        "#EXT-X-PART-INF:PART-TARGET=0.500",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,PART-HOLD-BACK=1.500",
        '#EXT-X-MAP:URI="init.mp4"',
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000+00:00",
        '#EXT-X-PART:DURATION=0.50000,URI="part00000.0.m4s",INDEPENDENT=YES',
        "#EXTINF:2.00000,\nseg00000.m4s",
        '#EXT-X-PART:DURATION=0.50000,URI="part00001.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part00001.1.m4s"',
    ):
        assert tag in text, tag
    plain = pk.playlist("360p", low_latency=False)
    assert "#EXT-X-PART" not in plain and "PRELOAD-HINT" not in plain
    assert "seg00000.m4s" in plain
    assert (pk.sitting_dir / "360p" / "index.m3u8").read_text() == plain


async def test_blocking_reload_resolves_when_part_appears(offline) -> None:
    await offline.feed(30 * 2 + 5)
    pk = offline.packager
    assert await pk.wait_for("360p", 0, None, timeout=5)
    assert not await pk.wait_for("360p", 1, 1, timeout=0.05)
    waiter = asyncio.create_task(pk.wait_for("360p", 1, 1, timeout=5))
    hint = asyncio.create_task(pk.wait_for_path("360p/part00001.1.m4s", timeout=5))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    before = pk.playlist("360p", low_latency=True)
    assert before == pk.playlist("360p", low_latency=True) and "part00001.1.m4s" not in before
    await offline.feed(30)
    assert await waiter
    assert (await hint).name == "part00001.1.m4s"
    assert 'URI="part00001.1.m4s"' in pk.playlist("360p", low_latency=True)  # not a stale copy
    with pytest.raises(ReloadTooFar):
        await pk.wait_for("360p", 9, None, timeout=1)


async def test_endlist_after_close(offline) -> None:
    await offline.feed(30 * 3)
    assert await offline.packager.wait_for("360p", 0, None, timeout=5)
    assert "ENDLIST" not in offline.packager.playlist("360p", low_latency=True)
    await offline.close()
    text = offline.packager.playlist("360p", low_latency=True)
    assert text.rstrip().endswith("#EXT-X-ENDLIST") and "#EXT-X-PART:" not in text
    assert await offline.packager.wait_for("360p", 5, 0, timeout=0.1)  # ended: never hold


async def test_path_for_refuses_traversal(offline) -> None:
    await offline.feed(30 * 2 + 20)
    assert await offline.packager.wait_for("360p", 0, None, timeout=5)
    pk = offline.packager
    assert pk.path_for("360p/seg00000.m4s") is not None
    assert pk.path_for("360p/init.mp4") is not None
    for bad in (
        "../s1/360p/init.mp4",
        "360p/../../etc/passwd",
        "/etc/passwd",
        "1080p/init.mp4",
        "360p/nope.m4s",
        "360p/.index.m3u8.tmp",
    ):
        assert pk.path_for(bad) is None, bad


def test_master_playlist() -> None:
    text = master_playlist(RENDITIONS)
    assert (
        "#EXT-X-STREAM-INF:BANDWIDTH=2340800,RESOLUTION=1280x720,FRAME-RATE=30.000,"
        'CODECS="avc1.42c01f,mp4a.40.2"\n720p/index.m3u8' in text
    )
    assert 'RESOLUTION=640x360,FRAME-RATE=30.000,CODECS="avc1.42c01e,mp4a.40.2"' in text
    assert '#EXT-X-STREAM-INF:BANDWIDTH=52800,CODECS="mp4a.40.2"\naudio/index.m3u8' in text


def test_target_duration_covers_long_segments() -> None:
    seg = Segment(0, 0.0, complete=True)
    seg.parts = [Part(0, 2.6, True, "p", 0.0)]
    text = render_playlist([seg], part_target=0.5, epoch=0, low_latency=False, ended=True)
    assert "#EXT-X-TARGETDURATION:3" in text


def two_second_segments(count: int) -> list[Segment]:
    segments = []
    for msn in range(count):
        segment = Segment(msn, 2.0 * msn, complete=True)
        segment.parts = [Part(i, 0.5, i == 0, f"part{msn:05d}.{i}.m4s", 0.0) for i in range(4)]
        segments.append(segment)
    return segments


def test_a_delta_update_skips_all_but_the_last_twelve_seconds() -> None:
    """20 segments of 2 s: a delta update keeps the 6 that end within CAN-SKIP-UNTIL (12 s) of
    the end, replaces the 14 before them with one EXT-X-SKIP, and dates the first one kept."""
    segments = two_second_segments(20)
    full = render_playlist(segments, part_target=0.5, epoch=0, low_latency=True, ended=False)
    delta = render_playlist(
        segments, part_target=0.5, epoch=0, low_latency=True, ended=False, skip=True
    )
    assert "EXT-X-SKIP" not in full and "seg00000.m4s" in full
    assert "#EXT-X-VERSION:9" in delta and "#EXT-X-SKIP:SKIPPED-SEGMENTS=14" in delta
    assert "seg00013.m4s" not in delta and "#EXTINF:2.00000,\nseg00014.m4s" in delta
    assert "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:28.000+00:00" in delta
    assert delta.split("#EXT-X-SKIP")[1].count("#EXTINF") == 6
    assert full.split('#EXT-X-MAP:URI="init.mp4"')[1].split("seg00013.m4s")[1] in delta
    short = render_playlist(
        segments[:6], part_target=0.5, epoch=0, low_latency=True, ended=False, skip=True
    )
    assert "EXT-X-SKIP" not in short and "#EXT-X-VERSION:6" in short  # nothing old enough


def test_an_ended_playlist_is_never_a_delta_update() -> None:
    text = render_playlist(
        two_second_segments(20), part_target=0.5, epoch=0, low_latency=True, ended=True, skip=True
    )
    assert "EXT-X-SKIP" not in text and "seg00000.m4s" in text and "#EXT-X-ENDLIST" in text
