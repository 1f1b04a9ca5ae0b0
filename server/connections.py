"""Connection limits and timeouts, so that idle or slow clients cannot hold a node's file
descriptors (issue 13, finding 13: 1,000 slowloris connections stayed open for 120 s, and one
address opened 2,000 comment sockets).

- **Connections.** Past `max_connections` open at once, a new connection is answered with a bare
  503 and closed at once, before any request is read, so the node never runs out of file
  descriptors.
- **Request heads.** A connection that runs no handler for `header_timeout_s` (a request head
  that never completes, or an idle keep-alive) is closed; a running handler (a WebSocket, a
  held playlist reload) is never cut.
- **Bodies** must arrive within a deadline that grows with the declared size at a minimum
  rate; past it the connection is closed.
- **Sockets.** Each address may hold `max_sockets_per_ip` WebSockets at once (429 past it): a
  school or an office behind one NAT fits, one client opening thousands does not.

aiohttp has no hook for the first two, so `GuardedRunner` puts a `Guard` in front of its
protocol factory, which sees every connection arrive and leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
from typing import Any

from aiohttp import web

from server import keys
from server.domain.errors import RateLimited
from server.i18n import N_
from server.middlewares import CLIENT_IP_KEY

SERVICE_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)
BODY_BASE_TIMEOUT_S = 30.0
MIN_BODY_RATE = 32 * 1024  # bytes a second a body must at least arrive at


class Guard:
    """Stands in front of aiohttp's protocol factory: each connection's protocol is wrapped,
    so the guard sees it arrive and leave, and can refuse or close it."""

    server: web.Server

    def __init__(self, max_connections: int, header_timeout_s: float):
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.open = 0
        self.refused = 0
        self._deadlines: dict[asyncio.BaseTransport, asyncio.TimerHandle] = {}

    def __call__(self) -> asyncio.Protocol:
        return _GuardedProtocol(self, self.server())

    def __getattr__(self, name: str) -> Any:
        if name == "server":
            raise AttributeError(name)
        return getattr(self.server, name)  # shutdown() and the rest, for the runner

    def busy(self, transport: asyncio.BaseTransport) -> None:
        """A handler runs on this connection: no deadline while it does."""
        if (deadline := self._deadlines.pop(transport, None)) is not None:
            deadline.cancel()

    def idle(self, transport: asyncio.BaseTransport) -> None:
        """No handler runs: the next request head must arrive within the deadline."""
        self.busy(transport)
        if not transport.is_closing():
            loop = asyncio.get_running_loop()
            self._deadlines[transport] = loop.call_later(self.header_timeout_s, transport.close)


class _GuardedProtocol(asyncio.Protocol):
    def __init__(self, guard: Guard, inner: asyncio.Protocol) -> None:
        self.guard, self.inner = guard, inner
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.guard.open >= self.guard.max_connections:
            self.guard.refused += 1
            transport.write(SERVICE_UNAVAILABLE)  # type: ignore[attr-defined]
            transport.close()
            return
        self.transport = transport
        self.guard.open += 1
        self.inner.connection_made(transport)
        self.guard.idle(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:
            return
        self.guard.open -= 1
        self.guard.busy(self.transport)
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.transport is not None else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class GuardedRunner(web.AppRunner):
    """An AppRunner whose listener goes through a Guard (`_make_server` is the runner's
    extension point for the server it listens with)."""

    async def _make_server(self) -> Any:
        config = self.app[keys.CONFIG]
        guard = Guard(config.max_connections, config.header_timeout_s)
        self.app[keys.CONNECTION_GUARD] = guard  # before start-up freezes the app
        guard.server = await super()._make_server()
        return guard


def run_app(app: web.Application, host: str, port: int) -> None:
    """`web.run_app`, with the guarded server: until SIGINT or SIGTERM."""

    async def run() -> None:
        runner = GuardedRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(f"======== Running on http://{host}:{port} ========", flush=True)
        with ShutdownSignals() as shutdown:
            try:
                await shutdown.requested.wait()
            finally:
                await runner.cleanup()

    asyncio.run(run())
    # Everything is finished and stored. At exit the interpreter collects garbage over the
    # whole heap (the heap keeper unfroze it at cleanup): 2.3-2.6 s after a plain `sidang
    # serve` on this machine, every time. Frozen, the heap is left to the operating system.
    gc.freeze()


class ShutdownSignals:
    """SIGINT and SIGTERM set `requested`, and none is ever lost.

    asyncio's `add_signal_handler` learns of a signal from a byte the C-level handler writes to
    the loop's self-pipe, the pipe into which every `call_soon_threadsafe` also writes a byte.
    The media threads hand work to the loop that way many times a second, so when the loop runs
    late (a busy machine) the pipe fills up, the signal's byte is dropped ("Exception ignored
    when trying to write to the signal wakeup fd: BlockingIOError") and the server never
    stops: a `sidang demo` ignored SIGTERM for ten minutes here. Instead, the Python-level
    handler records the signal (it runs in the loop's thread whatever any pipe holds), and a
    socket pair of our own, which carries nothing but signals, wakes the loop to act on it.
    """

    def __init__(self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.signals = signals
        self.requested = asyncio.Event()
        self._receive, self._send = socket.socketpair()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}
        self._previous_fd = -1

    def __enter__(self) -> ShutdownSignals:
        self._loop = asyncio.get_running_loop()
        for sock in (self._receive, self._send):
            sock.setblocking(False)
        self._loop.add_reader(self._receive.fileno(), self._drain)
        self._previous_fd = signal.set_wakeup_fd(self._send.fileno(), warn_on_full_buffer=False)
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._received)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        signal.set_wakeup_fd(self._previous_fd)
        self._loop.remove_reader(self._receive.fileno())
        self._receive.close()
        self._send.close()

    def _received(self, signum: int, frame: object) -> None:
        self._loop.call_soon_threadsafe(self.requested.set)

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._receive.recv(4096):
                pass


@web.middleware
async def limits(request: web.Request, handler) -> web.StreamResponse:
    """Hold the connection's idle deadline until the response is sent, give the body a
    deadline of its own, and count sockets."""
    guard, transport = request.app.get(keys.CONNECTION_GUARD), request.transport
    if guard is not None and transport is not None:
        guard.busy(transport)
        # This task also writes the response (a long download included): idle once it is done.
        current = asyncio.current_task()
        if current is not None:
            current.add_done_callback(lambda _: guard.idle(transport))
    body_deadline = _body_deadline(request)
    try:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await _counted_socket(request, handler)
        return await handler(request)
    finally:
        if body_deadline is not None:
            body_deadline.cancel()


def _body_deadline(request: web.Request) -> asyncio.TimerHandle | None:
    """Past 30 s plus 1 s per 32 KB declared, a body still not fully received closes the
    connection (the handler is cancelled with it): the handler reads the body as it always
    does, so its own answers (a 413 shown on the form) are unchanged."""
    if not request.body_exists or request.transport is None:
        return None
    size = request.content_length or request.app[keys.CONFIG].max_upload_bytes
    transport, content = request.transport, request.content

    def cut() -> None:
        if not content.is_eof():
            transport.close()

    return asyncio.get_running_loop().call_later(BODY_BASE_TIMEOUT_S + size / MIN_BODY_RATE, cut)


async def _counted_socket(request: web.Request, handler) -> web.StreamResponse:
    sockets = request.app[keys.SOCKETS_PER_IP]
    ip = request[CLIENT_IP_KEY]
    if sockets[ip] >= request.app[keys.CONFIG].max_sockets_per_ip:
        raise RateLimited(
            N_("Terlalu banyak sambungan dari alamat Anda. Tutup beberapa tab lalu coba lagi."),
            retry_after_s=30,
        )
    sockets[ip] += 1
    try:
        return await handler(request)
    finally:
        sockets[ip] -= 1
        if not sockets[ip]:
            del sockets[ip]
