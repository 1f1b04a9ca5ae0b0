"""Demo data for `sidang demo`: DPRD Kota Pekalongan with 35 members, a few sittings, a Raperda
open for input and a forum thread a member answered."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import func, select

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import demo_raperda, keys
from server.auth import CurrentUser
from server.bus import MemoryBus
from server.config import Config
from server.domain.localtime import zone
from server.domain.moderation import Sender
from server.domain.roles import Role
from server.domain.sitting import QuorumRule, SittingStatus, SittingType
from server.forum.service import Author, ForumService, Opening
from server.mail import Mailer
from server.passwords import hash_password
from server.pengaduan.vault import Vault
from server.raperda.identity import Resident
from server.raperda.service import RaperdaService
from server.raperda.stage import Stage
from server.reports import ReportService
from server.signing import Signer
from server.store import Store, repo
from server.store import raperda as raperda_store
from server.store.models import ForumThread, ForumTopic, User, utcnow

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
    """Create the demo institution, people and sittings once, then the Raperda input and the
    forum thread if they are missing; returns False if the institution was already there."""
    created = await _seed_institution(config)
    await seed_participation(config)
    return created


async def _seed_institution(config: Config) -> bool:
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
        return True
    finally:
        await store.close()


async def seed_participation(config: Config, now: dt.datetime | None = None) -> None:
    """A Raperda open for input with residents' input and the committee's answer, and a forum
    thread a member answered officially: made through the services, as the people would, each
    only when it is not there yet (an older demo database gains them too)."""
    config = config.with_secret()
    store, bus, signer, mailer = (
        Store(config.database_url),
        MemoryBus(),
        Signer(config.secret_key),
        Mailer(None),
    )
    await bus.start()
    try:
        async with store.read() as session:
            member = await repo.get_user_by_username(session, "anggota")
            staff = await repo.get_user_by_username(session, "sekretariat")
        if member is None or staff is None:
            return
        await _seed_raperda(RaperdaService(store, bus, signer, mailer), signer, now or utcnow())
        forum = ForumService(
            store,
            bus,
            signer,
            ReportService(store, bus),
            Vault(config.data_keys),
            mailer,
            config.public_url,
        )
        await _seed_forum(store, forum, signer, CurrentUser.of(member), CurrentUser.of(staff))
    finally:
        await bus.close()
        await store.close()


def _resident(signer: Signer, name: str, verified_by: str) -> tuple[Resident, Sender]:
    identity = signer.digest(f"resident-{verified_by}", f"demo:{name}")
    return Resident(name, identity, verified_by), Sender(identity, signer.digest("demo-ip", name))


async def _seed_raperda(service: RaperdaService, signer: Signer, now: dt.datetime) -> None:
    async with service.store.read() as session:
        drafts = await raperda_store.drafts(session, published_only=False)
        sittings = await _titled(session, demo_raperda.RAPERDA_SITTING)
    found = [d for d in drafts if d.title == demo_raperda.RAPERDA_TITLE]
    if found:
        raperda_id = found[0].id
    else:
        raperda_id = await service.create(
            demo_raperda.RAPERDA_TITLE, demo_raperda.RAPERDA_TEXT, "sekretariat"
        )
        await service.publish(raperda_id, {}, "sekretariat")
    draft = await service.draft_page(raperda_id, now=now)
    if draft.stage is not Stage.OPEN:  # the window stays open however old the demo is
        await service.update(
            raperda_id,
            title=demo_raperda.RAPERDA_TITLE,
            summary="Penataan lokasi, pendaftaran tanpa biaya, pemberdayaan dan sanksi bagi "
            "pedagang kaki lima.",
            opens_at=now - dt.timedelta(days=3),
            closes_at=now + dt.timedelta(days=30),
            document_id=None,
            naskah_id=None,
            sitting_ids=[s.id for s in sittings],
            enacted=False,
            actor="sekretariat",
        )
    lineages = {u.row.number: u.lineage for u in draft.units if u.row.kind == "pasal"}
    if not any(draft.counts.values()):
        for given in demo_raperda.INPUTS:
            resident, sender = _resident(signer, given.name, given.verified_by)
            await service.post(
                raperda_id,
                resident,
                sender,
                lineage=lineages[given.pasal] if given.pasal else None,
                ayat=given.ayat,
                position=given.position,
                text=given.text,
                proposed=given.proposed,
                now=now,
            )
    if not draft.responses:
        lineage = lineages[demo_raperda.RESPONSE_PASAL]
        await service.respond(raperda_id, lineage, demo_raperda.RESPONSE, "anggota")


async def _seed_forum(
    store: Store, forum: ForumService, signer: Signer, member: CurrentUser, staff: CurrentUser
) -> None:
    """A resident's question in Komisi A's topic (the migration seeds one per komisi), a
    neighbour's reply, and a member's answer marked as the DPRD's official reply."""
    title = "Kapan perekaman KTP-el keliling ke kelurahan lagi?"
    async with store.read() as session:
        topic = await session.scalar(select(ForumTopic).order_by(ForumTopic.id).limit(1))
        exists = await session.scalar(select(ForumThread.id).where(ForumThread.title == title))
    if exists is not None:
        return
    if topic is None:
        topic = await forum.add_topic(
            staff, "Komisi A", "Pemerintahan dan administrasi kependudukan", "KTP, kelurahan."
        )

    def resident(name: str) -> Author:
        return Author(_resident(signer, name, "email")[1], name=name)

    body = "Orang tua saya sulit datang ke Disdukcapil. Apakah ada jadwal jemput bola?"
    thread = await forum.open_thread(Opening(topic.id, title, body), resident("Rina"))
    await forum.reply(thread.id, "Di kelurahan kami terakhir bulan lalu.", resident("Agus"))
    answer = await forum.reply(
        thread.id,
        "Komisi A sudah meminta Disdukcapil menjadwalkan layanan keliling setiap bulan; "
        "jadwalnya diumumkan di kelurahan.",
        Author(_resident(signer, member.username, "email")[1], user=member),
    )
    await forum.mark_official(member, answer.id, True)


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
            async with asyncio.timeout(ARCHIVE_CHAPTER_S * len(ARCHIVE_DEMO_AGENDA)):
                await stopping.wait()
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
