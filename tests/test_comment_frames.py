"""The comment fan-out writes WebSocket frames itself (server/comments/frames.py `ws_text`): one
encode per node, the same bytes to every socket. aiohttp's own reader must accept them, at each
of RFC 6455's three length encodings. This holds only because the comment sockets are opened
with `compress=False`: a socket that negotiated permessage-deflate would expect RSV1 frames."""

from __future__ import annotations

import pytest
from aiohttp import web

from server.comments.frames import ws_text


@pytest.mark.parametrize("size", [10, 300, 70_000])
async def test_aiohttp_reads_the_frames_the_fan_out_writes(aiohttp_client, size):
    frame = {"type": "comment", "text": "a" * size}

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        request.transport.write(ws_text(frame))
        await ws.receive()  # the client closes
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    client = await aiohttp_client(app)
    async with client.ws_connect("/ws", max_msg_size=0) as ws:
        assert await ws.receive_json() == frame
