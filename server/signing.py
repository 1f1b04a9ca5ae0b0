"""HMAC-signed, timestamped tokens for cookies (sessions, CSRF, anonymous identities)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


class BadSignature(ValueError):
    pass


class Signer:
    """Sign small JSON payloads. A `purpose` keeps a token for one use from working for another."""

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode()

    def sign(self, purpose: str, payload: Any) -> str:
        body = _b64(json.dumps([int(time.time()), payload], separators=(",", ":")).encode())
        return f"{body}.{self._mac(purpose, body)}"

    def unsign(self, purpose: str, token: str, max_age_s: float | None = None) -> Any:
        body, _, mac = token.rpartition(".")
        if not body or not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise BadSignature("bad signature")
        try:
            issued, payload = json.loads(_unb64(body))
        except (ValueError, TypeError) as exc:
            raise BadSignature("malformed token") from exc
        if max_age_s is not None and time.time() - issued > max_age_s:
            raise BadSignature("token expired")
        return payload

    def digest(self, purpose: str, value: str) -> str:
        """A keyed hash, e.g. of an IP address, that can be stored without revealing it."""
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def _mac(self, purpose: str, body: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}.{body}".encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
