"""Indonesian stemming with Sastrawi, so "anggaran" finds "penganggaran" (both become "anggar").

Text is stemmed in Python before it is indexed and before it is queried; the databases then
match plain words ("simple" on PostgreSQL, unicode61 on SQLite FTS5) and need no Indonesian
dictionary of their own.
"""

from __future__ import annotations

import functools
import re

from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

WORD = re.compile(r"[^\W_]+", re.UNICODE)
_stemmer = StemmerFactory().create_stemmer()
MAX_QUERY_WORDS = 12


@functools.lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """One lower-cased word; numbers and codes ("2024", "apbd") come back unchanged."""
    if not word.isalpha() or len(word) < 4:
        return word
    return _stemmer.stem(word) or word


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def stem_text(text: str) -> str:
    return " ".join(stem_word(word) for word in words(text))


def stem_query(text: str) -> list[str]:
    """The distinct stems of a query, in order, at most MAX_QUERY_WORDS of them."""
    seen: dict[str, None] = {}
    for word in words(text):
        seen.setdefault(stem_word(word), None)
    return list(seen)[:MAX_QUERY_WORDS]
