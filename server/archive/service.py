"""The archive's vocabulary: cut lists, WebVTT (captions in, chapters out) and chapters.

Everything stored keeps the raw recording clock (the stream clock of `live_started_at`); a
`media.archive.Timeline` maps it to the published recording when a page or file is served.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from media.archive import (
    POSTER,
    PUBLISHED,
    THUMBNAILS,
    Range,
    Timeline,
    requested_ranges,
    vtt_time,
)
from media.archive import publish as publish_media
from server.domain.errors import Conflict, DomainError, InvalidInput
from server.domain.sitting import SittingStatus
from server.domain.votes import VoteStatus
from server.i18n import N_
from server.room.service import vote_json
from server.store import Store, repo
from server.store import archive as archive_store
from server.store import room as room_store
from server.store.archive import CueIn
from server.store.models import AgendaItem, RecordingEdit, Sitting

MAX_CAPTION_BYTES = 5 * 1024 * 1024
MAX_CUES = 50_000
_TIMESTAMP = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"^{_TIMESTAMP}[ \t]+-->[ \t]+{_TIMESTAMP}(?:[ \t].*)?$")
_TAG = re.compile(r"<[^>]*>")
_VOICE = re.compile(r"<v(?:\.[^ >]*)?[ \t]+([^>]+)>")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")
EDITABLE = (SittingStatus.ENDED.value, SittingStatus.PUBLISHED.value)

log = logging.getLogger(__name__)


@dataclass
class Job:
    """Work on one sitting's recording that runs after the staff request has been answered:
    cutting and publishing a 3-hour recording takes long enough for a proxy to time out."""

    kind: str  # "edit" or "publish"
    actor: str
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    error: DomainError | None = None
    task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self.finished_at is None


@dataclass(frozen=True)
class Chapter:
    position: int
    title: str
    start: float
    end: float


def parse_seconds(value: str, field: str) -> float:
    """Seconds ("754.5") or a clock ("12:34", "1:02:03") as staff type them."""
    value = value.strip()
    try:
        seconds = float(value.replace(",", "."))
    except ValueError:
        match = _CLOCK.match(value)
        if not match:
            raise _field_error(
                field, N_("Tulis detik (754) atau jam:menit:detik (0:12:34).")
            ) from None
        hours, minutes, rest = match.groups()
        seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))
    if seconds < 0 or seconds != seconds:
        raise _field_error(field, N_("Waktu tidak boleh negatif."))
    return seconds


def _field_error(field: str, problem: str) -> InvalidInput:
    """One form field's problem, said beside the field and as the error's message."""
    return InvalidInput(problem, {field: problem})


def check_edit(
    duration: float,
    *,
    trim_start: float,
    trim_end: float | None,
    cuts: list[Range],
    poster_s: float | None,
) -> None:
    """Refuse an edit that cannot work before any file is touched: a start at or after the
    end, or a time outside the recording (a cut "5:00:00-6:00:00" of a 1:43 recording)."""
    length = clock(duration)
    if trim_start >= duration:
        raise _outside("trim_start", length)
    if trim_end is not None:
        if trim_end > duration:
            raise _outside("trim_end", length)
        if trim_end <= trim_start:
            raise _field_error("trim_end", N_("Waktu selesai harus setelah waktu mulai."))
    for start, end in cuts:
        if end > duration:
            raise _outside("cuts", length, start=clock(start), end=clock(end))
    if poster_s is not None and poster_s >= duration:
        raise _outside("poster", length)


def _outside(field: str, length: str, **cut: str) -> InvalidInput:
    problem = (
        N_("Bagian %(start)s - %(end)s di luar rekaman (panjang rekaman %(length)s).")
        if cut
        else N_("Waktu ini di luar rekaman (panjang rekaman %(length)s).")
    )
    error = InvalidInput(problem, length=length, **cut)
    error.fields = {field: error.message}
    return error


def parse_cuts(text: str) -> list[Range]:
    """Closed-door parts, one per line: "start - end" (seconds or clock times)."""
    cuts = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        start, sep, end = line.partition(" - ") if " - " in line else line.partition("-")
        if not sep:
            problem = N_("Baris %(line)s: tulis bagian tertutup sebagai mulai - selesai.")
            raise InvalidInput(problem, {"cuts": problem}, line=number)
        first, last = parse_seconds(start, "cuts"), parse_seconds(end, "cuts")
        if last <= first:
            problem = N_("Baris %(line)s: waktu selesai harus setelah waktu mulai.")
            raise InvalidInput(problem, {"cuts": problem}, line=number)
        cuts.append((first, last))
    return sorted(cuts)


def format_cuts(cuts: list[Range]) -> str:
    return "\n".join(f"{clock(a)} - {clock(b)}" for a, b in cuts)


def clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    fraction = round(seconds - whole, 1)
    return f"{text}.{int(fraction * 10)}" if fraction else text


def parse_webvtt(data: bytes) -> list[CueIn]:
    """Cues of a WebVTT file, judged by its content (the WEBVTT signature and cue timings)."""
    if len(data) > MAX_CAPTION_BYTES:
        raise InvalidInput(N_("Berkas WebVTT terlalu besar (paling besar 5 MB)."))
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InvalidInput(N_("Berkas WebVTT harus berenkode UTF-8.")) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]):
        raise InvalidInput(N_("Berkas bukan WebVTT: baris pertama harus 'WEBVTT'."))
    cues: list[CueIn] = []
    blocks = "\n".join(lines[1:]).split("\n\n")
    for block in blocks:
        rows = [row for row in block.split("\n") if row.strip()]
        if not rows or rows[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = 0 if "-->" in rows[0] else 1
        if timing_at >= len(rows) or not (match := _TIMING.match(rows[timing_at].strip())):
            raise InvalidInput(
                N_("Waktu isyarat WebVTT tidak sah: %(row)r."),
                row=rows[min(timing_at, len(rows) - 1)][:80],
            )
        start, end = _cue_time(match.groups()[:4]), _cue_time(match.groups()[4:])
        if end <= start:
            raise InvalidInput(
                N_("Isyarat WebVTT berakhir sebelum mulai: %(row)r."), row=rows[timing_at][:80]
            )
        body = " ".join(
            _TAG.sub("", _VOICE.sub(r"\1: ", row)).strip() for row in rows[timing_at + 1 :]
        )
        if body:
            cues.append(CueIn(start, end, body))
        if len(cues) > MAX_CUES:
            raise InvalidInput(N_("Terlalu banyak isyarat (paling banyak %(max)s)."), max=MAX_CUES)
    if not cues:
        raise InvalidInput(N_("Berkas WebVTT tidak berisi isyarat teks."))
    return cues


def _cue_time(parts) -> float:
    hours, minutes, seconds, millis = parts
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def to_raw_cues(cues: list[CueIn], timeline: Timeline | None) -> list[CueIn]:
    """Captions made against the published recording go back onto the raw clock."""
    if timeline is None:
        return cues
    out = []
    for cue in cues:
        start = timeline.to_raw(cue.start_s)
        if start is not None:
            out.append(CueIn(start, start + (cue.end_s - cue.start_s), cue.text))
    return out


def webvtt(cues: list[tuple[float, float, str]]) -> str:
    blocks = ["WEBVTT", ""]
    for start, end, text in cues:
        blocks += [f"{vtt_time(start)} --> {vtt_time(end)}", text.replace("-->", "→"), ""]
    return "\n".join(blocks)


def chapters(items: list[AgendaItem], timeline: Timeline) -> list[Chapter]:
    """Agenda items with a start offset, on the published clock; each ends where the next
    begins unless staff set its end."""
    timed = sorted(
        (i for i in items if i.start_offset is not None), key=lambda i: (i.start_offset, i.position)
    )
    out = []
    for index, item in enumerate(timed):
        start = timeline.chapter_start(item.start_offset)
        if item.end_offset is not None:
            end = timeline.chapter_start(item.end_offset)
        elif index + 1 < len(timed):
            end = timeline.chapter_start(timed[index + 1].start_offset)
        else:
            end = timeline.duration
        if end > start:
            out.append(Chapter(item.position, item.title, start, end))
    return out


def chapters_vtt(found: list[Chapter]) -> str:
    return webvtt([(c.start, c.end, f"{c.position}. {c.title}") for c in found])


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


class ArchiveService:
    """Applies recording edits: builds the published media off the loop, then stores the cut
    list. One edit at a time per sitting, since each rewrites `{sitting}/published/`."""

    def __init__(self, store: Store, media_dir: Path) -> None:
        self.store = store
        self.media_dir = media_dir
        self._locks: dict[int, asyncio.Lock] = {}
        self.jobs: dict[int, Job] = {}  # the latest job per sitting, finished ones included

    def start(
        self, sitting_id: int, kind: str, actor: str, work: Callable[[], Awaitable[object]]
    ) -> Job:
        """Run `work` in the background, one job per sitting at a time; the console shows how
        it went. The published tree is swapped in whole at the end (media.archive.publish), so
        a job cut short by a restart leaves the previous one in place."""
        current = self.jobs.get(sitting_id)
        if current is not None and current.running:
            raise Conflict(N_("Rekaman rapat ini sedang diproses; tunggu sampai selesai."))
        job = self.jobs[sitting_id] = Job(kind, actor)
        job.task = asyncio.create_task(self._run(job, work), name=f"archive-{sitting_id}-{kind}")
        return job

    async def _run(self, job: Job, work: Callable[[], Awaitable[object]]) -> None:
        try:
            await work()
        except DomainError as exc:
            job.error = exc
        except Exception:
            log.exception("Recording job %s by %s failed", job.kind, job.actor)
            job.error = DomainError(N_("Pemrosesan rekaman gagal; lihat log server."))
        finally:
            job.finished_at = time.time()

    async def wait(self, sitting_id: int) -> Job | None:
        """The sitting's latest job, once it has finished."""
        job = self.jobs.get(sitting_id)
        if job is not None and job.task is not None:
            await asyncio.shield(job.task)
        return job

    async def close(self) -> None:
        """Let running jobs finish: their file work runs in threads that cannot be cancelled."""
        for sitting_id in list(self.jobs):
            await self.wait(sitting_id)

    async def apply(
        self,
        sitting_id: int,
        *,
        trim_start: float,
        trim_end: float | None,
        cuts: list[Range],
        poster_s: float | None,
        actor: str,
    ) -> RecordingEdit:
        async with self._locks.setdefault(sitting_id, asyncio.Lock()):
            async with self.store.read() as session:
                sitting = await repo.get_sitting(session, sitting_id, public_only=False)
            if sitting.status not in EDITABLE:
                raise Conflict(N_("Rekaman hanya dapat disunting setelah rapat selesai."))
            if sitting.recording is None:
                raise Conflict(N_("Rapat ini tidak memiliki rekaman."))
            duration = sitting.recording.duration_s
            check_edit(
                duration, trim_start=trim_start, trim_end=trim_end, cuts=cuts, poster_s=poster_s
            )
            keep = requested_ranges(duration, trim_start, trim_end, cuts)
            if not keep:
                raise InvalidInput(N_("Tidak ada bagian rekaman yang tersisa setelah dipotong."))
            try:
                result = await asyncio.to_thread(
                    publish_media, self.media_dir / str(sitting_id), keep, poster_s
                )
            except FileNotFoundError:
                raise Conflict(N_("Berkas rekaman rapat ini tidak ditemukan.")) from None
            except ValueError:
                raise InvalidInput(N_("Potongan menghapus seluruh rekaman.")) from None
            async with self.store.transaction() as session:
                edit = await archive_store.save_edit(
                    session,
                    sitting_id,
                    trim_start=trim_start,
                    trim_end=trim_end,
                    cuts=[list(c) for c in cuts],
                    poster_s=poster_s,
                    kept=[list(r) for r in result.timeline.kept],
                    duration_s=result.timeline.duration,
                    sha256=result.recording.sha256,
                    size=result.recording.size,
                    edited_by=actor,
                )
                await repo.audit(
                    session,
                    actor,
                    "recording.edit",
                    f"sitting:{sitting_id}",
                    f"{len(cuts)} potongan, {result.timeline.duration:.1f} s",
                )
            return edit

    async def ensure_published_media(self, sitting_id: int, actor: str) -> None:
        """Publishing without an edit publishes the whole recording as it is."""
        async with self.store.read() as session:
            edit = await archive_store.get_edit(session, sitting_id)
            sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        if edit is None and sitting.recording is not None:
            await self.apply(
                sitting_id, trim_start=0.0, trim_end=None, cuts=[], poster_s=None, actor=actor
            )
