"""One encoded stream, many consumers: bounded queues, keyframe gating, throttled IDR requests.

Every subscriber shares the same av.Packet objects (never copy per subscriber; muxers clone
before muxing, see `encode.clone_packet`). A subscriber whose queue is full loses packets
until the next keyframe, so it never blocks the producer or its neighbours, and always resumes
on a decodable picture.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import av

_CLOSED = None


class Subscriber:
    """A bounded packet queue; `recv()` is shaped like a track's so aiortc can send from it."""

    def __init__(self, fanout: PacketFanout, maxsize: int) -> None:
        self._fanout = fanout
        self.queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(maxsize)
        self.waiting_for_keyframe = True
        self.dropped = 0
        self.delivered = 0
        self.closed = False

    def offer(self, packet: av.Packet) -> None:
        if self.closed:
            return
        if self.waiting_for_keyframe:
            if not packet.is_keyframe:
                self.dropped += 1
                return
            self.waiting_for_keyframe = False
        if self.queue.full():
            self.waiting_for_keyframe = True
            self.dropped += 1 + self.queue.qsize()
            self._drain()
            self._fanout.request_keyframe()
            return
        self.queue.put_nowait(packet)
        self.delivered += 1

    def _drain(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()

    async def recv(self) -> av.Packet:
        """Next packet; raises EOFError once the fanout closed or we unsubscribed."""
        if self.closed and self.queue.empty():
            raise EOFError("fanout closed")
        packet = await self.queue.get()
        if packet is _CLOSED:
            raise EOFError("fanout closed")
        return packet

    def request_keyframe(self) -> bool:
        """Ask the source for an IDR on this subscriber's behalf (e.g. its PLI); throttled."""
        return self._fanout.request_keyframe()

    def close(self) -> None:
        self._fanout.unsubscribe(self)

    def _end(self) -> None:
        """Stop after the packets already queued (the recording needs its last fragment)."""
        self.closed = True
        if not self.queue.full():
            self.queue.put_nowait(_CLOSED)


class PacketFanout:
    """Distribute one producer's packets on the event loop; the producer may be any thread."""

    def __init__(
        self,
        name: str,
        *,
        maxsize: int = 90,
        on_keyframe_request: Callable[[], None] | None = None,
        keyframe_interval: float = 1.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.name = name
        self.maxsize = maxsize
        self.keyframe_interval = keyframe_interval
        self.packets = 0
        self.bytes = 0
        self.keyframe_requests = 0
        self._on_keyframe_request = on_keyframe_request
        self._last_request = -float("inf")
        self._subscribers: list[Subscriber] = []
        self._loop = loop or asyncio.get_running_loop()
        self._closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, maxsize: int | None = None) -> Subscriber:
        """A new consumer; it sees nothing until the next keyframe, which we ask for (unless
        the stream has not started: its first packet is a keyframe anyway)."""
        if self._closed:
            raise RuntimeError(f"fanout {self.name} is closed")
        sub = Subscriber(self, maxsize or self.maxsize)
        self._subscribers.append(sub)
        if self.packets:
            self.request_keyframe()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            sub._end()

    def publish(self, packet: av.Packet) -> None:
        """Deliver on the loop thread."""
        self.packets += 1
        self.bytes += packet.size
        for sub in self._subscribers:
            sub.offer(packet)

    def publish_threadsafe(self, packet: av.Packet) -> None:
        if not self._closed:
            self._loop.call_soon_threadsafe(self.publish, packet)

    def request_keyframe(self) -> bool:
        """Ask the source for an IDR, at most once per `keyframe_interval`; True if asked."""
        now = time.monotonic()
        if self._on_keyframe_request is None or now - self._last_request < self.keyframe_interval:
            return False
        self._last_request = now
        self.keyframe_requests += 1
        self._on_keyframe_request()
        return True

    def close(self) -> None:
        self._closed = True
        for sub in list(self._subscribers):
            self.unsubscribe(sub)
