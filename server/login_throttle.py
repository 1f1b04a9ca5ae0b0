"""Login throttling by account and client together, so that a stranger cannot lock anyone out.

Every attempt is counted atomically *before* the password is checked (a bus INCR), so forty
parallel guesses cannot all slip past a check that ran before any of them was counted, and the
limit holds across nodes because the counters live on the shared bus.

- **Account + client.** Five attempts for one account from one client, then that client waits
  out the window (429). A client is a browser that has signed in to the account before (a signed
  device cookie), or else the IP address. Someone guessing `pimpinan`'s password from elsewhere
  uses up only their own attempts; the chair's own browser is never refused the right password.
- **IP.** Twenty attempts from one address across accounts, for unknown browsers only.
- **Account, from everywhere.** After a hundred failures in the window from unknown clients (a
  guess spread over many addresses), only browsers already known to the account may try.

An administrator's password reset clears the account's counters, and the user list shows which
accounts are being throttled.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from server.bus import Bus
from server.domain.errors import RateLimited
from server.i18n import N_

LOGIN_WINDOW_S = 15 * 60
MAX_ATTEMPTS_PER_CLIENT = 5
MAX_ATTEMPTS_PER_IP = 20
MAX_FAILURES_PER_ACCOUNT = 100

TOO_MANY = N_("Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam 15 menit.")
UNDER_ATTACK = N_(
    "Akun ini sedang menerima banyak percobaan masuk yang gagal. Masuklah dari perangkat yang "
    "pernah Anda pakai, atau minta administrator mengganti kata sandi."
)


def account_key(username: str) -> str:
    """One spelling per account: `ANGGOTA` and ` anggota` are the same account."""
    return username.strip().casefold()


@dataclass(frozen=True)
class Attempt:
    """One counted login attempt, handed back to `failed` or `succeeded`."""

    account: str
    client_key: str
    ip_key: str | None


@dataclass(frozen=True)
class ThrottleStatus:
    failures: int  # failed attempts in the current window, from every client
    throttled: bool  # some client has been refused for this account in the window


class LoginThrottle:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def begin(self, username: str, ip: str, known_device: str | None) -> Attempt:
        """Count this attempt, or raise RateLimited if its client is over a limit.

        `known_device` is the id of a browser that signed in to this account before."""
        account = account_key(username)
        epoch = await self._bus.get_value(_epoch_key(account)) or "0"
        client = f"device:{known_device}" if known_device else f"ip:{ip}"
        attempt = Attempt(
            account,
            f"login:client:{epoch}:{account}:{client}",
            None if known_device else f"login:ip:{ip}",
        )
        if (
            attempt.ip_key is not None
            and await self._bus.get_counter(_failures_key(account)) >= MAX_FAILURES_PER_ACCOUNT
        ):
            await self._mark(account)
            raise RateLimited(UNDER_ATTACK, retry_after_s=LOGIN_WINDOW_S)
        # The address is counted only once the client is within its limit, so that one client
        # hammering one account cannot use up the address's attempts for everyone behind it.
        if await self._bus.incr(attempt.client_key, LOGIN_WINDOW_S) > MAX_ATTEMPTS_PER_CLIENT or (
            attempt.ip_key is not None
            and await self._bus.incr(attempt.ip_key, LOGIN_WINDOW_S) > MAX_ATTEMPTS_PER_IP
        ):
            await self._mark(account)
            raise RateLimited(TOO_MANY, retry_after_s=LOGIN_WINDOW_S)
        return attempt

    async def failed(self, attempt: Attempt) -> None:
        await self._bus.incr(_failures_key(attempt.account), LOGIN_WINDOW_S)

    async def succeeded(self, attempt: Attempt) -> None:
        """The right password: this client starts afresh, and its address gets the attempt
        back (an office signing in many members from one address is not a guess)."""
        await self._bus.reset_counter(attempt.client_key)
        if attempt.ip_key is not None:
            await self._bus.incr(attempt.ip_key, LOGIN_WINDOW_S, amount=-1)

    async def clear(self, username: str) -> None:
        """A password reset: every client's count for the account starts again."""
        account = account_key(username)
        await self._bus.set_value(_epoch_key(account), secrets.token_hex(8), LOGIN_WINDOW_S)
        await self._bus.reset_counter(_failures_key(account))
        await self._bus.delete_value(_throttled_key(account))

    async def status(self, username: str) -> ThrottleStatus:
        account = account_key(username)
        return ThrottleStatus(
            await self._bus.get_counter(_failures_key(account)),
            await self._bus.get_value(_throttled_key(account)) is not None,
        )

    async def _mark(self, account: str) -> None:
        await self._bus.set_value(_throttled_key(account), "1", LOGIN_WINDOW_S)


def _epoch_key(account: str) -> str:
    return f"login:epoch:{account}"


def _failures_key(account: str) -> str:
    return f"login:failures:{account}"


def _throttled_key(account: str) -> str:
    return f"login:throttled:{account}"
