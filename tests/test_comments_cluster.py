"""Two nodes sharing a database and Redis behave as one room; Redis may restart under them."""

from __future__ import annotations

import ipaddress

from server import keys
from server.app import create_app
from server.bus import RedisBus
from server.passwords import hash_password
from server.store import repo
from tests.conftest import REDIS_URL, TEST_PASSWORD, csrf_token_for
from tests.test_bus import _free_port, _start_redis
from tests.test_comments import connect, outcome, post, receive_until

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
