"""Bahasa Indonesia first, English second, through gettext.

Message ids are the Indonesian text. English lives in server/locale/en/LC_MESSAGES/messages.po,
compiled in memory at start-up so that no build step can be forgotten.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import gettext
import io
from collections.abc import Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server.domain import localtime

LOCALES = ("id", "en")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default="id")


class Translations:
    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._catalogs: dict[str, gettext.NullTranslations] = {"id": gettext.NullTranslations()}
        for locale in LOCALES[1:]:
            po_path = locale_dir / locale / "LC_MESSAGES" / "messages.po"
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=locale)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            self._catalogs[locale] = gettext.GNUTranslations(buffer)

    def gettext(self, message: str) -> str:
        return self._catalogs[current_locale.get()].gettext(message)

    def format(self, message: str, params: Mapping[str, object] | None = None) -> str:
        """Translate a message id, then fill in its %(name)s placeholders (Label values are
        translated too; a datetime reads as a date and time in the DPRD's zone)."""
        text = self.gettext(message)
        if not params:
            return text
        return text % {k: self._value(v) for k, v in params.items()}

    def _value(self, value: object) -> object:
        if isinstance(value, Label):
            return self.gettext(value)
        if isinstance(value, dt.datetime):
            return localtime.moment(value, current_locale.get())
        return value

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalogs[current_locale.get()].ngettext(singular, plural, n)


class Label(str):
    """A value that is itself a message id, such as a status name: it is translated along with
    the message it goes into, where any other value (a name, a number) is left as it is."""


def N_(message: str) -> str:
    """Mark a message for extraction where it is defined; it is translated where it is shown."""
    return message


def negotiate(cookie: str | None, query: str | None, default: str) -> str:
    for candidate in (query, cookie):
        if candidate in LOCALES:
            return candidate
    return default
