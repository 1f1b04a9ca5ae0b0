"""Personal data at rest: contact details as a Fernet token under SIDANG_DATA_KEY.

MultiFernet encrypts with the first key and decrypts with any, so a new key goes first and old
tokens are re-encrypted with `rotate` before the old key is dropped. The key is configuration,
never in the database: a copy of the database alone reveals no name, phone or e-mail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from server.domain.errors import InvalidInput, StorageUnavailable
from server.i18n import N_

NO_KEY = N_(
    "Data kontak belum dapat disimpan karena kunci enkripsi belum diatur. "
    "Kosongkan nama, telepon dan e-mail, lalu kirim lagi."
)


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""
    email: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.phone or self.email)


class Vault:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys]) if keys else None

    @property
    def available(self) -> bool:
        return self._fernet is not None

    def seal(self, contact: Contact) -> str | None:
        if not contact:
            return None
        if self._fernet is None:
            raise InvalidInput(NO_KEY, fields={"contact": NO_KEY})
        return self._fernet.encrypt(json.dumps(asdict(contact)).encode()).decode()

    def open(self, token: str | None) -> Contact:
        if not token:
            return Contact()
        if self._fernet is None:
            raise StorageUnavailable(N_("Kunci enkripsi data pribadi belum diatur."))
        try:
            return Contact(**json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken:
            raise StorageUnavailable(
                N_("Data pribadi tidak dapat dibuka dengan kunci yang diatur.")
            ) from None

    def rotate(self, token: str) -> str:
        """The same data under the newest key."""
        assert self._fernet is not None
        return self._fernet.rotate(token.encode()).decode()
