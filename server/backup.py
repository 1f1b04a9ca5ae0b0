"""`sidang backup` and `sidang restore`: the database as JSON lines, the media as a manifest.

The dump goes through the store's SQLAlchemy metadata, table by table in dependency order, one
JSON object a row; values JSON has no type for are tagged (`{"$datetime": ...}`, `{"$date":
...}`, `{"$bytes": base64}`). It reads the same on SQLite and PostgreSQL, so a backup also moves
a node from one to the other. `search_entry` is derived, so it is left out and rebuilt on
restore (as the archive migration builds it).

Media files are referenced, not copied: segments and recordings are large, written once and
never changed, and a file copy (rsync, a volume snapshot) moves them best. The manifest lists
each file under the media directory with its size and SHA-256, and restore checks the media
directory against it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from media.recorder import sha256_file
from server.store import Store
from server.store.models import Base, SearchEntry
from server.store.search_index import rebuild

FORMAT = 1
DATABASE_FILE = "database.jsonl"
MEDIA_FILE = "media.json"
BATCH = 500
TABLES = [t for t in Base.metadata.sorted_tables if t is not SearchEntry.__table__]


class BackupError(Exception):
    """A backup that cannot be restored here; the message says why."""


@dataclass(frozen=True)
class MediaCheck:
    files: int
    missing: list[str]
    different: list[str]


async def backup(store: Store, media_dir: Path, target: Path) -> dict[str, int]:
    """Write DATABASE_FILE and MEDIA_FILE into `target`; returns the rows per table."""
    await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    partial = target / f"{DATABASE_FILE}.partial"
    async with store.read() as session:
        revisions = await _revisions(session)
        with partial.open("w", encoding="utf-8") as out:
            header = {"sidang_backup": FORMAT, "revisions": revisions, "at": _now()}
            out.write(json.dumps(header) + "\n")
            for table in TABLES:
                counts[table.name] = 0
                rows = await session.stream(select(table).order_by(*table.primary_key.columns))
                async for row in rows.mappings():
                    values = {name: _encode(value) for name, value in row.items()}
                    out.write(json.dumps({"t": table.name, "r": values}, ensure_ascii=False))
                    out.write("\n")
                    counts[table.name] += 1
    partial.replace(target / DATABASE_FILE)
    files = await asyncio.to_thread(lambda: list(media_manifest(media_dir)))
    manifest = {"sidang_media": FORMAT, "at": _now(), "files": files}
    (target / MEDIA_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    return counts


async def restore(store: Store, source: Path, *, replace: bool = False) -> dict[str, int]:
    """Load DATABASE_FILE into a database migrated to the same revisions, in one transaction.
    A database that already holds users or sittings is refused unless `replace`."""
    lines = _lines(source / DATABASE_FILE)
    header = next(lines)
    if header.get("sidang_backup") != FORMAT:
        raise BackupError(f"{source / DATABASE_FILE} is not a Sidang backup (format {FORMAT})")
    known = {table.name: table for table in TABLES}
    counts = dict.fromkeys(known, 0)
    async with store.transaction() as session:
        if sorted(header["revisions"]) != await _revisions(session):
            raise BackupError(
                f"the backup is at revisions {', '.join(sorted(header['revisions']))}; "
                "migrate this database to the same revisions first (sidang db upgrade)"
            )
        if not replace and await _holds_data(session):
            raise BackupError("this database already holds users or sittings (--replace)")
        for table in reversed(Base.metadata.sorted_tables):  # migrations seed some tables
            await session.execute(delete(table))
        batch: list[dict[str, Any]] = []
        current: Table | None = None
        for line in lines:
            table = known.get(line["t"])
            if table is None:
                raise BackupError(f"unknown table {line['t']!r} in the backup")
            if table is not current and batch:
                await session.execute(insert(current), batch)
                batch = []
            current = table
            batch.append({name: _decode(value) for name, value in line["r"].items()})
            counts[table.name] += 1
            if len(batch) >= BATCH:
                await session.execute(insert(current), batch)
                batch = []
        if batch:
            await session.execute(insert(current), batch)
        if store.dialect == "postgresql":
            await _reset_sequences(session)
        connection = await session.connection()
        await connection.run_sync(rebuild)
    return counts


def media_manifest(media_dir: Path) -> Iterator[dict[str, Any]]:
    """Every file under the media directory (health probes aside): path, size, SHA-256."""
    if not media_dir.is_dir():
        return
    for path in sorted(p for p in media_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(media_dir).as_posix()
        if not path.name.startswith(".health-"):
            yield {"path": relative, "size": path.stat().st_size, "sha256": sha256_file(path)}


def check_media(source: Path, media_dir: Path) -> MediaCheck:
    """The media directory against the backup's manifest."""
    manifest = json.loads((source / MEDIA_FILE).read_text())
    missing, different = [], []
    for entry in manifest["files"]:
        path = media_dir / entry["path"]
        if not path.is_file():
            missing.append(entry["path"])
        elif path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            different.append(entry["path"])
    return MediaCheck(len(manifest["files"]), missing, different)


async def _revisions(session: AsyncSession) -> list[str]:
    return sorted(await session.scalars(text("SELECT version_num FROM alembic_version")))


async def _holds_data(session: AsyncSession) -> bool:
    for name in ("user_account", "sitting"):
        table = Base.metadata.tables[name]
        if await session.scalar(select(func.count()).select_from(table)):
            return True
    return False


async def _reset_sequences(session: AsyncSession) -> None:
    """Rows came with their ids: PostgreSQL's sequences must continue after the largest."""
    for table in TABLES:
        columns = [c for c in table.primary_key.columns if c.autoincrement is not False]
        if len(columns) != 1 or columns[0].type.python_type is not int:
            continue
        name, column = table.name, columns[0].name
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                f"COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM {name}"
            )
        )


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"no backup encoding for {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        [(tag, raw)] = value.items()
        if tag == "$datetime":
            return dt.datetime.fromisoformat(raw)
        if tag == "$date":
            return dt.date.fromisoformat(raw)
        if tag == "$bytes":
            return base64.b64decode(raw)
        raise BackupError(f"unknown value tag {tag!r} in the backup")
    return value


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
