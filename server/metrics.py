"""A small Prometheus text exposition: counters and gauges with labels, no extra dependency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable

Labels = tuple[tuple[str, str], ...]


class Metrics:
    def __init__(self) -> None:
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._collectors: list[Callable[[Metrics], Awaitable[None]]] = []

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
        lines = []
        for name in sorted(self._values):
            kind, help_text = self._help.get(name, ("untyped", name))
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in sorted(self._values[name].items()):
                label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                lines.append(f"{name}{{{label_text}}} {value:g}" if labels else f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
