"""Signed, timestamped tokens for cookies (sessions, CSRF, anonymous identities): itsdangerous.

A `purpose` is itsdangerous's salt, so a token made for one use does not work for another.
`digest` is a keyed hash (of an IP address, say) that can be stored without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["BadSignature", "Signer"]


class Signer:
    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key
        self._key = secret_key.encode()
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def sign(self, purpose: str, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def unsign(self, purpose: str, token: str, max_age_s: float | None = None) -> Any:
        """The payload, or BadSignature (SignatureExpired too) for a forged or old token."""
        return self._serializer(purpose).loads(token, max_age=max_age_s)

    def digest(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = self._serializers[purpose] = URLSafeTimedSerializer(
                self._secret, salt=purpose
            )
        return serializer
