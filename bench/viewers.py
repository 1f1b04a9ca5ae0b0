"""Simulated LL-HLS viewers: the app alone against the local cluster behind nginx, in one run.

Each viewer does what hls.js does on a live 360p stream: one non-blocking playlist load, then per
part a blocking reload (`?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES`, for the part the preload hint
names) followed by a GET of that part, on one kept-alive connection. All viewers wait on the same
part, so they all wake together when it is written, as a real LL-HLS audience does. A part's
delay is from the moment its file appeared (its mtime: parts are written under a temporary name
and renamed) to the moment the viewer holds its last byte: the held reload and the download.

The load generator has to be cheaper than what it measures: it shares the machine's 2 cores with
nginx, both nodes and the live encoder. Each of --workers processes runs one event loop (uvloop
when installed: `pip install -e '.[bench]'`) in which every viewer is an asyncio.Protocol on its
own connection, driven by the loop's callbacks alone: no task and no timer per viewer, one stop
timer per process, requests built once per part per process, and responses parsed only as far as
needed (status, Content-Length, a playlist's preload hint; a part's body is counted, not kept).

Viewer counts rise in steps, each run --repeat times (medians are quoted), until the median p99
part delay reaches 1 s or more than 1% of requests fail; "sustained" is the largest step under
both. Per step: parts per viewer per second (2 is live), p50/p99 part delay, origin playlist
requests per second at the owner (its /metrics; with nginx, also per part: one nginx here), the
owner's encoder real-time factor, the round trip of a member's command in the room on the owner
(p50/p99, against the same member with no viewers, measured first), the CPU of nginx, each node,
Redis and the generator from /proc (percent of one core; the machine has 200), the rest of the
machine, and the load average.

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
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import cpu_s, machine_busy, raise_file_limit  # noqa: E402
from server.demo import DEMO_PASSWORD, LIVE_DEMO_TITLE  # noqa: E402
from tests.cluster import load_cluster_script  # noqa: E402

RENDITION = "360p"
PART_S = 0.5
WARMUP_S = 3.0
HINT = re.compile(rb'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(part(\d+)\.(\d+)\.m4s)"')
PART_LINE = re.compile(rb'#EXT-X-PART:[^\n]*URI="(part(\d+)\.(\d+)\.m4s)"')
PLAYLIST_ROUTE = 'route="/live/{sitting_id}/{rendition}/index.m3u8"'
COUNT = re.compile(r"^sidang_http_request_duration_seconds_count\{(.*)\} ([\d.e+]+)$", re.M)
RTF = re.compile(r'^sidang_program_realtime_factor\{sitting="(\d+)"\} ([\d.e+-]+)$', re.M)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
ROOM_MEMBER = "anggota"  # the demo account seated as a member
ROOM_EVERY_S = 0.1
# The bench's own cluster, beside the one `make cluster` and the end-to-end suite use.
CLUSTER = {
    "state": ROOT / "build" / "cluster-viewers",
    "nginx_port": 18088,
    "node_ports": (18091, 18092),
    "redis_port": 16380,
    "database": "sidang_cluster_viewers",
}


# -- the load generator (one process per --worker) --------------------------------------------

FIRST, RELOAD, PART = range(3)


class Crowd:
    """The viewers of one process: their requests, what they received, and when they stop."""

    def __init__(self, host: str, port: int, sid: int) -> None:
        self.host, self.port = host, port
        self.root = f"/live/{sid}/{RENDITION}"
        self.first = self.get(f"{self.root}/index.m3u8")
        # per part: its blocking reload, its GET, its name, and its URI as a playlist lists it
        self.requests: dict[bytes, tuple[bytes, bytes, str, bytes]] = {}
        self.arrivals: list[tuple[str, float]] = []
        self.errors: list[tuple[str, float]] = []
        self.viewers: set[Viewer] = set()
        self.running = True

    def get(self, path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode()

    def hinted(self, hint: re.Match[bytes]) -> tuple[bytes, bytes, str, bytes]:
        """The requests for the part a playlist names, built once per part in this process (every
        viewer asks for the same ones)."""
        uri = hint.group(1)
        found = self.requests.get(uri)
        if found is None:
            msn, part, name = int(hint.group(2)), int(hint.group(3)), uri.decode()
            query = f"_HLS_msn={msn}&_HLS_part={part}&_HLS_skip=YES"
            reload = self.get(f"{self.root}/index.m3u8?{query}")
            part_get = self.get(f"{self.root}/{name}")
            found = self.requests[uri] = (reload, part_get, name, b'URI="' + uri + b'"')
        return found

    def error(self, kind: str) -> None:
        self.errors.append((kind, time.time()))

    async def watch(self, count: int, start_at: float, stop_at: float) -> None:
        """Join `count` viewers over the first second, as a crowd arrives; watch until stop_at."""
        loop = asyncio.get_running_loop()
        joining = set()
        for tick in range(100):
            await asyncio.sleep(max(0.0, start_at + tick / 100 - time.time()))
            for _ in range(count * tick // 100, count * (tick + 1) // 100):
                task = loop.create_task(self.join(loop))
                joining.add(task)
                task.add_done_callback(joining.discard)
        await asyncio.sleep(max(0.0, stop_at - time.time()))
        self.running = False
        for viewer in list(self.viewers):
            viewer.close()

    async def join(self, loop: asyncio.AbstractEventLoop) -> None:
        viewer = Viewer(self)
        try:
            await loop.create_connection(lambda: viewer, self.host, self.port)
        except OSError as exc:
            self.error(type(exc).__name__)


class Viewer(asyncio.Protocol):
    """One viewer on one kept-alive connection, as a state machine on the loop's callbacks."""

    def __init__(self, crowd: Crowd) -> None:
        self.crowd = crowd
        self.transport: asyncio.Transport | None = None
        self.state = FIRST
        self.head = b""
        self.status = 0
        self.remaining = 0
        self.body: bytearray | None = None
        self.waiting: tuple[bytes, bytes, str, bytes] | None = None  # the part reloads wait for
        self.after: tuple[bytes, bytes, str, bytes] | None = None  # the part hinted after it
        self.had: tuple[bytes, bytes, str, bytes] | None = None  # the last part received

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.crowd.viewers.add(self)
        self.transport.write(self.crowd.first)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None and self.crowd.running:
            self.crowd.error(type(exc).__name__ if exc else "closed by server")
        self.transport = None
        self.crowd.viewers.discard(self)

    def close(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.close()
        self.crowd.viewers.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.remaining == 0:  # the head of a new response
            data = self.head + data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.head = data
                return
            head, data, self.head = data[:end].lower(), data[end + 4 :], b""
            at = head.find(b"\r\ncontent-length:")
            if at < 0 or b"\r\nconnection: close" in head:
                self.crowd.error("no content-length or connection: close")
                self.close()
                return
            stop = head.find(b"\r\n", at + 17)
            self.status = int(head[9:12])
            self.remaining = int(head[at + 17 : stop if stop > 0 else len(head)])
            self.body = None if self.state == PART else bytearray()
        if self.body is not None:
            self.body += data
        self.remaining -= len(data)
        if self.remaining <= 0:
            self.remaining = 0
            self.respond()

    def respond(self) -> None:
        crowd = self.crowd
        if self.state == PART:
            if self.status == 200:
                crowd.arrivals.append((self.waiting[2], time.time()))
                self.had = self.waiting
            else:
                crowd.error(f"part {self.status}")
            self.waiting = self.after
            self.send(self.waiting[0], RELOAD)
            return
        if self.status != 200:
            crowd.error(f"playlist {self.status}")
            self.close()
            return
        hint = HINT.search(self.body)
        if hint is None:
            crowd.error("no preload hint")
            self.close()
            return
        if self.state == FIRST:
            self.waiting = crowd.hinted(hint)
            self.send(self.waiting[0], RELOAD)
            return
        self.after = crowd.hinted(hint)
        if self.waiting[3] not in self.body:
            # The hinted part was never made (its segment ended before it). Like hls.js, load
            # the newest part the playlist lists, or, holding that one already, wait for the next.
            listed = PART_LINE.search(self.body, max(0, self.body.rfind(b"#EXT-X-PART:")))
            newest = crowd.hinted(listed) if listed is not None else None
            if newest is None or newest is self.had:
                self.waiting = self.after
                self.send(self.waiting[0], RELOAD)
                return
            self.waiting = newest
        self.send(self.waiting[1], PART)

    def send(self, request: bytes, state: int) -> None:
        if not self.crowd.running or self.transport is None:
            self.close()
            return
        self.state = state
        self.transport.write(request)


def event_loop() -> tuple[asyncio.AbstractEventLoop, str]:
    try:
        import uvloop  # the [bench] extra
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"
    return uvloop.new_event_loop(), "uvloop"


def worker(address: tuple[str, int], sid: int, count: int, start_at, stop_at, out) -> None:
    raise_file_limit()
    loop, _ = event_loop()
    crowd = Crowd(*address, sid)
    loop.run_until_complete(crowd.watch(count, start_at, stop_at))
    loop.close()
    out.send((crowd.arrivals, crowd.errors))


# -- a member in the room, beside the viewers --------------------------------------------------


def room_probe(node: str, sid: int, start_at: float, stop_at: float, out) -> None:
    """In a process of its own: a member in the sitting's room on the owner node raises and
    lowers a hand every 100 ms. Each command's round trip (sent, until the room's new state is
    back) is what a member feels of the node's load; the room shares the encoder's process."""
    out.send(asyncio.run(_probe_room(node, sid, start_at, stop_at)))


async def _probe_room(node: str, sid: int, start_at: float, stop_at: float) -> list[float]:
    # unsafe: the cookie jar takes the session cookie from an IP address (the node is 127.0.0.1)
    async with aiohttp.ClientSession(node, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = CSRF_META.search(await (await http.get("/masuk")).text()).group(1)
        login = {"username": ROOM_MEMBER, "password": DEMO_PASSWORD, "csrf_token": token}
        await http.post("/masuk", data=login | {"next": "/"}, allow_redirects=False)
        async with http.ws_connect(f"/ruang/{sid}/ws") as ws:
            me = (await _next_frame(ws, lambda f: f["type"] == "hello"))["you"]["member"]
            await _next_frame(ws, lambda f: f["type"] == "state")  # the room as it is
            await asyncio.sleep(max(0.0, start_at - time.time()))
            round_trips, raised = [], True
            while time.time() < stop_at:
                sent = time.perf_counter()
                await ws.send_json({"type": "hand", "raise": raised})
                await _next_frame(ws, lambda f, up=raised: _shows_hand(f, me, up))
                round_trips.append(time.perf_counter() - sent)
                raised = not raised
                await asyncio.sleep(ROOM_EVERY_S)
            return round_trips


def _shows_hand(frame: dict, member: int, raised: bool) -> bool:
    """The room's state after this member's hand went up (in the queue) or down."""
    return frame["type"] == "state" and (member in frame["queue"]) == raised


async def _next_frame(ws: aiohttp.ClientWebSocketResponse, wanted) -> dict:
    while True:
        frame = await ws.receive_json()
        if wanted(frame):
            return frame
        if frame["type"] == "error":
            raise RuntimeError(f"the room refused the member: {frame['message']}")


def room_figures(round_trips: list[float]) -> dict:
    ordered = sorted(round_trips)
    if not ordered:
        return {"room_p50_ms": None, "room_p99_ms": None}
    return {
        "room_p50_ms": round(1000 * statistics.median(ordered), 1),
        "room_p99_ms": round(1000 * ordered[int(len(ordered) * 0.99)], 1),
    }


def room_alone(node: str, sid: int, seconds: float) -> dict:
    """The same member's round trips with no viewers: the baseline the runs compare with."""
    receive, send = multiprocessing.Pipe(duplex=False)
    start_at = time.time() + 1.0
    process = multiprocessing.Process(
        target=room_probe, args=(node, sid, start_at, start_at + seconds, send)
    )
    process.start()
    figures = room_figures(receive.recv())
    process.join()
    return figures


# -- what the servers did ---------------------------------------------------------------------


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return response.read().decode()


def playlist_requests(metrics: str) -> float:
    return sum(float(v) for labels, v in COUNT.findall(metrics) if PLAYLIST_ROUTE in labels)


def realtime_factor(metrics: str, sid: int) -> float | None:
    found = {int(s): float(v) for s, v in RTF.findall(metrics)}
    return found.get(sid)


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


class CpuMeter:
    """CPU seconds of named groups of processes and of the whole machine, between two reads."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.began = self.read()

    def read(self) -> tuple[float, dict[str, float], tuple[int, int]]:
        spent = {}
        for name, pids in self.groups.items():
            spent[name] = 0.0
            for pid in pids:
                with contextlib.suppress(OSError):
                    spent[name] += cpu_s(pid)
        return time.monotonic(), spent, machine_busy()

    def percent(self) -> dict[str, float]:
        """Percent of one core per group; `rest` is the machine's busy time nobody here spent."""
        (t0, spent0, (busy0, total0)), (t1, spent1, (busy1, total1)) = self.began, self.read()
        wall = t1 - t0
        shares = {name: 100 * (spent1[name] - spent0[name]) / wall for name in spent0}
        cores = os.cpu_count() or 1
        machine = 100 * cores * (busy1 - busy0) / max(1, total1 - total0)
        shares["rest"] = machine - sum(shares.values())
        shares["machine"] = machine
        return {name: round(value, 1) for name, value in shares.items()}


# -- one step ---------------------------------------------------------------------------------


def run(target: Target, viewers: int, seconds: float, workers: int) -> dict:
    """One run of `viewers` for WARMUP_S plus `seconds`; figures from the measured part only."""
    start_at = time.time() + 0.5
    measure_from = start_at + WARMUP_S
    measure_to = measure_from + seconds
    pipes, processes = [], []
    for w in range(workers):
        share = viewers // workers + (1 if w < viewers % workers else 0)
        receive, send = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(
            target=worker,
            args=(target.address, target.sid, share, start_at, measure_to + 0.5, send),
        )
        process.start()
        pipes.append(receive)
        processes.append(process)
    room_receive, room_send = multiprocessing.Pipe(duplex=False)
    room = multiprocessing.Process(
        target=room_probe, args=(target.nodes[0], target.sid, measure_from, measure_to, room_send)
    )
    room.start()
    time.sleep(max(0.0, measure_from - time.time()))
    # Every playlist request nginx sends upstream ends at the owner (node 1) exactly once,
    # straight or through node 2's hop: the owner's count is the origin's load.
    before = playlist_requests(scrape(target.nodes[0]))
    meter = CpuMeter({**target.processes(), "generator": [p.pid for p in processes]})
    time.sleep(max(0.0, measure_to - time.time()))
    cpu = meter.percent()
    owner = scrape(target.nodes[0])
    measured = time.time() - measure_from
    received: list[tuple[str, float]] = []
    errors: list[tuple[str, float]] = []
    for receive, process in zip(pipes, processes, strict=True):
        got, failed = receive.recv()
        received += got
        errors += failed
        process.join()
    room_round_trips = room_receive.recv()
    room.join()
    written = target.clock.written
    delays = sorted(
        at - written[name]
        for name, at in received
        if measure_from <= at < measure_to and name in written
    )
    in_window = Counter(kind for kind, at in errors if measure_from <= at < measure_to)
    origin_rps = (playlist_requests(owner) - before) / measured
    return {
        "viewers": viewers,
        "parts_per_viewer_s": round(len(delays) / viewers / seconds, 2),
        "p50_part_delay_s": round(statistics.median(delays), 3) if delays else None,
        "p99_part_delay_s": round(delays[int(len(delays) * 0.99)], 3) if delays else None,
        "errors": sum(in_window.values()),
        "error_kinds": dict(in_window),
        "join_errors": len(errors) - sum(in_window.values()),
        "origin_playlist_rps": round(origin_rps, 1),
        "origin_playlist_per_part": round(origin_rps * PART_S, 2),
        "realtime_factor": realtime_factor(owner, target.sid),
        **room_figures(room_round_trips),
        "cpu_percent": cpu,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def median_run(runs: list[dict]) -> dict:
    """The step's figures: the median of each over its runs (a missing p99 counts as worst)."""

    def median(key: str, worst: float | None = None):
        values = [r[key] if r[key] is not None else worst for r in runs]
        if any(v is None for v in values):
            return None
        value = statistics.median(values)
        return None if value == worst else round(value, 3)

    keys = ("parts_per_viewer_s", "p50_part_delay_s", "origin_playlist_rps")
    keys += ("origin_playlist_per_part", "realtime_factor", "errors", "room_p50_ms", "room_p99_ms")
    summary = {"viewers": runs[0]["viewers"], "runs": len(runs)}
    summary |= {key: median(key) for key in keys}
    summary["p99_part_delay_s"] = median("p99_part_delay_s", worst=float("inf"))
    summary["cpu_percent"] = {
        name: round(statistics.median(r["cpu_percent"][name] for r in runs), 1)
        for name in runs[0]["cpu_percent"]
    }
    summary["load_average_1m"] = round(statistics.median(r["load_average"][0] for r in runs), 1)
    return summary


def holds(summary: dict) -> bool:
    p99 = summary["p99_part_delay_s"]
    return p99 is not None and p99 < 1.0 and summary["errors"] <= summary["viewers"] * 0.01


def series(target: Target, counts: list[int], args: argparse.Namespace) -> dict:
    steps = []
    for count in counts:
        runs = []
        for _ in range(args.repeat):
            runs.append(run(target, count, args.seconds, args.workers))
            print(f"  {target.name:6} {json.dumps(runs[-1])}", flush=True)
        summary = median_run(runs) | {"each_run": runs}
        steps.append(summary)
        print(f"  {target.name:6} median {json.dumps(_brief(summary))}", flush=True)
        if not holds(summary) and not args.keep_going:
            break
    ok = [s["viewers"] for s in steps if holds(s)]
    return {"sustained_viewers": max(ok, default=0), "steps": steps}


def _brief(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "each_run"}


class Target:
    """Where the viewers go (the owner node, or nginx), and what is measured meanwhile."""

    def __init__(self, name: str, url: str, cluster, sid: int, clock: PartClock) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.name, self.address, self.sid, self.clock = name, (host, int(port)), sid, clock
        self.cluster = cluster
        self.nodes = [cluster.node_url(0), cluster.node_url(1)]

    def processes(self) -> dict[str, list[int]]:
        pids = self.cluster.pids
        nginx = pids["nginx"]
        return {
            "nginx": [nginx, *children(nginx)],
            "node1": [pids["node1"]],
            "node2": [pids["node2"]],
            "redis": [pids["redis"]],
        }


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


def settled_demo(base: str, timeout: float = 180.0) -> int:
    """The live demo sitting, once it is the only one encoding: `sidang demo` first records a
    short sitting for the archive, and that second encoder would be measured as load."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{base}/api/v1/sittings?status=live") as response:
            items = json.load(response)["items"]
        if len(items) == 1 or time.monotonic() > deadline:
            break
        time.sleep(1)
    time.sleep(4)  # a few segments on the playlist
    return live_demo_sitting(base)


def nginx_workers(cluster) -> int:
    """nginx's worker processes (the master's other children manage the cache)."""
    found = 0
    for pid in children(cluster.pids["nginx"]):
        with contextlib.suppress(OSError):
            found += Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"nginx: worker")
    return found


def counts(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short steps, one run each")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (median quoted)")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes")
    parser.add_argument("--app-steps", default="50,100,250,500", help="empty: skip the app")
    parser.add_argument("--nginx-steps", default="500,1000,2000,3000,5000")
    parser.add_argument("--keep-going", action="store_true", help="go on after a failed step")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.repeat = 10.0, 1
        args.app_steps, args.nginx_steps = "100", "500,2000"
    cluster = load_cluster_script().Cluster(**CLUSTER)
    cluster.start()
    try:
        sid = settled_demo(cluster.node_url(0))
        clock = PartClock(cluster.media_dir / str(sid) / RENDITION)
        clock.start()
        loop_name = event_loop()[1]
        print(
            f"viewers of sitting {sid} ({RENDITION}), {args.seconds:.0f} s measured per run, "
            f"{args.repeat} runs per step; generator: {args.workers} processes on {loop_name}; "
            f"nginx: {nginx_workers(cluster)} worker(s)"
        )
        results = {"generator": {"workers": args.workers, "loop": loop_name}}
        results["room_alone"] = room_alone(cluster.node_url(0), sid, args.seconds)
        print(f"  member room, no viewers: {json.dumps(results['room_alone'])}", flush=True)
        results["nginx_workers"] = nginx_workers(cluster)
        for name, url, steps in (
            ("app", cluster.node_url(0), args.app_steps),
            ("nginx", cluster.url, args.nginx_steps),
        ):
            if counts(steps):
                target = Target(name, url, cluster, sid, clock)
                results[name] = series(target, counts(steps), args)
    finally:
        cluster.stop()
    print(f"{'target':7} {'sustained':>9}  (median p99 part delay < 1 s, errors <= 1%)")
    for name in ("app", "nginx"):
        if name in results:
            print(f"{name:7} {results[name]['sustained_viewers']:>9}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
