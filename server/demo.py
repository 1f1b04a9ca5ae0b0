"""Demo data for `sidang demo`: DPRD Kota Pekalongan with 35 members and a few sittings."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import func, select

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import keys
from server.config import Config
from server.domain.localtime import zone
from server.domain.roles import Role
from server.domain.sitting import QuorumRule, SittingStatus, SittingType
from server.passwords import hash_password
from server.search.stemming import stem_text
from server.store import Store, repo
from server.store.models import ForumReply, ForumThread, ForumTopic, User

log = logging.getLogger(__name__)

DEMO_PASSWORD = "sidang-demo"
LIVE_DEMO_TITLE = "Rapat Paripurna Penyampaian Nota Keuangan RAPBD 2027"

FRAKSI = [
    ("PKB", 8),
    ("PDI Perjuangan", 6),
    ("Golkar", 5),
    ("Gerindra", 5),
    ("PKS", 4),
    ("Demokrat", 3),
    ("PAN", 2),
    ("PPP", 2),
]
NAMES = [
    "Ahmad Fauzi",
    "Siti Aminah",
    "Bambang Sutrisno",
    "Dewi Lestari",
    "Muhammad Rizki",
    "Sri Wahyuni",
    "Agus Salim",
    "Nur Hidayah",
    "Joko Purnomo",
    "Rina Marlina",
    "Hadi Santoso",
    "Endang Susilowati",
    "Taufik Hidayat",
    "Yuliana Sari",
    "Slamet Riyadi",
    "Fitri Handayani",
    "Eko Prasetyo",
    "Lilis Suryani",
    "Abdul Rohman",
    "Wahyu Nugroho",
    "Khoirul Anam",
    "Nining Kurniasih",
    "Supriyanto",
    "Ratna Dewi",
    "Imam Syafii",
    "Maslahah",
    "Teguh Wibowo",
    "Umi Kulsum",
    "Arif Rahman",
    "Tri Wulandari",
    "Zaenal Arifin",
    "Puji Astuti",
    "Hendra Gunawan",
    "Mutmainah",
    "Rudi Hartono",
]
KOMISI = ["Komisi A", "Komisi B", "Komisi C"]
ARCHIVE_DEMO_TITLE = "Rapat Paripurna Pengesahan Raperda Pengelolaan Sampah"
ARCHIVE_DEMO_AGENDA = [
    "Pembukaan",
    "Laporan Pansus tentang penganggaran pengelolaan sampah",
    "Pengambilan keputusan",
]
ARCHIVE_CHAPTER_S = 8.0
DEMO_AGENDA = [
    "Pembukaan",
    "Penyampaian Nota Keuangan oleh Wali Kota",
    "Pandangan umum fraksi-fraksi",
    "Penutup",
]


async def seed_demo(config: Config) -> bool:
    """Create the demo institution, people and sittings once; returns False if already there."""
    store = Store(config.database_url)
    try:
        async with store.transaction() as session:
            if await session.scalar(select(func.count()).select_from(User)):
                return False
            await repo.ensure_institution(session, "DPRD Kota Pekalongan", 35)
            fraksi = [name for name, seats in FRAKSI for _ in range(seats)]
            members = [
                await repo.create_member(session, name, fraksi[i], KOMISI[i % 3])
                for i, name in enumerate(NAMES)
            ]
            password_hash = hash_password(DEMO_PASSWORD)
            accounts = [
                ("admin", Role.ADMIN, None),
                ("sekretariat", Role.SEKRETARIAT, None),
                ("pimpinan", Role.PIMPINAN, members[0].id),
                ("anggota", Role.ANGGOTA, members[1].id),
                ("moderator", Role.MODERATOR, None),
            ]
            for username, role, member_id in accounts:
                await repo.create_user(session, username, password_hash, role.value, member_id)
            await _seed_sittings(session)
            await _seed_forum(session, members[1].name)
        return True
    finally:
        await store.close()


async def _seed_forum(session, member_name: str) -> None:
    """A resident's question in the first topic (the migration seeds one per komisi), a
    neighbour's reply, and a member's answer marked as the DPRD's official reply."""
    topic = await session.scalar(select(ForumTopic).order_by(ForumTopic.id).limit(1))
    if topic is None:
        return
    title = "Kapan perekaman KTP-el keliling ke kelurahan lagi?"
    body = "Orang tua saya sulit datang ke Disdukcapil. Apakah ada jadwal jemput bola?"
    posters = {"identity_hash": "demo", "ip_hash": "demo"}
    thread = ForumThread(
        topic_id=topic.id,
        title=title,
        body=body,
        search_text=stem_text(f"{title}\n{body}"),
        author_name="Rina",
        official=True,
        reply_count=2,
        **posters,
    )
    session.add(thread)
    await session.flush()
    session.add_all(
        [
            ForumReply(
                thread_id=thread.id,
                body="Di kelurahan kami terakhir bulan lalu.",
                author_name="Agus",
                **posters,
            ),
            ForumReply(
                thread_id=thread.id,
                body="Komisi A sudah meminta Disdukcapil menjadwalkan layanan keliling setiap "
                "bulan; jadwalnya diumumkan di kelurahan.",
                author_name=member_name,
                badge="anggota",
                official=True,
                **posters,
            ),
        ]
    )


