"""Verifying a resident's phone with a one-time code sent by SMS, as Indonesian banks and
e-commerce do: six digits, valid for ten minutes, five tries, and a new code at most once a
minute and three times an hour per number (ten an hour per address), because each SMS costs
money and a flood of them is a way to harass someone.

The number is normalised (server/domain/phone.py) and only its keyed hash is stored; the code
is stored as a keyed hash too, so a copy of the database reveals neither. The rate counters
live on the bus, so they hold across nodes."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, update

from server.bus import Bus
from server.domain import phone
from server.domain.errors import InvalidInput, RateLimited
from server.domain.moderation import Gate, Limits, Refused, Sender, check_name
from server.i18n import N_
from server.raperda.identity import Resident
from server.signing import Signer
from server.sms import SmsGateway
from server.store import Store
from server.store.models import PhoneCode, utcnow

CODE_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_S = 60
SEND_LIMITS = Limits(per_identity=3, per_ip=10, window_s=3600.0)
# The template of the SMS; %(code)s is the code. The last line is the origin-bound format
# (`@host #code`) that lets a phone's browser offer the code in the form by itself.
SMS_TEXT = N_(
    "Kode verifikasi masukan Raperda: %(code)s. Berlaku 10 menit. "
    "Jangan berikan kode ini kepada siapa pun."
)
UNAVAILABLE = N_("SMS belum dapat dikirim dari situs ini. Verifikasi lewat e-mail atau masuk.")


@dataclass(frozen=True)
class Sent:
    """A code on its way: the row to check it against and the number as the resident sees it."""

    challenge_id: int
    masked: str


def resend_key(phone_hash: str) -> str:
    return f"raperda-sms:wait:{phone_hash}"


class PhoneVerifier:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        signer: Signer,
        gateway: SmsGateway | None,
        host: str,
        limits: Limits = SEND_LIMITS,
    ) -> None:
        self.store = store
        self.bus = bus
        self.signer = signer
        self.gateway = gateway
        self.host = host
        self.gate = Gate(bus, limits)

    @property
    def enabled(self) -> bool:
        return self.gateway is not None

    def _code_hash(self, phone_hash: str, code: str) -> str:
        return self.signer.digest("raperda-phone-code", f"{phone_hash}:{code}")

    async def send_code(
        self, name: str, number: str, ip: str, text: str = SMS_TEXT, now: dt.datetime | None = None
    ) -> Sent:
        """Check the name and number, then text a new code (the older ones stop working).
        `text` is SMS_TEXT in the resident's language."""
        now = now or utcnow()
        problems = {}
        try:
            name = check_name(name)
        except Refused as refused:
            problems["name"] = refused.template
        try:
            e164 = phone.normalize(number)
        except InvalidInput as invalid:
            problems.update(invalid.fields)
        if problems:
            raise InvalidInput(N_("Periksa kembali isian yang ditandai."), fields=problems)
        if self.gateway is None:
            raise InvalidInput(UNAVAILABLE, fields={"phone": UNAVAILABLE})
        phone_hash = self.signer.digest("resident-phone", e164)
        if await self.bus.incr(resend_key(phone_hash), RESEND_S) > 1:
            raise RateLimited(
                N_("Kode baru dapat diminta %(seconds)s detik setelah yang sebelumnya."),
                retry_after_s=RESEND_S,
                seconds=RESEND_S,
            )
        sender = Sender(phone_hash, self.signer.digest("raperda-ip", ip))
        try:
            await self.gate.limit_rate(sender, "sms")
        except Refused:
            raise RateLimited(
                N_(
                    "Kode sudah terlalu sering diminta untuk nomor ini atau dari jaringan Anda. "
                    "Coba lagi dalam satu jam."
                ),
                retry_after_s=int(self.gate.limits.window_s),
            ) from None
        code = f"{secrets.randbelow(10**6):06d}"
        async with self.store.transaction() as session:
            # Only the newest code of a number works. Rows go a day after they expire, long
            # after any cookie naming them, so SQLite never hands a live cookie's id to
            # another code.
            await session.execute(
                update(PhoneCode)
                .where(PhoneCode.phone_hash == phone_hash, PhoneCode.used_at.is_(None))
                .values(used_at=now)
            )
            await session.execute(
                delete(PhoneCode).where(PhoneCode.expires_at < now - dt.timedelta(days=1))
            )
            row = PhoneCode(
                phone_hash=phone_hash,
                code_hash=self._code_hash(phone_hash, code),
                name=name,
                attempts=0,
                created_at=now,
                expires_at=now + CODE_TTL,
            )
            session.add(row)
            await session.flush()
            challenge_id = row.id
        try:
            await self.gateway.send(e164, f"{text % {'code': code}}\n\n@{self.host} #{code}")
        except Exception:
            # Not the resident's fault: they may ask again at once.
            await self.bus.reset_counter(resend_key(phone_hash))
            raise
        return Sent(challenge_id, phone.masked(e164))

    async def confirm(
        self, challenge_id: int, code: str, now: dt.datetime | None = None
    ) -> Resident:
        """The resident whose code this is. Every try counts, right or wrong, and a code works
        once."""
        now = now or utcnow()
        code = "".join(code.split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            problem = N_("Kode terdiri dari 6 angka.")
            raise InvalidInput(problem, fields={"code": problem})
        async with self.store.transaction() as session:
            row = await session.get(PhoneCode, challenge_id)
            if row is None or row.used_at is not None:
                problem = N_("Kode ini tidak berlaku lagi. Minta kode baru.")
                raise InvalidInput(problem, fields={"code": problem})
            if row.expires_at <= now:
                problem = N_("Kode sudah kedaluwarsa. Minta kode baru.")
                raise InvalidInput(problem, fields={"code": problem})
            counted = await session.execute(
                update(PhoneCode)
                .where(PhoneCode.id == challenge_id, PhoneCode.attempts < MAX_ATTEMPTS)
                .values(attempts=PhoneCode.attempts + 1)
                .returning(PhoneCode.attempts)
            )
            attempts = counted.scalar_one_or_none()
            right = attempts is not None and hmac.compare_digest(
                row.code_hash, self._code_hash(row.phone_hash, code)
            )
            if right:
                used = await session.execute(
                    update(PhoneCode)
                    .where(PhoneCode.id == challenge_id, PhoneCode.used_at.is_(None))
                    .values(used_at=now)
                )
                right = used.rowcount == 1
            resident = Resident(row.name, row.phone_hash, "phone")
        if attempts is None:
            raise RateLimited(
                N_("Terlalu banyak kode salah. Minta kode baru."), retry_after_s=RESEND_S
            )
        if not right:
            left = MAX_ATTEMPTS - attempts
            problem = (
                N_("Kode salah. Sisa %(left)s kali percobaan.")
                if left
                else N_("Kode salah, dan percobaan sudah habis. Minta kode baru.")
            )
            raise InvalidInput(problem, fields={"code": problem}, left=left)
        return resident
