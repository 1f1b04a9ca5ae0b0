"""Untrusted text crossing the HTTP edge: record ids in URLs, JSON from bodies and socket frames,
and staff-typed file names going out in headers.

Each is handled here once, so that no handler meets an id the database cannot bind (SQLite
raises OverflowError past 2⁶³, PostgreSQL past 2³¹) or a JSON document nested deep enough to
exhaust the interpreter's stack, and no header carries a CR, LF or quote typed into a form.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Literal
from urllib.parse import quote, urlsplit

# Primary keys are INTEGER columns: 64-bit in SQLite but 32-bit in PostgreSQL, where a wider value
# fails to bind. No row can have a larger id, so a larger one is simply not found.
MAX_ID = 2**31 - 1
_MAX_ID_DIGITS = len(str(MAX_ID))
_NOT_FILENAME_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 5987 attr-char besides letters and digits


class InvalidJson(ValueError):
    """The text is not JSON this server accepts (malformed, or nested too deep)."""


def parse_id(text: str) -> int | None:
    """A record id (1 ≤ id ≤ MAX_ID) written in ASCII digits, or None for anything else."""
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_ID_DIGITS):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def loads_json(text: str | bytes) -> Any:
    """`json.loads` whose failures, including a stack-exhausting nesting, are one ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidJson("nested too deeply") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson(str(exc)) from None


def content_disposition(kind: Literal["inline", "attachment"], filename: str) -> str:
    """An RFC 6266 header: an ASCII `filename` for old clients and the exact name as RFC 5987
    `filename*`; control characters, quotes and slashes never reach the header."""
    cleaned = "".join(c for c in filename if unicodedata.category(c)[0] != "C")
    cleaned = cleaned.replace("/", "-").replace("\\", "-").strip() or "unduhan"
    ascii_name = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode()
    fallback = _NOT_FILENAME_SAFE.sub("_", ascii_name).strip() or "unduhan"
    encoded = quote(cleaned, safe=_ATTR_CHARS)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def local_path(value: str | None) -> str | None:
    """`value` if it is a path on this site, else None: a redirect target that every browser
    reads as same-origin. Refused: schemes, `//host`, any backslash (browsers read `/\\host` as
    `//host`), and control characters or spaces (browsers drop tabs and newlines, which turns
    `/<TAB>/host` into `//host`)."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return value
