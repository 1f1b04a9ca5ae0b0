"""The DPRD's own clock: every time a person reads is shown in it (SIDANG_TIMEZONE; WIB,
Asia/Jakarta, for Pekalongan).

Plain code with no web or store dependency, so templates, the store's search index, request
schemas, domain messages and the demo data all share one definition. `create_app` sets the zone
from the configuration once; a deployment has one zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Jakarta"
# Indonesia's zones by their everyday names; another zone is shown by its own abbreviation.
ZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
MONTHS_ID = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]

_zone = ZoneInfo(DEFAULT_ZONE)


def use_zone(name: str) -> None:
    """Show every time in this zone (an IANA name, already checked by the configuration)."""
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone


def zone_label(value: dt.datetime | None = None) -> str:
    """ "WIB", "WITA", "WIT", or the zone's own abbreviation (which may change with summer time)."""
    label = ZONE_LABELS.get(_zone.key)
    if label:
        return label
    return (local(value) if value else dt.datetime.now(_zone)).tzname() or _zone.key


def local(value: dt.datetime) -> dt.datetime:
    """An aware (or UTC-naive) datetime in the local zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_zone)


def clock(value: dt.datetime, locale: str = "id") -> str:
    """ "21.30 WIB" (Indonesian), "21:30 WIB" (English)."""
    value = local(value)
    time = f"{value:%H:%M}" if locale == "en" else f"{value:%H.%M}"
    return f"{time} {zone_label(value)}"


def moment(value: dt.datetime, locale: str = "id") -> str:
    """A date and time as a person reads it: "2 Desember 2026 21.30 WIB"."""
    value = local(value)
    month = value.strftime("%B") if locale == "en" else MONTHS_ID[value.month - 1]
    return f"{value.day} {month} {value.year} {clock(value, locale)}"
