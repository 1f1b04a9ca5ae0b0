"""Two nodes sharing a database and Redis behave as one room; Redis may restart under them."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from server import keys
from server.app import create_app
from server.bus import RedisBus
from server.keys import COMMENTS
from server.passwords import hash_password
from server.store import repo
from tests.conftest import REDIS_URL, TEST_PASSWORD, csrf_token_for
from tests.test_bus import _free_port, _start_redis
from tests.test_comments import connect, outcome, post, receive, receive_until

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server"
)

PROXY = (ipaddress.ip_network("127.0.0.1/32"),)


async def two_nodes(aiohttp_client, make_config, database_url, redis_url, prefix):
    nodes = []
    for _ in range(2):
        config = make_config(
            database_url=database_url,
            redis_url=redis_url,
            redis_prefix=prefix,
            trusted_proxies=PROXY,
        )
        nodes.append(await aiohttp_client(create_app(config)))
    return nodes


def share_identity(source, target) -> None:
    """The same resident (same identity cookie) reaching the other node through the balancer."""
    target.session.cookie_jar.update_cookies(
        source.session.cookie_jar.filter_cookies(source.make_url("/"))
    )


async def moderator_on(node, store) -> str:
    async with store.transaction() as session:
        await repo.create_user(
            session, "moderator-a", hash_password(TEST_PASSWORD), "moderator", None
        )
    token = await csrf_token_for(node)
    await node.post(
        "/masuk", data={"username": "moderator-a", "password": TEST_PASSWORD, "csrf_token": token}
    )
    return await csrf_token_for(node)


async def test_a_comment_on_one_node_reaches_sockets_on_the_other(
    aiohttp_client, make_config, database_url, redis_prefix, store, live_sitting
):
    node_a, node_b = await two_nodes(
        aiohttp_client, make_config, database_url, REDIS_URL, redis_prefix
    )
    on_a = await connect(node_a, live_sitting)
    on_b = await connect(node_b, live_sitting)
    await post(on_a, "Salam dari node A")
    frame = await outcome(on_b, "Salam dari node A")
    assert set(frame) == {"type", "id", "name", "text", "at", "offset"}
    assert (await outcome(on_a, "Salam dari node A")) == frame


async def test_rate_limit_and_slow_mode_hold_across_nodes(
    aiohttp_client, make_config, database_url, redis_prefix, store, live_sitting
):
    node_a, node_b = await two_nodes(
        aiohttp_client, make_config, database_url, REDIS_URL, redis_prefix
    )
    on_a = await connect(node_a, live_sitting, ip="203.0.113.5")
    share_identity(node_a, node_b)
    on_b = await connect(node_b, live_sitting, ip="203.0.113.5")
    for n, ws in enumerate([on_a, on_b, on_a]):
        await post(ws, f"banjir {n}")
        assert (await outcome(ws, f"banjir {n}"))["type"] == "comment"
    await post(on_b, "banjir 3")
    assert (await outcome(on_b, "banjir 3"))["code"] == "rate_limited"

    token = await moderator_on(node_a, store)
    response = await node_a.post(
        f"/moderasi/{live_sitting}/pengaturan",
        json={"slow_mode_s": 60},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200
    assert (await receive_until(on_b, "settings"))["slow_mode"] == 60
    node_a.session.cookie_jar.clear()  # a different resident now
    newcomer_a = await connect(node_a, live_sitting, ip="198.51.100.1")
    share_identity(node_a, node_b)
    newcomer_b = await connect(node_b, live_sitting, ip="198.51.100.1")
    await post(newcomer_a, "pelan-pelan")
    assert (await outcome(newcomer_a, "pelan-pelan"))["type"] == "comment"
    await post(newcomer_b, "lagi dari node B")
    assert (await outcome(newcomer_b, "lagi dari node B"))["code"] == "slow_mode"


async def test_hide_and_ban_on_one_node_apply_on_the_other(
    aiohttp_client, make_config, database_url, redis_prefix, store, live_sitting
):
    node_a, node_b = await two_nodes(
        aiohttp_client, make_config, database_url, REDIS_URL, redis_prefix
    )
    spammer = await connect(node_b, live_sitting, ip="203.0.113.99")
    await post(spammer, "SPAM SPAM")
    comment = await outcome(spammer, "SPAM SPAM")
    token = await moderator_on(node_a, store)
    headers = {"X-CSRF-Token": token}
    base = f"/moderasi/{live_sitting}/komentar/{comment['id']}"
    assert (await node_a.post(f"{base}/sembunyikan", headers=headers)).status == 200
    assert await receive_until(spammer, "hidden") == {"type": "hidden", "id": comment["id"]}
    late = await connect(node_b, live_sitting)
    assert (await receive_until(late, "settings"))["type"] == "settings"  # history had no spam

    response = await node_a.post(f"{base}/blokir", json={"minutes": 5}, headers=headers)
    assert response.status == 200
    await post(spammer, "SPAM LAGI")
    assert (await outcome(spammer, "SPAM LAGI"))["code"] == "banned"


async def test_viewer_count_is_cluster_wide(
    aiohttp_client, make_config, database_url, redis_prefix, store, live_sitting
):
    node_a, node_b = await two_nodes(
        aiohttp_client, make_config, database_url, REDIS_URL, redis_prefix
    )
    await connect(node_a, live_sitting)
    await connect(node_b, live_sitting)
    token = await csrf_token_for(node_b)
    response = await node_b.post(
        f"/sidang/{live_sitting}/penonton",
        json={"viewer": "pemutar-tanpa-soket"},
        headers={"X-CSRF-Token": token},
    )
    assert (await response.json())["viewers"] == 3
    metrics = await (await node_a.get("/metrics")).text()
    assert f'sidang_viewers{{sitting="{live_sitting}"}} 3' in metrics


async def test_delivery_resumes_after_redis_restarts(
    aiohttp_client, make_config, database_url, store, live_sitting
):
    port = _free_port()
    server = _start_redis(port)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        node_a, node_b = await two_nodes(aiohttp_client, make_config, database_url, url, "restart:")
        bus_a: RedisBus = node_a.app[keys.BUS]
        bus_b: RedisBus = node_b.app[keys.BUS]
        assert await bus_a.wait_connected(5) and await bus_b.wait_connected(5)
        on_a = await connect(node_a, live_sitting)
        on_b = await connect(node_b, live_sitting)

        server.kill()
        server.wait()
        assert await bus_a.wait_disconnected(10)
        await post(on_a, "saat Redis mati")
        assert (await outcome(on_a, "saat Redis mati"))[
            "type"
        ] == "comment"  # own node still served

        server = _start_redis(port)
        assert await bus_a.wait_connected(10) and await bus_b.wait_connected(10)
        await post(on_a, "Redis kembali")
        assert (await outcome(on_b, "Redis kembali"))["text"] == "Redis kembali"
    finally:
        server.kill()
        server.wait()


class PrivateRedis:
    """A redis-server of the test's own, to stop and start under the nodes."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen = _start_redis(self.port)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def start(self) -> None:
        self.process = _start_redis(self.port)


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    redis = PrivateRedis()
    try:
        yield redis
    finally:
        redis.stop()


