"""Live sittings on this node: the registry that owns each sitting's media orchestrator.

The HTTP layer asks this service to go live, end, switch layouts and accept WHIP publishers; the
service keeps the database status and the media pipeline in step (a sitting is `live` exactly
while its pipeline runs).

Several nodes share one media volume, so a live sitting's media belongs to one node at a time: the
owner holds a lease on the bus (`live:owner:{id}`: its id and the URL the other nodes forward its
WHIP, room and playlist requests to), renewed every LEASE_TTL_S / 3. When the owner dies the lease
lapses, and the next WHIP publish on any node takes the sitting over: it finishes the dead node's
segments as an interrupted recording and resumes it, so the record has one hole, not two files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from media import recorder
from media.ingest import IngestSession
from media.live import LiveSitting, recover_interrupted
from media.program import Layout, LayoutKind
from media.recorder import RecordingInfo
from media.storage import MediaStorageError
from server.bus import Bus
from server.domain.errors import (
    Conflict,
    CoordinationUnavailable,
    NotFound,
    StorageUnavailable,
)
from server.domain.sitting import (
    SittingStatus,
    check_resume,
    check_takeover,
    check_transition,
)
from server.i18n import N_
from server.store import Store, repo
from server.tasks import stop

log = logging.getLogger(__name__)

LEASE_TTL_S = 10.0
OWNER_CACHE_S = 1.0
LAYOUTS = {
    "hall": N_("Aula penuh"),
    "grid": N_("Kisi"),
    "slate": N_("Slate (jeda siaran)"),
}


@dataclass(frozen=True)
class Owner:
    """The node holding a live sitting's lease."""

    node: str
    url: str


@dataclass
class Publisher:
    """One WHIP session; `resource` is the secret-ish id in its Location URL."""

    resource: str
    session: IngestSession


