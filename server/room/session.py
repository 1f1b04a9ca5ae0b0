"""A room's parts: who is in it (Participant), how to reach them (Connection), the media room,
and the per-sitting RoomSession. No aiohttp types: a connection is anything with send and close."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from media.live import LiveSitting
from media.room import PeerOptions
from server.domain.chair import ChairState, may_chair
from server.domain.roles import Role
from server.domain.votes import Quorum

REMOVED_CLOSE = 4003
REPLACED_CLOSE = 4009
ENDED_CLOSE = 4010


def channel_for(sitting_id: int) -> str:
    return f"room:{sitting_id}"


def chair_state_key(sitting_id: int) -> str:
    """The chair's state (seats, floor, mutes, removals), kept for the node that takes over."""
    return f"room:chair:{sitting_id}"


class MediaRoom(Protocol):
    """What the glue needs of media.room.MemberRoom (tests may pass a stand-in)."""

    on_state: Callable[[str, str], None] | None

    async def join(self, member_key: str, offer_sdp: str, options: PeerOptions = ...) -> str: ...

    async def leave(self, member_key: str) -> None: ...

    def set_audio_allowed(self, member_key: str, allowed: bool) -> None: ...

    async def close(self) -> None: ...


RoomFactory = Callable[[LiveSitting, list[dict]], MediaRoom]


class Connection(Protocol):
    async def send(self, frame: dict[str, Any]) -> None: ...

    async def close(self, code: int, message: str) -> None: ...


@dataclass(frozen=True)
class Participant:
    """A logged-in user in the room. Members have seats; staff without a member record only
    watch, assist the chair and enter hall data."""

    user_id: int
    username: str
    role: Role
    member_id: int | None
    name: str

    @property
    def key(self) -> str:
        """The media room's key for this person's peer."""
        return member_key(self.member_id) if self.member_id else f"user:{self.user_id}"

    @property
    def chair(self) -> bool:
        return may_chair(self.role)


def member_key(member_id: int) -> str:
    return str(member_id)


def program_input(member_id: int) -> str:
    """The program input the media room adds for a member (`member:{key}`), which is what a
    FLOOR layout names."""
    return f"member:{member_key(member_id)}"


@dataclass
class RoomSession:
    sitting_id: int
    live: LiveSitting
    media: MediaRoom
    state: ChairState = field(default_factory=ChairState)
    connections: dict[str, tuple[Participant, Connection]] = field(default_factory=dict)
    media_state: dict[str, str] = field(default_factory=dict)
    audio: dict[str, bool] = field(default_factory=dict)
    floor_on_program: int | None = None
    quorum: Quorum | None = None
    vote: dict[str, Any] | None = None
    voted: set[int] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    saving: asyncio.Lock = field(default_factory=asyncio.Lock)  # chair state to the bus
    listener: asyncio.Task | None = None
