"""Prometheus metrics: prometheus_client writes the exposition, per app (tests build many).

Most of our figures are snapshots that subsystems already count (bus writes, live stats, GC),
so collectors refresh them right before a scrape and `set` stores them; `inc` counts events
as they happen; `observe` feeds a real histogram (HTTP latency by route). All series of one
name share its label names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

disable_created_metrics()  # no `_created` twin per histogram series
Labels = tuple[tuple[str, str], ...]
KINDS = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily}
# Seconds; a blocking playlist reload is held up to 6 s, so the top buckets reach past it.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A comment crossing nodes: a millisecond on a quiet Redis, seconds when a node falls behind.
BUS_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._collectors: list[Callable[[Metrics], Awaitable[None]]] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Stored(self))
        self.describe("sidang_http_requests_total", "counter", "HTTP requests by status")
        self.http_latency = Histogram(
            "sidang_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.bus_lag = Histogram(
            "sidang_bus_lag_seconds",
            "From PUBLISH until the message is back from Redis at this node's listener",
            buckets=BUS_LAG_BUCKETS,
            registry=self.registry,
        )

    def describe(self, name: str, kind: str, help_text: str) -> None:
        self._help[name] = (kind, help_text)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self._values[name][key] = self._values[name].get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self._values[name][tuple(sorted(labels.items()))] = value

    def add_collector(self, collect: Callable[[Metrics], Awaitable[None]]) -> None:
        """Collectors refresh gauges (viewer counts, live stats) right before a scrape."""
        self._collectors.append(collect)

    async def render(self) -> str:
        for collect in self._collectors:
            await collect(self)
        return generate_latest(self.registry).decode()

    def families(self) -> Iterator[Metric]:
        """One family per name, from the stored values; a described name with no series yet
        (no room open, no sitting live) is still listed, so dashboards can rely on it."""
        for name in sorted(self._help.keys() | self._values.keys()):
            kind, help_text = self._help.get(name, ("gauge", name))
            series = self._values[name]
            label_names = [k for k, _ in next(iter(series))] if series else []
            family = KINDS[kind](name, help_text, labels=label_names)
            for labels, value in sorted(series.items()):
                family.add_metric([v for _, v in labels], value)
            yield family


class _Stored(Collector):
    """prometheus_client's view of the values `Metrics` stores."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.families()
