"""Recording edits and publishing, run in the background one job per sitting.

Cutting and publishing a 3-hour recording takes long enough for a proxy to time out, so the
staff request is answered at once and the console shows how the job went.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from media.archive import Range, requested_ranges
from media.archive import publish as publish_media
from server.archive.formats import check_edit
from server.domain.errors import Conflict, DomainError, InvalidInput
from server.domain.sitting import SittingStatus
from server.i18n import N_
from server.store import Store, repo
from server.store import archive as archive_store
from server.store.models import RecordingEdit

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
