"""Simulated LL-HLS viewers: the app alone against the local cluster behind nginx, in one run.

Each viewer does what hls.js does on a live 360p stream: one non-blocking playlist load, then per
part a blocking reload (`?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES`, for the part the preload hint
names) followed by a GET of that part, on one kept-alive connection. A part's delay is the time
from the end of its media (the playlist's PROGRAM-DATE-TIME plus the durations before it) to the
moment the viewer holds its last byte: encode, packaging, the held reload and the download.

The load generator is a minimal HTTP/1.1 client on asyncio streams in --workers processes; it
shares the machine's 2 cores with nginx, both nodes and the live encoder. Viewer counts rise in
steps until p99 part delay reaches 1 s or requests fail; "sustained" is the largest step under
1 s. Per step: parts per viewer per second, p50/p99 part delay, origin playlist requests per
second at the owner (its /metrics; with nginx, also per part: one nginx here), and the owner's
encoder real-time factor at the end of the step.

    python bench/viewers.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import resource
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.demo import LIVE_DEMO_TITLE  # noqa: E402
from tests.cluster import load_cluster_script  # noqa: E402

RENDITION = "360p"
PART_S = 0.5
HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part(\d+)\.(\d+)\.m4s"')
PLAYLIST_ROUTE = 'route="/live/{sitting_id}/{rendition}/index.m3u8"'
COUNT = re.compile(r"^sidang_http_request_duration_seconds_count\{(.*)\} ([\d.e+]+)$", re.M)
RTF = re.compile(r'^sidang_program_realtime_factor\{sitting="(\d+)"\} ([\d.e+-]+)$', re.M)


# -- one viewer -------------------------------------------------------------------------------


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        if b"connection: close" in head.lower():
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def viewer(base: str, sid: int, stop_at: float, got: list[tuple[str, float]], errors):
    """Watch until stop_at; appends (part name, time its last byte arrived) to `got`."""
    host, port = base.removeprefix("http://").split(":")
    connection = Connection(host, int(port))
    root = f"/live/{sid}/{RENDITION}"
    try:
        status, body = await connection.get(f"{root}/index.m3u8")
        while status == 200 and time.time() < stop_at:
            hint = HINT.search(body.decode())
            if hint is None:
                errors["no preload hint"] += 1
                return
            msn, part = int(hint.group(1)), int(hint.group(2))
            query = f"_HLS_msn={msn}&_HLS_part={part}&_HLS_skip=YES"
            status, body = await connection.get(f"{root}/index.m3u8?{query}")
            if status != 200:
                break
            name = f"part{msn:05d}.{part}.m4s"
            fetched, _ = await connection.get(f"{root}/{name}")
            if fetched != 200:
                errors[f"part {fetched}"] += 1
                continue
            got.append((name, time.time()))
        if status != 200:
            errors[f"playlist {status}"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        errors[type(exc).__name__] += 1
    finally:
        connection.close()


def worker(base: str, sid: int, count: int, start_at: float, stop_at: float, out) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def run() -> tuple[list[tuple[str, float]], int]:
        delays: list[tuple[str, float]] = []
        errors: Counter[str] = Counter()
        tasks = []
        for i in range(count):  # joins spread over the first second, as a crowd arrives
            await asyncio.sleep(max(0.0, start_at + i / count - time.time()))
            tasks.append(asyncio.create_task(viewer(base, sid, stop_at, delays, errors)))
        await asyncio.gather(*tasks)
        return delays, errors

    out.send(asyncio.run(run()))


# -- one step ---------------------------------------------------------------------------------


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return response.read().decode()


def playlist_requests(metrics: str) -> float:
    return sum(float(v) for labels, v in COUNT.findall(metrics) if PLAYLIST_ROUTE in labels)


def realtime_factor(metrics: str, sid: int) -> float | None:
    found = {int(s): float(v) for s, v in RTF.findall(metrics)}
    return found.get(sid)


def step(base, nodes, sid, viewers, seconds, workers, clock: PartClock) -> dict:
    warmup = 3.0
    start_at = time.time() + 0.5
    stop_at = start_at + warmup + seconds
    pipes, processes = [], []
    for w in range(workers):
        share = viewers // workers + (1 if w < viewers % workers else 0)
        receive, send = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(
            target=worker, args=(base, sid, share, start_at, stop_at, send)
        )
        process.start()
        pipes.append(receive)
        processes.append(process)
    time.sleep(max(0.0, start_at + warmup - time.time()))
    # Every playlist request nginx sends upstream ends at the owner (node 1) exactly once,
    # straight or through node 2's hop: the owner's count is the origin's load.
    before = playlist_requests(scrape(nodes[0]))
    measured_from = time.time()
    time.sleep(max(0.0, stop_at - time.time()))
    after_metrics = [scrape(n) for n in nodes]
    measured = time.time() - measured_from
    after = playlist_requests(after_metrics[0])
    rtf = realtime_factor(after_metrics[0], sid)
    received: list[tuple[str, float]] = []
    errors: Counter[str] = Counter()
    for receive, process in zip(pipes, processes, strict=True):
        got, failed = receive.recv()
        received += got
        errors += failed
        process.join()
    delays = sorted(at - clock.written[name] for name, at in received if name in clock.written)
    origin_rps = (after - before) / measured
    return {
        "viewers": viewers,
        "parts_per_viewer_s": round(len(delays) / viewers / (warmup + seconds), 2),
        "p50_part_delay_s": round(statistics.median(delays), 3) if delays else None,
        "p99_part_delay_s": round(delays[int(len(delays) * 0.99)], 3) if delays else None,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "origin_playlist_rps": round(origin_rps, 1),
        "origin_playlist_per_part": round(origin_rps * PART_S, 2),
        "realtime_factor": rtf,
        "load_average": round(os.getloadavg()[0], 1),
    }


def series(name, base, nodes, sid, counts, seconds, workers, clock) -> dict:
    steps = []
    for count in counts:
        result = step(base, nodes, sid, count, seconds, workers, clock)
        steps.append(result)
        print(f"  {name:6} {json.dumps(result)}", flush=True)
        p99 = result["p99_part_delay_s"]
        if p99 is None or p99 >= 1.0 or result["errors"] > count * 0.01:
            break
    ok = [
        s["viewers"]
        for s in steps
        if s["p99_part_delay_s"] is not None
        and s["p99_part_delay_s"] < 1.0
        and s["errors"] <= s["viewers"] * 0.01
    ]
    return {"sustained_viewers": max(ok, default=0), "steps": steps}


class PartClock(threading.Thread):
    """When each part file appeared: its mtime (written to a temporary name, then renamed)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(daemon=True)
        self.directory = directory
        self.written: dict[str, float] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            for entry in os.scandir(self.directory):
                if entry.name.startswith("part") and entry.name not in self.written:
                    with contextlib.suppress(FileNotFoundError):
                        self.written[entry.name] = entry.stat().st_mtime
            time.sleep(0.05)


