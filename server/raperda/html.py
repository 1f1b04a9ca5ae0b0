"""A unit's text as HTML, built once per published unit (units never change after
publication) instead of through template macros for each of a draft's 120 pasal per view."""

from __future__ import annotations

import json
from functools import lru_cache

from markupsafe import Markup, escape


def _items(items: list) -> Markup:
    if not items:
        return Markup("")
    rows = Markup("").join(
        Markup("<li><span>{}.</span> {}</li>").format(label, text) for label, text in items
    )
    return Markup('<ol class="huruf">{}</ol>').format(rows)


def _tail(text: str) -> Markup:
    return Markup('<p class="teks">{}</p>').format(text) if text else Markup("")


def body_html(lineage: int, parts: dict) -> Markup:
    if parts.get("ayat"):
        rows = Markup("").join(
            Markup('<li id="ayat-{}-{}">({}) {}{}{}</li>').format(
                lineage,
                a["number"],
                a["number"],
                a["text"],
                _items(a.get("items", [])),
                _tail(a.get("tail", "")),
            )
            for a in parts["ayat"]
        )
        return Markup('<ol class="ayat">{}</ol>').format(rows)
    return (
        _tail(parts.get("text", "")) + _items(parts.get("items", [])) + _tail(parts.get("tail", ""))
    )


def badges(counts: dict[str, int] | None, labels: list[tuple[str, str]]) -> Markup:
    """A pasal's counts by position as badges, in the order of `labels` (each position with
    its translated name): built here, as the draft page does it for each of 120 pasal, with
    the names escaped once instead of through Markup.format for every badge."""
    if not counts:
        return Markup("")
    return Markup(
        "".join(
            f'<span class="badge">{escape(label)}: {counts[position]:d}</span> '
            for position, label in labels
            if counts.get(position)
        )
    )


@lru_cache(maxsize=8192)
def decode(unit_id: int, lineage: int, content: str) -> tuple[dict, Markup]:
    """The unit's parts and their HTML, cached by unit (the content is part of the key)."""
    parts = json.loads(content or "{}")
    return parts, body_html(lineage, parts)
