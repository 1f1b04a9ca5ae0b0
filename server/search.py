"""Archive search: one interface, two full-text backends chosen by the store's dialect.

Both search `search_entry` (kept in step by server.store.search_index) with Sastrawi-stemmed
words, so results agree across databases: SQLite uses FTS5 with bm25, PostgreSQL a stored
`simple` tsvector with a GIN index and ts_rank. Titles weigh more than bodies on both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import server.store.search_index  # noqa: F401  (registers the index listener)
from server.stemming import WORD, stem_query, stem_word
from server.store.repo import PUBLIC_STATUSES

KINDS = ("sitting", "agenda", "document", "cue")
SNIPPET_SCAN = 20_000  # characters of a body searched for the snippet's matching word
SNIPPET_CONTEXT = 90
_COLUMNS = (
    f"e.id, e.kind, e.ref_id, e.sitting_id, e.title, substr(e.body, 1, {SNIPPET_SCAN}) AS body,"
    " e.offset_s, e.year, e.month, e.category, e.at"
)
_STATUSES = ", ".join(f"'{s.value}'" for s in PUBLIC_STATUSES)
_VISIBLE = (
    f"(e.sitting_id IS NULL OR (s.is_public AND s.status IN ({_STATUSES})))"
    " AND (e.kind != 'cue' OR s.status = 'published')"
)


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    year: int | None = None
    month: int | None = None
    category: str | None = None  # sitting type or document jenis
    komisi: str | None = None
    kinds: tuple[str, ...] = KINDS
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Hit:
    kind: str
    ref_id: int
    sitting_id: int | None
    title: str
    snippet: str
    offset_s: float | None
    year: int | None
    month: int | None
    category: str
    at: dt.datetime | None


class SearchBackend(Protocol):
    async def search(self, session: AsyncSession, query: SearchQuery) -> list[Hit]:
        """Matches of every stemmed query word, best first; with no words, newest first."""
        ...


def _filters(query: SearchQuery) -> tuple[list[str], dict]:
    where = [_VISIBLE]
    params: dict = {"limit": query.limit, "offset": query.offset}
    kinds = [k for k in query.kinds if k in KINDS]
    where.append("e.kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")
    for name in ("year", "month", "category", "komisi"):
        value = getattr(query, name)
        if value not in (None, ""):
            where.append(f"e.{name} = :{name}")
            params[name] = value
    return where, params


class _Backend:
    """The SQL shared by both databases; subclasses supply the match and the rank."""

    def _matching(self, where: list[str], stems: list[str], params: dict) -> str:
        raise NotImplementedError

    async def search(self, session: AsyncSession, query: SearchQuery) -> list[Hit]:
        where, params = _filters(query)
        stems = stem_query(query.text)
        if stems:
            sql = self._matching(where, stems, params)
        else:
            sql = (
                f"SELECT {_COLUMNS} FROM search_entry e LEFT JOIN sitting s ON s.id = e.sitting_id"
                f" WHERE {' AND '.join(where)} ORDER BY e.at DESC, e.id DESC"
                " LIMIT :limit OFFSET :offset"
            )
        rows = (await session.execute(text(sql), params)).all()
        wanted = set(stems)
        return [
            Hit(
                kind=row.kind,
                ref_id=row.ref_id,
                sitting_id=row.sitting_id,
                title=row.title,
                snippet=snippet(row.body or "", wanted),
                offset_s=row.offset_s,
                year=row.year,
                month=row.month,
                category=row.category,
                at=_aware(row.at),
            )
            for row in rows
        ]


class SqliteSearch(_Backend):
    def _matching(self, where: list[str], stems: list[str], params: dict) -> str:
        params["match"] = " ".join(f'"{stem}"' for stem in stems)
        return (
            f"SELECT {_COLUMNS} FROM search_fts JOIN search_entry e ON e.id = search_fts.rowid"
            " LEFT JOIN sitting s ON s.id = e.sitting_id"
            f" WHERE search_fts MATCH :match AND {' AND '.join(where)}"
            " ORDER BY bm25(search_fts, 4.0, 1.0), e.at DESC LIMIT :limit OFFSET :offset"
        )


class PostgresSearch(_Backend):
    def _matching(self, where: list[str], stems: list[str], params: dict) -> str:
        params["match"] = " ".join(stems)
        return (
            f"SELECT {_COLUMNS} FROM search_entry e LEFT JOIN sitting s ON s.id = e.sitting_id,"
            " plainto_tsquery('simple', :match) AS q"
            f" WHERE e.tsv @@ q AND {' AND '.join(where)}"
            " ORDER BY ts_rank(e.tsv, q) DESC, e.at DESC LIMIT :limit OFFSET :offset"
        )


def backend_for(dialect: str) -> SearchBackend:
    return PostgresSearch() if dialect == "postgresql" else SqliteSearch()


def snippet(body: str, stems: set[str]) -> str:
    """A short excerpt around the first word whose stem was searched for (or the start)."""
    start = 0
    if stems:
        for match in WORD.finditer(body):
            if stem_word(match.group().lower()) in stems:
                start = max(match.start() - SNIPPET_CONTEXT, 0)
                break
    excerpt = " ".join(body[start : start + 2 * SNIPPET_CONTEXT + 60].split())
    prefix = "… " if start else ""
    suffix = " …" if len(body) > start + 2 * SNIPPET_CONTEXT + 60 else ""
    return f"{prefix}{excerpt}{suffix}"


def _aware(value) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
