"""The per-node hub: one bus subscription per live sitting, fanned out to this node's sockets.

Each room reads its bus channel and turns every event into WebSocket frame bytes once, appended
to the room's outbox. A rolling round walks the sockets a slice at a time and writes each one
everything it has not had yet, in one write. A round lasts at least `flush_interval_s` (so 50
comments a second cost each socket 20 writes, not 50), and longer in a big room: a socket write
is a system call whose kernel cost dwarfs the rest of the fan-out, so a room keeps within
`writes_per_s` and more comments ride in each write instead of the node saturating. Because
every socket gets what arrived up to its own turn, not up to the start of the round, a comment
waits at most one round for any socket. A socket's outgoing queue is its transport's write
buffer, bounded by `max_pending_bytes`: a client that cannot keep up is closed with
SLOW_CONSUMER_CLOSE and never slows the others. Viewer counts come from bus presence, so they
are cluster-wide.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

from aiohttp import web

from server.batching import Batcher
from server.bus import Bus
from server.comments import frames
from server.domain.moderation import Settings
from server.tasks import stop

log = logging.getLogger(__name__)

SLOW_CONSUMER_CLOSE = 4008  # private-use close code: "you fell too far behind"
GOING_AWAY_CLOSE = 1001

# The comments of a sitting after a given id, oldest first, as records (held and hidden flagged).
Missed = Callable[[int, int], Awaitable[list[dict[str, Any]]]]


def channel_for(sitting_id: int) -> str:
    return f"comments:{sitting_id}"


def viewers_group(sitting_id: int) -> str:
    return f"viewers:{sitting_id}"


@dataclass(frozen=True)
class FanoutLimits:
    flush_interval_s: float = 0.05
    # 5,000 sockets get a write every 200 ms at most. bench/comments.py, 30 s on 2 cores: p99
    # 217 ms at this budget, 179 ms at 33,000 (for more CPU on a machine two nodes saturate).
    writes_per_s: int = 25_000
    max_flush_interval_s: float = 0.25
    max_pending_bytes: int = 256 * 1024
    # The kernel's own send buffer per socket; without a cap it autotunes to megabytes, which
    # hides a stalled reader for a long time and costs kernel memory times 5,000 sockets.
    socket_send_buffer: int = 64 * 1024
    evict_grace_s: float = 3.0
    delivery_slice: int = 250
    history: int = 50
    viewer_refresh_s: float = 5.0
    presence_ttl_s: float = 45.0


@dataclass
class Snapshot:
    """A room's starting state, read from the store when the first socket on this node joins."""

    settings: Settings
    history: list[dict[str, Any]]
    held: list[dict[str, Any]]


class Listener:
    __slots__ = ("moderator", "presence_id", "room", "sent", "transport", "ws")

    def __init__(self, ws: web.WebSocketResponse, transport, moderator: bool, presence_id: str):
        self.ws = ws
        self.transport = transport
        self.moderator = moderator
        self.presence_id = presence_id
        self.room: Room | None = None
        self.sent = 0  # the outbox position this socket has been written up to


class Outbox:
    """The frames a room has yet to write to all of its sockets, numbered from the room's start.

    Each entry is a pair of frame bytes (public, moderator), either of which may be empty. A
    socket remembers the position it was written up to and gets the rest in one write; the
    sockets of one slice are usually at the same position, so the joined bytes are cached.
    """

    def __init__(self) -> None:
        self._public: list[bytes] = []
        self._moderators: list[bytes] = []
        self.start = 0
        self._joined: dict[tuple[int, bool], bytes] = {}

    @property
    def end(self) -> int:
        return self.start + len(self._public)

    def append(self, public: bytes, moderator: bytes) -> None:
        self._public.append(public)
        self._moderators.append(moderator)
        self._joined.clear()

    def since(self, position: int, moderator: bool) -> bytes:
        key = (position, moderator)
        if (blob := self._joined.get(key)) is None:
            entries = self._moderators if moderator else self._public
            blob = self._joined[key] = b"".join(entries[position - self.start :])
        return blob

    def forget_before(self, position: int) -> None:
        """Drop what every socket has had: a round reaches every socket it started with."""
        del self._public[: position - self.start]
        del self._moderators[: position - self.start]
        self.start = position
        self._joined.clear()


