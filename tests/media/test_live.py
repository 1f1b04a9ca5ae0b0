import asyncio
import hashlib
import io
from pathlib import Path

import av
import pytest

from media.encode import RENDITIONS, encoder_count
from media.live import LiveSitting
from media.program import HALL
from media.source import read_burned_clock
from media.storage import MediaStorageError
from tests.media.conftest import PushedVideo

pytestmark = pytest.mark.slow


def first_frame(rendition_dir: Path, msn: int) -> av.VideoFrame:
    data = (rendition_dir / "init.mp4").read_bytes() + (
        rendition_dir / f"seg{msn:05d}.m4s"
    ).read_bytes()
    with av.open(io.BytesIO(data)) as c:
        return next(c.decode(video=0))


def segment_msns(playlist: str) -> list[int]:
    return [int(line[3:8]) for line in playlist.splitlines() if line.startswith("seg")]


async def test_end_to_end_ladder_and_recording(rig) -> None:
    before = encoder_count()
    r = await rig(RENDITIONS)
    sitting = r.sitting
    await r.run(2.5, 1 / 10)
    # Joining at the very start: a complete segment, never a playlist of parts only.
    for name in ("720p", "360p", "audio"):
        assert await sitting.packager.wait_for(name, 0, None, timeout=10)
        assert "#EXTINF" in sitting.packager.playlist(name, low_latency=True)
    hall = PushedVideo()
    await sitting.attach_hall(hall)

    one_consumer = encoder_count()
    extra = [sitting.subscribe(name) for name in ("720p", "360p") for _ in range(49)]
    assert encoder_count() == one_consumer == before + 4  # 2 x264 + 2 AAC, whatever the audience
    assert sitting.stats().subscribers["720p"] == 50
    for sub in extra:
        sub.close()

    await r.run(4, 1 / 30, hall.push)
    stats = sitting.stats()
    assert stats.input_connected and stats.encoders == one_consumer and stats.storage_ok
    info, elapsed = await r.stop()
    assert encoder_count() == before

    for name, size in (("720p", (1280, 720)), ("360p", (640, 360))):
        d = sitting.sitting_dir / name
        frame = first_frame(d, 2)
        assert (frame.width, frame.height) == size
        assert read_burned_clock(frame) is not None  # the hall is on air in segment 2
        text = (d / "index.m3u8").read_text()
        durations = [float(x[8:-1]) for x in text.splitlines() if x.startswith("#EXTINF")]
        assert durations[:3] == pytest.approx([2.0, 2.0, 2.0])
        assert text.rstrip().endswith("#EXT-X-ENDLIST")
    with av.open(str(info.path)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert (c.streams.video[0].width, c.streams.video[0].height) == (1280, 720)
        assert c.streams.audio[0].codec_context.name == "aac"
    assert info.duration_s == pytest.approx(elapsed, abs=0.1)
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert info.size == info.path.stat().st_size
    with av.open(str(info.audio_path)) as c:
        assert len(c.streams.video) == 0 and c.streams.audio[0].codec_context.name == "aac"


async def test_publisher_drop_keeps_one_continuous_stream(rig) -> None:
    r = await rig()
    sitting, pk = r.sitting, r.sitting.packager
    d = sitting.sitting_dir / "360p"
    hall = PushedVideo()
    await sitting.attach_hall(hall)
    await r.run(3, 1 / 10, hall.push)
    await sitting.detach_hall()
    assert not sitting.stats().input_connected
    assert sitting.program.slate_text() == "Siaran terputus sementara"
    await r.run(5.5, 1 / 10)  # the drop at 3 s: the slate from 4 s (hold 1 s) to 8.5 s
    assert await pk.wait_for("360p", 3, None, timeout=10)
    slate = first_frame(d, 3)  # segment 3 (6-8 s) starts after the drop
    assert read_burned_clock(slate) is None  # the slate, not the hall
    hall = PushedVideo()
    await sitting.attach_hall(hall)
    await r.run(4, 1 / 10, hall.push)
    assert await pk.wait_for("360p", 5, None, timeout=10)
    assert read_burned_clock(first_frame(d, 5)) is not None
    text = pk.playlist("360p", low_latency=True)
    await r.stop()
    assert segment_msns(text) == list(range(len(segment_msns(text))))
    assert text.count("#EXT-X-MAP") == 1 and "DISCONTINUITY" not in text
    assert text.count("#EXT-X-PROGRAM-DATE-TIME") == 1
    assert HALL not in sitting.program.input_names()


async def test_slate_before_any_input(tmp_path: Path) -> None:
    sitting = LiveSitting("8", "Rapat", tmp_path)
    assert sitting.program.slate_text() == "Siaran akan segera dimulai"


async def test_unwritable_media_dir_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    before = encoder_count()
    with pytest.raises(MediaStorageError) as err:
        await LiveSitting("9", "Rapat", blocker).start()
    assert "cannot write media" in str(err.value)
    assert encoder_count() == before


async def test_disk_full_mid_stream_sets_health_and_keeps_playlist(offline, monkeypatch) -> None:
    await offline.feed(30 * 2 + 20)
    pk = offline.packager
    assert await pk.wait_for("360p", 0, None, timeout=5)
    on_disk = (pk.sitting_dir / "360p" / "index.m3u8").read_text()

    import errno

    import media.hls

    def full(path, data):
        raise MediaStorageError(path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(media.hls, "atomic_write", full)
    await offline.feed(30 * 3)
    assert not await pk.wait_for("360p", 2, None, timeout=2)
    assert not pk.health.ok and "ENOSPC" in pk.health.error
    assert (pk.sitting_dir / "360p" / "index.m3u8").read_text() == on_disk
    await asyncio.sleep(0)
