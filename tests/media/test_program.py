import asyncio
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack

from media.program import HALL, Layout, LayoutKind, Program
from media.source import SyntheticVideoTrack, read_burned_clock


class ToneTrack(MediaStreamTrack):
    """Unpaced audio frames of a constant value, to check the mix arithmetic."""

    kind = "audio"

    def __init__(self, value: int) -> None:
        super().__init__()
        self.value, self.sent = value, 0

    async def recv(self) -> av.AudioFrame:
        if self.sent >= 8:  # 160 ms: below the program's drift trim
            await asyncio.Event().wait()
        samples = np.full((1, 960 * 2), self.value, np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48000, self.sent * 960, Fraction(1, 48000)
        self.sent += 1
        return frame


def luma(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray()[: frame.height]


async def until(predicate, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
async def program():
    p = Program(lambda tick: None, title="Uji", hold_seconds=0.3)
    yield p
    for name in p.input_names():
        p.remove_input(name)


async def test_layouts(program: Program) -> None:
    assert program.slate_text() == "Siaran akan segera dimulai"
    slate = program.compose(0)
    assert (slate.width, slate.height, slate.pts) == (1280, 720, 0)
    assert read_burned_clock(slate) is None
    program.set_input(HALL, SyntheticVideoTrack("Ruang Sidang"))
    program.set_input("member:12", SyntheticVideoTrack("Anggota 12", 640, 360))
    await until(lambda: all(program.has_live_video(n) for n in (HALL, "member:12")))

    hall = program.compose(1)
    assert read_burned_clock(hall) is not None and hall.pts == 1
    program.set_layout(Layout(LayoutKind.FLOOR, floor="member:12"))
    pip = program.compose(2)
    assert (pip.width, pip.height) == (1280, 720) and read_burned_clock(pip) is not None
    inset = luma(pip)[720 - 32 - 216 : 720 - 32, 1280 - 32 - 384 : 1280 - 32]
    assert inset.std() > 10  # the hall picture sits in the corner
    program.set_layout(Layout(LayoutKind.GRID))
    grid = luma(program.compose(3))
    assert grid[:, :640].std() > 10 and grid[:, 640:].std() > 10
    program.set_layout(Layout(LayoutKind.SLATE))
    assert read_burned_clock(program.compose(4)) is None
    with pytest.raises(ValueError):
        Layout(LayoutKind.FLOOR)


async def test_stalled_input_is_held_then_slated(program: Program) -> None:
    track = SyntheticVideoTrack("Ruang Sidang")
    program.set_input(HALL, track)
    await until(lambda: program.has_live_video(HALL))
    track.stop()  # the input stalls: no more frames
    held = program.compose(0)
    assert read_burned_clock(held) is not None
    await until(lambda: not program.has_live_video(HALL))
    assert read_burned_clock(program.compose(1)) is None
    assert program.slate_text() == "Siaran terputus sementara"


async def test_mix_sums_with_clipping_and_exposes_inputs(program: Program) -> None:
    taps = []
    program.audio_taps.append(lambda tick, chunks: taps.append(chunks))
    silent = program.mix(0).to_ndarray()
    assert silent.shape == (1, 3200) and not silent.any()
    program.set_input("a", ToneTrack(1000))
    program.set_input("b", ToneTrack(2000))
    program.set_input("loud", ToneTrack(32000))
    await until(lambda: all(len(i.audio) == 8 for i in program._inputs.values()))
    mixed = program.mix(1).to_ndarray()
    assert (mixed == 32767).all()  # 35000 clips
    assert set(taps[-1]) == {"a", "b", "loud"} and (taps[-1]["a"] == 1000).all()
    program.remove_input("loud")
    assert (program.mix(2).to_ndarray() == 3000).all()
