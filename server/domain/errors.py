"""Domain errors. They carry a message for people (Bahasa Indonesia) and no HTTP types; the HTTP
layer maps each class to a status code in exactly one place (server/middlewares.py)."""

from __future__ import annotations


class DomainError(Exception):
    message: str = "Permintaan tidak dapat diproses."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class NotFound(DomainError):
    message = "Data tidak ditemukan."


class NotAuthenticated(DomainError):
    message = "Silakan masuk terlebih dahulu."


class PermissionDenied(DomainError):
    message = "Anda tidak memiliki hak akses untuk tindakan ini."


class Conflict(DomainError):
    message = "Permintaan bertentangan dengan keadaan data saat ini."


class InvalidInput(DomainError):
    message = "Data yang dikirim tidak valid."

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class RateLimited(DomainError):
    message = "Terlalu banyak percobaan. Coba lagi nanti."

    def __init__(self, message: str | None = None, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StorageUnavailable(DomainError):
    message = "Penyimpanan berkas sedang bermasalah."
