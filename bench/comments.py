"""Live comment benchmark: thousands of sockets on one node, then on two nodes sharing Redis.

The servers run as `sidang serve` subprocesses: one node on a temporary SQLite database, two nodes
on a throwaway PostgreSQL database (as a cluster would be deployed); the load generator
runs in separate worker processes with a minimal WebSocket client on asyncio's Protocol (aiohttp's
client costs several times more CPU per message, and the client side shares the 2 cores with the
server). Every simulated resident comes from its own address through X-Forwarded-For, and rate
limits stay on. Latency is measured from the moment a post is sent to the moment each receiver
parses the comment: every text carries its own send time.

    python bench/comments.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
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
REDIS_URL = os.environ.get("SIDANG_BENCH_REDIS", "redis://127.0.0.1:6379/0")
# Several nodes share a network database in production; a throwaway one is made from this.
# A receiver counts as drained after this long without a new comment; it must exceed the worst
# delivery delay, or late deliveries would be miscounted as lost.
DRAIN_QUIET_S = 8.0
PG_ADMIN_DSN = os.environ.get("SIDANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
MARK = b'"text":"bench '


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# The load generator (one process per --worker)


class Stats:
    def __init__(self) -> None:
        self.histogram: Counter[int] = Counter()
        self.max_ms = 0.0
        self.errors = 0
        self.posted = 0


class Resident(asyncio.Protocol):
    """One socket: handshake, then parse server frames straight from the byte stream."""

    def __init__(self, stats: Stats, ip: str, path: str, host: str) -> None:
        self.stats = stats
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            f"\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: {ip}\r\n\r\n"
        ).encode()
        self.buffer = bytearray()
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.received = 0
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during handshake"))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(bytes(buffer[:40]).decode()))
                return
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
            if size - position < header + length:
                break
            start = position + header
            self.on_frame(opcode, buffer, start, start + length)
            position = start + length
        del buffer[:position]

    def on_frame(self, opcode: int, buffer: bytearray, start: int, end: int) -> None:
        if opcode == 1:
            mark = buffer.find(MARK, start, end)
            if mark >= 0:
                now = time.time()
                stop = buffer.index(b'"', mark + len(MARK), end)
                sent = float(bytes(buffer[mark + len(MARK) : stop]).split()[1])
                latency = (now - sent) * 1000
                self.stats.histogram[int(latency)] += 1
                self.stats.max_ms = max(self.stats.max_ms, latency)
                self.received += 1
            elif buffer.startswith(b'{"type":"error"', start):
                self.stats.errors += 1
            elif buffer.startswith(b'{"type":"hello"', start) and not self.ready.done():
                self.ready.set_result(None)
        elif opcode == 9:
            self.send(0xA, bytes(buffer[start:end]))
        elif opcode == 8:
            self.closed = True

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = bytes([0x80 | opcode, 0x80 | size])
        else:
            header = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(header + mask + masked)


async def run_worker(args) -> None:
    raise_file_limit()
    loop = asyncio.get_running_loop()
    stats = Stats()
    path = f"/sidang/{args.sitting}/komentar/ws"
    host = f"127.0.0.1:{args.port}"
    residents: list[Resident] = []
    gate = asyncio.Semaphore(100)

    async def open_one(index: int) -> Resident:
        number = args.first_ip + index
        ip = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
        for attempt in range(20):
            async with gate:
                try:
                    _, resident = await loop.create_connection(
                        lambda: Resident(stats, ip, path, host), "127.0.0.1", args.port
                    )
                    await asyncio.wait_for(resident.ready, 30)
                    return resident
                except (OSError, ConnectionError, TimeoutError):
                    await asyncio.sleep(0.05 * (attempt + 1))
        raise SystemExit(f"client {index} could not connect")

    residents = list(await asyncio.gather(*(open_one(i) for i in range(args.clients))))
    print("READY", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)

    interval = 1.0 / args.rate
    started = time.monotonic()
    seq = 0
    while time.monotonic() - started < args.duration:
        resident = residents[seq % len(residents)]
        text = f"bench {args.worker_id}:{seq} {time.time():.6f}"
        body = json.dumps({"type": "post", "name": f"Warga {seq % 997}", "text": text})
        resident.send(0x1, body.encode())
        stats.posted += 1
        seq += 1
        await asyncio.sleep(max(0.0, started + seq * interval - time.monotonic()))
    print("POSTED", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # all workers posted: drain, then report
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < DRAIN_QUIET_S:
        total = sum(r.received for r in residents)
        if total != last:
            last, quiet_since = total, time.monotonic()
        await asyncio.sleep(0.2)
    print(
        json.dumps(
            {
                "posted": stats.posted,
                "errors": stats.errors,
                "histogram": stats.histogram,
                "max_ms": stats.max_ms,
                "received": [r.received for r in residents if not r.closed],
                "dropped": sum(r.closed for r in residents),
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


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    # The log goes to a file: an unread pipe fills up and then blocks the server's loop.
    server = subprocess.Popen(
        [str(SIDANG), "serve", "--port", str(port)],
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
    servers = [start_server(env, port, tmp / f"server-{port}.log") for port in ports]
    try:
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
        started = time.monotonic()
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            worker.stdout.readline()
        cpu_after = [cpu_s(s.pid) for s in servers]
        wall = time.monotonic() - started
        for worker in workers:
            worker.stdin.write("drain\n")
            worker.stdin.flush()
        results = [json.loads(worker.stdout.readline()) for worker in workers]
        for worker in workers:
            worker.wait()
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        if nodes > 1:
            pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return summarise(results, clients, baseline, connected, cpu_before, cpu_after, wall)


def summarise(results, clients, baseline, connected, cpu_before, cpu_after, wall) -> dict:
    histogram: Counter[int] = Counter()
    for result in results:
        histogram.update({int(k): v for k, v in result["histogram"].items()})
    accepted = sum(r["posted"] - r["errors"] for r in results)
    received = [count for r in results for count in r["received"]]
    deliveries = sum(histogram.values())
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
    print(f"  server RSS         {figures['rss_kb_per_conn']} KB per connection")
    print(f"  server CPU         {', '.join(f'{c}%' for c in figures['cpu_percent'])} of one core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 clients for 15 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sitting", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first-ip", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(run_worker(args))
        return
    raise_file_limit()
    clients = args.clients or (1000 if args.quick else 5000)
    duration = args.duration or (15.0 if args.quick else 60.0)
    with tempfile.TemporaryDirectory(prefix="sidang-bench-") as tmp:
        one = scenario(1, clients, args.rate, duration, Path(tmp))
        show(f"One node: {clients} sockets, {args.rate:g} messages/s for {duration:g} s", one)
        two = scenario(2, clients, args.rate, duration, Path(tmp))
        show(f"Two nodes + Redis: {clients // 2} sockets each", two)
    print("\nGoals: p99 < 250 ms, 0 lost, <= 30 KB per connection.")
    if args.json:
        print(json.dumps({**one, "two_nodes": two}))


if __name__ == "__main__":
    main()
