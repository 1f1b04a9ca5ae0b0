"""The bus: publish/subscribe, counters with expiry, presence and small shared values.

`MemoryBus` serves one process; `RedisBus` makes N nodes behave as one. Both pass the same
contract tests (tests/test_bus.py).
"""

from server.bus.base import Bus, Subscription
from server.bus.memory import MemoryBus
from server.bus.redis import RedisBus


def create_bus(redis_url: str | None, *, prefix: str = "sidang:") -> Bus:
    return RedisBus(redis_url, prefix=prefix) if redis_url else MemoryBus()


__all__ = ["Bus", "MemoryBus", "RedisBus", "Subscription", "create_bus"]
