"""What an operator reads: JSON logs carrying request ids, /metrics, the Grafana dashboard."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web

from server import logs
from server.app import create_app
from server.audience import WINDOW_S, Audience
from server.bus import MemoryBus, RedisBus
from server.cli import node_app
from server.metrics import Metrics
from server.room import metrics as room_metrics
from server.room.service import RoomService
from tests.conftest import REDIS_URL

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "sidang.json"
HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")


@pytest.fixture
def database_url(sqlite_url):
    """Logs and metrics do not depend on the backend: one is enough."""
    return sqlite_url


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


async def test_every_log_line_of_a_request_carries_its_id(aiohttp_client, config, json_log):
    log = logging.getLogger("tests.boom")

    async def boom(request: web.Request) -> web.Response:
        log.warning("about to fail")
        await asyncio.sleep(0)  # still the same request after the loop ran others
        raise RuntimeError("boom")

    app = create_app(config)
    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)

    failed = await client.get("/boom", headers={"X-Request-ID": "nginx-7f3a.1"})
    assert failed.status == 500
    assert failed.headers["X-Request-ID"] == "nginx-7f3a.1"
    log.warning("between requests")
    page = await client.get("/", headers={"X-Request-ID": "x" * 200})  # not ours to echo
    generated = page.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)

    lines = json_log()
    [warning] = [line for line in lines if line["message"] == "about to fail"]
    [error] = [line for line in lines if line["message"] == "Unhandled error in GET /boom"]
    assert warning["request_id"] == error["request_id"] == "nginx-7f3a.1"
    assert "RuntimeError: boom" in error["exception"]
    [between] = [line for line in lines if line["message"] == "between requests"]
    assert "request_id" not in between and between["level"] == "WARNING"


async def test_websocket_upgrades_echo_the_id_too(client, live_sitting):
    socket = await client.ws_connect(
        f"/sidang/{live_sitting}/komentar/ws", headers={"X-Request-ID": "ws-1"}
    )
    assert socket._response.headers["X-Request-ID"] == "ws-1"
    await socket.close()


def test_a_player_counts_once_and_leaves_after_the_window():
    now = [100.0]
    audience = Audience(clock=lambda: now[0])
    for _ in range(3):  # one player reloading: one viewer, three requests
        audience.playlist(1, "720p", "10.0.0.1", "Firefox", blocking=True)
    audience.playlist(1, "audio", "10.0.0.2", "Chrome", blocking=False)
    audience.playlist(2, "360p", "10.0.0.1", "Firefox", blocking=False)
    assert audience.viewers() == {1: 2, 2: 1}
    assert audience.requests[(1, "720p", "blocking")] == 3
    now[0] += WINDOW_S / 2
    audience.playlist(1, "720p", "10.0.0.1", "Firefox", blocking=True)
    now[0] += WINDOW_S / 2 + 0.1
    assert audience.viewers() == {1: 1}


async def test_redis_bus_times_its_own_messages_round_trip():
    bus = RedisBus(REDIS_URL, prefix=f"sidang-test-{uuid.uuid4().hex[:8]}:")
    lag: asyncio.Queue[float] = asyncio.Queue()
    bus.observe_lag = lag.put_nowait
    await bus.start()
    try:
        await bus.publish("komentar:1", {"kind": "comment"})
        assert 0 < await lag.get() < 60
    finally:
        await bus.close()


async def test_every_metric_the_dashboard_queries_is_in_metrics(aiohttp_client, config):
    client = await aiohttp_client(node_app(config))
    text = await (await client.get("/metrics")).text()
    exposed = set(re.findall(r"^# TYPE (\w+) ", text, re.MULTILINE))
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        HISTOGRAM_SERIES.sub("", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bsidang_\w+", target["expr"])
    }
    assert len(queried) >= 12
    assert sorted(queried - exposed) == []


def test_metrics_list_a_described_family_before_it_has_series():
    metrics = Metrics()
    metrics.describe("sidang_room_peers", "gauge", "Member WebRTC peers connected here")
    assert "# TYPE sidang_room_peers gauge" in asyncio.run(metrics.render())


async def test_room_peers_count_connected_members_and_a_closed_room_drops_to_zero():
    service = RoomService(store=None, bus=MemoryBus(), live=None, ice_servers=[])
    service.rooms[5] = SimpleNamespace(
        connections={"1": object(), "2": object(), "user:9": object()},
        media_state={"1": "connected", "2": "failed", "3": "connected"},  # 3 has left
    )
    metrics = Metrics()
    room_metrics.register(metrics, service)
    text = await metrics.render()
    assert 'sidang_room_connections{sitting="5"} 3.0' in text
    assert 'sidang_room_peers{sitting="5"} 1.0' in text
    del service.rooms[5]
    assert 'sidang_room_peers{sitting="5"} 0.0' in await metrics.render()
