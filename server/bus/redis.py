"""The Redis bus: pub/sub and counters shared by every node.

Local subscribers are served directly, and Redis carries messages to the other nodes. When Redis
drops, the node keeps serving its own clients (counters and presence fall back to this node's
memory) and a listener task reconnects with exponential backoff, so cross-node delivery resumes
without a restart. Once back, it sends the publishes that could not go out, then runs the
connection hooks (subscribers catch up from the store, bans are written again) before it counts
as connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Collection

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.bus.base import Bus, ConnectionHook, Message, Subscription
from server.bus.memory import MemoryBus
from server.tasks import stop

log = logging.getLogger(__name__)

DOWN_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
MAX_BACKOFF_S = 5.0
# A burst (thousands of sockets joining, or 50 posts a second on a loaded node) must queue for a
# connection rather than fail: redis-py's default pool raises MaxConnectionsError past 100, and a
# failed PUBLISH is a comment the other nodes never see.
POOL_CONNECTIONS = 32
POOL_WAIT_S = 5.0
FAILURE_LOG_INTERVAL_S = 10.0
# Publishes that could not reach Redis wait here and go out when it is back, oldest first, so
# the other nodes get them late rather than never; past this many the oldest are dropped.
MAX_UNSENT = 10_000
UNSENT_BATCH = 500
# Set the key when it is free or already ours (a lease taken or renewed), in one step.
CLAIM_SCRIPT = """
local held = redis.call('GET', KEYS[1])
if held == false or held == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class RedisBus(Bus):
    name = "redis"

    def __init__(self, url: str, *, prefix: str = "sidang:") -> None:
        self.url = url
        self.prefix = prefix
        self.node_id = uuid.uuid4().hex[:12]
        self.connected = False
        self.reconnects = 0
        self.failed_writes = 0
        self._failure_logged_at = -FAILURE_LOG_INTERVAL_S
        self._local = MemoryBus(clock=time.time)
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_CONNECTIONS,
            timeout=POOL_WAIT_S,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            decode_responses=True,
        )
        self._redis = aioredis.Redis.from_pool(pool)
        self._claim = self._redis.register_script(CLAIM_SCRIPT)
        self._listener: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._hooks: list[ConnectionHook] = []
        self._unsent: deque[tuple[str, str]] = deque(maxlen=MAX_UNSENT)

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="redis-bus-listener")
        try:
            async with asyncio.timeout(3.0):
                await self._ready.wait()
        except TimeoutError:
            log.warning("Redis at %s is not answering yet; serving this node alone", self.url)

    def on_connection(self, hook: ConnectionHook) -> None:
        self._hooks.append(hook)

    async def wait_connected(self, timeout: float) -> bool:
        """Wait until the listener is subscribed and every connection hook has run (used after
        a restart of Redis)."""
        return await _wait(self._ready, timeout)

    async def wait_disconnected(self, timeout: float) -> bool:
        return await _wait(self._lost, timeout)

    async def _listen(self) -> None:
        backoff = 0.1
        pattern = f"{self.prefix}ch:*"
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                await self._send_unsent()
                self.connected = True
                self._lost.clear()
                await self._tell(True)
                self._ready.set()
                backoff = 0.1
                while True:
                    raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    # Under load, read everything already buffered before yielding again: one
                    # loop turn per message falls behind a busy node.
                    while raw is not None:
                        if raw["type"] == "pmessage":
                            self._on_remote(raw["channel"], raw["data"])
                        raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
            except DOWN_ERRORS as exc:
                was_connected = self.connected
                self.connected = False
                self._ready.clear()
                self._lost.set()
                if was_connected:
                    log.warning("Redis bus lost (%s); reconnecting", exc)
                    self.reconnects += 1
                    await self._tell(False)
            finally:
                await _quietly(pubsub.aclose())
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _on_remote(self, channel: str, data: str) -> None:
        try:
            envelope = json.loads(data)
        except json.JSONDecodeError:
            log.warning("Dropped a malformed bus message on %s", channel)
            return
        if envelope.get("node") == self.node_id:
            # Our own publish, back from Redis: the trip every message to another node makes
            # (PUBLISH, Redis, a listener's read), timed on one clock.
            if "at" in envelope:
                self.observe_lag(time.time() - envelope["at"])
            return
        self._local.deliver_local(channel.removeprefix(f"{self.prefix}ch:"), envelope["message"])

    async def _tell(self, connected: bool) -> None:
        for hook in self._hooks:
            try:
                await hook(connected)
            except Exception:  # one subscriber's failure must not stop the others or the bus
                log.exception("A bus connection hook failed")

    async def _send_unsent(self) -> None:
        """Publish, oldest first, what could not reach Redis; a failure leaves the rest queued."""
        while self._unsent:
            batch = list(self._unsent)[:UNSENT_BATCH]
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, envelope in batch:
                    pipe.publish(channel, envelope)
                await pipe.execute()
            for _ in batch:
                self._unsent.popleft()

    async def publish(self, channel: str, message: Message) -> None:
        self._local.deliver_local(channel, message)
        envelope = json.dumps(
            {"node": self.node_id, "at": time.time(), "message": message}, separators=(",", ":")
        )
        channel = f"{self.prefix}ch:{channel}"
        if not await self._try(self._redis.publish(channel, envelope)):
            self._unsent.append((channel, envelope))

    def subscribe(self, channel: str, maxsize: int = 1000) -> Subscription:
        return self._local.subscribe(channel, maxsize)

    async def incr(self, key: str, ttl_s: float, amount: int = 1) -> int:
        if self.connected:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incrby(self._key(key), amount)
                    pipe.pexpire(self._key(key), int(ttl_s * 1000), nx=True)
                    count, _ = await pipe.execute()
                return int(count)
            except DOWN_ERRORS:
                pass  # the listener notices the outage and reconnects; serve locally meanwhile
        return await self._local.incr(key, ttl_s, amount)

    async def get_counter(self, key: str) -> int:
        if self.connected:
            try:
                return int(await self._redis.get(self._key(key)) or 0)
            except DOWN_ERRORS:
                pass  # the listener notices the outage and reconnects; serve locally meanwhile
        return await self._local.get_counter(key)

    async def reset_counter(self, key: str) -> None:
        await self._local.reset_counter(key)
        await self._try(self._redis.delete(self._key(key)))

    async def set_value(self, key: str, value: str, ttl_s: float | None = None) -> None:
        await self._local.set_value(key, value, ttl_s)
        px = None if ttl_s is None else int(ttl_s * 1000)
        await self._try(self._redis.set(self._key(key), value, px=px))

    async def get_value(self, key: str) -> str | None:
        if self.connected:
            try:
                return await self._redis.get(self._key(key))
            except DOWN_ERRORS:
                pass  # the listener notices the outage and reconnects; serve locally meanwhile
        return await self._local.get_value(key)

    async def claim(self, key: str, value: str, ttl_s: float) -> bool:
        """Redis decides while it answers. A timed-out claim is asked once more: the script
        may have run, and asking again with the same value is a renewal. While Redis cannot
        be reached a node renews the leases it holds in its memory but takes no new one: the
        other nodes cannot see Redis either, and two nodes recording one sitting into the same
        folder would ruin its record."""
        for attempt in range(2):
            if not self.connected:
                break
            try:
                won = bool(
                    await self._claim(keys=[self._key(key)], args=[value, int(ttl_s * 1000)])
                )
            except RedisTimeoutError as exc:
                if attempt == 0:
                    continue
                self._failed(repr(exc))
            except DOWN_ERRORS as exc:
                self._failed(repr(exc))
                break
            else:
                if won:
                    await self._local.set_value(key, value, ttl_s)
                return won
        if await self._local.get_value(key) != value:
            return False
        return await self._local.claim(key, value, ttl_s)

    async def delete_value(self, key: str) -> None:
        await self._local.delete_value(key)
        await self._try(self._redis.delete(self._key(key)))

    async def presence_touch(self, group: str, members: Collection[str], ttl_s: float) -> None:
        await self._local.presence_touch(group, members, ttl_s)
        if members:
            expires = time.time() + ttl_s
            key = self._key(f"presence:{group}")
            await self._try(self._redis.zadd(key, dict.fromkeys(members, expires)))

    async def presence_leave(self, group: str, members: Collection[str]) -> None:
        await self._local.presence_leave(group, members)
        if members:
            await self._try(self._redis.zrem(self._key(f"presence:{group}"), *members))

    async def presence_count(self, group: str) -> int:
        if self.connected:
            key = self._key(f"presence:{group}")
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.zremrangebyscore(key, "-inf", time.time())
                    pipe.zcard(key)
                    _, count = await pipe.execute()
                return int(count)
            except DOWN_ERRORS:
                pass  # the listener notices the outage and reconnects; serve locally meanwhile
        return await self._local.presence_count(group)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (*DOWN_ERRORS, RedisError):
            return False

    async def close(self) -> None:
        if self._listener is not None:
            await stop(self._listener)
        await self._local.close()
        await _quietly(self._redis.aclose())

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def _try(self, awaitable) -> bool:
        """Mirror a write to Redis; while Redis is down the local copy serves this node. Every
        write that does not reach Redis counts as failed, including those not even tried while
        it is known to be down."""
        if not self.connected:
            awaitable.close()
            self._failed("Redis is down")
            return False
        try:
            await awaitable
        except DOWN_ERRORS as exc:  # the listener notices an outage and reconnects
            self._failed(repr(exc))
            return False
        return True

    def _failed(self, reason: str) -> None:
        self.failed_writes += 1
        now = time.monotonic()
        if now - self._failure_logged_at >= FAILURE_LOG_INTERVAL_S:
            self._failure_logged_at = now
            log.warning("A write to Redis failed (%s); %d so far", reason, self.failed_writes)


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def _quietly(awaitable) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):  # teardown must not raise
        await awaitable
