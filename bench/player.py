"""Benchmark the watch page's player: how far behind live a resident's phone plays.

Serves the app as `sidang demo` does (demo data, the demo sitting live on the synthetic hall
source), opens `/sidang/{id}` in Debian Chromium at 360 px, and samples the latency the player
itself reports (hls.js `latency`: its estimate of the live edge minus the playhead, the figure
the page's badge shows) twice a second from the first frame on. Prints median and p95, the
rendition played and the waiting events; `--json` prints one JSON object as the last line. `--quick`
samples 60 s (about 75 s in all).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media.source import SyntheticAudioTrack, SyntheticVideoTrack  # noqa: E402
from server import keys  # noqa: E402
from server.cli import node_app  # noqa: E402
from server.config import Config  # noqa: E402
from server.demo import LIVE_DEMO_TITLE, seed_demo  # noqa: E402
from server.store import repo  # noqa: E402
from server.store.migrate import upgrade  # noqa: E402
from tests.browser import chromium  # noqa: E402

VIEWPORT = {"width": 360, "height": 740}
SAMPLE_S = 0.5
# What the page's player reports, read the way the badge reads it.
PROBE = """() => {
  const video = document.getElementById('player');
  const hls = window.sidangHls;
  return {
    time: video.currentTime,
    latency: hls && isFinite(hls.latency) ? hls.latency : null,
    target: hls && hls.targetLatency,
    height: hls && hls.levels[hls.currentLevel] ? hls.levels[hls.currentLevel].height : null,
    rate: video.playbackRate,
    errors: window.sidangPlayerErrors.length,
  };
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _live_demo(app: web.Application) -> int:
    """Take the demo sitting live on the synthetic hall source, as `sidang demo` does."""
    async with app[keys.STORE].read() as session:
        sittings = await repo.list_sittings(session, public_only=False, limit=100)
    sitting_id = next(s.id for s in sittings if s.title == LIVE_DEMO_TITLE)
    broadcast = await app[keys.LIVE].start(sitting_id, actor="bench")
    await broadcast.attach_hall(SyntheticVideoTrack(LIVE_DEMO_TITLE), SyntheticAudioTrack())
    return sitting_id


async def run(config: Config, seconds: float) -> dict:
    app = node_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.host, config.port).start()
    try:
        sitting_id = await _live_demo(app)
        async with chromium() as browser:
            page = await browser.new_page(viewport=VIEWPORT)
            opened = time.monotonic()
            await page.goto(f"http://{config.host}:{config.port}/sidang/{sitting_id}")
            await page.wait_for_function(
                "() => document.getElementById('player').currentTime > 0", timeout=60_000
            )
            first_frame_s = time.monotonic() - opened
            await page.evaluate(
                "() => { window.benchWaits = 0; document.getElementById('player')"
                ".addEventListener('waiting', () => { window.benchWaits += 1; }); }"
            )
            samples: list[dict] = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                samples.append(await page.evaluate(PROBE))
                await asyncio.sleep(SAMPLE_S)
            waits = await page.evaluate("() => window.benchWaits")
    finally:
        await runner.cleanup()

    latencies = [s["latency"] for s in samples if s["latency"] is not None]
    heights = [s["height"] for s in samples if s["height"]]
    return {
        "seconds": seconds,
        "samples": len(latencies),
        "latency_median_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(_percentile(latencies, 0.95), 2) if latencies else None,
        "latency_max_s": round(max(latencies), 2) if latencies else None,
        "target_latency_s": samples[-1]["target"] if samples else None,
        "first_frame_s": round(first_frame_s, 2),
        "rendition_height": statistics.mode(heights) if heights else None,
        "waiting_events": waits,
        "fatal_errors": samples[-1]["errors"] if samples else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 s of playback instead of 5 min")
    parser.add_argument("--seconds", type=float, help="override how long to sample")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    seconds = args.seconds or (60.0 if args.quick else 300.0)
    with tempfile.TemporaryDirectory(prefix="sidang-bench-player-") as tmp:
        config = Config(
            database_url=f"sqlite+aiosqlite:///{tmp}/sidang.db",
            media_dir=Path(tmp) / "recordings",
            data_dir=Path(tmp) / "var",
            secret_key="bench-player",
            port=_free_port(),
        )
        upgrade(config.database_url)
        asyncio.run(seed_demo(config))
        result = asyncio.run(run(config, seconds))
    print(f"watch page player, {result['seconds']:.0f} s at 360 px in Debian Chromium")
    print(
        f"  latency (player)  median {result['latency_median_s']} s, "
        f"p95 {result['latency_p95_s']} s, max {result['latency_max_s']} s (goal <= 2.0)"
    )
    print(
        f"  target latency    {result['target_latency_s']} s (PART-HOLD-BACK, plus 1 s for each "
        "stall hls.js saw, up to one segment)"
    )
    print(f"  first frame       {result['first_frame_s']} s after opening the page")
    print(f"  rendition         {result['rendition_height']}p")
    print(
        f"  waiting events    {result['waiting_events']} (rebuffering, or the jump to the live "
        f"edge at the start), fatal errors {result['fatal_errors']}"
    )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
