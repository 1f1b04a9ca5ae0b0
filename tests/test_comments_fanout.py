"""Fan-out under pressure: a reader that stops reading is dropped, the others keep pace."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time

from server import keys
from server.comments.hub import FanoutLimits, channel_for
from server.keys import COMMENTS
from tests.test_comments import bus_comment, connect, receive


def stalled_reader(port: int, sitting_id: int) -> socket.socket:
    """A raw client with a tiny receive window that completes the handshake, then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /sidang/{sitting_id}/komentar/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


async def test_a_slow_client_is_dropped_while_the_others_keep_their_latency(client, live_sitting):
    service = client.app[COMMENTS]
    service.hub.limits = FanoutLimits(flush_interval_s=0.005, evict_grace_s=0.5)
    healthy = await connect(client, live_sitting)
    stalled = await asyncio.to_thread(stalled_reader, client.port, live_sitting)
    while len(service.hub.rooms[live_sitting].listeners) < 2:
        await asyncio.sleep(0.01)  # the raw client joins on the server's own schedule

    async def read_all() -> int:
        received = 0
        while received < 3000:
            received += (await receive(healthy))["type"] == "comment"
        return received

    reader = asyncio.create_task(read_all())  # the healthy client reads as fast as it can
    bus, text = client.app[keys.BUS], "x" * 500
    for n in range(3000):  # 1.6 MB: far more than the stalled socket's buffers can take
        await bus.publish(channel_for(live_sitting), bus_comment(n, text, "Beban"))
        if n % 20 == 0:
            await asyncio.sleep(0.01)  # let the room flush, as a real stream of posts would
    assert await reader == 3000
    assert service.hub.evicted == 1
    assert len(service.hub.rooms[live_sitting].listeners) == 1

    started = time.monotonic()
    await bus.publish(channel_for(live_sitting), bus_comment(3000, "masih lancar"))
    while (frame := await receive(healthy))["type"] != "comment":
        pass
    assert frame["text"] == "masih lancar" and time.monotonic() - started < 0.25
    metrics = await (await client.get("/metrics")).text()
    assert "sidang_comment_slow_evictions_total 1" in metrics
    stalled.close()


async def test_history_is_sent_once_and_pruned_to_the_recent_comments(client, live_sitting):
    service = client.app[COMMENTS]
    first = await connect(client, live_sitting)
    bus = client.app[keys.BUS]
    for n in range(service.hub.limits.history + 10):
        await bus.publish(channel_for(live_sitting), bus_comment(n, f"no {n}", "A"))
    while (await receive(first)).get("text") != f"no {n}":
        pass
    late = await client.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    frames = []
    while (frame := json.loads((await late.receive()).data))["type"] != "settings":
        frames.append(frame)
    assert frames[0]["type"] == "hello"
    assert [f["text"] for f in frames[1:]] == [
        f"no {i}" for i in range(10, service.hub.limits.history + 10)
    ]


async def test_a_pass_over_many_sockets_yields_to_the_loop_and_still_delivers_in_order(
    client, live_sitting
):
    service = client.app[COMMENTS]
    service.hub.limits = FanoutLimits(delivery_slice=2)
    sockets = [await connect(client, live_sitting) for _ in range(5)]
    bus = client.app[keys.BUS]
    for n in range(3):
        await bus.publish(channel_for(live_sitting), bus_comment(n, f"urutan {n}", "A"))
    for ws in sockets:
        texts = []
        while len(texts) < 3:
            frame = await receive(ws)
            if frame["type"] == "comment":
                texts.append(frame["text"])
        assert texts == ["urutan 0", "urutan 1", "urutan 2"]


async def test_a_big_room_spaces_its_rounds_to_keep_within_its_write_budget(client, live_sitting):
    """Two sockets against a budget of 10 writes a second: a round takes 0.2 s, so two comments
    60 ms apart share one write per socket (the 50 ms floor alone would not)."""
    service = client.app[COMMENTS]
    service.hub.limits = FanoutLimits(writes_per_s=10)
    sockets = [await connect(client, live_sitting) for _ in range(2)]
    bus, hub = client.app[keys.BUS], service.hub
    await bus.publish(channel_for(live_sitting), bus_comment(1, "pembuka"))
    for ws in sockets:
        while (await receive(ws)).get("text") != "pembuka":
            pass
    before = hub.delivered
    await bus.publish(channel_for(live_sitting), bus_comment(2, "kedua"))
    await asyncio.sleep(0.06)  # past the 50 ms floor, well inside the 200 ms spacing
    await bus.publish(channel_for(live_sitting), bus_comment(3, "ketiga"))
    for ws in sockets:
        while (await receive(ws)).get("text") != "ketiga":
            pass
    assert hub.delivered - before == 2  # one write per socket carried both comments


async def test_a_socket_gets_what_arrived_up_to_its_own_turn_not_the_rounds_start(
    client, live_sitting
):
    """Two sockets, one per slice, in a round of 0.5 s: the second socket's turn comes 0.25 s in,
    so a comment that arrives meanwhile rides along with the first, instead of waiting a whole
    round as it would if a round sent only what was there when it began."""
    service = client.app[COMMENTS]
    service.hub.limits = FanoutLimits(writes_per_s=4, max_flush_interval_s=1.0, delivery_slice=1)
    sockets = [await connect(client, live_sitting) for _ in range(2)]
    bus, hub = client.app[keys.BUS], service.hub
    before = hub.delivered

    async def comment_texts(ws) -> list[str]:
        texts = []
        while len(texts) < 2:
            if (frame := await receive(ws))["type"] == "comment":
                texts.append(frame["text"])
                first_turn.set()
        return texts

    first_turn = asyncio.Event()
    readers = [asyncio.create_task(comment_texts(ws)) for ws in sockets]
    await bus.publish(channel_for(live_sitting), bus_comment(1, "satu"))
    await first_turn.wait()
    await bus.publish(channel_for(live_sitting), bus_comment(2, "dua"))
    assert await asyncio.gather(*readers) == [["satu", "dua"]] * 2
    assert hub.delivered - before == 3  # first socket twice, second socket once with both
