"""Archive search: one interface, two full-text backends chosen by the store's dialect.

Both search `search_entry` (kept in step by server.store.search_index, which the store runs
after every flush of its sessions) with Sastrawi-stemmed words, so results agree across
databases: SQLite uses FTS5 with bm25, PostgreSQL a stored `simple` tsvector with a GIN index
and ts_rank. Titles weigh more than bodies on both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.sitting import SittingStatus
from server.search.stemming import WORD, stem_query, stem_word
from server.store.repo import PUBLIC_STATUSES
from server.store.search_index import KINDS

FORUM_KINDS = ("thread", "reply")
_UNBOUND = "'document', 'raperda', 'pasal', 'thread', 'reply'"  # kinds that belong to no sitting
SNIPPET_SCAN = 20_000  # characters of a body searched for the snippet's matching word
SNIPPET_CONTEXT = 90
RANK_CANDIDATES = 500  # at most this many newest matches are ranked (see the backends)
_COLUMNS = (
    f"e.id, e.kind, e.ref_id, e.sitting_id, e.title, substr(e.body, 1, {SNIPPET_SCAN}) AS body,"
    " e.offset_s, e.year, e.month, e.category, e.at"
)
_STATUSES = ", ".join(f"'{s.value}'" for s in PUBLIC_STATUSES)
_HELD = ", ".join(f"'{s.value}'" for s in PUBLIC_STATUSES if s is not SittingStatus.SCHEDULED)
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
    held_only: bool = False  # the archive lists sittings that took place, never future ones


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

    def matches(self, stems: list[str], params: dict) -> str:
        """A condition on `search_entry e`: the entry holds every stem (bound in `params`).
        For a search narrowed by a word every entry in scope holds (a forum thread's, see
        search_index.thread_scope): the index intersects them, and nothing is ranked."""
        ...


def _filters(query: SearchQuery) -> tuple[list[str], dict]:
    where = [_VISIBLE]
    params: dict = {"limit": query.limit, "offset": query.offset}
    kinds = [k for k in query.kinds if k in KINDS]
    where.append("e.kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")
    if query.held_only:
        where.append(f"(e.kind IN ({_UNBOUND}) OR s.status IN ({_HELD}))")
    for name in ("year", "month", "category", "komisi"):
        value = getattr(query, name)
        if value not in (None, ""):
            where.append(f"e.{name} = :{name}")
            params[name] = value
    return where, params


class _Backend:
    """The SQL shared by both databases; subclasses pick the matching entries and their rank.

    The inner query returns only ids and ranks, so sorting thousands of matches moves narrow
    rows; titles and body excerpts are read for the one page of results."""

    def _hits(self, where: list[str], stems: list[str], params: dict) -> str:
        raise NotImplementedError

    async def search(self, session: AsyncSession, query: SearchQuery) -> list[Hit]:
        where, params = _filters(query)
        stems = stem_query(query.text)
        if stems:
            hits = self._hits(where, stems, params)
        else:
            hits = (
                "SELECT e.id AS hit, 0.0 AS rank FROM search_entry e"
                f" LEFT JOIN sitting s ON s.id = e.sitting_id WHERE {' AND '.join(where)}"
                " ORDER BY e.at DESC, e.id DESC LIMIT :limit OFFSET :offset"
            )
        sql = (
            f"SELECT {_COLUMNS} FROM ({hits}) r JOIN search_entry e ON e.id = r.hit"
            " ORDER BY r.rank DESC, e.at DESC, e.id DESC"
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
    """bm25 reads every matching row, which is slow when common words match hundreds of
    thousands of forum replies; so, as on PostgreSQL, only candidates are ranked: the newest
    matches (FTS5 walks rowids downwards and stops after RANK_CANDIDATES that pass the
    filters), and the newest title matches of any age."""

    def matches(self, stems: list[str], params: dict) -> str:
        params["match"] = _fts_words(stems)
        return "e.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :match)"

    def _hits(self, where: list[str], stems: list[str], params: dict) -> str:
        words = _fts_words(stems)
        params["match"] = words
        params["title_match"] = f"{{stemmed_title}} : ({words})"
        params["candidates"] = RANK_CANDIDATES
        matching = (
            "SELECT e.id AS hit, -bm25(search_fts, 4.0, 1.0) AS rank, e.at AS at"
            " FROM search_fts JOIN search_entry e ON e.id = search_fts.rowid"
            " LEFT JOIN sitting s ON s.id = e.sitting_id"
            f" WHERE {' AND '.join(where)} AND search_fts MATCH"
        )
        floor = (
            f"SELECT coalesce(min(n.hit), 0) FROM ({matching} :match"
            " ORDER BY search_fts.rowid DESC LIMIT :candidates) n"
        )
        return (
            "SELECT hit, max(rank) AS rank, max(at) AS at FROM ("
            f"{matching} :match AND search_fts.rowid >= ({floor})"
            f" UNION ALL SELECT * FROM ({matching} :title_match"
            " ORDER BY search_fts.rowid DESC LIMIT :candidates))"
            " GROUP BY hit ORDER BY rank DESC, at DESC, hit DESC LIMIT :limit OFFSET :offset"
        )


class PostgresSearch(_Backend):
    """ts_rank reads a matching row's whole tsvector, and testing thousands of rows against
    the query is slow when common words match them; so candidates are gathered from indexes
    first, the same two sets as on SQLite: the newest matches (walking the `at` index
    backwards, stopping at RANK_CANDIDATES) and the newest title matches (GIN on the title),
    and only those are ranked."""

    def matches(self, stems: list[str], params: dict) -> str:
        params["match"] = " ".join(stems)
        return "e.tsv @@ plainto_tsquery('simple', :match)"

    def _hits(self, where: list[str], stems: list[str], params: dict) -> str:
        params["match"] = " ".join(stems)
        params["candidates"] = RANK_CANDIDATES
        newest = (
            "(SELECT e.id FROM search_entry e LEFT JOIN sitting s ON s.id = e.sitting_id,"
            " plainto_tsquery('simple', :match) AS q(q)"
            f" WHERE e.{{column}} @@ q.q AND {' AND '.join(where)}"
            " ORDER BY e.at DESC LIMIT :candidates)"
        )
        candidates = f"{newest.format(column='tsv')} UNION {newest.format(column='tsv_title')}"
        return (
            "SELECT x.id AS hit, ts_rank(x.tsv, q.q) AS rank"
            f" FROM ({candidates}) c JOIN search_entry x ON x.id = c.id,"
            " plainto_tsquery('simple', :match) AS q(q)"
            " ORDER BY rank DESC, x.at DESC, x.id DESC LIMIT :limit OFFSET :offset"
        )


def _fts_words(stems: list[str]) -> str:
    """An FTS5 query for every stem, each quoted (a stem is a word, never an operator)."""
    return " ".join(f'"{stem}"' for stem in stems)


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
