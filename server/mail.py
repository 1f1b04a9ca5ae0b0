"""E-mail out, for every feature: off unless SIDANG_SMTP_URL is set
(`smtp://user:pass@host:587?starttls=1&from=dprd@example.go.id`, or smtps://), or `log:`, which
writes each e-mail to the log (`sidang demo`: the Raperda sign-in link can be tried there).

Sending runs in a worker thread after the change is committed and never fails the request: a
mail server that is down loses an e-mail, not a status change. `drain()` waits for what is in
flight (shutdown, tests)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from server.config import LOG_OUTBOX

log = logging.getLogger(__name__)

TIMEOUT_S = 20.0


class Mailer:
    def __init__(self, smtp_url: str | None, public_host: str = "localhost") -> None:
        self.logs_only = smtp_url == LOG_OUTBOX
        self.url = urlsplit(smtp_url) if smtp_url and not self.logs_only else None
        query = parse_qs(self.url.query) if self.url else {}
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        # Replies to a notification have nowhere to go; `from=` names a real mailbox.
        self.sender = query.get("from", [f"noreply@{public_host}"])[0]
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.url is not None or self.logs_only

    def send(self, to: str, subject: str, body: str) -> None:
        if not self.enabled or not to:
            return
        if self.logs_only:
            log.warning(
                "e-mail not sent (SIDANG_SMTP_URL=log:)\nFrom: %s\nTo: %s\nSubject: %s\n\n%s",
                self.sender,
                to,
                subject,
                body,
            )
            return
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        task = asyncio.get_running_loop().create_task(self._deliver(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("e-mail not sent: %s", error)  # not to whom: addresses are personal data

    def _send_blocking(self, message: EmailMessage) -> None:
        url = self.url
        assert url is not None
        client_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        port = url.port or (465 if url.scheme == "smtps" else 25)
        with client_class(url.hostname, port, timeout=TIMEOUT_S) as client:
            if self.starttls:
                client.starttls()
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
