"""Recording edits and publishing, run in the background one job per sitting.

Cutting and publishing a 3-hour recording takes long enough for a proxy to time out, so the
staff request is answered at once and the console shows how the job went. Each job is a row
(`recording_job`) with a heartbeat: a job whose node was restarted or died is taken over by the
next sweep of any node and run again, which is safe since the published tree is swapped in
whole at the end (media.archive.publish), so a job cut short leaves the previous one in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.archive import CutPoint, Range, cut_point, requested_ranges
from media.archive import publish as publish_media
from server.archive.formats import check_edit, check_within
from server.domain.errors import Conflict, DomainError, InvalidInput
from server.domain.sitting import SittingStatus
from server.i18n import N_
from server.store import Store, repo
from server.store import archive as archive_store
from server.store.models import RecordingEdit, RecordingJob, utcnow
from server.tasks import stop

EDITABLE = (SittingStatus.ENDED.value, SittingStatus.PUBLISHED.value)
HEARTBEAT_S = 10.0
STALE_S = 45.0  # several missed heartbeats: the node running the job is gone

log = logging.getLogger(__name__)

# A kind of job: (sitting id, actor, params) -> the work. Params are JSON, kept for a rerun.
Work = Callable[[int, str, dict[str, Any]], Awaitable[object]]
PublishStatus = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """What the console shows of a sitting's latest job, on whichever node ran it."""

    kind: str
    actor: str
    state: str  # running, done, failed
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: DomainError | None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @classmethod
    def of(cls, row: RecordingJob) -> Job:
        error = None
        if row.error is not None:
            template, params = json.loads(row.error)
            error = DomainError(template, **params)
        return cls(row.kind, row.actor, row.state, row.started_at, row.finished_at, error)