async def _seed_sittings(session) -> None:
    today = dt.datetime.now(zone()).replace(hour=9, minute=0, second=0, microsecond=0)
    plans = [
        (
            SittingType.PARIPURNA,
            LIVE_DEMO_TITLE,
            today,
            SittingStatus.SCHEDULED,
            "",
            DEMO_AGENDA,
        ),
        (
            SittingType.KOMISI,
            "Rapat Kerja Komisi B dengan Dinas Perdagangan",
            today + dt.timedelta(days=2),
            SittingStatus.SCHEDULED,
            "Komisi B",
            ["Evaluasi revitalisasi Pasar Banjarsari", "Penataan pedagang kaki lima"],
        ),
        (
            SittingType.PANSUS,
            "Pansus Raperda Pengelolaan Sampah",
            today + dt.timedelta(days=5),
            SittingStatus.SCHEDULED,
            "",
            ["Pembahasan Bab III Pasal 12–20", "Masukan masyarakat"],
        ),
        (
            SittingType.RDP,
            "RDP tentang Banjir Rob Pesisir Utara",
            today + dt.timedelta(days=9),
            SittingStatus.SCHEDULED,
            "Komisi C",
            ["Paparan BPBD", "Tanggapan warga terdampak"],
        ),
        (
            SittingType.PARIPURNA,
            "Rapat Paripurna Pengesahan Perda APBD Perubahan 2026",
            today - dt.timedelta(days=20),
            SittingStatus.ENDED,
            "",
            ["Laporan Badan Anggaran", "Pendapat akhir fraksi", "Pengambilan keputusan"],
        ),
    ]
    for kind, title, starts_at, status, komisi, agenda in plans:
        sitting = await repo.create_sitting(
            session,
            type=kind,
            title=title,
            starts_at=starts_at.astimezone(dt.UTC),
            location="Ruang Paripurna DPRD Kota Pekalongan",
            is_public=True,
            quorum_rule=QuorumRule.TWO_THIRDS if kind is SittingType.PARIPURNA else QuorumRule.HALF,
            komisi=komisi,
        )
        for title_ in agenda:
            await repo.add_agenda_item(session, sitting, title=title_, description="")
        path = {
            SittingStatus.SCHEDULED: [SittingStatus.SCHEDULED],
            SittingStatus.ENDED: [SittingStatus.SCHEDULED, SittingStatus.LIVE, SittingStatus.ENDED],
        }[status]
        for step in path:
            await repo.change_status(session, sitting, step, now=starts_at.astimezone(dt.UTC))


