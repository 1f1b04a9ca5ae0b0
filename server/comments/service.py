"""Admit, store, publish and moderate comments. The socket and moderator views call this.

Order of a post: validate, ask the moderation gate (bans, floods, slow mode, duplicates, words),
persist, then publish on the bus; every node's room fans the event out to its own sockets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from server.batching import Batcher
from server.bus import Bus
from server.comments import frames
from server.comments.hub import CommentHub, FanoutLimits, Snapshot, channel_for, viewers_group
from server.domain.errors import DatabaseUnavailable, RateLimited
from server.domain.moderation import (
    Ban,
    Gate,
    Limits,
    RefusalCode,
    Refused,
    Sender,
    Settings,
    WordAction,
    WordFilter,
    check_ban_minutes,
    check_name,
    check_pattern,
    check_text,
    must_hold,
)
from server.i18n import N_
from server.signing import Signer
from server.store import Store, repo
from server.store import comments as repo_comments
from server.store.models import BannedWord, Comment, CommentBan, CommentSettings, utcnow
from server.tasks import stop

log = logging.getLogger(__name__)

WORDS_CHANNEL = "comments:words"
NAME_BINDING_S = 12 * 3600
HEARTBEAT_TTL_S = 45.0
HEARTBEATS_PER_IP_PER_MINUTE = 30
NOT_STORED = N_("Komentar belum terkirim, coba lagi")


@dataclass(frozen=True)
class Posted:
    record: dict[str, Any]
    held: bool


class CommentService:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        signer: Signer,
        *,
        limits: Limits | None = None,
        fanout: FanoutLimits | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.signer = signer
        self.gate = Gate(bus, limits)
        self.hub = CommentHub(bus, self._snapshot, self._missed, fanout)
        self.words = WordFilter([])
        # At 50 comments a second one commit each would keep SQLite's single writer (and its
        # fsync) busy, and nodes sharing a database would queue behind each other's locks.
        self._writer: Batcher[tuple[int, dict[str, Any]], Comment] = Batcher(self._store_comments)
        self.watched: set[int] = set()  # sittings this node reports viewer counts for
        # False while the bus may lack bans: Redis is down (another node's new ban reached only
        # the store) or was just restarted and they are being written again. Meanwhile each
        # post's sender is also looked up in the store.
        self._bans_current = True
        self._words_task: asyncio.Task | None = None

    async def start(self) -> None:
        """Load the word list and re-arm live bans (a memory bus forgets them on restart)."""
        await self._rearm()
        self._bans_current = self.bus.connected  # Redis not there yet: other nodes' bans are not
        subscription = self.bus.subscribe(WORDS_CHANNEL)
        self._words_task = asyncio.create_task(self._follow_words(subscription))
        self.bus.on_connection(self._bus_changed)

    async def _rearm(self) -> None:
        await self._reload_words()
        async with self.store.read() as session:
            bans = await repo_comments.active_bans(session)
        for ban in bans:
            await self.gate.apply(ban)

    async def _bus_changed(self, connected: bool) -> None:
        """A restarted Redis has forgotten every ban, and the word-list and comment events sent
        while this node was away never reach it: all come again from the store, bans first."""
        self._bans_current = False
        if connected:
            try:
                await self._rearm()
                self._bans_current = True
            except Exception:  # the store may be down as well; the rooms still try
                log.exception("Bans and banned words could not be loaded again")
        await self.hub.bus_changed(connected)

    async def _look_up_bans(self, sender: Sender) -> None:
        """While the bus may lack bans, arm those the store holds for this sender."""
        async with self.store.read() as session:
            bans = await repo_comments.bans_on(session, sender.identity, sender.device, sender.ip)
        for ban in bans:
            await self.gate.apply(ban)

    async def close(self) -> None:
        await self.hub.close()
        if self._words_task is not None:
            await stop(self._words_task)

    def sender(self, identity: str, ip: str, device: str = "") -> Sender:
        digest = self.signer.digest
        return Sender(
            digest("comment-identity", identity),
            digest("comment-ip", ip),
            digest("comment-device", device) if device else "",
        )

    # Residents

    async def post(
        self, sitting_id: int, sender: Sender, name: object, text: object, question: bool
    ) -> Posted:
        text, name = check_text(text), check_name(name)
        scope = f"sitting:{sitting_id}"
        try:
            settings = await self.settings(sitting_id)
            if not self._bans_current:
                await self._look_up_bans(sender)
            await self.gate.admit(scope, sender, text, settings.slow_mode_s)
            held = must_hold(settings, self.words.match(f"{name}\n{text}"))
            name = await self._bound_name(sender, name)
            comment = await self._writer.add(
                (
                    sitting_id,
                    {
                        "identity_hash": sender.identity,
                        "ip_hash": sender.ip,
                        "device_hash": sender.device or None,
                        "name": name,
                        "text": text,
                        "question": question,
                        "held": held,
                    },
                )
            )
        except DatabaseUnavailable as exc:
            await self.gate.withdraw(scope, sender, text)
            raise Refused(RefusalCode.UNAVAILABLE, NOT_STORED) from exc
        record = frames.comment_record(comment)
        await self.bus.publish(
            channel_for(sitting_id), {"kind": "held" if held else "comment", "c": record}
        )
        return Posted(record, held)

    async def _store_comments(
        self, batch: list[tuple[int, dict[str, Any]]]
    ) -> list[Comment | Exception]:
        """One transaction for a batch of comments; a refused one does not sink the others."""
        async with self.store.transaction() as session:
            return await repo_comments.add_comments(session, batch)

    async def _bound_name(self, sender: Sender, name: str) -> str:
        """The first name an identity uses sticks, so nobody can pose as someone else mid-sitting
        by changing names, and a ban follows the person behind the name."""
        key = f"comments:name:{sender.identity}"
        bound = await self.bus.get_value(key)
        if bound is None:
            await self.bus.set_value(key, name, NAME_BINDING_S)
        return bound or name

    async def heartbeat(self, sitting_id: int, viewer: str, ip: str) -> int:
        """A player without a socket says it is still watching; counted like a socket."""
        if await self.bus.incr(f"viewers:ip:{ip}", 60) > HEARTBEATS_PER_IP_PER_MINUTE:
            raise RateLimited(N_("Terlalu banyak permintaan penonton dari alamat ini."), 60)
        async with self.store.read() as session:
            await repo.get_sitting(session, sitting_id, public_only=True)
        self.watched.add(sitting_id)
        group = viewers_group(sitting_id)
        await self.bus.presence_touch(group, [f"hls:{viewer}"], HEARTBEAT_TTL_S)
        return await self.bus.presence_count(group)

    async def viewers(self, sitting_id: int) -> int:
        return await self.bus.presence_count(viewers_group(sitting_id))

    # Moderators: every action is audited in the same transaction as its change.

    async def set_visibility(
        self, sitting_id: int, comment_id: int, *, hidden: bool, actor: str
    ) -> dict[str, Any]:
        async with self.store.transaction() as session:
            comment = await repo_comments.get_comment(session, sitting_id, comment_id)
            if comment.hidden == hidden and not comment.held:
                return frames.comment_record(comment)
            restored = comment.hidden and not comment.held  # not an approval from the queue
            await repo_comments.set_visibility(session, comment, hidden=hidden)
            action = "comment.hide" if hidden else "comment.show"
            await repo.audit(session, actor, action, f"comment:{comment.id}", comment.text[:200])
        record = frames.comment_record(comment)
        event = {"kind": "comment", "c": record}
        if hidden:
            event = {"kind": "hidden", "id": record["id"]}
        elif restored:  # a hide undone: it goes back to its place, not to the end of the lists
            event = {"kind": "comment", "c": record | {"restored": True}}
        await self.bus.publish(channel_for(sitting_id), event)
        return record

    async def ban(
        self,
        sitting_id: int,
        comment_id: int,
        *,
        minutes: object,
        reason: str,
        actor: str,
        ip: bool = False,
    ) -> Ban:
        """Ban the comment's identity and device; its IP too only when `ip` is chosen (short,
        since it shuts out everyone behind that address)."""
        minutes = check_ban_minutes(minutes, ip=ip)  # a short maximum for an address ban
        async with self.store.transaction() as session:
            comment = await repo_comments.get_comment(session, sitting_id, comment_id)
            until = utcnow() + dt.timedelta(minutes=minutes)
            address = comment.ip_hash if ip else None
            ban = Ban(comment.identity_hash, address, until, device=comment.device_hash)
            row = await repo_comments.add_ban(session, ban, reason=reason[:300], actor=actor)
            ban = replace(ban, origin=str(row.id))
            await repo.audit(
                session,
                actor,
                "comment.ban_ip" if ip else "comment.ban",
                f"identity:{comment.identity_hash[: frames.IDENTITY_TAG_CHARS]}",
                f"{minutes} menit; komentar {comment.id}; {reason}",
            )
        await self.gate.apply(ban)
        return ban

    async def lift_ban(self, ban_id: int, *, actor: str) -> None:
        """Lift a ban early, with every identity and device it spread to."""
        async with self.store.transaction() as session:
            row = await repo_comments.end_ban(session, ban_id)
            await repo.audit(session, actor, "comment.unban", f"ban:{row.id}", row.reason)
        await self.gate.lift(repo_comments.ban_of(row))

    async def hidden_comments(self, sitting_id: int) -> list[dict[str, Any]]:
        async with self.store.read() as session:
            rows = await repo_comments.hidden_comments(session, sitting_id)
        return [frames.comment_record(c) for c in rows]

    async def active_bans(self) -> Sequence[CommentBan]:
        async with self.store.read() as session:
            return await repo_comments.active_ban_rows(session)

    async def settings(self, sitting_id: int) -> Settings:
        cached = self.hub.settings(sitting_id)
        if cached is not None:
            return cached
        async with self.store.read() as session:
            return _settings(await repo_comments.get_settings(session, sitting_id))

    async def update_settings(self, sitting_id: int, changes: dict, *, actor: str) -> Settings:
        async with self.store.transaction() as session:
            row = await repo_comments.save_settings(session, sitting_id, **changes)
            detail = ", ".join(f"{k}={v}" for k, v in changes.items())
            await repo.audit(session, actor, "comment.settings", f"sitting:{sitting_id}", detail)
        settings = _settings(row)
        await self.bus.publish(
            channel_for(sitting_id), {"kind": "settings", "settings": asdict(settings)}
        )
        return settings

    async def list_words(self) -> list[BannedWord]:
        async with self.store.read() as session:
            return list(await repo_comments.banned_words(session))

    async def add_word(self, pattern: object, action: WordAction, *, actor: str) -> BannedWord:
        pattern = check_pattern(pattern)
        async with self.store.transaction() as session:
            word = await repo_comments.add_banned_word(session, pattern, action)
            await repo.audit(session, actor, "banned_word.add", pattern, action.value)
        await self._reload_words()  # this node at once, the others on the bus event
        await self.bus.publish(WORDS_CHANNEL, {"kind": "words"})
        return word

    async def delete_word(self, word_id: int, *, actor: str) -> None:
        async with self.store.transaction() as session:
            word = await repo_comments.delete_banned_word(session, word_id)
            await repo.audit(session, actor, "banned_word.delete", word.pattern)
        await self._reload_words()  # this node at once, the others on the bus event
        await self.bus.publish(WORDS_CHANNEL, {"kind": "words"})

    async def _follow_words(self, subscription) -> None:
        async for _event in subscription:
            await self._reload_words()

    async def _reload_words(self) -> None:
        async with self.store.read() as session:
            self.words = WordFilter(await repo_comments.banned_patterns(session))

    async def _missed(self, sitting_id: int, after: int) -> list[dict[str, Any]]:
        async with self.store.read() as session:
            comments = await repo_comments.comments_after(session, sitting_id, after)
        return [frames.comment_record(c) for c in comments]

    async def _snapshot(self, sitting_id: int) -> Snapshot:
        history_size = self.hub.limits.history
        async with self.store.read() as session:
            settings = await repo_comments.get_settings(session, sitting_id)
            history = await repo_comments.recent_comments(session, sitting_id, history_size)
            held = await repo_comments.held_comments(session, sitting_id)
        return Snapshot(
            _settings(settings),
            [frames.comment_record(c) for c in history],
            [frames.comment_record(c) for c in held],
        )


def _settings(row: CommentSettings) -> Settings:
    return Settings(row.slow_mode_s, row.premoderation, row.allow_links, row.pinned)
