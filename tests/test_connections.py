"""Connection limits and timeouts (issue 13, finding 13): slow request heads and bodies are cut,
one address cannot open sockets without end, and past the global cap a node answers 503."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from server import connections, keys
from server.app import create_app
from tests.live_helpers import eventually

WAIT_S = 10.0  # a bound for a test that hangs, never a delay the test relies on


@pytest.fixture
async def guarded(make_config, database_url, store) -> AsyncIterator[tuple[str, int]]:
    """The app served as `sidang serve` serves it, with a 1 s head deadline and 3 connections."""
    config = make_config(database_url=database_url, header_timeout_s=1, max_connections=3)
    runner = connections.GuardedRunner(create_app(config), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield host, port
    await runner.cleanup()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), WAIT_S)


async def test_a_request_head_that_never_ends_is_cut(guarded):
    reader, writer = await asyncio.open_connection(*guarded)
    writer.write(b"GET / HTTP/1.1\r\nHost: sidang\r\nX-Slow: ")
    assert await closed_by_server(reader) == b"", "closed without an answer"
    writer.close()


async def test_a_running_socket_outlives_the_head_deadline(guarded, live_sitting):
    host, port = guarded
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"http://{host}:{port}/sidang/{live_sitting}/komentar/ws")
        assert (await ws.receive_json(timeout=WAIT_S))["type"] == "hello"
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET / HTTP/1.1\r\n")
        await closed_by_server(reader)  # the deadline has passed
        writer.close()
        await ws.send_json({"type": "post", "name": "Budi", "text": "Masih di sini"})
        while (frame := await ws.receive_json(timeout=WAIT_S))["type"] != "comment":
            pass
        assert frame["text"] == "Masih di sini"
        await ws.close()


async def test_past_the_global_cap_a_connection_gets_a_bare_503(guarded):
    held = [await asyncio.open_connection(*guarded) for _ in range(3)]
    reader, writer = await asyncio.open_connection(*guarded)
    answer = await closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 5" in answer
    writer.close()
    for _, held_writer in held:
        held_writer.close()


async def test_a_body_slower_than_its_deadline_is_cut(client, monkeypatch):
    monkeypatch.setattr(connections, "BODY_BASE_TIMEOUT_S", 0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(
        b"POST /masuk HTTP/1.1\r\nHost: sidang\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser"
    )
    assert await closed_by_server(reader) == b"", "closed without an answer"
    writer.close()


@pytest.fixture
async def proxied(aiohttp_client, make_config, database_url, store):
    config = make_config(
        database_url=database_url,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
        max_sockets_per_ip=2,
    )
    return await aiohttp_client(create_app(config))


async def test_sockets_are_capped_per_address(proxied, live_sitting):
    url = f"/sidang/{live_sitting}/komentar/ws"

    def socket(ip: str):
        return proxied.ws_connect(url, headers={"X-Forwarded-For": ip})

    school = [await socket("198.51.100.1") for _ in range(2)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await socket("198.51.100.1")
    assert refused.value.status == 429
    other = await socket("198.51.100.2")
    await school[0].close()
    await eventually(lambda: proxied.app[keys.SOCKETS_PER_IP]["198.51.100.1"] == 1)
    again = await socket("198.51.100.1")
    for ws in (*school[1:], other, again):
        await ws.close()
