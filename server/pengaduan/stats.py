"""Public statistics of complaints: tables, server-drawn SVG bar charts and CSV, so a phone
gets a few kilobytes of markup instead of a chart library."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

CHART_WIDTH = 320
BAR_HEIGHT = 18
BAR_GAP = 6
LABEL_WIDTH = 130


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    height: int
    width: int = CHART_WIDTH
    label_width: int = LABEL_WIDTH


def bar_chart(items: list[tuple[str, int]]) -> Chart:
    """Horizontal bars scaled to the largest value; the template draws them as SVG."""
    top = max((value for _, value in items), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 40
    bars = [
        Bar(label, value, i * (BAR_HEIGHT + BAR_GAP), max(1, round(room * value / top)))
        for i, (label, value) in enumerate(items)
    ]
    return Chart(bars, max(BAR_HEIGHT, len(bars) * (BAR_HEIGHT + BAR_GAP)))


@dataclass
class Breakdown:
    """Counts of one grouping (category, komisi or kelurahan) per month."""

    group: str
    rows: list[tuple[str, str, int]]
    months: list[str] = field(default_factory=list)
    totals: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        totals: dict[str, int] = defaultdict(int)
        for key, _month, count in self.rows:
            totals[key] += count
        self.totals = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        self.months = sorted({month for _, month, _ in self.rows})

    def chart(self, limit: int = 12) -> Chart:
        return bar_chart(self.totals[:limit])


@dataclass(frozen=True)
class Statistics:
    breakdowns: list[Breakdown]
    median_verify_s: int | None
    median_finish_s: int | None
    verified_on_time: tuple[int, int]
    followed_on_time: tuple[int, int]


def share(counts: tuple[int, int]) -> str:
    on_time, total = counts
    return f"{100 * on_time / total:.0f}%" if total else "–"


def days(seconds: int | None) -> str:
    return "–" if seconds is None else f"{seconds / 86400:.1f}"


def to_csv(statistics: Statistics) -> str:
    """One row per grouping, key and month. A cell a spreadsheet would run as a formula
    starts with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kelompok", "nama", "bulan", "jumlah"])
    for breakdown in statistics.breakdowns:
        for key, month, count in breakdown.rows:
            writer.writerow([breakdown.group, _safe(key), month, count])
    return out.getvalue()


def _safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
