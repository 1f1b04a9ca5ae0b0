"""The in-process bus: the default, and the fallback that RedisBus uses while Redis is down."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection

from server.bus.base import Bus, Message, Subscription


class MemoryBus(Bus):
    name = "memory"

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._counters: dict[str, tuple[int, float]] = {}
        self._values: dict[str, tuple[str, float | None]] = {}
        self._presence: dict[str, dict[str, float]] = defaultdict(dict)

    async def publish(self, channel: str, message: Message) -> None:
        self.deliver_local(channel, message)

    def deliver_local(self, channel: str, message: Message) -> None:
        for subscription in tuple(self._subscribers.get(channel, ())):
            subscription.deliver(message)

    def subscribe(self, channel: str, maxsize: int = 1000) -> Subscription:
        subscription = Subscription(channel, self._unsubscribe, maxsize)
        self._subscribers[channel].add(subscription)
        return subscription

    def channels(self) -> set[str]:
        return {channel for channel, subs in self._subscribers.items() if subs}

    def _unsubscribe(self, subscription: Subscription) -> None:
        subs = self._subscribers.get(subscription.channel)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._subscribers[subscription.channel]

    async def incr(self, key: str, ttl_s: float, amount: int = 1) -> int:
        now = self._clock()
        count, expires = self._counters.get(key, (0, 0.0))
        if expires <= now:
            count, expires = 0, now + ttl_s
        self._counters[key] = (count + amount, expires)
        return count + amount

    async def get_counter(self, key: str) -> int:
        count, expires = self._counters.get(key, (0, 0.0))
        return count if expires > self._clock() else 0

    async def reset_counter(self, key: str) -> None:
        self._counters.pop(key, None)

    async def set_value(self, key: str, value: str, ttl_s: float | None = None) -> None:
        self._values[key] = (value, None if ttl_s is None else self._clock() + ttl_s)

    async def get_value(self, key: str) -> str | None:
        value, expires = self._values.get(key, (None, None))
        if expires is not None and expires <= self._clock():
            self._values.pop(key, None)
            return None
        return value

    async def claim(self, key: str, value: str, ttl_s: float) -> bool:
        if await self.get_value(key) not in (None, value):
            return False
        await self.set_value(key, value, ttl_s)
        return True

    async def delete_value(self, key: str) -> None:
        self._values.pop(key, None)

    async def presence_touch(self, group: str, members: Collection[str], ttl_s: float) -> None:
        self._presence[group].update(dict.fromkeys(members, self._clock() + ttl_s))

    async def presence_leave(self, group: str, members: Collection[str]) -> None:
        present = self._presence[group]
        for member in members:
            present.pop(member, None)

    async def presence_count(self, group: str) -> int:
        now = self._clock()
        members = self._presence.get(group, {})
        for member in [m for m, expires in members.items() if expires <= now]:
            del members[member]
        return len(members)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        for subs in list(self._subscribers.values()):
            for subscription in list(subs):
                subscription.close()
