"""Background tasks stop for certain, even when one cancellation is lost on the way (Python
3.11's asyncio.wait_for, which redis-py uses for socket writes, loses it that way)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from server.tasks import stop

ROOT = Path(__file__).resolve().parent.parent


async def loses_first_cancellation(started: asyncio.Event, ended: list[str]) -> None:
    """A loop whose first wait swallows its cancellation, as a write to Redis can."""
    started.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()
    try:
        while True:
            await asyncio.Event().wait()
    finally:
        ended.append("ended")


async def test_a_task_that_loses_a_cancellation_is_stopped_all_the_same():
    started, ended = asyncio.Event(), []
    task = asyncio.create_task(loses_first_cancellation(started, ended))
    await started.wait()
    async with asyncio.timeout(30):  # before `stop`, the await below hung for ever
        await stop(task)
    assert task.cancelled() and ended == ["ended"]


async def test_the_caller_of_stop_can_still_be_cancelled():
    """`suppress(CancelledError)` around `await task` also swallowed the caller's own
    cancellation; stop() lets it through."""
    started, ended = asyncio.Event(), []
    stubborn = asyncio.create_task(loses_first_cancellation(started, ended))
    await started.wait()
    stopper = asyncio.create_task(stop(stubborn))
    await asyncio.sleep(0)  # the stopper is now waiting for the stubborn task
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    await stop(stubborn)
    assert ended == ["ended"]


async def test_a_task_that_failed_is_logged_not_raised(caplog):
    async def fails() -> None:
        raise RuntimeError("disk full")

    task = asyncio.create_task(fails(), name="sweeper")
    await asyncio.wait({task})
    with caplog.at_level(logging.ERROR, logger="server.tasks"):
        await stop(task)
    assert "task sweeper failed as it stopped" in caplog.text
    assert "disk full" in caplog.text


def test_no_module_times_out_with_asyncio_wait_for():
    """asyncio.timeout() keeps a cancellation that arrives as the work completes; on Python
    3.11 asyncio.wait_for returns the result instead, and a loop in the task runs on."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("server", "media")
        for path in (ROOT / folder).rglob("*.py")
        if "asyncio.wait_for(" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
