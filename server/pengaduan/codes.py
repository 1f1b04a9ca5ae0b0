"""Tracking codes and secret links. A code names a report in public; only the secret, of which
the store keeps a SHA-256, opens the reporter's view."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# No 0/O, 1/I/L or U: a code read out over the phone should not be mistaken.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 5
CODE = re.compile(rf"ADU-\d{{4}}-[{ALPHABET}]{{{CODE_LENGTH}}}")


def new_code(year: int) -> str:
    """Random, not a counter: codes say nothing about how many reports exist or came before."""
    return f"ADU-{year}-" + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def is_code(value: str) -> bool:
    return CODE.fullmatch(value) is not None


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str | None, stored_hash: str) -> bool:
    return bool(secret) and hmac.compare_digest(secret_hash(secret).encode(), stored_hash.encode())
