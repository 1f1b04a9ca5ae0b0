"""The bus contract, run on MemoryBus and RedisBus alike."""

import asyncio
import shutil
import socket
import subprocess
from urllib.parse import urlsplit

import pytest

from server.bus import RedisBus
from tests.conftest import REDIS_URL


async def next_message(subscription, timeout=2.0):
    return await asyncio.wait_for(subscription.get(), timeout)


async def test_publish_reaches_every_subscriber_of_the_channel(bus):
    first, second, other = bus.subscribe("a"), bus.subscribe("a"), bus.subscribe("b")
    await bus.publish("a", {"n": 1})
    assert await next_message(first) == {"n": 1}
    assert await next_message(second) == {"n": 1}
    await bus.publish("b", {"n": 2})
    assert await next_message(other) == {"n": 2}


async def test_a_closed_subscription_ends_iteration(bus):
    subscription = bus.subscribe("c")
    subscription.close()
    assert await next_message(subscription) is None


async def test_a_full_subscription_drops_the_oldest_and_flags_it(bus):
    subscription = bus.subscribe("d", maxsize=2)
    for n in range(4):
        await bus.publish("d", {"n": n})
    assert subscription.overflowed
    assert [await next_message(subscription), await next_message(subscription)] == [
        {"n": 2},
        {"n": 3},
    ]


async def test_counters_count_within_their_window(bus):
    assert await bus.incr("hits", ttl_s=5) == 1
    assert await bus.incr("hits", ttl_s=5) == 2
    assert await bus.get_counter("hits") == 2
    await bus.reset_counter("hits")
    assert await bus.get_counter("hits") == 0


async def test_counters_expire(bus):
    await bus.incr("short", ttl_s=0.05)
    await asyncio.sleep(0.15)  # expiry is the behaviour under test: nothing to await but time
    assert await bus.get_counter("short") == 0


async def test_values_with_and_without_expiry(bus):
    await bus.set_value("owner:1", "node-a")
    assert await bus.get_value("owner:1") == "node-a"
    await bus.delete_value("owner:1")
    assert await bus.get_value("owner:1") is None


async def test_presence_counts_members_until_they_leave(bus):
    await bus.presence_touch("viewers:1", ["x"], ttl_s=30)
    await bus.presence_touch("viewers:1", ["y", "x"], ttl_s=30)
    await bus.presence_touch("viewers:1", [], ttl_s=30)
    assert await bus.presence_count("viewers:1") == 2
    await bus.presence_leave("viewers:1", ["x", "never-there"])
    await bus.presence_leave("viewers:1", [])
    assert await bus.presence_count("viewers:1") == 1


async def test_ping(bus):
    assert await bus.ping()


@pytest.fixture
async def two_nodes(redis_prefix):
    """Two nodes' buses on the same Redis, as two app processes would have."""
    nodes = RedisBus(REDIS_URL, prefix=redis_prefix), RedisBus(REDIS_URL, prefix=redis_prefix)
    for node in nodes:
        await node.start()
    yield nodes
    for node in nodes:
        await node.close()


async def test_two_redis_nodes_share_messages_counters_and_presence(two_nodes):
    node_a, node_b = two_nodes
    on_b = node_b.subscribe("room")
    on_a = node_a.subscribe("room")
    await node_a.publish("room", {"text": "halo"})
    assert await next_message(on_b) == {"text": "halo"}
    assert await next_message(on_a) == {"text": "halo"}  # local delivery, exactly once
    await node_a.publish("room", {"text": "kedua"})
    assert await next_message(on_a) == {"text": "kedua"}
    assert await next_message(on_b) == {"text": "kedua"}

    await node_a.incr("limit", ttl_s=10)
    assert await node_b.incr("limit", ttl_s=10) == 2
    await node_a.presence_touch("v", ["1", "2"], ttl_s=10)
    await node_b.presence_touch("v", ["3"], ttl_s=10)
    assert await node_a.presence_count("v") == 3


