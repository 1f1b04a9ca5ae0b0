"""File, follow and handle complaints. Views parse and render; the rules live here and in the
small modules beside it (status, workdays, photos, vault, codes)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from server.bus import Bus
from server.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    StorageUnavailable,
)
from server.domain.moderation import Gate, Limits, Refused, Sender, WordFilter, clean_text
from server.domain.roles import STAFF, Role
from server.i18n import N_
from server.mail import Mailer
from server.pengaduan import codes, workdays
from server.pengaduan.photos import MAX_PHOTOS, TOO_MANY, clean_photo, refuse
from server.pengaduan.stats import Breakdown, Statistics
from server.pengaduan.status import (
    CLOSED,
    STATUS_LABELS,
    Privacy,
    Status,
    check_transition,
)
from server.pengaduan.vault import Contact, Vault
from server.signing import Signer
from server.store import Store, repo
from server.store import comments as repo_comments
from server.store import pengaduan as store
from server.store.models import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    Open311Key,
    Sitting,
    utcnow,
)

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 3000
MAX_LOCATION = 300
MAX_FIELD = 100
# A resident files few complaints; a flood from one address is abuse. Counted on the bus by the
# moderation gate, the same counters every node shares.
FILING_LIMITS = Limits(per_identity=5, per_ip=10, window_s=3600.0, duplicate_window_s=86400.0)
# Who may read the reporter's identity: for an *anonim* or *rahasia* report only the
# administrator, the named handler; for a *biasa* one the secretariat too.
CONTACT_READERS = {
    Privacy.BIASA: STAFF,
    Privacy.ANONIM: frozenset({Role.ADMIN}),
    Privacy.RAHASIA: frozenset({Role.ADMIN}),
}
# An Open311 client speaks for many residents, so it gets more room, counted per key.
API_LIMITS = Limits(per_identity=60, per_ip=120, window_s=60.0, duplicate_window_s=3600.0)
STATS_TTL_S = 60.0
RETENTION_EVERY_S = 3600.0


class CurrentUser(Protocol):
    """The signed-in account as the service needs it (server.auth.CurrentUser fits), so this
    module stays free of the HTTP layer."""

    username: str
    member_id: int | None

    def has(self, roles: Iterable[Role]) -> bool: ...


@dataclass(frozen=True)
class Filing:
    category_id: int | None
    description: str
    location: str = ""
    kelurahan: str = ""
    lat: float | None = None
    lon: float | None = None
    privacy: Privacy = Privacy.BIASA
    contact: Contact = field(default_factory=Contact)
    photos: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Filed:
    code: str
    secret: str
    held: bool


@dataclass(frozen=True)
class Report:
    """One complaint as a given reader may see it."""

    complaint: Complaint
    events: list[ComplaintEvent]
    photos: list[int]
    reporter: bool  # the secret link was given
    overdue: bool
    reporter_name: str = ""  # only for a *biasa* report
    sitting: Sitting | None = None  # where it was discussed, when that sitting is public

    @property
    def description(self) -> str:
        c = self.complaint
        return c.description if self.reporter or not c.text_hidden else ""


class PengaduanService:
    def __init__(
        self,
        store_: Store,
        bus: Bus,
        signer: Signer,
        vault: Vault,
        mailer: Mailer,
        timezone: str = "Asia/Jakarta",
        limits: Limits | None = None,
        api_limits: Limits | None = None,
    ) -> None:
        self.store = store_
        self.signer = signer
        self.vault = vault
        self.mailer = mailer
        self.tz = ZoneInfo(timezone)
        self.gate = Gate(bus, limits or FILING_LIMITS)
        self.api_gate = Gate(bus, api_limits or API_LIMITS)
        self.stats_ttl_s = STATS_TTL_S
        self._statistics: dict[int | None, tuple[float, Statistics]] = {}

    def today(self, now: dt.datetime | None = None) -> dt.date:
        return (now or utcnow()).astimezone(self.tz).date()

    def sender(self, ip: str, identity: str = "") -> Sender:
        digest = self.signer.digest
        ip_hash = digest("pengaduan-ip", ip)
        return Sender(digest("pengaduan-identity", identity) if identity else ip_hash, ip_hash)

    # Residents

    async def categories(self) -> list[ComplaintCategory]:
        async with self.store.read() as session:
            return list(await store.categories(session))

    async def file(
        self, filing: Filing, sender: Sender, now: dt.datetime | None = None, *, api: bool = False
    ) -> Filed:
        """Check, admit through the moderation gate, then store. A banned word holds the
        report for review instead of refusing it: a complaint may have to quote abuse."""
        now = now or utcnow()
        problems = _check_filing(filing)
        if problems:
            raise InvalidInput(N_("Periksa kembali isian yang ditandai."), fields=problems)
        if len(filing.photos) > MAX_PHOTOS:
            raise refuse(TOO_MANY)
        photos = [clean_photo(data) for data in filing.photos]
        token = self.vault.seal(filing.contact)
        try:
            await (self.api_gate if api else self.gate).admit(
                "pengaduan", sender, filing.description, 0
            )
        except Refused as refused:  # a flood or the same report again: wait, then retry
            raise RateLimited(refused.template, **refused.params) from None
        secret = codes.new_secret()
        today = self.today(now)
        async with self.store.transaction() as session:
            category = await store.get_category(session, filing.category_id or 0)
            if category is None or not category.active:
                raise InvalidInput(
                    N_("Pilih kategori."), fields={"category": N_("Pilih salah satu kategori.")}
                )
            words = WordFilter(await repo_comments.banned_patterns(session))
            held = words.match(f"{filing.description}\n{filing.location}") is not None
            code = await _free_code(session, today.year)
            verify_due = workdays.add_working_days(
                today, workdays.VERIFY_DAYS, await store.holidays(session)
            )
            complaint = Complaint(
                code=code,
                secret_hash=codes.secret_hash(secret),
                category_id=category.id,
                komisi=category.komisi,
                description=filing.description,
                location=filing.location,
                kelurahan=filing.kelurahan,
                lat=filing.lat,
                lon=filing.lon,
                privacy=filing.privacy.value,
                contact_token=token,
                has_email=bool(filing.contact.email),
                status=Status.DITERIMA.value,
                held=held,
                filed_at=now,
                month=f"{today:%Y-%m}",
                verify_due=verify_due,
                due_on=verify_due,
                updated_at=now,
            )
            await store.add_complaint(session, complaint, photos)
            await store.add_event(
                session, complaint, Status.DITERIMA.value, N_("Laporan Anda kami terima."), now
            )
        return Filed(code, secret, held)

    async def report(self, code: str, secret: str | None = None) -> Report:
        """The reporter's view with the right secret; otherwise the public view, which a
        *rahasia* or held report does not have. Both failures are the same 404, so an error
        never tells whether a secret report exists."""
        async with self.store.read() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            if complaint is None:
                raise NotFound(N_("Laporan tidak ditemukan."))
            reporter = codes.secret_matches(secret, complaint.secret_hash)
            if not reporter and not _is_public(complaint):
                raise NotFound(N_("Laporan tidak ditemukan."))
            return await self._report(session, complaint, reporter)

    async def photo(
        self, code: str, position: int, secret: str | None = None, *, staff: bool = False
    ) -> bytes:
        """A photo goes with its report: to staff always, else exactly where the report does."""
        report = await (self.staff_report(code) if staff else self.report(code, secret))
        if position not in report.photos:
            raise NotFound(N_("Foto tidak ditemukan."))
        async with self.store.read() as session:
            data = await store.photo(session, report.complaint.id, position)
        if data is None:
            raise NotFound(N_("Foto tidak ditemukan."))
        return data

    async def public_list(self, limit: int = 50, offset: int = 0) -> list[Complaint]:
        async with self.store.read() as session:
            return list(await store.public_list(session, limit, offset))

    async def erase_contact(self, code: str, secret: str) -> None:
        """A reporter may ask, through the secret link, for their contact data to go."""
        async with self.store.transaction() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            if complaint is None or not codes.secret_matches(secret, complaint.secret_hash):
                raise NotFound(N_("Laporan tidak ditemukan."))
            complaint.contact_token = None
            complaint.has_email = False
            await repo.audit(session, "pelapor", "pengaduan.contact.erase", code)

    async def open311_requests(
        self, limit: int = 1000, **filters
    ) -> tuple[list[Complaint], dict[int, str], set[int]]:
        """Public reports by the GeoReport filters, each with its newest note and whether it
        has a photo."""
        async with self.store.read() as session:
            found = list(await store.open311_requests(session, limit=limit, **filters))
            ids = [c.id for c in found]
            return (
                found,
                await store.latest_notes(session, ids),
                await store.with_photos(session, ids),
            )

    async def statistics(self, year: int | None = None) -> Statistics:
        """Public statistics change slowly and are the costliest page (grouping every report):
        one computation per year and node serves everyone for STATS_TTL_S."""
        now = time.monotonic()
        cached = self._statistics.get(year)
        if cached is not None and now - cached[0] < self.stats_ttl_s:
            return cached[1]
        statistics = await self.compute_statistics(year)
        self._statistics[year] = (now, statistics)
        return statistics

    async def compute_statistics(self, year: int | None = None) -> Statistics:
        async with self.store.read() as session:
            breakdowns = [
                Breakdown(group, await store.monthly_counts(session, group, year))
                for group in store.GROUPS
            ]
            return Statistics(
                breakdowns,
                await store.median_seconds(session, "verify_s"),
                await store.median_seconds(session, "finish_s"),
                await store.on_time_share(session, "verified_on_time"),
                await store.on_time_share(session, "followed_on_time"),
            )

    # Open311 clients

    async def issue_api_key(self, user: CurrentUser, name: str) -> str:
        """The key is shown once; the store keeps its hash."""
        name = clean_text(name)[:MAX_FIELD]
        if not name:
            raise InvalidInput(N_("Beri nama klien API."), fields={"name": N_("Wajib diisi.")})
        key = codes.new_secret()
        async with self.store.transaction() as session:
            await store.add_open311_key(session, name, codes.secret_hash(key))
            await repo.audit(session, user.username, "pengaduan.api_key", name)
        return key

    async def check_api_key(self, key: str) -> Open311Key:
        async with self.store.read() as session:
            found = await store.open311_key(session, codes.secret_hash(key)) if key else None
        if found is None:
            raise PermissionDenied(N_("api_key tidak dikenal."))
        return found

    def api_sender(self, client: Open311Key, ip: str) -> Sender:
        return Sender(f"open311:{client.id}", self.signer.digest("pengaduan-ip", ip))

    # Staff

    async def inbox(self, komisi: str | None = None, limit: int = 100) -> list[Report]:
        today = self.today()
        async with self.store.read() as session:
            rows = await store.inbox(session, komisi, limit)
        return [Report(c, [], [], False, workdays.is_overdue(c.due_on, today)) for c in rows]

    async def staff_report(self, code: str) -> Report:
        async with self.store.read() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            if complaint is None:
                raise NotFound(N_("Laporan tidak ditemukan."))
            return await self._report(session, complaint, True)

    async def contact(self, user: CurrentUser, code: str) -> Contact:
        """Reading a reporter's identity is limited by the report's privacy mode and always
        written to the audit log: who, when, which report."""
        async with self.store.transaction() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            if complaint is None:
                raise NotFound(N_("Laporan tidak ditemukan."))
            allowed = user.has(CONTACT_READERS[Privacy(complaint.privacy)])
            contact = self.vault.open(complaint.contact_token) if allowed else Contact()
            action = "pengaduan.contact.read" if allowed else "pengaduan.contact.denied"
            await repo.audit(session, user.username, action, code)
        if not allowed:  # after the commit: the refused attempt stays in the audit log
            raise PermissionDenied(N_("Identitas pelapor ini hanya dapat dibaca administrator."))
        return contact

    async def change_status(
        self,
        user: CurrentUser,
        code: str,
        target: Status,
        message: str,
        *,
        opd: str = "",
        komisi: str = "",
        now: dt.datetime | None = None,
    ) -> Complaint:
        """One step of the status machine, timestamped, with its message to the reporter (and
        to the reporters of reports merged into this one), audited."""
        now = now or utcnow()
        message, opd, komisi = clean_text(message), clean_text(opd), clean_text(komisi)
        async with self.store.transaction() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            if complaint is None:
                raise NotFound(N_("Laporan tidak ditemukan."))
            check_transition(
                Status(complaint.status), target, opd=opd, komisi=komisi, reason=message
            )
            holidays = await store.holidays(session)
            _apply(complaint, target, now, self.today(now), holidays, opd=opd, komisi=komisi)
            if target is Status.DITOLAK:
                complaint.reason = message
            await store.add_event(session, complaint, target.value, message, now)
            await repo.audit(
                session, user.username, "pengaduan.status", code, f"{target.value} {opd or komisi}"
            )
            recipients = [complaint] + list(await store.merged_into(session, complaint.id))
            for merged in recipients[1:]:
                await store.add_event(session, merged, target.value, message, now)
            tokens = [
                (c.contact_token, c.code) for c in recipients if c.has_email and c.contact_token
            ]
        self._notify(tokens, target, message)
        return complaint

    async def merge(
        self, user: CurrentUser, code: str, into: str, now: dt.datetime | None = None
    ) -> None:
        """A duplicate follows the report it joins: its reporter keeps their own link and is
        told of every later step."""
        now = now or utcnow()
        async with self.store.transaction() as session:
            child = await store.get_complaint(session, code) if codes.is_code(code) else None
            parent = await store.get_complaint(session, into) if codes.is_code(into) else None
            if child is None or parent is None or child.id == parent.id:
                raise InvalidInput(
                    N_("Kode laporan tujuan tidak ditemukan."),
                    fields={"into": N_("Periksa kode laporan.")},
                )
            if parent.merged_into_id is not None:
                raise InvalidInput(N_("Laporan tujuan sudah digabung ke laporan lain."))
            child.merged_into_id = parent.id
            for grandchild in await store.merged_into(session, child.id):
                grandchild.merged_into_id = parent.id
            message = f"Laporan digabung dengan {parent.code}."
            await store.add_event(session, child, child.status, message, now)
            await repo.audit(session, user.username, "pengaduan.merge", code, into)
            token = child.contact_token if child.has_email else None
        self._notify([(token, code)] if token else [], Status(child.status), message)

    async def link_sitting(
        self, user: CurrentUser, code: str, sitting_id: int | None, position: int | None
    ) -> None:
        """Note where the report was discussed; the report page links there."""
        async with self.store.transaction() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            if complaint is None:
                raise NotFound(N_("Laporan tidak ditemukan."))
            if sitting_id is not None:
                await repo.get_sitting(session, sitting_id, public_only=False)
            if position is not None and (
                sitting_id is None or await store.agenda_item(session, sitting_id, position) is None
            ):
                raise InvalidInput(
                    N_("Agenda itu tidak ada dalam rapat ini."),
                    fields={"position": N_("Periksa nomor agenda.")},
                )
            complaint.sitting_id, complaint.agenda_position = sitting_id, position
            await repo.audit(
                session, user.username, "pengaduan.sitting", code, f"{sitting_id} {position}"
            )

    async def sittings(self) -> list[Sitting]:
        """Recent sittings staff may link a report to."""
        async with self.store.read() as session:
            return list(await repo.list_sittings(session, public_only=False, limit=100))

    async def set_hidden(self, user: CurrentUser, code: str, hidden: bool) -> None:
        """Hide the public text without losing it (the reporter and staff still read it)."""
        await self._set_flag(user, code, "text_hidden", hidden)

    async def release(self, user: CurrentUser, code: str) -> None:
        """A report held for a banned word, read and found fit to publish."""
        await self._set_flag(user, code, "held", False)

    async def held(self) -> list[Complaint]:
        async with self.store.read() as session:
            return list(await store.held(session))

    async def erase_expired_contacts(
        self, retention_days: int, now: dt.datetime | None = None
    ) -> int:
        """UU PDP: contact data is kept only as long as needed, here `retention_days` after the
        report was closed."""
        cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
        async with self.store.transaction() as session:
            erased = await store.erase_contacts_closed_before(session, cutoff)
            if erased:
                await repo.audit(session, "sistem", "pengaduan.contact.expire", "", str(erased))
        return erased

    async def keep_erasing_expired_contacts(self, retention_days: int) -> None:
        """Hourly, for the life of the app: on whichever nodes run, since erasing is idempotent."""
        while True:
            try:
                await self.erase_expired_contacts(retention_days)
            except StorageUnavailable:
                log.warning("pengaduan retention: database unavailable, next try in an hour")
            await asyncio.sleep(RETENTION_EVERY_S)

    async def rotate_keys(self, user: CurrentUser) -> int:
        return await rotate_contact_keys(self.store, self.vault, user.username)

    # Members of the komisi

    async def answer(
        self, user: CurrentUser, code: str, text: str, now: dt.datetime | None = None
    ) -> None:
        """A member of the komisi the report went to answers in public, shown with a verified
        'Anggota DPRD' badge (the name comes from the member record, not from the form)."""
        text = clean_text(text)
        if not text:
            raise InvalidInput(N_("Tulis jawaban Anda."), fields={"answer": N_("Wajib diisi.")})
        async with self.store.transaction() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            member = await store.member(session, user.member_id) if user.member_id else None
            if complaint is None:
                raise NotFound(N_("Laporan tidak ditemukan."))
            if member is None or member.komisi != complaint.komisi:
                raise PermissionDenied(
                    N_("Hanya anggota komisi yang menangani laporan ini yang dapat menjawab.")
                )
            await store.add_event(
                session, complaint, complaint.status, text, now or utcnow(), member_name=member.name
            )
            await repo.audit(session, user.username, "pengaduan.answer", code)

    async def member_komisi(self, user: CurrentUser) -> str:
        """The komisi of the member this account belongs to ('' for none)."""
        if user.member_id is None:
            return ""
        async with self.store.read() as session:
            member = await store.member(session, user.member_id)
        return member.komisi if member is not None else ""

    # Settings

    async def add_category(self, user: CurrentUser, name: str, komisi: str) -> None:
        name, komisi = clean_text(name)[:MAX_FIELD], clean_text(komisi)[:MAX_FIELD]
        if not name or not komisi:
            raise InvalidInput(N_("Isi nama kategori dan komisinya."))
        async with self.store.transaction() as session:
            await store.add_category(session, name, komisi)
            await repo.audit(session, user.username, "pengaduan.category.add", name, komisi)

    async def set_holiday(self, user: CurrentUser, day: dt.date, name: str) -> None:
        async with self.store.transaction() as session:
            await store.set_holiday(session, day, clean_text(name)[:MAX_FIELD])
            await repo.audit(session, user.username, "pengaduan.holiday", day.isoformat(), name)

    async def holidays(self) -> list:
        async with self.store.read() as session:
            return list(await store.holiday_list(session))

    # Inside

    async def _report(self, session, complaint: Complaint, reporter: bool) -> Report:
        sitting = None
        if complaint.sitting_id is not None:
            with contextlib.suppress(NotFound):
                sitting = await repo.get_sitting(session, complaint.sitting_id, public_only=True)
        name = ""
        if complaint.privacy == Privacy.BIASA and complaint.contact_token and self.vault.available:
            name = self.vault.open(complaint.contact_token).name
        return Report(
            complaint,
            list(await store.events(session, complaint.id)),
            await store.photo_positions(session, complaint.id),
            reporter,
            workdays.is_overdue(complaint.due_on, self.today()),
            name,
            sitting,
        )

    async def _set_flag(self, user: CurrentUser, code: str, flag: str, value: bool) -> None:
        async with self.store.transaction() as session:
            complaint = await store.get_complaint(session, code) if codes.is_code(code) else None
            if complaint is None:
                raise NotFound(N_("Laporan tidak ditemukan."))
            setattr(complaint, flag, value)
            await repo.audit(session, user.username, f"pengaduan.{flag}", code, str(value))

    def _notify(self, recipients: list[tuple[str, str]], status: Status, message: str) -> None:
        """Each reporter gets an e-mail of their own, under their own report's code, saying
        nothing of other reports or reporters; the secret link is not in it (we do not know
        it, only its hash)."""
        if not self.mailer.enabled:
            return
        for token, code in recipients:
            email = self.vault.open(token).email
            body = (
                f"Laporan {code}: {STATUS_LABELS[status]}\n\n{message}\n\n"
                "Buka tautan rahasia Anda untuk melihat riwayat lengkapnya."
            )
            self.mailer.send(email, f"[{code}] {STATUS_LABELS[status]}", body)


def _is_public(complaint: Complaint) -> bool:
    return complaint.privacy != Privacy.RAHASIA and not complaint.held


def _apply(
    complaint: Complaint,
    target: Status,
    now: dt.datetime,
    today: dt.date,
    holidays: set[dt.date],
    *,
    opd: str,
    komisi: str,
) -> None:
    """Timestamps and deadlines: once verified, the follow-up is due within 5 working days."""
    complaint.status = target.value
    complaint.updated_at = now
    elapsed = int((now - complaint.filed_at).total_seconds())
    if complaint.verified_at is None and target in (Status.DIVERIFIKASI, Status.DITOLAK):
        complaint.verify_s = elapsed
        complaint.verified_on_time = today <= complaint.verify_due
    if target is Status.DIVERIFIKASI:
        complaint.verified_at = now
        complaint.follow_due = workdays.add_working_days(today, workdays.FOLLOW_UP_DAYS, holidays)
        complaint.due_on = complaint.follow_due
    elif target is Status.DITERUSKAN:
        complaint.opd = opd
        complaint.komisi = komisi or complaint.komisi
    elif target is Status.DITINDAKLANJUTI:
        complaint.followed_at = now
        complaint.followed_on_time = complaint.follow_due is None or today <= complaint.follow_due
        complaint.due_on = None
    if target is Status.SELESAI:
        complaint.finish_s = elapsed
    if target in CLOSED:
        complaint.closed_at = now
        complaint.due_on = None


async def _free_code(session, year: int) -> str:
    while await store.code_taken(session, code := codes.new_code(year)):
        continue
    return code


def _check_filing(filing: Filing) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not filing.category_id:
        problems["category"] = N_("Pilih salah satu kategori.")
    if not filing.description:
        problems["description"] = N_("Ceritakan masalahnya.")
    elif len(filing.description) > MAX_DESCRIPTION:
        problems["description"] = N_("Uraian terlalu panjang (paling banyak 3000 karakter).")
    if not (filing.location or filing.kelurahan or filing.lat is not None):
        problems["location"] = N_("Isi alamat atau kelurahan, atau pakai lokasi perangkat.")
    if len(filing.location) > MAX_LOCATION or len(filing.kelurahan) > MAX_FIELD:
        problems["location"] = N_("Alamat terlalu panjang.")
    if filing.lat is not None and not (
        -90 <= filing.lat <= 90 and filing.lon is not None and -180 <= filing.lon <= 180
    ):
        problems["location"] = N_("Koordinat lokasi tidak valid.")
    contact = filing.contact
    if contact.email and ("@" not in contact.email or len(contact.email) > MAX_FIELD):
        problems["email"] = N_("Alamat e-mail tidak valid.")
    if contact.phone and (
        len(contact.phone) > 20 or not contact.phone.replace("+", "").replace(" ", "").isdigit()
    ):
        problems["phone"] = N_("Nomor telepon hanya berisi angka.")
    if len(contact.name) > MAX_FIELD:
        problems["name"] = N_("Nama terlalu panjang.")
    return problems


async def rotate_contact_keys(db: Store, vault: Vault, actor: str) -> int:
    """Re-encrypt every sealed contact under the newest key (the first of SIDANG_DATA_KEY), in
    one transaction; then the older keys can be removed. The console and `sidang keys rotate`."""
    async with db.transaction() as session:
        rows = await store.sealed_contacts(session)
        for complaint in rows:
            assert complaint.contact_token is not None
            complaint.contact_token = vault.rotate(complaint.contact_token)
        await repo.audit(session, actor, "pengaduan.keys.rotate", "", str(len(rows)))
    return len(rows)