async def demo_live_ctx(app: web.Application) -> AsyncIterator[None]:
    """Make the demo sitting live, fed by the synthetic hall source (no camera needed), and
    record a short sitting for the archive in the background on the first run.

    Each `sidang demo` run ends the previous demo broadcast at shutdown, so a fresh scheduled
    sitting is created when none is waiting.
    """
    store, live = app[keys.STORE], app[keys.LIVE]
    async with store.transaction() as session:
        waiting = [s for s in await _titled(session, LIVE_DEMO_TITLE) if s.status == "scheduled"]
        sitting_id = (
            waiting[0].id
            if waiting
            else await _new_scheduled(session, LIVE_DEMO_TITLE, DEMO_AGENDA, chapter_s=None)
        )
    broadcast = await live.start(sitting_id, actor="demo")
    await broadcast.attach_hall(SyntheticVideoTrack(LIVE_DEMO_TITLE), SyntheticAudioTrack())
    log.info("demo sitting %s is live at /sidang/%s", sitting_id, sitting_id)
    # Stopped by an event, never cancelled: a task cancelled inside a store call while SQLite
    # connects (aiosqlite) left its connection's close pending for good, and SIGTERM with it.
    stopping = asyncio.Event()
    archive_demo = asyncio.create_task(_record_archive_demo(app, stopping), name="demo-archive")
    yield
    stopping.set()
    await archive_demo


async def _record_archive_demo(app: web.Application, stopping: asyncio.Event) -> None:
    """Broadcast ARCHIVE_DEMO_TITLE for a short while, end it and publish it, so the archive,
    chapters and downloads have something real to show. When the server stops first, the
    broadcast is ended with the others (LiveService.close) and published on a later run."""
    store, live = app[keys.STORE], app[keys.LIVE]
    async with store.transaction() as session:
        existing = await _titled(session, ARCHIVE_DEMO_TITLE)
        if any(s.status in ("published", "live") for s in existing):
            return
        ended = [s for s in existing if s.status == "ended" and s.recording is not None]
        sitting_id = (
            ended[0].id
            if ended
            else await _new_scheduled(
                session, ARCHIVE_DEMO_TITLE, ARCHIVE_DEMO_AGENDA, chapter_s=ARCHIVE_CHAPTER_S
            )
        )
    if not ended:
        broadcast = await live.start(sitting_id, actor="demo")
        await broadcast.attach_hall(
            SyntheticVideoTrack(ARCHIVE_DEMO_TITLE), SyntheticAudioTrack(freq=330.0)
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), ARCHIVE_CHAPTER_S * len(ARCHIVE_DEMO_AGENDA))
        if stopping.is_set():
            return
        await live.end(sitting_id, actor="demo")
    await app[keys.ARCHIVE].ensure_published_media(sitting_id, "demo")
    await live.transition(sitting_id, SittingStatus.PUBLISHED, "demo")
    log.info("demo archive sitting %s is published at /sidang/%s", sitting_id, sitting_id)


async def _titled(session, title: str) -> list:
    sittings = await repo.list_sittings(session, public_only=False, limit=1000)
    return [s for s in sittings if s.title == title]


async def _new_scheduled(session, title: str, agenda: list[str], chapter_s: float | None) -> int:
    sitting = await repo.create_sitting(
        session,
        type=SittingType.PARIPURNA,
        title=title,
        starts_at=dt.datetime.now(dt.UTC),
        location="Ruang Paripurna DPRD Kota Pekalongan",
        is_public=True,
        quorum_rule=QuorumRule.TWO_THIRDS,
        komisi="",
    )
    for index, item in enumerate(agenda):
        offsets = {}
        if chapter_s is not None:
            offsets = {"start_offset": index * chapter_s, "end_offset": (index + 1) * chapter_s}
        await repo.add_agenda_item(session, sitting, title=item, description="", **offsets)
    await repo.change_status(session, sitting, SittingStatus.SCHEDULED)
    return sitting.id