async def nodes_on(redis: PrivateRedis, aiohttp_client, make_config, database_url, prefix: str):
    """Two nodes on the test's own Redis, both connected."""
    nodes = await two_nodes(aiohttp_client, make_config, database_url, redis.url, prefix)
    buses: list[RedisBus] = [node.app[keys.BUS] for node in nodes]
    for bus in buses:
        assert await bus.wait_connected(5)
    return nodes, buses


async def stop(redis: PrivateRedis, buses: list[RedisBus]) -> None:
    """Stop Redis and wait until every node has noticed."""
    redis.stop()
    for bus in buses:
        assert await bus.wait_disconnected(10)


async def start(redis: PrivateRedis, buses: list[RedisBus]) -> None:
    """Start Redis and wait until every node is connected again, its connection hooks done."""
    redis.start()
    for bus in buses:
        assert await bus.wait_connected(15)


async def spam(node, sitting: int, ip: str, text: str):
    """A resident's socket and the comment it just posted."""
    ws = await connect(node, sitting, ip=ip)
    await post(ws, text)
    return ws, await outcome(ws, text)


def show(listing: list[dict], frame: dict) -> None:
    """What the watch page does with a frame (web/static/js/comments.js): append, except that
    a restored or late comment goes before the first newer one; a comment is listed once."""
    if frame["type"] == "hidden":
        listing[:] = [c for c in listing if c["id"] != frame["id"]]
    if frame["type"] != "comment" or any(c["id"] == frame["id"] for c in listing):
        return
    position = len(listing)
    if frame.get("restored") or frame.get("late"):
        while position and int(listing[position - 1]["id"]) > int(frame["id"]):
            position -= 1
    listing.insert(position, frame)


