"""Benchmark the live media pipeline: synthetic hall → program → ladder → LL-HLS → recording.

Reports real-time factor, CPU (fraction of one core), encoder instances with 1 and with 50
consumers per stream, glass-to-glass latency (burned-in capture clock → part / segment file
written) and peak RSS. `--json` prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media.encode import encoder_count  # noqa: E402
from media.fanout import Subscriber  # noqa: E402
from media.live import AAC_AUDIO_ONLY, AAC_VIDEO, LiveSitting  # noqa: E402
from media.source import SyntheticAudioTrack, SyntheticVideoTrack, read_burned_clock  # noqa: E402

STREAMS = ("720p", "360p", AAC_VIDEO, AAC_AUDIO_ONLY)


async def _drain(sub: Subscriber) -> None:
    with contextlib.suppress(EOFError):
        while True:
            await sub.recv()


def _capture_time(rendition_dir: Path, msn: int) -> float | None:
    data = (rendition_dir / "init.mp4").read_bytes()
    data += (rendition_dir / f"seg{msn:05d}.m4s").read_bytes()
    with av.open(io.BytesIO(data)) as c:
        return read_burned_clock(next(c.decode(video=0)))


async def run(seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="sidang-bench-") as tmp:
        sitting = LiveSitting("bench", "Rapat Paripurna DPRD", Path(tmp))
        await sitting.start()
        await sitting.attach_hall(
            SyntheticVideoTrack("Rapat Paripurna DPRD"), SyntheticAudioTrack()
        )
        wall0, cpu0, ticks0 = time.monotonic(), time.process_time(), sitting.program.stats.ticks

        await asyncio.sleep(seconds / 2)
        one = encoder_count()
        subs = [sitting.fanout(name).subscribe() for name in STREAMS for _ in range(49)]
        drains = [asyncio.create_task(_drain(s)) for s in subs]
        await asyncio.sleep(seconds / 2)
        fifty = encoder_count()
        stats = sitting.stats()

        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        ticks = sitting.program.stats.ticks - ticks0
        for sub in subs:
            sub.close()
        await asyncio.gather(*drains)
        info = await sitting.stop()

        d = sitting.sitting_dir / "720p"
        segments = [s for s in sitting.packager.tracks["720p"].segments if s.complete][1:-1]
        ll, plain, part_delay = [], [], []
        for seg in segments:
            captured = _capture_time(d, seg.msn)
            if captured is None:
                continue
            ll.append(seg.parts[0].written_at - captured)
            plain.append(seg.written_at - captured)
            for part in seg.parts:
                end = (
                    sitting.started_at
                    + seg.start
                    + sum(p.duration for p in seg.parts[: part.index + 1])
                )
                part_delay.append(part.written_at - end)
        return {
            "seconds": round(wall, 1),
            "realtime_factor": round(ticks / (wall * sitting.fps), 3),
            "cpu_cores": round(cpu / wall, 3),
            "encoders_1_consumer": one,
            "encoders_50_consumers": fifty,
            "latency_ll_hls_s": round(statistics.mean(ll), 3) if ll else None,
            "latency_ll_hls_max_s": round(max(ll), 3) if ll else None,
            "latency_hls_s": round(statistics.mean(plain), 3) if plain else None,
            "latency_hls_max_s": round(max(plain), 3) if plain else None,
            "part_ready_after_last_frame_ms": round(1000 * statistics.median(part_delay), 1)
            if part_delay
            else None,
            "bitrate_kbps": {k: round(v) for k, v in stats.bitrate_kbps.items()},
            "dropped_frames": stats.dropped_frames,
            "subscriber_drops": sum(s.dropped for s in subs),
            "recording_s": round(info.duration_s, 2),
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 s of input instead of 10 min")
    parser.add_argument("--seconds", type=float, help="override the run length")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    seconds = args.seconds or (60.0 if args.quick else 600.0)
    result = asyncio.run(run(seconds))
    print(f"media pipeline, {result['seconds']} s of synthetic 720p30 hall input")
    print(f"  real-time factor        {result['realtime_factor']}")
    print(f"  CPU (ladder 720p+360p+2xAAC, LL-HLS, 50 consumers/stream) {result['cpu_cores']} core")
    print(
        f"  encoders                {result['encoders_1_consumer']} with 1 consumer, "
        f"{result['encoders_50_consumers']} with 50 consumers"
    )
    print(
        f"  latency LL-HLS part     {result['latency_ll_hls_s']} s "
        f"(max {result['latency_ll_hls_max_s']}; goal <= 3)"
    )
    print(
        f"  latency HLS segment     {result['latency_hls_s']} s "
        f"(max {result['latency_hls_max_s']}; goal <= 7)"
    )
    print(f"  part on disk after its last frame {result['part_ready_after_last_frame_ms']} ms")
    print(f"  bitrates kbps           {result['bitrate_kbps']}")
    print(f"  recording               {result['recording_s']} s")
    print(f"  peak RSS                {result['rss_mb']} MB")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
