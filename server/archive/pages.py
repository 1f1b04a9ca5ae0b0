"""What the archive adds to the watch page and to the staff console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from media.archive import POSTER, PUBLISHED, THUMBNAILS
from server.archive.formats import chapters, clock, format_cuts
from server.domain.sitting import SittingStatus
from server.domain.votes import VoteStatus
from server.room.shapes import vote_json
from server.store import archive as archive_store
from server.store import room as room_store
from server.store.models import Sitting


async def page_context(
    session: AsyncSession, sitting: Sitting, media_dir: Path, start: str | None
) -> dict[str, Any]:
    """What the watch page adds: votes beside their agenda items and, once published,
    chapters, captions, the poster, the thumbnail filmstrip and the `?t=` start time."""
    votes_by_item: dict[int | None, list[dict]] = {}
    for vote in await room_store.list_votes(session, sitting.id):
        if vote.status == VoteStatus.CLOSED.value:
            votes_by_item.setdefault(vote.agenda_item_id, []).append(vote_json(vote))
    context: dict[str, Any] = {"votes_by_item": votes_by_item, "chapters": {}, "start_at": None}
    published = sitting.status == SittingStatus.PUBLISHED.value
    timeline = await archive_store.timeline(session, sitting) if published else None
    if timeline is None:
        return context
    context["chapters"] = {c.position: c for c in chapters(sitting.agenda_items, timeline)}
    context["archive"] = {
        "base": f"/sidang/{sitting.id}/rekaman",
        "duration": timeline.duration,
        "captions": await archive_store.count_cues(session, sitting.id) > 0,
        "poster": (media_dir / str(sitting.id) / PUBLISHED / POSTER).is_file(),
        "thumbnails": (media_dir / str(sitting.id) / PUBLISHED / THUMBNAILS).is_file(),
    }
    try:
        at = float(start) if start else None
    except ValueError:
        at = None
    if at is not None and 0 <= at < timeline.duration:
        context["start_at"] = f"{at:.1f}"
    return context


async def console_context(session: AsyncSession, sitting: Sitting) -> dict[str, Any]:
    """What the staff console's archive section shows: the current cut and the captions."""
    edit = await archive_store.get_edit(session, sitting.id)
    return {
        "recording_edit": edit,
        "edit_cuts": format_cuts(archive_store.cuts_of(edit)),
        "kept_ranges": [] if edit is None else [tuple(pair) for pair in json.loads(edit.kept)],
        "clock": clock,
        "cue_count": await archive_store.count_cues(session, sitting.id),
    }
