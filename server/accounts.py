"""User accounts, managed by an administrator in the console or with `sidang user add`.

Each change is audited in the same transaction. Resetting a password ends the account's
sessions, so every browser still signed in with it is signed out, and clears its login
throttle, so the owner can sign in with the new password at once. An administrator can
neither delete their own account nor take away their own administrator role, so the last
administrator cannot lock everyone out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.roles import Role, parse_role
from server.i18n import N_
from server.login_throttle import LoginThrottle, ThrottleStatus
from server.passwords import MIN_PASSWORD_LENGTH, hash_password
from server.store import Store, repo, sessions
from server.store.models import Member, User


def check_role(value: str) -> Role:
    try:
        return parse_role(value)
    except ValueError:
        raise InvalidInput(N_("Peran tidak dikenal.")) from None


async def password_hash(password: str) -> str:
    """argon2 is deliberately slow: off the event loop."""
    try:
        return await asyncio.to_thread(hash_password, password)
    except ValueError:  # too short: the rule is hash_password's
        raise InvalidInput(
            N_("Kata sandi minimal %(min)s karakter."), min=MIN_PASSWORD_LENGTH
        ) from None


async def _check_member(session: AsyncSession, member_id: int | None) -> None:
    if member_id is not None and await session.get(Member, member_id) is None:
        raise InvalidInput(N_("Anggota %(id)s tidak ditemukan."), id=member_id)


async def list_accounts(store: Store) -> Sequence[User]:
    async with store.read() as session:
        return await repo.list_users(session)


async def add_account(
    store: Store, actor: str, username: str, role: str, member_id: int | None, password: str
) -> User:
    parsed = check_role(role)
    hashed = await password_hash(password)
    async with store.transaction() as session:
        await _check_member(session, member_id)
        user = await repo.create_user(session, username, hashed, parsed.value, member_id)
        await repo.audit(session, actor, "user.create", f"user:{user.id}", parsed.value)
        return user


async def update_account(
    store: Store, actor_id: int, actor: str, user_id: int, role: str, member_id: int | None
) -> User:
    parsed = check_role(role)
    async with store.transaction() as session:
        user = await _account(session, user_id)
        if user.id == actor_id and parsed is not Role.ADMIN:
            raise Conflict(N_("Anda tidak dapat melepas peran administrator Anda sendiri."))
        await _check_member(session, member_id)
        user.role, user.member_id = parsed.value, member_id
        await repo.audit(session, actor, "user.update", f"user:{user.id}", parsed.value)
        return user


async def reset_password(
    store: Store, throttle: LoginThrottle, actor: str, user_id: int, password: str
) -> None:
    hashed = await password_hash(password)
    async with store.transaction() as session:
        user = await _account(session, user_id)
        user.password_hash = hashed
        await sessions.end_user_sessions(session, user.id)
        await repo.audit(session, actor, "user.password", f"user:{user.id}", user.username)
    await throttle.clear(user.username)


async def throttled_accounts(
    throttle: LoginThrottle, users: Sequence[User]
) -> dict[int, ThrottleStatus]:
    """Accounts with failed logins in the current window, for the administrator's list."""
    found = {user.id: await throttle.status(user.username) for user in users}
    return {uid: status for uid, status in found.items() if status.failures or status.throttled}


async def delete_account(store: Store, actor_id: int, actor: str, user_id: int) -> None:
    async with store.transaction() as session:
        user = await _account(session, user_id)
        if user.id == actor_id:
            raise Conflict(N_("Anda tidak dapat menghapus akun Anda sendiri."))
        await session.delete(user)
        await repo.audit(session, actor, "user.delete", f"user:{user.id}", user.username)


async def _account(session: AsyncSession, user_id: int) -> User:
    user = await repo.get_user(session, user_id)
    if user is None:
        raise NotFound(N_("Pengguna %(id)s tidak ditemukan."), id=user_id)
    return user
