"""Soak the live pipeline under hostile conditions and check that the record survives.

A live sitting runs from the synthetic hall feed while a busy process spins on every core,
the hall's video and audio stall at random, the publisher drops and comes back 3 times, and
one rendition's packager is made to fail once. It reports what the official record needs:
recording seconds per wall second, the longest hole in each rendition, restarts and shed
steps, the program's real-time factor, and the health transitions /healthz would show (it
samples the same `LiveSitting.problems()` every 0.5 s). `--json` prints one JSON object last.

Goals: recording_s / wall_s >= 0.999, no hole longer than one segment, no rendition dead at
the end, audio never shed (the audio rendition has no hole).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
from aiortc.mediastreams import MediaStreamTrack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media.encode import SEGMENT_SECONDS  # noqa: E402
from media.live import STALE_PART_S, LiveSitting  # noqa: E402
from media.recorder import segment_spans  # noqa: E402
from media.source import SyntheticAudioTrack, SyntheticVideoTrack  # noqa: E402

STALL_CHANCE_PER_S = 0.05  # each input stalls about once every 20 s
STALL_S = (0.3, 3.0)


def _spin() -> None:
    while True:
        pass


class Stalling(MediaStreamTrack):
    """A paced track that stops delivering for a random 0.3–3 s now and then."""

    def __init__(self, inner: MediaStreamTrack, rng: random.Random, rate: float) -> None:
        super().__init__()
        self.kind = inner.kind
        self.inner, self.rng = inner, rng
        self.chance = STALL_CHANCE_PER_S / rate
        self.stalls = 0

    async def recv(self):
        if self.rng.random() < self.chance:
            self.stalls += 1
            await asyncio.sleep(self.rng.uniform(*STALL_S))
        return await self.inner.recv()

    def stop(self) -> None:
        self.inner.stop()
        super().stop()


def _hall(rng: random.Random) -> tuple[Stalling, Stalling]:
    return (
        Stalling(SyntheticVideoTrack("Rapat Paripurna DPRD"), rng, 30),
        Stalling(SyntheticAudioTrack(), rng, 50),
    )


def _longest_hole(rendition_dir: Path) -> float:
    spans = segment_spans(rendition_dir)
    holes = [b.media_start - a.media_end for a, b in zip(spans, spans[1:], strict=False)]
    return round(max([0.0, *holes]), 3)


def _audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(f.samples for f in container.decode(stream)) / stream.sample_rate


async def run(seconds: float, seed: int) -> dict:
    rng = random.Random(seed)
    busy = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 2)]
    for process in busy:
        process.start()
    health: list[tuple[float, bool]] = []
    rtf: list[float] = []
    levels: list[int] = []
    stalls = 0
    try:
        with tempfile.TemporaryDirectory(prefix="sidang-soak-") as tmp:
            sitting = LiveSitting("soak", "Rapat Paripurna DPRD", Path(tmp))
            await sitting.start()
            hall = _hall(rng)
            await sitting.attach_hall(*hall)
            started = time.monotonic()

            async def sample() -> None:
                while True:
                    healthy = not sitting.problems()
                    if not health or health[-1][1] != healthy:
                        health.append((round(time.monotonic() - started, 1), healthy))
                    state = sitting.stats().load
                    rtf.append(state.realtime_factor)
                    levels.append(state.level)
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample())
            events = sorted(
                [(seconds * f, "flap") for f in (0.2, 0.5, 0.8)] + [(seconds * 0.35, "fault")]
            )
            for at, event in events:
                await asyncio.sleep(max(0.0, started + at - time.monotonic()))
                if event == "flap":
                    stalls += sum(t.stalls for t in hall)
                    await sitting.detach_hall(hall)
                    for track in hall:
                        track.stop()
                    await asyncio.sleep(1.5)
                    hall = _hall(rng)
                    await sitting.attach_hall(*hall)
                else:
                    track = sitting.packager.tracks["720p"]
                    on_part, failed = track._on_part, []

                    def fail_once(moof, mdat, on_part=on_part, failed=failed):
                        if not failed:
                            failed.append(True)
                            raise RuntimeError("soak: injected packager fault")
                        on_part(moof, mdat)

                    track._on_part = fail_once
            await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
            stalls += sum(t.stalls for t in hall)
            ages = {n: h.last_part_age_s for n, h in sitting.stats().renditions.items()}
            restarts = {
                n: h.restarts + h.encoder_restarts for n, h in sitting.stats().renditions.items()
            }
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            info = await sitting.stop()
            wall = info.expected_s or 0.0
            holes = {
                r.name: _longest_hole(sitting.sitting_dir / r.name) for r in sitting.renditions
            }
            audio_s = _audio_seconds(info.audio_path)
    finally:
        for process in busy:
            process.kill()
    return {
        "seconds": round(seconds, 1),
        "wall_s": round(wall, 2),
        "recording_s": round(info.duration_s, 2),
        "recording_per_wall": round(info.duration_s / wall, 4) if wall else None,
        "audio_per_wall": round(audio_s / wall, 4) if wall else None,
        "recording_rendition": info.rendition,
        "longest_hole_s": holes,
        "gaps": [list(g) for g in info.gaps],
        "restarts": restarts,
        "renditions_dead_at_end": sorted(n for n, age in ages.items() if age > STALE_PART_S),
        "max_shed_level": max(levels, default=0),
        "realtime_factor_median": round(statistics.median(rtf), 3) if rtf else None,
        "realtime_factor_min": round(min(rtf), 3) if rtf else None,
        "input_stalls": stalls,
        "health_transitions": [{"at_s": at, "healthy": ok} for at, ok in health],
        "busy_processes": len(busy),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="90 s instead of 10 min")
    parser.add_argument("--seconds", type=float, help="override the run length")
    parser.add_argument("--seed", type=int, default=7, help="random stalls, reproducibly")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    seconds = args.seconds or (90.0 if args.quick else 600.0)
    r = asyncio.run(run(seconds, args.seed))
    goal_hole = max(r["longest_hole_s"].values()) <= SEGMENT_SECONDS
    print(
        f"soak, {r['seconds']} s live with {r['busy_processes']} busy processes, "
        f"{r['input_stalls']} input stalls, 3 publisher flaps, 1 packager fault"
    )
    print(f"  recording / wall        {r['recording_per_wall']} (goal >= 0.999)")
    print(f"  audio.m4a / wall        {r['audio_per_wall']}")
    print(
        f"  longest hole            {r['longest_hole_s']} s "
        f"(goal <= {SEGMENT_SECONDS}: {'met' if goal_hole else 'MISSED'})"
    )
    print(f"  restarts                {r['restarts']}")
    print(f"  dead at the end         {r['renditions_dead_at_end'] or 'none'}")
    print(f"  most video shed         step {r['max_shed_level']} of 4 (audio is never shed)")
    print(
        f"  real-time factor        median {r['realtime_factor_median']}, "
        f"min {r['realtime_factor_min']}"
    )
    print(f"  health transitions      {r['health_transitions']}")
    if args.json:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
