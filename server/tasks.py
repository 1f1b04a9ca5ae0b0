"""Stopping background tasks for certain.

Python 3.11's `asyncio.wait_for` returns the inner result instead of raising when a
cancellation arrives just as the inner work completes (fixed in 3.12, gh-86296). redis-py
times every socket write with it, so a task cancelled mid-write to Redis can carry on as if
nothing happened: a loop goes back to waiting, and whoever awaits its end waits for ever. A
room's bus listener did exactly that in about one close in sixteen (a test hung for minutes).
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

RECANCEL_S = 0.5  # how long a cancelled task has to end before it is cancelled again


async def stop(task: asyncio.Task) -> None:
    """Cancel `task` and return once it has ended, cancelling it again while it runs on.

    Unlike `task.cancel(); await task` inside `suppress(CancelledError)`, a cancellation of
    the caller itself is not swallowed here. A failure of the task is logged, not raised:
    stopping is part of a shutdown, which goes on."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_S)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("task %s failed as it stopped", task.get_name(), exc_info=error)
