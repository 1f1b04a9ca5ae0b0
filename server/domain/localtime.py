"""The DPRD's own clock: every time a person reads is shown in it (WIB for Pekalongan).

Plain code with no web or store dependency, so templates, the store's search index, request
schemas and the demo data all share one definition."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Jakarta")  # WIB: Pekalongan is in Central Java


def local(value: dt.datetime) -> dt.datetime:
    """An aware (or UTC-naive) datetime in the local zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(LOCAL_TZ)
