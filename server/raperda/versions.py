"""Versions of a draft: which pasal of a new version continues which pasal of the last one, and
what changed in its wording. Pure functions over plain text (difflib), no storage.

A pasal keeps a `lineage` across versions; its comments follow the lineage. A pasal whose
number and wording stayed close is the same pasal; one that was renumbered or moved is matched
by wording alone and waits for staff to confirm it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

SAME_NUMBER_RATIO = 0.5  # the same number and at least this alike: the same pasal
MOVED_RATIO = 0.6  # another number but this alike: probably moved or renumbered
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Previous:
    lineage: int
    number: str
    text: str


@dataclass(frozen=True)
class Match:
    """For one pasal of the new version: the lineage it continues (None: a new pasal)."""

    lineage: int | None
    ratio: float
    confirm: bool  # matched by wording only: staff confirm before publishing
    previous_number: str = ""


def _words(text: str) -> list[str]:
    return text.lower().split()


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, _words(a), _words(b), autojunk=False).ratio()


def match_pasal(previous: list[Previous], new: list[tuple[str, str]]) -> list[Match]:
    """One Match per new (number, text), in order. Each old pasal continues at most once."""
    result: list[Match | None] = [None] * len(new)
    free = {p.lineage: p for p in previous}
    by_text = {}
    for p in previous:
        by_text.setdefault(" ".join(_words(p.text)), p)
    for n, (number, text) in enumerate(new):
        same = by_text.get(" ".join(_words(text)))
        if same is not None and same.lineage in free and same.number == number:
            result[n] = Match(same.lineage, 1.0, False, same.number)
            del free[same.lineage]
    by_number = {p.number: p for p in free.values()}
    for n, (number, text) in enumerate(new):
        old = by_number.get(number)
        if result[n] is None and old is not None and old.lineage in free:
            ratio = similarity(old.text, text)
            if ratio >= SAME_NUMBER_RATIO:
                result[n] = Match(old.lineage, ratio, False, old.number)
                del free[old.lineage]
    pairs = []
    for n, (_, text) in enumerate(new):
        if result[n] is not None:
            continue
        for old in free.values():
            matcher = SequenceMatcher(None, _words(old.text), _words(text), autojunk=False)
            if matcher.real_quick_ratio() >= MOVED_RATIO and matcher.quick_ratio() >= MOVED_RATIO:
                ratio = matcher.ratio()
                if ratio >= MOVED_RATIO:
                    pairs.append((ratio, n, old))
    for ratio, n, old in sorted(pairs, key=lambda pair: -pair[0]):
        if result[n] is None and old.lineage in free:
            result[n] = Match(old.lineage, ratio, True, old.number)
            del free[old.lineage]
    return [m or Match(None, 0.0, False) for m in result]


@dataclass(frozen=True)
class Piece:
    op: str  # "same", "del" or "ins"
    text: str


@lru_cache(maxsize=4096)
def word_diff(old: str, new: str) -> tuple[Piece, ...]:
    """The wording from `old` to `new`, word by word (whitespace kept), for <del>/<ins>.
    Remembered: a published pasal and a stored proposal never change, and a pasal's page and
    summary show the same proposals to every reader."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    # A proposal usually changes a few words: the common start and end are not diffed.
    start, shortest = 0, min(len(a), len(b))
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    pieces: list[Piece] = [Piece("same", "".join(a[:start]))] if start else []
    matcher = SequenceMatcher(None, middle_a, middle_b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(middle_a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("del", "".join(middle_a[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("ins", "".join(middle_b[j1:j2])))
    if end:
        pieces.append(Piece("same", "".join(a[len(a) - end :])))
    return tuple(pieces)
