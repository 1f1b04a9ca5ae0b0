"""A live sitting under hostile conditions, on a manual clock: the same result on any machine.

Time moves only when a test advances the clock; a slow encode is an encode that advances it.
Each test checks what the official record needs: the recording covers the sitting's (clock)
time within one segment, the audio is whole, and no rendition is left dead.
"""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from media.clock import ManualClock
from media.encode import RENDITIONS, SEGMENT_SECONDS
from media.live import STALE_PART_S, LiveSitting, recover_interrupted
from media.recorder import FINISHED
from tests.media.conftest import LOW, PushedVideo, Rig

pytestmark = pytest.mark.slow


def audio_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.sample_rate


def assert_whole(info, elapsed: float, sitting: LiveSitting) -> None:
    assert info.duration_s == pytest.approx(elapsed, abs=SEGMENT_SECONDS)
    assert info.expected_s == pytest.approx(elapsed, abs=0.1)
    assert audio_duration(info.audio_path) == pytest.approx(elapsed, abs=0.2)
    assert info.gaps == ()
    for name, health in sitting.stats().renditions.items():
        assert health.last_part_age_s < STALE_PART_S, name


async def test_a_hall_at_5_fps_for_20_s_keeps_the_recording_whole(rig) -> None:
    r = await rig()
    hall = PushedVideo()
    await r.sitting.attach_hall(hall)
    await r.run(2, 1 / 30, hall.push)
    await r.run(20, 1 / 5, hall.push)
    await r.run(2, 1 / 30, hall.push)
    assert r.sitting.program.stats.skipped_ticks == 0
    info, elapsed = await r.stop()
    assert_whole(info, elapsed, r.sitting)


async def test_a_publisher_that_flaps_3_times_keeps_the_recording_whole(rig) -> None:
    r = await rig()
    for _ in range(3):
        hall = PushedVideo()
        await r.sitting.attach_hall(hall)
        await r.run(3, 1 / 10, hall.push)
        await r.sitting.detach_hall((hall,))
        await r.run(1.5, 1 / 10)  # the slate fills the gap
        assert r.sitting.program.slate_text() == "Siaran terputus sementara"
    info, elapsed = await r.stop()
    assert_whole(info, elapsed, r.sitting)
    assert all(h.restarts == 0 for h in r.sitting.stats().renditions.values())


async def test_one_encode_that_takes_2_s_is_caught_up_without_a_hole(rig) -> None:
    r = await rig()
    encoder = r.sitting._video["360p"]
    encode, slow = encoder.encode, iter([True])

    def slow_once(frame):
        if frame is not None and frame.pts >= 90 and next(slow, False):
            r.clock.sleep(2.0)  # the program thread is stuck in this encode for 2 s
        return encode(frame)

    encoder.encode = slow_once
    await r.run(6, 1 / 10)
    assert r.sitting.load.catching_up is False and r.sitting.load.late_s < 0.1
    assert r.sitting.program.stats.skipped_ticks == 0  # caught up, nothing given up
    info, elapsed = await r.stop()
    assert_whole(info, elapsed, r.sitting)


async def test_an_encoder_that_raises_is_replaced(rig, caplog) -> None:
    r = await rig()
    encoder = r.sitting._video["360p"]

    def broken(frame):
        raise av.FFmpegError(22, "injected encoder failure")

    await r.run(3, 1 / 10)
    encoder.encode = broken
    await r.run(3, 1 / 10)
    assert r.sitting._video["360p"] is not encoder
    assert r.sitting.encoder_restarts == {"360p": 1}
    assert sum("encoder 360p failed" in rec.getMessage() for rec in caplog.records) == 1
    info, elapsed = await r.stop()
    assert info.duration_s == pytest.approx(elapsed, abs=SEGMENT_SECONDS)
    assert audio_duration(info.audio_path) == pytest.approx(elapsed, abs=0.2)