def live_demo_sitting(base: str) -> int:
    with urllib.request.urlopen(f"{base}/api/v1/sittings?status=live") as response:
        items = json.load(response)["items"]
    return next(i["id"] for i in items if i["title"] == LIVE_DEMO_TITLE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s steps, fewer of them")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--app-steps", default="100,250,500,1000,2000")
    parser.add_argument("--nginx-steps", default="250,500,1000,2000,3000,5000")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 10.0
        args.app_steps, args.nginx_steps = "100,500,1000", "500,1000,2000"
    cluster = load_cluster_script().Cluster()
    cluster.start()
    try:
        nodes = [cluster.node_url(0), cluster.node_url(1)]
        sid = live_demo_sitting(nodes[0])
        time.sleep(4)  # a few segments on the playlist
        clock = PartClock(cluster.media_dir / str(sid) / RENDITION)
        clock.start()
        app_counts = [int(n) for n in args.app_steps.split(",")]
        nginx_counts = [int(n) for n in args.nginx_steps.split(",")]
        print(f"viewers of sitting {sid} ({RENDITION}), {args.seconds:.0f} s per step")
        results = {
            "app": series(
                "app", nodes[0], nodes, sid, app_counts, args.seconds, args.workers, clock
            ),
            "nginx": series(
                "nginx", cluster.url, nodes, sid, nginx_counts, args.seconds, args.workers, clock
            ),
        }
    finally:
        cluster.stop()
    print(f"{'target':7} {'sustained':>9}  (p99 part delay < 1 s, errors <= 1%)")
    for name in ("app", "nginx"):
        print(f"{name:7} {results[name]['sustained_viewers']:>9}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
