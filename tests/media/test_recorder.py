import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import av
import pytest

from media.live import recover_interrupted
from media.recorder import FINISHED, complete_segments

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


async def test_kill_9_then_recover(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("sitting_child.py")),
        str(tmp_path),
        "2",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            started_at = json.loads(await child.stdout.readline())["started_at"]
            assert (await child.stdout.readline()).strip() == b"segments"
        await asyncio.sleep(1.0)  # die in the middle of segment 3
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    elapsed = time.time() - started_at
    sitting = tmp_path / "crash"
    assert not (sitting / FINISHED).exists()
    # A damaged trailing segment, as a crash on a less careful filesystem could leave.
    d = sitting / "720p"
    good = complete_segments(d)
    whole = good[-1].read_bytes()
    (d / f"seg{len(good):05d}.m4s").write_bytes(whole[: len(whole) // 2])

    recovered = recover_interrupted(tmp_path)
    assert [sid for sid, _ in recovered] == ["crash"]
    info = recovered[0][1]
    assert info.duration_s >= elapsed - 2.5  # at most the segment in progress is lost
    assert info.duration_s <= elapsed + 0.5
    with av.open(str(info.path)) as c:
        assert c.streams.video[0].width == 1280 and c.streams.audio
    playlist = (d / "index.m3u8").read_text()
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert f"seg{len(good):05d}.m4s" not in playlist
    assert playlist.count("#EXTINF") == len(good)
    assert (sitting / FINISHED).exists()
    assert recover_interrupted(tmp_path) == []  # finished sittings are left alone
