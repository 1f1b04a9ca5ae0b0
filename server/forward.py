"""Requests for a live sitting that reach a node other than its owner are forwarded there.

nginx (deploy/nginx.conf) sends each request to any app node, and the owner of a live sitting is
whichever node holds its lease on the bus (server/live.py). WHIP, the member room's WebSocket and
the LL-HLS playlists and held parts need the owner's memory, so another node passes them on: one
hop inside the cluster. We chose this over routing at the edge (an nginx map on a header or
cookie) because OBS sends neither, the lease moves on takeover without reloading nginx, and the
same app works behind any CDN or proxy. nginx collapses playlist reloads before they reach a
node, so the hop costs about one request per part. A forwarded request carries HOP_HEADER and is
answered where it lands, never forwarded again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from server import keys
from server.domain.errors import StorageUnavailable
from server.i18n import N_

HOP_HEADER = "X-Sidang-Hop"
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=2)
# Connection-level headers (RFC 9110 §7.6.1) and what aiohttp sets from the body it sends.
NOT_FORWARDED = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    HOP_HEADER.lower(),
}
SOCKET_HEADERS = ("Cookie", "Origin", "User-Agent", "Accept-Language", "Host")


def forwarded(request: web.Request) -> bool:
    """True for a request another node already passed on: answer it here."""
    return HOP_HEADER in request.headers


async def owner_elsewhere(request: web.Request, sitting_id: int) -> str | None:
    """The URL of the node that owns this live sitting, when that is another node and the
    request was not forwarded already."""
    service = request.app[keys.LIVE]
    if sitting_id in service.sittings or forwarded(request):
        return None
    owner = await service.owner(sitting_id)
    if owner is None or owner.node == service.node_id:
        return None
    return owner.url


def _headers(request: web.Request, names=None) -> CIMultiDict[str]:
    headers = CIMultiDict(
        (k, v)
        for k, v in request.headers.items()
        if k.lower() not in NOT_FORWARDED and (names is None or k in names)
    )
    chain = request.headers.get("X-Forwarded-For")
    peer = request.remote or "0.0.0.0"
    headers["X-Forwarded-For"] = f"{chain}, {peer}" if chain else peer
    headers[HOP_HEADER] = "1"
    return headers


def _unavailable() -> StorageUnavailable:
    return StorageUnavailable(N_("Server pemilik siaran ini tidak dapat dihubungi; coba lagi."))


async def forward(request: web.Request, owner_url: str, body: bytes | None = None) -> web.Response:
    """The owner's answer to this request, status, headers and body unchanged."""
    if body is None and request.can_read_body:
        body = await request.read()
    try:
        async with request.app[keys.HTTP_CLIENT].request(
            request.method,
            owner_url + request.rel_url.path_qs,
            headers=_headers(request),
            data=body,
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
    except (aiohttp.ClientError, TimeoutError):
        raise _unavailable() from None
    # This node's own middlewares set this response's cookies, as for any request it answers.
    headers = CIMultiDict(
        (k, v)
        for k, v in upstream.headers.items()
        if k.lower() not in NOT_FORWARDED and k.lower() != "set-cookie"
    )
    return web.Response(status=upstream.status, body=payload, headers=headers)


async def forward_socket(
    request: web.Request, owner_url: str, heartbeat: float, max_msg_size: int
) -> web.WebSocketResponse:
    """Relay a WebSocket to the owner frame by frame; either side closing closes both."""
    url = "ws" + owner_url.removeprefix("http") + request.rel_url.path_qs
    try:
        upstream = await request.app[keys.HTTP_CLIENT].ws_connect(
            url,
            headers=_headers(request, SOCKET_HEADERS),
            heartbeat=heartbeat,
            max_msg_size=max_msg_size,
        )
    except (aiohttp.ClientError, TimeoutError):
        raise _unavailable() from None
    ws = web.WebSocketResponse(heartbeat=heartbeat, max_msg_size=max_msg_size, compress=False)
    await ws.prepare(request)
    relays = [
        asyncio.create_task(_relay(ws, upstream)),
        asyncio.create_task(_relay(upstream, ws)),
    ]
    try:
        await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for relay in relays:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        code = upstream.close_code or ws.close_code or aiohttp.WSCloseCode.GOING_AWAY
        await upstream.close()
        await ws.close(code=code)
    return ws


async def _relay(source, target) -> None:
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await target.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await target.send_bytes(message.data)


async def http_client(app: web.Application) -> AsyncIterator[None]:
    """The one client session a node forwards with (kept-alive connections to the others)."""
    session = aiohttp.ClientSession(timeout=TIMEOUT, auto_decompress=False)
    app[keys.HTTP_CLIENT] = session
    yield
    await session.close()
