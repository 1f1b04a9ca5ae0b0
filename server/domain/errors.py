"""Domain errors. They carry a message for people (Bahasa Indonesia) and no HTTP types; the HTTP
layer maps each class to a status code in exactly one place (server/middlewares.py)."""

from __future__ import annotations

from server.i18n import N_


class DomainError(Exception):
    """`message` is a gettext id marked with N_(); values go in through %(name)s placeholders
    and keyword `params`, so a reader of the English UI gets the template translated first."""

    message: str = N_("Permintaan tidak dapat diproses.")

    def __init__(self, message: str | None = None, **params: object) -> None:
        self.template = message or self.message
        self.params = params
        self.message = self.template % params if params else self.template
        super().__init__(self.message)


class NotFound(DomainError):
    message = N_("Data tidak ditemukan.")


class NotAuthenticated(DomainError):
    message = N_("Silakan masuk terlebih dahulu.")


class PermissionDenied(DomainError):
    message = N_("Anda tidak memiliki hak akses untuk tindakan ini.")


class Conflict(DomainError):
    message = N_("Permintaan bertentangan dengan keadaan data saat ini.")


class InvalidInput(DomainError):
    message = N_("Data yang dikirim tidak valid.")

    def __init__(
        self, message: str | None = None, fields: dict[str, str] | None = None, **params: object
    ) -> None:
        super().__init__(message, **params)
        self.fields = fields or {}


class UnsupportedMedia(InvalidInput):
    """A body in a format the endpoint does not take (WHIP wants application/sdp)."""

    message = N_("Jenis isi permintaan tidak didukung.")


class RateLimited(DomainError):
    message = N_("Terlalu banyak percobaan. Coba lagi nanti.")

    def __init__(
        self, message: str | None = None, retry_after_s: int = 60, **params: object
    ) -> None:
        super().__init__(message, **params)
        self.retry_after_s = retry_after_s


class StorageUnavailable(DomainError):
    message = N_("Penyimpanan berkas sedang bermasalah.")


class CoordinationUnavailable(StorageUnavailable):
    """The nodes' shared bus (Redis) cannot confirm which node owns a live sitting, so none
    may start recording it: two nodes writing one sitting's folder would ruin the record."""

    message = N_(
        "Server koordinasi (Redis) tidak dapat dihubungi, sehingga siaran belum dapat dimulai."
        " Coba lagi sebentar lagi."
    )


class DatabaseUnavailable(StorageUnavailable):
    """The database cannot be reached (down, restarting, unreachable): a moment's wait, not a
    fault in the request, so pages answer 503 and a comment socket stays open."""

    message = N_("Basis data sedang tidak dapat dihubungi. Coba lagi sebentar lagi.")


class DeliveryUnavailable(StorageUnavailable):
    """An outside gateway (the SMS gateway) did not take a message: a wait, not a fault in the
    request, so it answers 503 like the storage it depends on."""

    message = N_("Pesan tidak dapat dikirim sekarang. Coba lagi beberapa menit lagi.")
