"""Live comment benchmark: thousands of sockets on one node, then on two nodes sharing Redis.

The servers run as `sidang serve` subprocesses: one node on a temporary SQLite database, two nodes
on a throwaway PostgreSQL database (as a cluster would be deployed); the load generator
runs in two separate worker processes, each a plain epoll loop over its sockets with a minimal
WebSocket client (the client side shares the 2 cores with the server, so every cycle it spends
shows up as server latency). Every simulated resident comes from its own address through
X-Forwarded-For, and rate limits stay on. Latency is measured from the moment a post is sent
to the moment each receiver parses the comment: every text carries its own send time. Last, the
same load runs for 15 s against bench/naive_comments.py (one JSON encode and one send per comment
per socket) to show what batching and encoding once save.

    python bench/comments.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDANG = ROOT / ".venv" / "bin" / "sidang"
NAIVE = Path(__file__).resolve().parent / "naive_comments.py"
COMPARE_S = 15.0  # the side-by-side run against the naive fan-out
REDIS_URL = os.environ.get("SIDANG_BENCH_REDIS", "redis://127.0.0.1:6379/0")
# Several nodes share a network database in production; a throwaway one is made from this.
# A receiver counts as drained after this long without a new comment; it must exceed the worst
# delivery delay, or late deliveries would be miscounted as lost.
DRAIN_QUIET_S = 8.0
PG_ADMIN_DSN = os.environ.get("SIDANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
# A bench comment reads "bench <worker>:<seq> <unix time sent>".
MARKER = re.compile(rb'"text":"bench \d+:\d+ (\d+\.\d+)"')
ORIGINS = (b'"text":"bench 0:', b'"text":"bench 1:')

sys.path.insert(0, str(ROOT))

from bench.scratch import cpu_s, machine_busy, raise_file_limit  # noqa: E402

# The load generator (one process per --worker)


class Stats:
    def __init__(self) -> None:
        self.histogram: Counter[int] = Counter()
        self.by_origin = [0, 0]  # deliveries seen, by the worker (and so the node) that posted
        self.max_ms = 0.0
        self.errors = 0
        self.posted = 0


class Resident:
    """One socket: handshake, then walk the server's frames straight from the byte stream.

    Only control frames are looked at one by one; comment markers are found with one regular
    expression over all complete frames of a read, because the generator shares the 2 cores with
    the server and must parse 250,000 comments a second at 5,000 clients.
    """

    __slots__ = ("buffer", "close_code", "closed", "ready", "received", "sock", "stats", "upgraded")

    def __init__(self, stats: Stats, sock: socket.socket) -> None:
        self.stats = stats
        self.sock = sock
        self.buffer = bytearray()
        self.upgraded = self.ready = self.closed = False
        self.received = self.close_code = 0

    def read(self) -> None:
        try:
            data = self.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                raise SystemExit(f"handshake refused: {bytes(buffer[:60])!r}")
            self.upgraded = True
            del buffer[: end + 4]
        position, size = 0, len(buffer)
        while size - position >= 2:
            opcode, length = buffer[position] & 0x0F, buffer[position + 1] & 0x7F
            header = 2
            if length == 126:
                if size - position < 4:
                    break
                length, header = int.from_bytes(buffer[position + 2 : position + 4]), 4
            elif length == 127:
                if size - position < 10:
                    break
                length, header = int.from_bytes(buffer[position + 2 : position + 10]), 10
            start = position + header
            if size < start + length:
                break
            if opcode == 9:
                self.send(0xA, bytes(buffer[start : start + length]))
            elif opcode == 8:
                self.closed = True
                self.close_code = int.from_bytes(buffer[start : start + 2]) if length else 1005
            position = start + length
        if position:
            self.on_text(buffer, position)
            del buffer[:position]

    def on_text(self, buffer: bytearray, end: int) -> None:
        stats = self.stats
        sent = MARKER.findall(buffer, 0, end)
        if sent:
            now = time.time()
            latencies = [int((now - float(at)) * 1000) for at in sent]
            stats.histogram.update(latencies)  # counted in C; this runs 250,000 times a second
            stats.max_ms = max(stats.max_ms, max(latencies))
            for origin, origins in enumerate(ORIGINS):
                stats.by_origin[origin] += buffer.count(origins, 0, end)
            self.received += len(sent)
        stats.errors += buffer.count(b'{"type":"error"', 0, end)
        if not self.ready and buffer.find(b'{"type":"hello"', 0, end) >= 0:
            self.ready = True

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = bytes([0x80 | opcode, 0x80 | size])
        else:
            header = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with contextlib.suppress(OSError):  # a closed socket shows up as closed on its next read
            self.sock.send(header + mask + masked)


class Worker:
    """A plain epoll loop over all of this worker's sockets and the orchestrator's stdin.

    asyncio costs several times more CPU per read than this, and every cycle the generator spends
    is one the server (sharing the 2 cores) does not get, which would show up as its latency.
    """

    def __init__(self, args) -> None:
        self.args = args
        self.stats = Stats()
        self.poller = select.epoll()
        self.residents: dict[int, Resident] = {}
        self.poller.register(sys.stdin.fileno(), select.EPOLLIN)
        self.commands: list[str] = []

    def pump(self, timeout: float) -> None:
        for fd, _events in self.poller.poll(max(0.0, timeout)):
            resident = self.residents.get(fd)
            if resident is None:
                self.commands.append(sys.stdin.readline().strip())
                continue
            resident.read()
            if resident.closed:
                self.poller.unregister(fd)
                resident.sock.close()
                del self.residents[fd]

    def wait_command(self) -> str:
        while not self.commands:
            self.pump(1.0)
        return self.commands.pop(0)

    def connect(self) -> list[Resident]:
        args = self.args
        path = f"/sidang/{args.sitting}/komentar/ws"
        opened: list[Resident] = []
        for wave in range(0, args.clients, 200):  # waves, so the server's accept backlog holds
            batch = []
            for index in range(wave, min(wave + 200, args.clients)):
                number = args.first_ip + index
                ip = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
                sock = socket.create_connection(("127.0.0.1", args.port), timeout=30)
                sock.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                    f"Sec-WebSocket-Version: 13\r\nX-Forwarded-For: {ip}\r\n\r\n".encode()
                )
                sock.setblocking(False)
                resident = Resident(self.stats, sock)
                self.residents[sock.fileno()] = resident
                self.poller.register(sock.fileno(), select.EPOLLIN)
                batch.append(resident)
            deadline = time.monotonic() + 30
            while not all(r.ready for r in batch):
                if time.monotonic() > deadline or any(r.closed for r in batch):
                    raise SystemExit("a client could not join the comment socket")
                self.pump(0.1)
            opened += batch
        return opened

    def post(self, residents: list[Resident]) -> float:
        """Post at the given rate for the given time; return this process's CPU share."""
        args, stats = self.args, self.stats
        interval = 1.0 / args.rate
        started, cpu_before = time.monotonic(), time.process_time()
        seq = turn = 0
        while (now := time.monotonic()) - started < args.duration:
            due = started + seq * interval
            if now < due:
                self.pump(due - now)
                continue
            resident = residents[turn % len(residents)]
            turn += 1
            if resident.closed:  # an evicted socket cannot post; it is counted as dropped
                continue
            text = f"bench {args.worker_id}:{seq} {time.time():.6f}"
            body = json.dumps({"type": "post", "name": f"Warga {seq % 997}", "text": text})
            resident.send(0x1, body.encode())
            stats.posted += 1
            seq += 1
        return 100 * (time.process_time() - cpu_before) / (time.monotonic() - started)

    def drain(self, residents: list[Resident]) -> None:
        """Read until nothing new has come for DRAIN_QUIET_S: late deliveries are not losses."""
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < DRAIN_QUIET_S:
            self.pump(0.2)
            total = sum(r.received for r in residents)
            if total != last:
                last, quiet_since = total, time.monotonic()