class Room:
    def __init__(self, hub: CommentHub, sitting_id: int, snapshot: Snapshot) -> None:
        self.hub = hub
        self.sitting_id = sitting_id
        self.settings = snapshot.settings
        self.history: deque[dict[str, Any]] = deque(snapshot.history, maxlen=hub.limits.history)
        self.held: dict[str, dict[str, Any]] = {r["id"]: r for r in snapshot.held}
        # Visible comments this room has sent, so one that arrives twice (from the store after
        # an outage, and late from the bus) is sent once; `newest` tells a late one.
        self.shown: set[str] = {r["id"] for r in snapshot.history}
        self.newest = max((int(r["id"]) for r in snapshot.history), default=0)
        # Set while the bus is down: fetch the comments after this id once it is back.
        self.resume_after: int | None = None
        if not hub.bus.connected:
            self.lost()
        self.listeners: set[Listener] = set()
        self.viewers = 0
        self.outbox = Outbox()
        self._wake = asyncio.Event()
        self._subscription = hub.bus.subscribe(channel_for(sitting_id), maxsize=10_000)
        self._tasks = [
            asyncio.create_task(self._read(), name=f"comments-{sitting_id}-read"),
            asyncio.create_task(self._flush(), name=f"comments-{sitting_id}-flush"),
            asyncio.create_task(self._count_viewers(), name=f"comments-{sitting_id}-viewers"),
        ]

    def welcome(self, moderator: bool) -> bytes:
        """hello, the recent history, then (our extension) settings and, for moderators, the
        queue of held comments."""
        render = frames.moderator_comment if moderator else frames.public_comment
        out = [frames.hello(self.viewers, self.settings.slow_mode_s)]
        out += [render(record) for record in self.history]
        out.append(self._settings_frame())
        if moderator:
            out += [frames.moderator_comment(r, "held") for r in self.held.values()]
        return b"".join(frames.ws_text(frame) for frame in out)

    def add(self, listener: Listener) -> None:
        listener.transport.write(self.welcome(listener.moderator))
        listener.sent = self.outbox.end
        listener.room = self
        self.listeners.add(listener)

    async def _read(self) -> None:
        async for event in self._subscription:
            try:
                self._apply(event)
            except (KeyError, TypeError, ValueError):
                log.warning("Ignored a malformed comment event on sitting %s", self.sitting_id)
                continue
            self._wake.set()

    def lost(self) -> None:
        """The bus dropped: what other nodes publish now never reaches this room. Remember where
        to fetch from: before the oldest comment kept, so one that crossed a newer one on its
        way here is fetched too (the duplicates are not sent twice)."""
        if self.resume_after is None:
            self.resume_after = int(self.history[0]["id"]) - 1 if self.history else self.newest

    async def catch_up(self) -> None:
        """The bus is back: send what the store has and this room has not, in id order."""
        after, self.resume_after = self.resume_after, None
        if after is None:
            return
        try:
            missed = await self.hub.missed(self.sitting_id, after)
        except Exception:
            self.resume_after = after  # the next reconnect tries again
            raise
        for record in missed:
            if record["hidden"]:
                if record["id"] in self.shown or record["id"] in self.held:
                    self._apply({"kind": "hidden", "id": record["id"]})
            else:
                self._apply({"kind": "held" if record["held"] else "comment", "c": record})
        self._wake.set()

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind == "comment":
            record = event["c"]
            if record["id"] in self.shown:
                return
            approved = self.held.pop(record["id"], None) is not None
            self._remember(record)
            comment_id = int(record["id"])
            if comment_id < self.newest and not approved and not record.get("restored"):
                record = record | {"late": True}  # clients put it at its place by id
            self.newest = max(self.newest, comment_id)
            self._queue(frames.public_comment(record), frames.moderator_comment(record))
        elif kind == "held":
            record = event["c"]
            if record["id"] in self.held:
                return
            self.held[record["id"]] = record
            self._queue(None, frames.moderator_comment(record, "held"))
        elif kind == "hidden":
            comment_id = str(event["id"])
            self.held.pop(comment_id, None)
            self.shown.discard(comment_id)
            kept = [r for r in self.history if r["id"] != comment_id]
            self.history = deque(kept, maxlen=self.hub.limits.history)
            frame = {"type": "hidden", "id": comment_id}
            self._queue(frame, frame)
        elif kind == "settings":
            self.settings = Settings(**event["settings"])
            frame = self._settings_frame()
            self._queue(frame, frame)
        else:
            raise ValueError(kind)

    def _remember(self, record: dict[str, Any]) -> None:
        """Keep the history in comment order, so a restored or late comment is in its place for
        sockets that join later."""
        self.shown.add(record["id"])
        if len(self.shown) > 4 * self.hub.limits.history and self.history:
            oldest = int(self.history[0]["id"])  # no fetch after an outage reaches below it
            self.shown = {i for i in self.shown if int(i) >= oldest}
        history, position = self.history, len(self.history)
        while position and int(history[position - 1]["id"]) > int(record["id"]):
            position -= 1
        if len(history) == history.maxlen:
            if position == 0:
                return  # older than everything kept
            history.popleft()
            position -= 1
        history.insert(position, record)

    def _settings_frame(self) -> frames.Frame:
        s = self.settings
        return {
            "type": "settings",
            "slow_mode": s.slow_mode_s,
            "links": s.allow_links,
            "premoderation": s.premoderation,
            "pinned": s.pinned,
        }

    def _queue(self, public: frames.Frame | None, moderator: frames.Frame | None) -> None:
        public_bytes = b"" if public is None else frames.ws_text(public)
        if moderator is None:
            self.outbox.append(public_bytes, b"")
        else:
            moderator_bytes = public_bytes if moderator is public else frames.ws_text(moderator)
            self.outbox.append(public_bytes, moderator_bytes)

    async def _flush(self) -> None:
        """Rolling rounds: slice k of n is due k/n of the way through the round, so writes are
        spread evenly instead of in bursts, a late slice is caught up rather than pushing the
        whole round back, and a round that brought new frames is followed at once by the next."""
        loop = asyncio.get_running_loop()
        limits = self.hub.limits
        while True:
            await self._wake.wait()
            self._wake.clear()
            began, round_start = loop.time(), self.outbox.end
            listeners = tuple(self.listeners)
            round_s = min(
                limits.max_flush_interval_s,
                max(limits.flush_interval_s, len(listeners) / limits.writes_per_s),
            )
            step = limits.delivery_slice
            for first in range(0, max(1, len(listeners)), step):
                self._deliver(listeners[first : first + step])
                done = min(1.0, (first + step) / len(listeners)) if listeners else 1.0
                await asyncio.sleep(max(0.0, began + round_s * done - loop.time()))
            self.outbox.forget_before(round_start)

    def _deliver(self, listeners: tuple[Listener, ...]) -> None:
        hub, outbox, current = self.hub, self.outbox, self.listeners
        limit, end = hub.limits.max_pending_bytes, outbox.end
        for listener in listeners:
            transport = listener.transport
            if listener.sent == end or listener not in current or transport.is_closing():
                continue
            blob = outbox.since(listener.sent, listener.moderator)
            listener.sent = end
            if not blob:
                continue
            if transport.get_write_buffer_size() > limit:
                hub.evict(listener)
                continue
            transport.write(blob)
            hub.delivered += 1

    async def _count_viewers(self) -> None:
        bus, limits, group = self.hub.bus, self.hub.limits, viewers_group(self.sitting_id)
        for tick in count():
            if tick % 3 == 0:
                members = [listener.presence_id for listener in self.listeners]
                await bus.presence_touch(group, members, limits.presence_ttl_s)
            viewers = await bus.presence_count(group)
            if viewers != self.viewers:
                self.viewers = viewers
                frame = {"type": "viewers", "count": viewers}
                self._queue(frame, frame)
                self._wake.set()
            await asyncio.sleep(limits.viewer_refresh_s)

    async def close(self) -> None:
        self._subscription.close()
        await asyncio.gather(*(stop(task) for task in self._tasks))