async def test_a_burst_of_publishes_reaches_the_other_node_whole(two_nodes):
    """Hundreds of concurrent writers (a loaded node's posts and joins) queue for a Redis
    connection; none may fail, since a failed PUBLISH is a comment the other node never shows."""
    node_a, node_b = two_nodes
    on_b = node_b.subscribe("room", maxsize=1000)
    await asyncio.gather(*(node_a.publish("room", {"n": n}) for n in range(500)))
    # The bound only keeps a lost message from hanging the test; a busy machine drains slowly.
    received = {(await next_message(on_b, timeout=15.0))["n"] for _ in range(500)}
    assert received == set(range(500))
    assert node_a.failed_writes == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_redis_outage_keeps_local_delivery_and_reconnects(tmp_path):
    """Stop Redis under two nodes, keep serving locally, start it again, resume across nodes."""
    port = _free_port()
    server = _start_redis(port)
    url = f"redis://127.0.0.1:{port}/0"
    node_a, node_b = RedisBus(url, prefix="outage:"), RedisBus(url, prefix="outage:")
    try:
        await node_a.start()
        await node_b.start()
        assert node_a.connected and node_b.connected
        local, remote = node_a.subscribe("c"), node_b.subscribe("c")

        server.kill()
        server.wait()
        assert await node_a.wait_disconnected(timeout=10)
        await node_a.publish("c", {"during": "outage"})
        assert await next_message(local) == {"during": "outage"}
        assert await node_a.incr("k", ttl_s=10) == 1  # counters fall back to this node

        server = _start_redis(port)
        assert await node_a.wait_connected(timeout=10)
        assert await node_b.wait_connected(timeout=10)
        await node_a.publish("c", {"after": "restart"})
        received = await next_message(remote)
        if received == {"during": "outage"}:  # node A's unsent publish, when B was back first
            received = await next_message(remote)
        assert received == {"after": "restart"}
        assert node_a.reconnects >= 1
    finally:
        await node_a.close()
        await node_b.close()
        server.kill()
        server.wait()


class CuttableLink:
    """A TCP relay to Redis that a test can cut and restore, so one node loses Redis while the
    other keeps it."""

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        self._target = (target.hostname, target.port or 6379)
        self._database = target.path
        self._server: asyncio.Server | None = None
        self._streams: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self._database}"

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        self._server.close()
        for writer in tuple(self._streams):
            writer.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._streams.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass  # the link was cut
        finally:
            self._streams.discard(writer)
            writer.close()


async def test_a_node_cut_off_from_redis_sends_its_publishes_when_back_and_runs_its_hooks(
    redis_prefix,
):
    link = CuttableLink(REDIS_URL)
    await link.restore()
    node_a, node_b = (
        RedisBus(link.url, prefix=redis_prefix),
        RedisBus(REDIS_URL, prefix=redis_prefix),
    )
    seen: list[tuple[bool, bool]] = []

    async def hook(connected: bool) -> None:
        seen.append((connected, node_a._ready.is_set()))

    try:
        await node_a.start()
        await node_b.start()
        node_a.on_connection(hook)
        remote = node_b.subscribe("c")
        await link.cut()
        assert await node_a.wait_disconnected(timeout=10)
        failed = node_a.failed_writes
        for n in range(3):
            await node_a.publish("c", {"n": n})
        assert node_a.failed_writes - failed == 3  # each counted, none tried

        await link.restore()
        assert await node_a.wait_connected(timeout=10)
        assert [await next_message(remote) for _ in range(3)] == [{"n": n} for n in range(3)]
        assert seen == [(False, False), (True, False)]  # hooks ran before it counted as ready
    finally:
        await node_a.close()
        await node_b.close()
        await link.cut()


async def test_a_node_cut_off_from_redis_keeps_its_leases_but_takes_no_new_one(redis_prefix):
    """Two nodes must never both record one sitting: a node that cannot see Redis cannot know
    that another node took a lease, so it only renews what it already holds."""
    link = CuttableLink(REDIS_URL)
    await link.restore()
    cut_off, other = (
        RedisBus(link.url, prefix=redis_prefix),
        RedisBus(REDIS_URL, prefix=redis_prefix),
    )
    try:
        await cut_off.start()
        await other.start()
        assert await cut_off.claim("live:owner:1", "cut-off", 30)
        await link.cut()
        assert await cut_off.wait_disconnected(timeout=10)

        assert await other.claim("live:owner:2", "other", 30)
        assert not await cut_off.claim("live:owner:2", "cut-off", 30), "held in Redis by another"
        assert not await cut_off.claim("live:owner:3", "cut-off", 30), "free, but unknowable"
        assert await cut_off.claim("live:owner:1", "cut-off", 30), "its own lease is renewed"
    finally:
        await cut_off.close()
        await other.close()
        await link.cut()