def run_worker(args) -> None:
    raise_file_limit()
    worker = Worker(args)
    residents = worker.connect()
    print("READY", flush=True)
    worker.wait_command()
    cpu_percent = worker.post(residents)
    print("POSTED", flush=True)
    worker.wait_command()  # every worker has posted: drain, then report
    worker.drain(residents)
    stats = worker.stats
    print(
        json.dumps(
            {
                "posted": stats.posted,
                "errors": stats.errors,
                "histogram": stats.histogram,
                "max_ms": stats.max_ms,
                "received": [r.received for r in residents if not r.closed],
                "dropped": sum(r.closed for r in residents),
                "close_codes": Counter(r.close_code for r in residents if r.closed),
                "by_origin": stats.by_origin,
                "cpu_percent": round(cpu_percent, 1),
            }
        ),
        flush=True,
    )


# The orchestrator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def seed(database_url: str) -> int:
    from server.domain.sitting import SittingStatus
    from server.store import Store, repo
    from server.store.models import utcnow

    async def create() -> int:
        store = Store(database_url)
        try:
            async with store.transaction() as session:
                await repo.ensure_institution(session, "DPRD Kota Pekalongan", 35)
                sitting = await repo.create_sitting(
                    session, type="paripurna", title="Uji beban", starts_at=utcnow(), is_public=True
                )
                await repo.change_status(session, sitting, SittingStatus.SCHEDULED)
                await repo.change_status(session, sitting, SittingStatus.LIVE)
                return sitting.id
        finally:
            await store.close()

    return asyncio.run(create())


def pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def start_server(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    # The log goes to a file: an unread pipe fills up and then blocks the server's loop.
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"server on port {port} did not start: {log.read_text()[-2000:]}")


def scenario(nodes: int, clients: int, rate: float, duration: float, tmp: Path) -> dict:
    database_url = f"sqlite+aiosqlite:///{tmp / f'bench-{nodes}.db'}"
    pg_name = f"sidang_bench_{uuid.uuid4().hex[:8]}"
    if nodes > 1:
        pg_admin(f'CREATE DATABASE "{pg_name}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        database_url = f"{base}/{pg_name}"
    env = {
        **os.environ,
        "SIDANG_DATABASE_URL": database_url,
        "SIDANG_DATA_DIR": str(tmp / "var"),
        "SIDANG_MEDIA_DIR": str(tmp / "media"),
        "SIDANG_SECRET_KEY": "bench-secret",
        "SIDANG_TRUSTED_PROXIES": "127.0.0.1",
    }
    if nodes > 1:
        env["SIDANG_REDIS_URL"] = REDIS_URL
        env["SIDANG_REDIS_PREFIX"] = f"bench:{uuid.uuid4().hex[:8]}:"
    subprocess.run([str(SIDANG), "db", "upgrade"], env=env, check=True, capture_output=True)
    sitting = seed(database_url)
    ports = [free_port() for _ in range(nodes)]
    logs = [tmp / f"server-{port}.log" for port in ports]
    servers = [
        start_server([str(SIDANG), "serve", "--port", str(port)], env, port, log)
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        figures = drive(servers, ports, sitting, clients, rate, duration)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        if nodes > 1:
            pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    report_server_trouble(logs)
    return figures


def naive_scenario(clients: int, rate: float, duration: float, tmp: Path) -> dict:
    """The same load on bench/naive_comments.py: one encode and one send per comment per socket."""
    port, log = free_port(), tmp / "naive.log"
    server = start_server([sys.executable, str(NAIVE), "--port", str(port)], os.environ, port, log)
    try:
        return drive([server], [port], 1, clients, rate, duration)
    finally:
        server.terminate()
        server.wait()


def drive(
    servers: list[subprocess.Popen],
    ports: list[int],
    sitting: int,
    clients: int,
    rate: float,
    duration: float,
) -> dict:
    """Connect two load workers (spread over the nodes), post, drain, and sum up."""
    nodes = len(servers)
    time.sleep(1.0)
    baseline = [rss_kb(s.pid) for s in servers]
    workers = []
    per_worker = clients // 2
    for worker_id in range(2):
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    "--worker-id",
                    str(worker_id),
                    "--port",
                    str(ports[worker_id % nodes]),
                    "--sitting",
                    str(sitting),
                    "--clients",
                    str(per_worker),
                    "--first-ip",
                    str(1 + worker_id * per_worker),
                    "--rate",
                    str(rate / 2),
                    "--duration",
                    str(duration),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for worker in workers:
        if worker.stdout.readline().strip() != "READY":
            raise SystemExit("a load worker failed to connect its clients")
    time.sleep(6.0)  # let every node's viewer count and presence settle
    connected = [rss_kb(s.pid) for s in servers]
    cpu_before = [cpu_s(s.pid) for s in servers]
    machine_before = machine_busy()
    started = time.monotonic()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        worker.stdout.readline()
    cpu_after = [cpu_s(s.pid) for s in servers]
    busy, total = (a - b for a, b in zip(machine_busy(), machine_before, strict=True))
    wall = time.monotonic() - started
    for worker in workers:
        worker.stdin.write("drain\n")
        worker.stdin.flush()
    results = [json.loads(worker.stdout.readline()) for worker in workers]
    for worker in workers:
        worker.wait()
    # Until every delivery is in: a design that falls behind pays for its backlog after posting.
    server_cpu_s = sum(cpu_s(s.pid) for s in servers) - sum(cpu_before)
    figures = summarise(results, clients, baseline, connected, cpu_before, cpu_after, wall)
    return figures | {
        "machine_busy_percent": round(100 * busy / total, 1),
        "server_cpu_s_per_million": round(server_cpu_s / max(1, figures["deliveries"]) * 1e6, 2),
    }


def report_server_trouble(logs: list[Path]) -> None:
    """A figure is only worth quoting if the servers ran clean: show what they complained of."""
    for log in logs:
        trouble = [
            line
            for line in log.read_text().splitlines()
            if any(word in line for word in ("WARNING", "ERROR", "Traceback", "Exception"))
        ]
        if trouble:
            print(f"{log.name}: {len(trouble)} warnings or errors, first ones:", file=sys.stderr)
            print("\n".join(trouble[:10]), file=sys.stderr)


def summarise(results, clients, baseline, connected, cpu_before, cpu_after, wall) -> dict:
    histogram: Counter[int] = Counter()
    for result in results:
        histogram.update({int(k): v for k, v in result["histogram"].items()})
    accepted = sum(r["posted"] - r["errors"] for r in results)
    received = [count for r in results for count in r["received"]]
    deliveries = sum(histogram.values())
    # Of the deliveries each node's clients should have seen from each node's posts, the share
    # they saw: it tells a loss on the way across Redis from a loss inside one node.
    seen_share = [
        [
            round(
                receiver["by_origin"][origin]
                / max(1, (poster["posted"] - poster["errors"]) * len(receiver["received"])),
                4,
            )
            for origin, poster in enumerate(results)
        ]
        for receiver in results
    ]
    return {
        "clients": clients,
        "messages": accepted,
        "posted": sum(r["posted"] for r in results),
        "refused": sum(r["errors"] for r in results),
        "deliveries": deliveries,
        "p50_ms": percentile(histogram, deliveries, 0.50),
        "p99_ms": percentile(histogram, deliveries, 0.99),
        "max_ms": round(max(r["max_ms"] for r in results), 1),
        "lost": sum(max(0, accepted - count) for count in received),
        "dropped_clients": sum(r["dropped"] for r in results),
        "close_codes": sum((Counter(r["close_codes"]) for r in results), Counter()),
        "seen_share": seen_share,
        "generator_cpu_percent": [r["cpu_percent"] for r in results],
        "rss_kb_per_conn": round((sum(connected) - sum(baseline)) / clients, 1),
        "cpu_percent": [
            round(100 * (a - b) / wall, 1) for a, b in zip(cpu_after, cpu_before, strict=True)
        ],
    }


def percentile(histogram: Counter[int], total: int, fraction: float) -> float:
    if total == 0:
        return 0.0
    seen, wanted = 0, fraction * total
    for millisecond in sorted(histogram):
        seen += histogram[millisecond]
        if seen >= wanted:
            return float(millisecond + 1)  # the bucket's upper bound
    return float(max(histogram) + 1)


def show(title: str, figures: dict) -> None:
    print(f"\n{title}")
    print(f"  clients            {figures['clients']}")
    print(
        f"  messages           {figures['messages']} accepted of {figures['posted']} posted "
        f"({figures['refused']} refused), {figures['deliveries']} deliveries"
    )
    print(
        f"  latency            p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
        f"max {figures['max_ms']} ms"
    )
    print(f"  lost               {figures['lost']} (dropped clients {figures['dropped_clients']})")
    print(f"  seen share         {figures['seen_share']} (receiver worker x posting worker)")
    print(f"  server RSS         {figures['rss_kb_per_conn']} KB per connection")
    print(f"  server CPU         {', '.join(f'{c}%' for c in figures['cpu_percent'])} of one core")
    print(f"  whole machine      {figures['machine_busy_percent']}% busy (2 cores)")
    print(
        "  generator CPU      "
        f"{', '.join(f'{c}%' for c in figures['generator_cpu_percent'])} of one core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 clients for 15 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
    parser.add_argument("--duration", type=float)
    parser.add_argument(
        "--nodes",
        type=int,
        choices=(1, 2),
        help="run only the one-node or the two-node scenario (and no naive comparison)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sitting", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first-ip", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    raise_file_limit()
    clients = args.clients or (1000 if args.quick else 5000)
    duration = args.duration or (15.0 if args.quick else 60.0)
    with tempfile.TemporaryDirectory(prefix="sidang-bench-") as tmp:
        one = two = compare = None
        if args.nodes in (None, 1):
            one = scenario(1, clients, args.rate, duration, Path(tmp))
            show(f"One node: {clients} sockets, {args.rate:g} messages/s for {duration:g} s", one)
        if args.nodes in (None, 2):
            two = scenario(2, clients, args.rate, duration, Path(tmp))
            show(f"Two nodes + Redis: {clients // 2} sockets each", two)
        if args.nodes is None:
            compare = against_naive(one, clients, duration, args.rate, Path(tmp))
    print("\nGoals: p99 < 250 ms, 0 lost, <= 30 KB per connection.")
    if args.json:
        print(json.dumps({**(one or {}), "two_nodes": two, "against_naive": compare}))


def against_naive(one: dict, clients: int, duration: float, rate: float, tmp: Path) -> dict:
    """Ours and the naive fan-out under the same load, side by side, for COMPARE_S seconds (the
    naive server falls far behind at 5,000 sockets, and catching up takes minutes)."""
    ours = one if duration == COMPARE_S else scenario(1, clients, rate, COMPARE_S, tmp)
    naive = naive_scenario(clients, rate, COMPARE_S, tmp)
    ratio = naive["server_cpu_s_per_million"] / max(0.01, ours["server_cpu_s_per_million"])
    print(f"\nAgainst the naive fan-out: {clients} sockets, one node, {COMPARE_S:g} s of posts")
    print(f"  {'':36} {'ours':>10} {'naive':>10}")
    for label, key in (
        ("p50 latency (ms)", "p50_ms"),
        ("p99 latency (ms)", "p99_ms"),
        ("lost", "lost"),
        ("server CPU s per million deliveries", "server_cpu_s_per_million"),
    ):
        print(f"  {label:36} {ours[key]:>10} {naive[key]:>10}")
    print(f"  the naive fan-out costs {ratio:.1f}x the server CPU per delivery")
    return {"clients": clients, "ours": ours, "naive": naive, "cpu_ratio": round(ratio, 2)}


if __name__ == "__main__":
    main()