class ArchiveService:
    """Applies recording edits: builds the published media off the loop, then stores the cut
    list. One job at a time per sitting, since each rewrites `{sitting}/published/`."""

    def __init__(
        self,
        store: Store,
        media_dir: Path,
        publish_status: PublishStatus,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        stale_s: float = STALE_S,
    ) -> None:
        self.store = store
        self.media_dir = media_dir
        self.publish_status = publish_status
        self.heartbeat_s = heartbeat_s
        self.stale_s = stale_s
        self.kinds: dict[str, Work] = {"edit": self._edit, "publish": self._publish}
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: dict[int, asyncio.Task] = {}
        self._sweeper: asyncio.Task | None = None

    async def open(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="archive-jobs-sweep")

    async def close(self) -> None:
        """Let running jobs finish: their file work runs in threads that cannot be cancelled."""
        if self._sweeper is not None:
            await stop(self._sweeper)
        for sitting_id in list(self._tasks):
            await self.wait(sitting_id)

    async def start(
        self, sitting_id: int, kind: str, actor: str, params: dict[str, Any] | None = None
    ) -> None:
        """Record the job, then run it in the background; the console shows how it went."""
        params = params or {}
        now = utcnow()
        async with self.store.transaction() as session:
            row = await archive_store.get_job(session, sitting_id)
            fresh = now - dt.timedelta(seconds=self.stale_s)
            if row is not None and row.state == "running" and row.heartbeat_at > fresh:
                raise Conflict(N_("Rekaman rapat ini sedang diproses; tunggu sampai selesai."))
            if row is None:
                row = RecordingJob(sitting_id=sitting_id)
                session.add(row)
            row.kind, row.actor, row.params = kind, actor, json.dumps(params)
            row.state, row.error, row.attempts = "running", None, 1
            row.started_at = row.heartbeat_at = now
            row.finished_at = None
        self._spawn(sitting_id, kind, actor, params)

    async def latest(self, sitting_id: int) -> Job | None:
        async with self.store.read() as session:
            row = await archive_store.get_job(session, sitting_id)
            return None if row is None else Job.of(row)

    async def wait(self, sitting_id: int) -> Job | None:
        """The sitting's latest job, once this node has finished running it."""
        task = self._tasks.get(sitting_id)
        if task is not None:
            await asyncio.shield(task)
        return await self.latest(sitting_id)

    async def resume_stale(self) -> int:
        """Take over the jobs whose node stopped beating, and run them again here."""
        now = utcnow()
        taken: list[tuple[int, str, str, dict[str, Any]]] = []
        async with self.store.transaction() as session:
            older = now - dt.timedelta(seconds=self.stale_s)
            for row in await archive_store.stale_jobs(session, older):
                if row.sitting_id in self._tasks:
                    continue
                if await archive_store.claim_job(session, row, now):
                    taken.append((row.sitting_id, row.kind, row.actor, json.loads(row.params)))
        for sitting_id, kind, actor, params in taken:
            log.warning("taking over the %s job of sitting %s (its node stopped)", kind, sitting_id)
            self._spawn(sitting_id, kind, actor, params)
        return len(taken)

    def _spawn(self, sitting_id: int, kind: str, actor: str, params: dict[str, Any]) -> None:
        self._tasks[sitting_id] = asyncio.create_task(
            self._run(sitting_id, kind, actor, params), name=f"archive-{sitting_id}-{kind}"
        )

    async def _run(self, sitting_id: int, kind: str, actor: str, params: dict[str, Any]) -> None:
        finished = asyncio.Event()
        beating = asyncio.create_task(self._beat(sitting_id, finished))
        error: DomainError | None = None
        try:
            work = self.kinds.get(kind)
            if work is None:
                raise DomainError(N_("Jenis pemrosesan rekaman tidak dikenal."))
            await work(sitting_id, actor, params)
        except DomainError as exc:
            error = exc
        except Exception:
            log.exception("Recording job %s of sitting %s by %s failed", kind, sitting_id, actor)
            error = DomainError(N_("Pemrosesan rekaman gagal; lihat log server."))
        finally:
            # Not cancelled: a heartbeat cut off inside its transaction could leave SQLite's
            # write lock behind, and the outcome below would then never be stored.
            finished.set()
            await beating
        try:
            async with self.store.transaction() as session:
                row = await archive_store.get_job(session, sitting_id)
                if row is not None:
                    row.state = "done" if error is None else "failed"
                    row.finished_at = utcnow()
                    if error is not None:
                        row.error = json.dumps([error.template, error.params], default=str)
        except Exception:
            log.exception("recording job of sitting %s: outcome not stored", sitting_id)
        finally:
            self._tasks.pop(sitting_id, None)

    async def _beat(self, sitting_id: int, finished: asyncio.Event) -> None:
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat_s):
                    await finished.wait()
                return
            try:
                async with self.store.transaction() as session:
                    await archive_store.beat(session, sitting_id, utcnow())
            except DomainError:
                log.warning("recording job of sitting %s: heartbeat not stored", sitting_id)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.resume_stale()
            except DomainError:
                log.warning("recording jobs: database unavailable, next sweep later")
            await asyncio.sleep(self.heartbeat_s)

    async def _edit(self, sitting_id: int, actor: str, params: dict[str, Any]) -> None:
        await self.apply(
            sitting_id,
            trim_start=params["trim_start"],
            trim_end=params["trim_end"],
            cuts=[(start, end) for start, end in params["cuts"]],
            poster_s=params["poster_s"],
            actor=actor,
        )

    async def _publish(self, sitting_id: int, actor: str, params: dict[str, Any]) -> None:
        """Publishing (with the whole recording when it was never cut), then the status."""
        await self.ensure_published_media(sitting_id, actor)
        await self.publish_status(sitting_id, actor)

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

    async def cut_preview(
        self, sitting_id: int, asked: float, *, end: bool = False, field: str = "trim_start"
    ) -> CutPoint:
        """Where a cut typed as `asked` really falls, with its frame: shown before it is applied
        and before the recording is published."""
        async with self.store.read() as session:
            sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        if sitting.status not in EDITABLE or sitting.recording is None:
            raise Conflict(N_("Rapat ini tidak memiliki rekaman."))
        check_within(sitting.recording.duration_s, asked, field)
        try:
            return await asyncio.to_thread(
                cut_point, self.media_dir / str(sitting_id), asked, end=end
            )
        except FileNotFoundError:
            raise Conflict(N_("Berkas rekaman rapat ini tidak ditemukan.")) from None

    async def ensure_published_media(self, sitting_id: int, actor: str) -> None:
        """Publishing without an edit publishes the whole recording as it is."""
        async with self.store.read() as session:
            edit = await archive_store.get_edit(session, sitting_id)
            sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        if edit is None and sitting.recording is not None:
            await self.apply(
                sitting_id, trim_start=0.0, trim_end=None, cuts=[], poster_s=None, actor=actor
            )
