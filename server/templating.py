"""Jinja2 templates: autoescaped, translated through gettext, with the request's context."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from server import keys
from server.assets import WEB_DIR
from server.auth import get_user
from server.csrf import CSRF_SEED_KEY, csrf_token
from server.domain.documents import DOCUMENT_KIND_LABELS, DOCUMENT_STATUS_LABELS
from server.domain.localtime import MONTHS_ID, clock, local, zone_label
from server.domain.roles import ROLE_LABELS
from server.domain.sitting import QUORUM_RULE_LABELS, SITTING_TYPE_LABELS, STATUS_LABELS
from server.domain.votes import CHOICE_LABELS
from server.i18n import Translations, current_locale

TEMPLATE_DIR = WEB_DIR / "templates"

DAYS_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]


def create_environment(translations: Translations, static_url: Callable[[str], str]) -> Environment:
    """`static('js/watch.js')` in a template gives the file's fingerprinted address."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(translations.gettext, translations.ngettext, newstyle=True)
    env.filters["tanggal"] = format_date
    env.filters["jam"] = format_time
    env.filters["durasi"] = format_duration
    env.filters["input_datetime"] = lambda value: local(value).strftime("%Y-%m-%dT%H:%M")
    env.globals.update(
        static=static_url,
        zone_label=zone_label,
        SITTING_TYPE_LABELS=SITTING_TYPE_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        QUORUM_RULE_LABELS=QUORUM_RULE_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        DOCUMENT_KIND_LABELS=DOCUMENT_KIND_LABELS,
        DOCUMENT_STATUS_LABELS=DOCUMENT_STATUS_LABELS,
        CHOICE_LABELS=CHOICE_LABELS,
    )
    return env


def render(
    request: web.Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    template = request.app[keys.TEMPLATES].get_template(name)
    html = template.render(
        request=request,
        user=get_user(request),
        # No seed when the session could not be read (the database is down): the error page
        # then shows no working forms rather than failing itself.
        csrf_token=csrf_token(request) if CSRF_SEED_KEY in request else "",
        locale=current_locale.get(),
        public_url=request.app[keys.CONFIG].public_url,
        **(context or {}),
    )
    return web.Response(text=html, content_type="text/html", status=status)


def format_date(value: dt.datetime | dt.date | None, with_day: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local(value)
    text = f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}"
    if current_locale.get() == "en":
        text = value.strftime("%-d %B %Y")
        return f"{value.strftime('%A')}, {text}" if with_day else text
    return f"{DAYS_ID[value.weekday()]}, {text}" if with_day else text


def format_time(value: dt.datetime | None) -> str:
    return "" if value is None else clock(value, current_locale.get())


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def redirect(location: str) -> web.Response:
    """A 303 after a POST, so a reload never resubmits the form."""
    return web.Response(status=303, headers={"Location": location})