class CommentHub:
    def __init__(
        self,
        bus: Bus,
        load: Callable[[int], Awaitable[Snapshot]],
        missed: Missed,
        limits: FanoutLimits | None = None,
    ) -> None:
        self.bus = bus
        self.missed = missed
        self.limits = limits or FanoutLimits()
        self.rooms: dict[int, Room] = {}
        self.delivered = 0
        self.evicted = 0
        self._load = load
        self._opening = asyncio.Lock()
        self._node = secrets.token_hex(6)
        self._serial = count()
        self._background: set[asyncio.Task] = set()
        # Thousands of sockets join at once when a sitting starts: one bus write per batch.
        self._presence: Batcher[tuple[str, str, bool], None] = Batcher(self._write_presence)

    async def join(
        self, sitting_id: int, ws: web.WebSocketResponse, transport, *, moderator: bool
    ) -> Listener:
        room = await self._room(sitting_id)
        listener = Listener(ws, transport, moderator, f"ws:{self._node}:{next(self._serial)}")
        if (sock := transport.get_extra_info("socket")) is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.limits.socket_send_buffer)
        room.add(listener)
        await self._presence.add((viewers_group(sitting_id), listener.presence_id, True))
        return listener

    async def leave(self, listener: Listener) -> None:
        room = listener.room
        if room is None:
            return
        self._detach(listener)
        await self._presence.add((viewers_group(room.sitting_id), listener.presence_id, False))

    async def _write_presence(self, changes: list[tuple[str, str, bool]]) -> list[None]:
        present: dict[str, dict[str, bool]] = {}
        for group, member, here in changes:  # a later change to the same member wins
            present.setdefault(group, {})[member] = here
        for group, members in present.items():
            await self.bus.presence_leave(group, [m for m, here in members.items() if not here])
            await self.bus.presence_touch(
                group, [m for m, here in members.items() if here], self.limits.presence_ttl_s
            )
        return [None] * len(changes)

    def evict(self, listener: Listener) -> None:
        """Close a socket that fell behind; its handler's `leave` finishes the bookkeeping."""
        self.evicted += 1
        self._detach(listener)
        task = asyncio.create_task(self._close(listener, SLOW_CONSUMER_CLOSE, b"terlalu lambat"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _detach(self, listener: Listener) -> None:
        room = listener.room
        if room is None or listener not in room.listeners:
            return
        room.listeners.discard(listener)
        if not room.listeners and self.rooms.get(room.sitting_id) is room:
            del self.rooms[room.sitting_id]
            task = asyncio.create_task(room.close())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _close(self, listener: Listener, code: int, message: bytes) -> None:
        try:
            async with asyncio.timeout(self.limits.evict_grace_s):
                await listener.ws.close(code=code, message=message, drain=False)
        except TimeoutError:
            log.info("A slow comment socket did not answer its close frame in time")
        finally:
            listener.transport.abort()

    async def _room(self, sitting_id: int) -> Room:
        if (room := self.rooms.get(sitting_id)) is not None:
            return room
        async with self._opening:  # one load per sitting even when many sockets arrive at once
            if (room := self.rooms.get(sitting_id)) is None:
                room = Room(self, sitting_id, await self._load(sitting_id))
                self.rooms[sitting_id] = room
            return room

    async def bus_changed(self, connected: bool) -> None:
        """Rooms note an outage of the bus, and catch up from the store when it is back."""
        for room in tuple(self.rooms.values()):
            if not connected:
                room.lost()
                continue
            try:
                await room.catch_up()
            except Exception:  # the store may be down too; the next reconnect tries again
                log.exception("Sitting %s could not catch up on comments", room.sitting_id)

    def settings(self, sitting_id: int) -> Settings | None:
        room = self.rooms.get(sitting_id)
        return None if room is None else room.settings

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            for listener in tuple(room.listeners):
                with contextlib.suppress(Exception):  # shutting down: a dead socket is fine
                    await listener.ws.close(code=GOING_AWAY_CLOSE, drain=False)
            await room.close()
        self.rooms.clear()
        for task in tuple(self._background):
            task.cancel()
