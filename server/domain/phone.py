"""Indonesian mobile numbers as residents type them (0812-3456-789, +62 812 3456 789,
62812…, 812…), read with Google's libphonenumber and kept in E.164 (+62812…).

Only numbers that can receive an SMS are taken: a landline (021…) or a number from another
country is refused with a message that says why, before any SMS is paid for."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from server.domain.errors import InvalidInput
from server.i18n import N_

MAX_CHARS = 30
_MOBILE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _refuse(problem: str) -> InvalidInput:
    return InvalidInput(problem, fields={"phone": problem})


def normalize(text: str) -> str:
    """The number in E.164, or InvalidInput naming the problem in the `phone` field."""
    text = text.strip()
    if not text:
        raise _refuse(N_("Isi nomor ponsel Anda."))
    if len(text) > MAX_CHARS:
        raise _refuse(N_("Nomor ponsel tidak valid. Contoh: 0812-3456-7890."))
    try:
        number = phonenumbers.parse(text, "ID")
    except NumberParseException:
        raise _refuse(N_("Nomor ponsel tidak valid. Contoh: 0812-3456-7890.")) from None
    if number.country_code != 62:
        raise _refuse(N_("Hanya nomor ponsel Indonesia (+62) yang dapat diverifikasi."))
    if not phonenumbers.is_valid_number(number):
        raise _refuse(N_("Nomor ponsel tidak valid. Contoh: 0812-3456-7890."))
    if phonenumbers.number_type(number) not in _MOBILE:
        raise _refuse(N_("Nomor ini bukan nomor ponsel; SMS hanya dapat dikirim ke ponsel."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """What the resident is shown back: enough to recognise the number, not to read it
    ("0812-****-890")."""
    national = "0" + e164.removeprefix("+62")
    return f"{national[:4]}-****-{national[-3:]}"