async def listing_of(ws, count: int) -> list[str]:
    listing: list[dict] = []
    while len(listing) < count:
        show(listing, await receive(ws, timeout=10))
    return [c["text"] for c in listing]


@needs_redis_server
async def test_comments_posted_while_redis_is_down_reach_every_viewer_in_order(
    aiohttp_client, make_config, database_url, store, live_sitting
):
    async with private_redis() as redis:
        nodes, buses = await nodes_on(redis, aiohttp_client, make_config, database_url, "gap:")
        viewers = [await connect(node, live_sitting) for node in nodes for _ in range(2)]
        senders = [
            await connect(node, live_sitting, ip=f"203.0.113.{n}") for n, node in enumerate(nodes)
        ]
        texts = []

        async def say(n: int) -> None:
            text = f"komentar {n} dari node {'AB'[n % 2]}"
            await post(senders[n % 2], text)
            assert (await outcome(senders[n % 2], text))["type"] == "comment"
            texts.append(text)

        for n in range(2):
            await say(n)
        await stop(redis, buses)
        failed_before = [bus.failed_writes for bus in buses]
        for n in range(2, 8):
            await say(n)
        await start(redis, buses)

        listings = await asyncio.gather(*(listing_of(ws, len(texts)) for ws in viewers))
        assert listings == [texts] * len(viewers)
        for bus, before in zip(buses, failed_before, strict=True):
            assert bus.failed_writes - before >= 3  # at least each node's three publishes
        metrics = await (await nodes[0].get("/metrics")).text()
        assert f"sidang_bus_failed_writes_total {buses[0].failed_writes}" in metrics


@needs_redis_server
async def test_a_ban_holds_after_redis_restarts(
    aiohttp_client, make_config, database_url, store, live_sitting
):
    async with private_redis() as redis:
        nodes, buses = await nodes_on(redis, aiohttp_client, make_config, database_url, "bans:")
        node_a, node_b = nodes
        spammer, comment = await spam(node_b, live_sitting, "203.0.113.7", "BELI PULSA MURAH")
        await node_a.app[COMMENTS].ban(
            live_sitting, int(comment["id"]), minutes=60, reason="spam", actor="moderator-a"
        )

        await stop(redis, buses)
        await start(redis, buses)
        await post(spammer, "BELI PULSA LAGI")
        assert (await outcome(spammer, "BELI PULSA LAGI"))["code"] == "banned"
        share_identity(node_b, node_a)
        moved = await connect(node_a, live_sitting, ip="203.0.113.7")
        await post(moved, "dari node lain")
        assert (await outcome(moved, "dari node lain"))["code"] == "banned"


@needs_redis_server
async def test_a_ban_made_on_another_node_while_redis_is_down_holds(
    aiohttp_client, make_config, database_url, store, live_sitting
):
    """Node B's ban reaches only the store while Redis is down; node A looks there."""
    async with private_redis() as redis:
        nodes, buses = await nodes_on(redis, aiohttp_client, make_config, database_url, "split:")
        node_a, node_b = nodes
        spammer, comment = await spam(node_a, live_sitting, "203.0.113.8", "PINJOL CEPAT CAIR")
        await stop(redis, buses)

        await node_b.app[COMMENTS].ban(
            live_sitting, int(comment["id"]), minutes=60, reason="spam", actor="moderator-b"
        )
        await post(spammer, "PINJOL LAGI")
        assert (await outcome(spammer, "PINJOL LAGI"))["code"] == "banned"