async def test_overload_sheds_720p_first_and_never_audio(rig) -> None:
    r = await rig(RENDITIONS)
    encoder = r.sitting._video["720p"]
    encode = encoder.encode

    def slow(frame):
        if frame is not None:
            r.clock.sleep(0.05)  # a 720p encode costs 1.5 ticks: more than the machine has
        return encode(frame)

    encoder.encode = slow
    await r.run(2, 1 / 30)  # fine steps: a coarse step is itself a burst of due ticks
    load = r.sitting.stats().load
    assert load.level >= 1
    assert load.fps["720p"] < load.fps["360p"] == 30  # 720p goes first
    assert load.late_s < 0.5  # it does not fall further and further behind
    info, elapsed = await r.stop()
    assert audio_duration(info.audio_path) == pytest.approx(elapsed, abs=0.2)


async def test_a_stuck_rendition_is_named_then_heals(rig) -> None:
    r = await rig()
    track = r.sitting.packager.tracks["360p"]
    await r.run(3, 1 / 10)
    assert r.sitting.problems() == []
    mux = track.mux
    track.mux = lambda kind, packet: None  # stuck: nothing reaches the muxer
    await r.run(STALE_PART_S + 1, 1 / 10)
    assert [(p.kind, p.rendition) for p in r.sitting.problems()] == [("stale", "360p")]
    track.mux = mux
    msn, parts, complete = track.edge()
    await r.run(1.5, 1 / 10)
    next_part = (msn + 1, 0) if complete else (msn, parts)
    assert await r.sitting.packager.wait_for("360p", *next_part, timeout=10)
    assert r.sitting.problems() == []


async def test_a_sitting_resumed_after_a_crash_is_one_recording_with_the_gap_marked(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    first = LiveSitting("9", "Uji", tmp_path, renditions=LOW, clock=clock)
    await first.start(wait_ready=None)
    await Rig(first, clock).run(5, 1 / 10)
    await first.stop()
    (tmp_path / "9" / FINISHED).unlink()  # as if the node had died: nothing was finished
    [(name, recovered)] = recover_interrupted(tmp_path)
    assert name == "9" and recovered.duration_s == pytest.approx(5, abs=SEGMENT_SECONDS)

    clock.advance(10)  # the node is down for 10 s, then staff resume the sitting
    second = LiveSitting("9", "Uji", tmp_path, renditions=LOW, clock=clock, resume=True)
    await second.start(wait_ready=None)
    assert second.started_at == first.started_at  # offsets keep the first start's clock
    rig = Rig(second, clock)
    await rig.run(5, 1 / 10)
    info, elapsed = await rig.stop()

    assert info.expected_s == pytest.approx(elapsed, abs=0.1)
    assert info.duration_s == pytest.approx(elapsed, abs=SEGMENT_SECONDS)
    [(gap_start, gap_end)] = info.gaps
    assert gap_start == pytest.approx(5, abs=SEGMENT_SECONDS)
    assert gap_end == 16.0  # the first whole segment after the restart at 15 s
    playlist = (tmp_path / "9" / "360p" / "index.m3u8").read_text()
    assert playlist.count("#EXT-X-DISCONTINUITY") == 1
    names = [line for line in playlist.splitlines() if line.startswith("seg")]
    assert names == [f"seg{n:05d}.m4s" for n in range(len(names))]
    after = playlist.split("#EXT-X-DISCONTINUITY", 1)[1].splitlines()[1]
    assert after == "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:36.000+00:00"  # start + 16 s


async def test_a_720p_restart_leaves_no_hole_in_the_recordings_sound(rig) -> None:
    r = await rig(RENDITIONS)
    await r.run(3, 1 / 10)
    track = r.sitting.packager.tracks["720p"]
    on_part, failed = track._on_part, []

    def fail_once(moof: bytes, mdat: bytes) -> None:
        if not failed:
            failed.append(True)
            raise RuntimeError("injected packager fault")
        on_part(moof, mdat)

    track._on_part = fail_once
    await r.run(4, 1 / 10)
    info, elapsed = await r.stop()
    assert track.restarts == 1 and info.rendition == "720p"
    # The 720p picture has a hole; its sound comes from 360p's copy of the same AAC packets.
    assert audio_duration(info.path) == pytest.approx(elapsed, abs=0.2)
    assert info.gaps == ()  # some rendition had media all along