class LiveService:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        media_dir: Path,
        ice_servers: list[dict],
        node_url: str = "http://127.0.0.1:8080",
    ) -> None:
        self.store = store
        self.bus = bus
        self.media_dir = media_dir
        self.ice_servers = ice_servers
        self.node_id = uuid.uuid4().hex[:12]
        self.node_url = node_url
        self._lease = json.dumps({"node": self.node_id, "url": node_url})
        self._owners: dict[int, tuple[float, Owner | None]] = {}
        self.sittings: dict[int, LiveSitting] = {}
        self.publishers: dict[int, Publisher] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._heartbeat: asyncio.Task | None = None

    # -- lifecycle of the service ----------------------------------------------------------

    async def open(self) -> None:
        """Recover recordings that a crash interrupted, then renew our leases periodically.
        A sitting still under a lease is left alone: another node is recording it on the
        shared volume (or this node's previous process was, and the next WHIP publish
        takes it over once the lease lapses)."""
        leased = {
            path.name
            for path in (self.media_dir.iterdir() if self.media_dir.is_dir() else ())
            if path.name.isdigit() and await self.owner(int(path.name)) is not None
        }
        for sitting_id, info in await asyncio.to_thread(
            recover_interrupted, self.media_dir, leased
        ):
            await self._recovered(sitting_id, info)
        self._heartbeat = asyncio.create_task(self._announce(), name="live-owner-heartbeat")

    async def close(self) -> None:
        """Graceful shutdown ends every live sitting so its recording is finished and stored."""
        if self._heartbeat is not None:
            await stop(self._heartbeat)
        for sitting_id in list(self.sittings):
            try:
                await self.end(sitting_id, actor="system:shutdown")
            except Exception:
                log.exception("could not end sitting %s cleanly at shutdown", sitting_id)

    async def _recovered(self, name: str, info: RecordingInfo, end: bool = True) -> None:
        """Store a recording a crash interrupted; with `end`, the sitting has ended."""
        if not name.isdigit():
            return
        async with self.store.transaction() as session:
            try:
                sitting = await repo.get_sitting(session, int(name), public_only=False)
            except NotFound:
                log.warning("recovered media for unknown sitting %s", name)
                return
            await self._save_recording(session, sitting, info, recovered=True)
            if end and sitting.status == SittingStatus.LIVE.value:
                await repo.change_status(session, sitting, SittingStatus.ENDED)
            await repo.audit(
                session,
                "system",
                "recording.recovered",
                f"sitting:{sitting.id}",
                f"{info.duration_s:.1f} s",
            )
        log.info(
            "recovered the interrupted recording of sitting %s (%.1f s)", name, info.duration_s
        )

    async def _announce(self) -> None:
        while True:
            for sitting_id in list(self.sittings):
                if not await self._claim(sitting_id):
                    log.error("sitting %s: another node holds its lease", sitting_id)
            await asyncio.sleep(LEASE_TTL_S / 3)

    async def _claim(self, sitting_id: int) -> bool:
        return await self.bus.claim(f"live:owner:{sitting_id}", self._lease, LEASE_TTL_S)

    async def owner(self, sitting_id: int) -> Owner | None:
        """The node whose lease on the sitting is current, this one included. Looked up at most
        once a second per sitting: every viewer request that reaches a non-owner asks, and a
        burst of them must not queue on the bus's connection pool."""
        now = time.monotonic()
        cached = self._owners.get(sitting_id)
        if cached is not None and now - cached[0] < OWNER_CACHE_S:
            return cached[1]
        value = await self.bus.get_value(f"live:owner:{sitting_id}")
        lease = json.loads(value) if value is not None else None
        owner = Owner(lease["node"], lease["url"]) if lease is not None else None
        self._owners[sitting_id] = (now, owner)
        return owner

    async def running(self, sitting_id: int) -> bool:
        """Whether the sitting's pipeline runs on this node or on another that holds its
        lease: behind nginx a staff page may come from either node."""
        return sitting_id in self.sittings or await self.owner(sitting_id) is not None

    async def take_over(self, sitting_id: int) -> bool:
        """Continue a live sitting whose owner died (its lease lapsed): finish what the dead
        node recorded as an interrupted recording, then resume it here. False when the sitting
        is not live or another node holds (or just took) the lease."""
        async with self.store.read() as session:
            sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        if sitting.status != SittingStatus.LIVE.value:
            return False
        previous = await self.owner(sitting_id)
        if previous is not None and previous.url == self.node_url:
            # This node's previous process (it held this address, which we hold now) crashed.
            await self.bus.delete_value(f"live:owner:{sitting_id}")
        if not await self._claim(sitting_id):
            return False
        sitting_dir = self.media_dir / str(sitting_id)
        if (sitting_dir / recorder.FINISHED).exists() or not sitting_dir.is_dir():
            await self.bus.delete_value(f"live:owner:{sitting_id}")
            return False
        info = await asyncio.to_thread(recorder.recover, sitting_dir)
        # The sitting stays live throughout: residents' pages poll its status, and one that
        # read "ended" for a moment would stop playing for good.
        await self._recovered(str(sitting_id), info, end=False)
        await self.start(sitting_id, actor="system:takeover", takeover=True)
        log.warning("took over live sitting %s after its owner's lease lapsed", sitting_id)
        return True

    def _lock(self, sitting_id: int) -> asyncio.Lock:
        return self._locks.setdefault(sitting_id, asyncio.Lock())

    # -- going live and ending -------------------------------------------------------------

    async def start(self, sitting_id: int, actor: str, takeover: bool = False) -> LiveSitting:
        """scheduled → live: start the program (slate until the hall publishes) and recording.
        ended → live resumes a sitting a crash interrupted: its recording continues. With
        `takeover`, a sitting still live whose owner died continues here the same way."""
        async with self._lock(sitting_id):
            async with self.store.read() as session:
                sitting = await repo.get_sitting(session, sitting_id, public_only=False)
            resuming = takeover or sitting.status == SittingStatus.ENDED.value
            if takeover:
                check_takeover(SittingStatus(sitting.status))
            elif resuming:
                interrupted = sitting.recording is not None and sitting.recording.recovered
                check_resume(SittingStatus.ENDED, interrupted)
            else:
                check_transition(SittingStatus(sitting.status), SittingStatus.LIVE)
                if (self.media_dir / str(sitting_id)).exists():
                    raise Conflict(
                        N_("Rekaman rapat ini sudah ada; rapat tidak dapat disiarkan ulang.")
                    )
            if not await self._claim(sitting_id):
                if await self.bus.get_value(f"live:owner:{sitting_id}") is None:
                    raise CoordinationUnavailable()
                raise Conflict(N_("Rapat ini sedang disiarkan oleh server lain."))
            live = LiveSitting(str(sitting_id), sitting.title, self.media_dir, resume=resuming)
            try:
                await live.start(wait_ready=None)
            except (MediaStorageError, OSError) as exc:
                await self.bus.delete_value(f"live:owner:{sitting_id}")
                raise StorageUnavailable(
                    N_("Direktori media tidak dapat ditulis: %(error)s"), error=exc
                ) from exc
            started = dt.datetime.fromtimestamp(live.started_at, dt.UTC)
            try:
                async with self.store.transaction() as session:
                    sitting = await repo.get_sitting(session, sitting_id, public_only=False)
                    if takeover:
                        pass  # live all along
                    elif resuming:
                        await repo.resume_live(session, sitting)
                    else:
                        await repo.change_status(session, sitting, SittingStatus.LIVE, now=started)
                    action = "sitting.resumed" if resuming else "sitting.live"
                    await repo.audit(session, actor, action, f"sitting:{sitting_id}")
            except BaseException:
                await live.stop()
                await self.bus.delete_value(f"live:owner:{sitting_id}")
                raise
            self.sittings[sitting_id] = live
            return live

    async def end(self, sitting_id: int, actor: str) -> RecordingInfo | None:
        """live → ended: drop the publisher, finish the recording, store it with the status."""
        async with self._lock(sitting_id):
            async with self.store.read() as session:
                sitting = await repo.get_sitting(session, sitting_id, public_only=False)
            check_transition(SittingStatus(sitting.status), SittingStatus.ENDED)
            live = self.sittings.pop(sitting_id, None)
            publisher = self.publishers.pop(sitting_id, None)
            if publisher is not None:
                await publisher.session.close()
            info = None
            if live is not None:
                try:
                    info = await live.stop()
                except MediaStorageError as exc:
                    log.error("sitting %s ended with a storage error: %s", sitting_id, exc)
                except Exception:  # the sitting must end even if finishing the recording fails
                    log.exception("sitting %s: the recording could not be finished", sitting_id)
            async with self.store.transaction() as session:
                sitting = await repo.get_sitting(session, sitting_id, public_only=False)
                await repo.change_status(session, sitting, SittingStatus.ENDED)
                if info is not None:
                    await self._save_recording(session, sitting, info, recovered=False)
                await repo.audit(
                    session,
                    actor,
                    "sitting.ended",
                    f"sitting:{sitting_id}",
                    f"{info.duration_s:.1f} s" if info else "no recording",
                )
            await self.bus.delete_value(f"live:owner:{sitting_id}")
            return info

    async def _save_recording(self, session, sitting, info: RecordingInfo, recovered: bool):
        await repo.save_recording(
            session,
            sitting,
            playlist_path=f"{sitting.id}/index.m3u8",
            mp4_path=f"{sitting.id}/{info.path.name}",
            duration_s=info.duration_s,
            sha256=info.sha256,
            size=info.size,
            recovered=recovered,
            expected_s=info.expected_s,
            gaps=json.dumps(info.gaps),
        )

    async def transition(self, sitting_id: int, target: SittingStatus, actor: str) -> None:
        """Every status change goes through here, so `live` always means a running pipeline."""
        if target is SittingStatus.LIVE:
            await self.start(sitting_id, actor)
        elif target is SittingStatus.ENDED:
            await self.end(sitting_id, actor)
        else:
            async with self.store.transaction() as session:
                sitting = await repo.get_sitting(session, sitting_id, public_only=False)
                previous = sitting.status
                await repo.change_status(session, sitting, target)
                await repo.audit(
                    session,
                    actor,
                    "sitting.status",
                    f"sitting:{sitting_id}",
                    f"{previous} -> {target.value}",
                )

    def get(self, sitting_id: int) -> LiveSitting:
        live = self.sittings.get(sitting_id)
        if live is None:
            raise NotFound(N_("Siaran langsung rapat ini tidak berjalan di server ini."))
        return live

    def health_problem(self) -> str | None:
        """/healthz turns 503 while any live sitting's media is unhealthy, naming the sitting and
        the rendition: storage refused, a rendition without a new part for three target
        durations, or a program below 0.9x real time for 10 s."""
        found = [
            f"sitting {sid}: {problem.describe()}"
            for sid, live in self.sittings.items()
            for problem in live.problems()
        ]
        return "; ".join(found) or None

    def set_layout(self, sitting_id: int, kind: str) -> None:
        if kind not in LAYOUTS:
            raise Conflict(N_("Tata letak tidak dikenal: %(kind)s."), kind=kind)
        self.get(sitting_id).set_layout(Layout(LayoutKind(kind)))

    # -- WHIP ingest -------------------------------------------------------------------------

    async def publish(self, sitting_id: int, offer_sdp: str) -> tuple[str, str]:
        """Accept a hall publisher. A second publisher takes over cleanly (OBS reconnects
        without a DELETE after a network drop), so the newest session always wins."""
        live = self.get(sitting_id)
        session = IngestSession(live)
        answer = await session.create(offer_sdp, self.ice_servers)
        previous = self.publishers.get(sitting_id)
        resource = uuid.uuid4().hex
        self.publishers[sitting_id] = Publisher(resource, session)
        if previous is not None:
            await previous.session.close()
        return resource, answer

    async def unpublish(self, sitting_id: int, resource: str) -> None:
        publisher = self.publishers.get(sitting_id)
        if publisher is None or publisher.resource != resource:
            raise NotFound(N_("Sesi WHIP tidak ditemukan."))
        del self.publishers[sitting_id]
        await publisher.session.close()
