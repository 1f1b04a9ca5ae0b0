"""Keeps `search_entry` in step with sittings, agenda items, documents, caption cues, Raperda
and forum posts.

A listener on every ORM flush re-reads the changed rows and rewrites their entries on the same
connection, so the index commits or rolls back with the change that caused it, whichever code
path (console, API, demo, CLI) made it. The full-text structures that sit over `search_entry`
(FTS5 triggers, the PostgreSQL tsvector column) follow it inside the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, delete, insert, inspect, select, update
from sqlalchemy.orm import Session

from server.domain.documents import DOCUMENT_KIND_LABELS, DocumentKind
from server.domain.localtime import local
from server.domain.sitting import SITTING_TYPE_LABELS, SittingType
from server.search.stemming import stem_text
from server.store.models import (
    AgendaItem,
    CaptionCue,
    Document,
    DocumentText,
    ForumReply,
    ForumThread,
    ForumTopic,
    Raperda,
    RaperdaUnit,
    RaperdaVersion,
    SearchEntry,
    Sitting,
)

KINDS = ("sitting", "agenda", "document", "cue", "raperda", "pasal", "thread", "reply")
BODY_LIMIT = 200_000  # characters of document text that are indexed and kept for snippets
_S, _A, _D, _T, _C, _E = (
    Sitting.__table__,
    AgendaItem.__table__,
    Document.__table__,
    DocumentText.__table__,
    CaptionCue.__table__,
    SearchEntry.__table__,
)
_R, _U, _V = Raperda.__table__, RaperdaUnit.__table__, RaperdaVersion.__table__
_FT, _FR, _FP = ForumThread.__table__, ForumReply.__table__, ForumTopic.__table__
_SOURCES = {
    Sitting: ("sitting", "id"),
    AgendaItem: ("agenda", "id"),
    Document: ("document", "id"),
    DocumentText: ("document", "document_id"),
    CaptionCue: ("cue", "id"),
    Raperda: ("raperda", "id"),
    ForumThread: ("thread", "id"),
    ForumReply: ("reply", "id"),
}


def _when(starts_at: dt.datetime | None) -> dict:
    if starts_at is None:
        return {"year": None, "month": None, "at": None}
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=dt.UTC)
    day = local(starts_at)
    return {"year": day.year, "month": day.month, "at": starts_at}


def _sitting_fields(row) -> dict:
    return {
        "sitting_id": row.id,
        "category": row.type,
        "komisi": row.komisi,
        **_when(row.starts_at),
    }


def _entry(kind: str, ref_id: int, title: str, body: str, **fields) -> dict:
    return {
        "kind": kind,
        "ref_id": ref_id,
        "title": title[:500],
        "body": body,
        "stemmed_title": stem_text(title),
        "stemmed_body": stem_text(body),
        "offset_s": None,
        **fields,
    }


def _sitting_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    query = select(_S.c.id, _S.c.type, _S.c.title, _S.c.komisi, _S.c.location, _S.c.starts_at)
    if ids is not None:
        query = query.where(_S.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        label = SITTING_TYPE_LABELS.get(SittingType(row.type), row.type)
        body = " ".join(part for part in (label, row.komisi, row.location) if part)
        out.append(_entry("sitting", row.id, row.title, body, **_sitting_fields(row)))
    return out


def _agenda_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    query = select(_A, _S.c.type, _S.c.komisi, _S.c.starts_at).join(_S, _S.c.id == _A.c.sitting_id)
    if ids is not None:
        query = query.where(_A.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        fields = {
            "sitting_id": row.sitting_id,
            "category": row.type,
            "komisi": row.komisi,
            "offset_s": row.start_offset,
            **_when(row.starts_at),
        }
        out.append(_entry("agenda", row.id, row.title, row.description, **fields))
    return out


def _document_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    query = select(_D, _T.c.text).outerjoin(_T, _T.c.document_id == _D.c.id)
    if ids is not None:
        query = query.where(_D.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        label = DOCUMENT_KIND_LABELS.get(DocumentKind(row.jenis), row.jenis)
        number = f"{label} Nomor {row.nomor} Tahun {row.tahun}" if row.nomor else label
        body = f"{number}\n{(row.text or '')[:BODY_LIMIT]}"
        when = row.tanggal_penetapan
        fields = {
            "sitting_id": row.sitting_id,
            "category": row.jenis,
            "komisi": "",
            "year": row.tahun,
            "month": when.month if when else None,
            "at": row.created_at,
        }
        out.append(_entry("document", row.id, row.judul, body, **fields))
    return out


def _cue_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    query = select(_C, _S.c.title, _S.c.type, _S.c.komisi, _S.c.starts_at).join(
        _S, _S.c.id == _C.c.sitting_id
    )
    if ids is not None:
        query = query.where(_C.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        entry = _entry("cue", row.id, "", row.text, offset_s=row.start_s)
        entry.update(
            title=row.title[:500],
            sitting_id=row.sitting_id,
            category=row.type,
            komisi=row.komisi,
            **_when(row.starts_at),
        )
        out.append(entry)
    return out


def _raperda_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    """A published draft (its pasal are entries of their own, reindexed when it is published)."""
    query = select(_R).where(_R.c.current_version_id.is_not(None))
    if ids is not None:
        query = query.where(_R.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        fields = {"category": "raperda", **_when(row.updated_at)}
        out.append(_entry("raperda", row.id, f"Raperda {row.title}", row.summary, **fields))
    return out


def _pasal_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    """The pasal of each draft's current version only: an older version's are not found."""
    query = (
        select(_U.c.id, _U.c.kind, _U.c.number, _U.c.text, _R.c.title, _R.c.updated_at)
        .join(_R, _R.c.current_version_id == _U.c.version_id)
        .where(_U.c.kind == "pasal")
    )
    if ids is not None:
        query = query.where(_U.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        title = f"Pasal {row.number} · Raperda {row.title}"
        fields = {"category": "raperda", **_when(row.updated_at)}
        out.append(_entry("pasal", row.id, title, row.text, **fields))
    return out


def _thread_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    """A visible forum thread: its title and opening post, under its topic's komisi, and its
    scope word."""
    query = (
        select(_FT.c.id, _FT.c.title, _FT.c.body, _FT.c.created_at, _FP.c.komisi)
        .join(_FP, _FP.c.id == _FT.c.topic_id)
        .where(_FT.c.hidden.is_(False))
    )
    if ids is not None:
        query = query.where(_FT.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        fields = {"category": "forum", "komisi": row.komisi, **_when(row.created_at)}
        entry = _entry("thread", row.id, row.title, row.body, **fields)
        entry["stemmed_body"] += f" {thread_scope(row.id)}"
        out.append(entry)
    return out


def thread_scope(thread_id: int) -> str:
    """The word a thread's opening post and every reply carry in their index: a search within
    the thread adds it to the query, and the full-text index intersects the two instead of
    testing each post (bench/forum_load.py, the page for common words in a 5,000-reply
    thread among 200,000 on SQLite: 412 ms median testing each reply, 28 ms this way)."""
    return f"forumutas{thread_id}"


def _reply_entries(conn: Connection, ids: list[int] | None) -> list[dict]:
    """A visible reply in a visible thread. It shows its thread's title but is found by its
    own words only (a word of the title would otherwise match every reply of the thread), and
    by its thread's scope word."""
    query = (
        select(_FR.c.id, _FR.c.thread_id, _FR.c.body, _FR.c.created_at, _FT.c.title, _FP.c.komisi)
        .join(_FT, _FT.c.id == _FR.c.thread_id)
        .join(_FP, _FP.c.id == _FT.c.topic_id)
        .where(_FR.c.hidden.is_(False), _FT.c.hidden.is_(False))
    )
    if ids is not None:
        query = query.where(_FR.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        fields = {"category": "forum", "komisi": row.komisi, **_when(row.created_at)}
        entry = _entry("reply", row.id, "", row.body, **fields)
        entry["title"] = row.title[:500]
        entry["stemmed_title"] = thread_scope(row.thread_id)
        out.append(entry)
    return out


_BUILDERS = {
    "sitting": _sitting_entries,
    "agenda": _agenda_entries,
    "document": _document_entries,
    "cue": _cue_entries,
    "raperda": _raperda_entries,
    "pasal": _pasal_entries,
    "thread": _thread_entries,
    "reply": _reply_entries,
}


def reindex(conn: Connection, kind: str, ids: Iterable[int] | None = None) -> int:
    """Rewrite the entries of `kind` for `ids` (all when None); gone rows lose their entry."""
    wanted = None if ids is None else sorted(set(ids))
    if wanted == []:
        return 0
    entries = _BUILDERS[kind](conn, wanted)
    gone = delete(_E).where(_E.c.kind == kind)
    if wanted is not None:
        gone = gone.where(_E.c.ref_id.in_(wanted))
    conn.execute(gone)
    if entries:
        conn.execute(insert(_E), entries)
    if kind == "sitting" and entries:
        _follow_sittings(conn, entries)
    return len(entries)


def _follow_sittings(conn: Connection, sittings: list[dict]) -> None:
    """Agenda and cue entries carry their sitting's date, type and komisi for browsing."""
    for entry in sittings:
        shared = {k: entry[k] for k in ("category", "komisi", "year", "month", "at")}
        conn.execute(
            update(_E)
            .where(_E.c.sitting_id == entry["ref_id"], _E.c.kind.in_(("agenda", "cue")))
            .values(**shared)
        )
        conn.execute(
            update(_E)
            .where(_E.c.sitting_id == entry["ref_id"], _E.c.kind == "cue")
            .values(title=entry["title"])
        )


def _follow_threads(session: Session, conn: Connection, changed: dict[str, set[int]]) -> None:
    """A thread hidden or restored by a moderator takes its replies out of search or back."""
    threads = [
        thread.id
        for thread in session.dirty
        if isinstance(thread, ForumThread) and inspect(thread).attrs.hidden.history.has_changes()
    ]
    if threads:
        replies = conn.execute(select(_FR.c.id).where(_FR.c.thread_id.in_(threads))).scalars()
        changed.setdefault("reply", set()).update(replies)


def rebuild(conn: Connection, kinds: Iterable[str] = KINDS) -> int:
    """Index everything from scratch (migration backfill, benchmarks); a migration names the
    kinds whose tables exist at its revision."""
    return sum(reindex(conn, kind) for kind in kinds)


def after_flush(session: Session, _context) -> None:
    """Reindex what a flush changed; the store listens with it on its own sessions."""
    changed: dict[str, set[int]] = {}
    for instance in (*session.new, *session.dirty, *session.deleted):
        source = _SOURCES.get(type(instance))
        if source is None:
            continue
        kind, key = source
        value = getattr(instance, key, None)
        if value is not None:
            changed.setdefault(kind, set()).add(value)
    if not changed:
        return
    conn = session.connection()
    _follow_threads(session, conn, changed)
    for kind, ids in changed.items():
        reindex(conn, kind, ids)
