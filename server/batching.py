"""Group concurrent writes: whatever arrives while one write is running goes into the next one.

An idle batcher writes at once, so a lone item waits for nothing; under load the items that
arrive during one write share the next, so the number of writes stays flat however many callers
there are. The comment store (one transaction per batch) and viewer presence (one Redis command
per batch) both rely on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Writes a batch and returns, in order, one result or one exception per item.
WriteBatch = Callable[[list[Item]], Awaitable[list[Result | Exception]]]


class Batcher(Generic[Item, Result]):
    def __init__(self, write: WriteBatch) -> None:
        self._write = write
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running: asyncio.Task | None = None

    async def add(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                outcomes = await self._write([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter must hear about the failure
                outcomes = [exc] * len(batch)
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if done.done():  # its caller gave up waiting (a socket that closed meanwhile)
                    continue
                if isinstance(outcome, Exception):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)
