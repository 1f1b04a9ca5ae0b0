"""Keep the garbage collector from pausing a node that holds thousands of sockets.

A full collection walks every object the collector tracks, and 5,000 comment sockets are some
650,000 of them: bench/comments.py caught full collections of 400-570 ms on 2 cores, during
which nothing on the node moves (comments, WHIP ingest, room signaling). Nearly all of those
objects are live connections, so the walk finds next to nothing. Every few seconds the keeper
collects what is young and unfrozen (cheap), then moves the survivors out of the collector's
reach with `gc.freeze()`; a full collection afterwards walks only what arrived since.

The price: a reference cycle that turns into garbage after it was frozen (a closed connection's,
typically) escapes the routine collections. So once the frozen heap has doubled since the last
reclaim, a fold unfreezes, collects everything and freezes again: one full pause per doubling
(while a sitting fills up, or after much churn) instead of one per 25% of churn, and reported
in /metrics.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from server import keys
from server.metrics import Metrics

log = logging.getLogger(__name__)


class HeapKeeper:
    def __init__(self, *, fold_every_s: float = 5.0, min_reclaim_objects: int = 200_000) -> None:
        self.fold_every_s = fold_every_s
        self.min_reclaim_objects = min_reclaim_objects
        self.reclaims = 0
        self.reclaimed = 0
        self.longest_pause_s = 0.0
        # What has been frozen so far, less what a reclaim found dead. Frozen objects freed by
        # reference counting are not subtracted, so this errs high; gc.get_freeze_count() is
        # exact but walks the whole frozen heap, so it is only asked when this says to reclaim.
        self.frozen = 0
        self.reclaim_above = min_reclaim_objects

    def fold(self) -> None:
        started = time.perf_counter()
        gc.collect()  # the unfrozen objects only; frozen ones are not walked
        self.frozen += len(gc.get_objects(generation=2))
        if self.frozen > self.reclaim_above:
            self.frozen = gc.get_freeze_count()
        if self.frozen > self.reclaim_above:
            gc.unfreeze()
            self.reclaimed += gc.collect()
            self.reclaims += 1
            self.frozen = len(gc.get_objects(generation=2))
            self.reclaim_above = max(self.min_reclaim_objects, 2 * self.frozen)
        gc.freeze()
        pause = time.perf_counter() - started
        if pause > self.longest_pause_s:
            self.longest_pause_s = pause
            log.info("Longest garbage collection pause so far: %.0f ms", pause * 1000)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.fold_every_s)
            self.fold()

    async def collect_metrics(self, metrics: Metrics) -> None:
        metrics.set("sidang_gc_frozen_objects", self.frozen)
        metrics.set("sidang_gc_reclaims_total", self.reclaims)
        metrics.set("sidang_gc_reclaimed_objects_total", self.reclaimed)
        metrics.set("sidang_gc_longest_pause_seconds", round(self.longest_pause_s, 4))


async def keeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """For `sidang serve`: the collector is per process, so tests and tools that build several
    apps in one process do without it."""
    keeper = HeapKeeper()
    keeper.fold()  # the imports and the app itself: alive for the whole process
    registry = app[keys.METRICS]
    registry.describe(
        "sidang_gc_frozen_objects", "gauge", "Objects moved out of GC reach (at most)"
    )
    registry.describe("sidang_gc_reclaims_total", "counter", "Full collections of frozen objects")
    registry.describe(
        "sidang_gc_reclaimed_objects_total", "counter", "Garbage found by those full collections"
    )
    registry.describe(
        "sidang_gc_longest_pause_seconds", "gauge", "Longest fold or reclaim, start-up included"
    )
    registry.add_collector(keeper.collect_metrics)
    task = asyncio.create_task(keeper.run(), name="heap-keeper")
    yield
    task.cancel()
    gc.unfreeze()
