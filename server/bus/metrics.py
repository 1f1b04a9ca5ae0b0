"""What the bus reports to /metrics: writes that did not reach it, and reconnections."""

from __future__ import annotations

from server.bus.base import Bus
from server.metrics import Metrics


def register(metrics: Metrics, bus: Bus) -> None:
    metrics.describe(
        "sidang_bus_failed_writes_total", "counter", "Writes that did not reach the shared bus"
    )
    metrics.describe("sidang_bus_reconnects_total", "counter", "Reconnections to the shared bus")

    async def collect(metrics: Metrics) -> None:
        metrics.set("sidang_bus_failed_writes_total", bus.failed_writes)
        metrics.set("sidang_bus_reconnects_total", bus.reconnects)

    metrics.add_collector(collect)
