"""Where each role's work is, so that nobody lands on a page their role may not open.

Staff and administrators work in the console. Members and the chair work in a sitting's room:
straight into it when exactly one of their sittings is live, else a list of their sittings with
a join button. Moderators get the sittings whose comments they moderate.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.auth import CurrentUser
from server.domain.chair import takes_part
from server.domain.roles import MEMBERS_ROOM, MODERATORS, STAFF, Role
from server.domain.sitting import SittingStatus
from server.store import Store, repo
from server.store.models import Member, Sitting

CONSOLE = "/konsol"
MY_SITTINGS = "/rapat-saya"


@dataclass(frozen=True)
class MySittings:
    sittings: list[Sitting]  # live first, then scheduled, soonest first
    room: bool  # may enter the members' room
    moderation: bool  # may moderate comments
    unlinked: bool  # a member whose account is not linked to a member record yet


async def my_sittings(store: Store, user: CurrentUser) -> MySittings:
    """Live and scheduled sittings this user takes part in (a moderator: the public ones)."""
    async with store.read() as session:
        member = await session.get(Member, user.member_id) if user.member_id else None
        found = [
            sitting
            for status in (SittingStatus.LIVE, SittingStatus.SCHEDULED)
            for sitting in await repo.list_sittings(
                session, status=status, public_only=False, upcoming_first=True
            )
        ]
    unlinked = user.role is Role.ANGGOTA and member is None
    return MySittings(
        [] if unlinked else [s for s in found if _takes_part(user, s, member)],
        room=user.has(MEMBERS_ROOM),
        moderation=user.has(MODERATORS),
        unlinked=unlinked,
    )


def _takes_part(user: CurrentUser, sitting: Sitting, member: Member | None) -> bool:
    return takes_part(
        role=user.role,
        is_public=sitting.is_public,
        sitting_type=sitting.type,
        sitting_komisi=sitting.komisi,
        member_komisi=member.komisi if member else None,
    )


async def landing_path(store: Store, user: CurrentUser) -> str:
    if user.has(STAFF):
        return CONSOLE
    if user.role is Role.MODERATOR:
        return MY_SITTINGS
    mine = await my_sittings(store, user)
    live = [s for s in mine.sittings if s.status == SittingStatus.LIVE.value]
    return f"/ruang/{live[0].id}" if len(live) == 1 else MY_SITTINGS
