"""Who gives input: a display name plus an e-mail address the resident proved to read (a link
sent to it) or a phone that received a one-time code (server/raperda/phone.py), or a login.
Only keyed hashes are kept: the address and the number are never stored, the link and the
cookie are signed (server/signing.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.domain.errors import InvalidInput
from server.domain.moderation import Refused, check_name
from server.i18n import N_
from server.signing import BadSignature, Signer

LINK_MAX_AGE_S = 24 * 3600
LINK_TOKEN_MAX = 600  # the longest token the link's route takes
COOKIE_MAX_AGE_S = 365 * 86400
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


@dataclass(frozen=True)
class Resident:
    name: str
    identity: str  # a keyed hash of the e-mail address, the phone number or the account
    verified_by: str  # "email", "phone" or "login"


def check_request(name: str, email: str) -> tuple[str, str]:
    problems = {}
    try:
        name = check_name(name)
    except Refused as refused:
        problems["name"] = refused.template
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        problems["email"] = N_("Alamat e-mail tidak valid.")
    if problems:
        raise InvalidInput(N_("Periksa kembali isian yang ditandai."), fields=problems)
    return name, email


def link_token(signer: Signer, name: str, email: str, next_path: str | None = None) -> str:
    """What the e-mailed link carries: the name, the address's hash and, if any, the page to
    return to once verified, signed (so opened later, even on another device, the link still
    goes only where this site sent it). A return path that would make the link too long is
    left out: the resident lands on "Masukan saya" instead."""
    payload = [name, signer.digest("resident-email", email)]
    if next_path:
        token = signer.sign("raperda-verify", [*payload, next_path])
        if len(token) <= LINK_TOKEN_MAX:
            return token
    return signer.sign("raperda-verify", payload)


def confirm(signer: Signer, token: str) -> tuple[Resident, str, str | None]:
    """The resident behind a link still valid, the cookie that now identifies them, and the
    page the link asks to return to (None for none, and for links made before it could)."""
    try:
        name, identity, *rest = signer.unsign("raperda-verify", token, LINK_MAX_AGE_S)
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput(N_("Tautan verifikasi tidak berlaku lagi. Minta tautan baru.")) from None
    next_path = rest[0] if rest and isinstance(rest[0], str) else None
    resident = Resident(name, identity, "email")
    return resident, cookie_for(signer, resident), next_path


def cookie_for(signer: Signer, resident: Resident) -> str:
    """The cookie that identifies a verified resident from now on."""
    return signer.sign("raperda-resident", [resident.name, resident.identity, resident.verified_by])


def from_cookie(signer: Signer, value: str | None) -> Resident | None:
    if not value or len(value) > 500:
        return None
    try:
        name, identity, *how = signer.unsign("raperda-resident", value, COOKIE_MAX_AGE_S)
    except (BadSignature, ValueError, TypeError):
        return None
    # Cookies made before phone verification carry no method: they all came from e-mail.
    verified_by = how[0] if how and how[0] in ("email", "phone") else "email"
    return Resident(name, identity, verified_by)


def of_account(signer: Signer, username: str) -> Resident:
    return Resident(username, signer.digest("resident-account", username), "login")
