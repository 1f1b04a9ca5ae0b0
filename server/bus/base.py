"""The bus interface shared by every implementation."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any

Message = dict[str, Any]
ConnectionHook = Callable[[bool], Awaitable[None]]


class Subscription:
    """A bounded queue of messages on one channel.

    A subscriber that falls `maxsize` messages behind loses the oldest ones and sees `overflowed`
    set, so one stuck consumer never grows memory or slows the publisher.
    """

    def __init__(self, channel: str, on_close, maxsize: int = 1000) -> None:
        self.channel = channel
        self.overflowed = False
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize)
        self._on_close = on_close
        self._closed = False

    def deliver(self, message: Message) -> None:
        if self._closed:
            return
        if self._queue.full():
            self.overflowed = True
            self._queue.get_nowait()
        self._queue.put_nowait(message)

    async def get(self) -> Message | None:
        """The next message, or None once the subscription is closed."""
        if self._closed and self._queue.empty():
            return None
        return await self._queue.get()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_close(self)
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Message]:
        while (message := await self.get()) is not None:
            yield message

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class Bus(abc.ABC):
    name: str
    # Writes that never reached the shared bus: each may be a message another node did not get,
    # so they are counted for /metrics instead of passing unseen.
    failed_writes: int = 0
    reconnects: int = 0
    connected: bool = True

    def observe_lag(self, seconds: float) -> None:
        """Told how long a message took through the shared bus (see RedisBus); /metrics
        replaces it with its histogram's `observe`. The memory bus has no lag to tell."""

    def on_connection(self, hook: ConnectionHook) -> None:
        """Have `hook(False)` awaited when the link to the other nodes drops, and `hook(True)`
        once it is back but before the bus counts as ready: pub/sub keeps nothing for a node
        that was away, so a subscriber fetches what it missed from the store, and state kept
        on the shared bus (bans) is written again. The memory bus never drops."""

    @abc.abstractmethod
    async def publish(self, channel: str, message: Message) -> None:
        """Deliver to every subscriber of `channel` on every node (best effort across nodes)."""

    @abc.abstractmethod
    def subscribe(self, channel: str, maxsize: int = 1000) -> Subscription: ...

    @abc.abstractmethod
    async def incr(self, key: str, ttl_s: float, amount: int = 1) -> int:
        """Add `amount` (1, or -1 to give an attempt back) to a counter atomically and return
        the new count; the window starts at the first increment and lasts ttl_s."""

    @abc.abstractmethod
    async def get_counter(self, key: str) -> int: ...

    @abc.abstractmethod
    async def reset_counter(self, key: str) -> None: ...

    @abc.abstractmethod
    async def set_value(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    @abc.abstractmethod
    async def get_value(self, key: str) -> str | None: ...

    @abc.abstractmethod
    async def claim(self, key: str, value: str, ttl_s: float) -> bool:
        """A lease: set `key` to `value` for ttl_s if it is free or already holds `value`
        (renewal), atomically across nodes; False while another value holds it."""

    @abc.abstractmethod
    async def delete_value(self, key: str) -> None: ...

    @abc.abstractmethod
    async def presence_touch(self, group: str, members: Collection[str], ttl_s: float) -> None:
        """Mark `members` present in `group` for ttl_s more seconds, in one round trip however
        many there are (a node refreshes thousands of sockets at a time)."""

    @abc.abstractmethod
    async def presence_leave(self, group: str, members: Collection[str]) -> None: ...

    @abc.abstractmethod
    async def presence_count(self, group: str) -> int: ...

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True when the bus (and, for Redis, the server) answers."""

    async def start(self) -> None:
        """Open connections; the default bus needs none."""

    async def close(self) -> None:
        """Close connections and end every subscription."""
