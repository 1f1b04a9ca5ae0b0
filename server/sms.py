"""SMS out, for one-time codes: an HTTP gateway set by SIDANG_SMS_URL, or the log.

The gateway contract is one request per message: `POST SIDANG_SMS_URL` with the JSON body
`{"to": "+62812…", "message": "…"}` and `Authorization: Bearer SIDANG_SMS_TOKEN` (when set);
any 2xx means the gateway took it. A small adapter in front of a provider's own API (or a
modem's) speaks this. `log:` writes each message to the log instead (`sidang demo`).

Unlike e-mail, a code is sent while the resident waits: a gateway that refuses or does not
answer within TIMEOUT is a 503 they can retry, not a code that silently never comes."""

from __future__ import annotations

import logging
from typing import Protocol

import aiohttp

from server.config import LOG_OUTBOX
from server.domain.errors import DeliveryUnavailable
from server.i18n import N_

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)
NOT_SENT = N_("SMS tidak dapat dikirim sekarang. Coba lagi beberapa menit lagi.")


class SmsGateway(Protocol):
    delivers: bool  # False: messages only reach the log (development)

    async def send(self, to: str, message: str) -> None:
        """Hand one message to the gateway, or raise DeliveryUnavailable."""

    async def close(self) -> None: ...


class HttpGateway:
    delivers = True

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    async def send(self, to: str, message: str) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        body = {"to": to, "message": message}
        try:
            async with self._session.post(self.url, json=body, headers=self._headers) as response:
                if not 200 <= response.status < 300:
                    log.warning("SMS gateway refused a message: HTTP %s", response.status)
                    raise DeliveryUnavailable(NOT_SENT)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("SMS gateway unreachable: %r", error)
            raise DeliveryUnavailable(NOT_SENT) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class LogGateway:
    """The development outbox: the message goes to the log, and to nobody's phone."""

    delivers = False

    async def send(self, to: str, message: str) -> None:
        log.warning("SMS not sent (SIDANG_SMS_URL=log:) to %s: %s", to, message)

    async def close(self) -> None:
        pass


def create_gateway(url: str | None, token: str) -> SmsGateway | None:
    """None when no SMS can be sent: phone verification is then offered nowhere."""
    if url is None:
        return None
    return LogGateway() if url == LOG_OUTBOX else HttpGateway(url, token)
