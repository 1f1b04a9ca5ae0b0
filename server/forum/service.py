"""The forum's rules: who may open and answer threads, official replies, moderation (the same
gate, bans, banned words and reports as comments), and e-mail on new replies. No HTTP here."""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from server.bus import Bus
from server.domain.errors import InvalidInput, NotFound, PermissionDenied
from server.domain.moderation import (
    Ban,
    Gate,
    Limits,
    RefusalCode,
    Refused,
    Sender,
    WordAction,
    WordFilter,
    check_ban_minutes,
    check_name,
    check_slow_mode,
    clean_text,
)
from server.domain.roles import MODERATORS, STAFF, Role
from server.i18n import N_
from server.mail import Mailer
from server.pengaduan.vault import Contact, Vault
from server.reports import ReportService, Target
from server.search.service import FORUM_KINDS, Hit, SearchQuery, backend_for, snippet
from server.search.stemming import stem_query
from server.signing import BadSignature, Signer
from server.store import Store, repo
from server.store import comments as repo_comments
from server.store import forum as store
from server.store import pengaduan as pengaduan_store
from server.store import raperda as raperda_store
from server.store.models import (
    ComplaintCategory,
    ForumReply,
    ForumSubscription,
    ForumThread,
    ForumTopic,
    Member,
    Sitting,
    utcnow,
)
from server.store.search_index import thread_scope

log = logging.getLogger(__name__)

THREAD_KIND = "forum_utas"
REPLY_KIND = "forum_balasan"
PAGE_SIZE = 50
TOPIC_PAGE_SIZE = 30
MAX_TITLE = 200
MAX_BODY = 5000
MAX_EMAIL = 254
EXCERPT = 280
LINKED_LIMIT = 20  # threads listed on a sitting's or a Raperda's page
MAX_POSITION = 999
# Forum posts are longer and rarer than live comments: a few a minute per resident.
FORUM_LIMITS = Limits(per_identity=5, per_ip=20, window_s=60.0, duplicate_window_s=600.0)
MEMBERS = frozenset({Role.ANGGOTA, Role.PIMPINAN})
UNSUBSCRIBE = "forum-unsubscribe"


class Badge(enum.StrEnum):
    MEMBER = "anggota"
    STAFF = "sekretariat"


BADGE_LABELS = {Badge.MEMBER: N_("Anggota DPRD"), Badge.STAFF: N_("Sekretariat DPRD")}


class CurrentUser(Protocol):
    """The signed-in account (server.auth.CurrentUser fits)."""

    id: int
    username: str
    member_id: int | None

    def has(self, roles: Iterable[Role]) -> bool: ...


@dataclass(frozen=True)
class Author:
    """Who posts: a resident (a display name and the gate's hashed identity) or an account."""

    sender: Sender
    name: str = ""
    user: CurrentUser | None = None
    email: str = ""  # opt-in to e-mail on new replies


@dataclass(frozen=True)
class Opening:
    topic_id: int
    title: str
    body: str
    sitting_id: int | None = None
    raperda_id: int | None = None
    category_id: int | None = None


@dataclass(frozen=True)
class ThreadPage:
    thread: ForumThread
    topic: ForumTopic
    replies: list[ForumReply]
    official: list[ForumReply]
    sitting: Sitting | None
    category: ComplaintCategory | None
    newer: bool  # a page after this one exists
    older: bool  # a page before this one exists


@dataclass(frozen=True)
class PostMatch:
    """A post of a thread holding the searched words, and the link that opens the thread at it."""

    url: str
    author_name: str
    badge: str
    created_at: dt.datetime
    snippet: str


@dataclass(frozen=True)
class TopicPage:
    topic: ForumTopic
    threads: list[ForumThread]
    cursor: str | None  # the next (older) page's cursor


@dataclass(frozen=True)
class Found:
    """A search result and the link to the post."""

    hit: Hit
    url: str


@dataclass
class TopicIndex:
    """The topics grouped by komisi, and each topic's count of visible threads."""

    groups: dict[str, list[ForumTopic]] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)


class ForumService:
    def __init__(
        self,
        store_: Store,
        bus: Bus,
        signer: Signer,
        reports: ReportService,
        vault: Vault,
        mailer: Mailer,
        public_url: str,
    ) -> None:
        self.store = store_
        self.signer = signer
        self.public_url = public_url
        self.gate = Gate(bus, FORUM_LIMITS)
        self.reports = reports
        self.vault = vault
        self.mailer = mailer
        reports.register(THREAD_KIND, _Threads())
        reports.register(REPLY_KIND, _Replies())

    # Reading

    async def index(self) -> TopicIndex:
        async with self.store.read() as session:
            topics = await store.topics(session)
            counts = await store.thread_counts(session)
        index = TopicIndex(counts=counts)
        for topic in topics:
            index.groups.setdefault(topic.komisi, []).append(topic)
        return index

    async def topic_page(self, topic_id: int, cursor: str | None = None) -> TopicPage:
        before = _parse_cursor(cursor)
        async with self.store.read() as session:
            topic = await store.get_topic(session, topic_id)
            threads = list(
                await store.topic_threads(session, topic_id, TOPIC_PAGE_SIZE + 1, before)
            )
        more = len(threads) > TOPIC_PAGE_SIZE
        threads = threads[:TOPIC_PAGE_SIZE]
        last = threads[-1] if more else None
        next_cursor = f"{last.last_activity_at.timestamp():.6f}_{last.id}" if last else None
        return TopicPage(topic, threads, next_cursor)

    async def search(self, text: str, offset: int = 0) -> list[Found]:
        """Threads and replies holding every stemmed word, best first, each linking to its
        post: a reply to the page of the thread that opens at it."""
        query = SearchQuery(text=text, kinds=FORUM_KINDS, limit=TOPIC_PAGE_SIZE, offset=offset)
        async with self.store.read() as session:
            hits = await backend_for(self.store.dialect).search(session, query)
            urls = await hit_urls(session, hits)
        return [Found(hit, urls[key]) for hit in hits if (key := (hit.kind, hit.ref_id)) in urls]

    async def search_thread(
        self, thread_id: int, text: str, offset: int = 0
    ) -> tuple[list[PostMatch], bool]:
        """One thread's posts holding every stemmed word, in thread order (as a reader reads
        them, not ranked), one page from `offset`; and whether more follow."""
        stems = stem_query(text)
        if not stems:
            return [], False
        params: dict = {}
        match = backend_for(self.store.dialect).matches([*stems, thread_scope(thread_id)], params)
        async with self.store.read() as session:
            rows = await store.matching_posts(
                session, thread_id, match, params, TOPIC_PAGE_SIZE + 1, offset
            )
        wanted = set(stems)
        found = [
            PostMatch(
                url=reply_url(thread_id, row.reply_id)
                if row.reply_id
                else f"/forum/utas/{thread_id}",
                author_name=row.author_name,
                badge=row.badge,
                created_at=row.created_at,
                snippet=snippet(row.body, wanted),
            )
            for row in rows[:TOPIC_PAGE_SIZE]
        ]
        return found, len(rows) > TOPIC_PAGE_SIZE

    async def linked(
        self, *, sitting_id: int | None = None, raperda_id: int | None = None
    ) -> list[ForumThread]:
        """The visible threads about a sitting or a Raperda, for its page."""
        async with self.store.read() as session:
            return list(
                await store.linked_threads(
                    session, LINKED_LIMIT, sitting_id=sitting_id, raperda_id=raperda_id
                )
            )

    async def thread_page(
        self,
        thread_id: int,
        *,
        after: int | None = None,
        before: int | None = None,
        moderator: bool = False,
    ) -> ThreadPage:
        async with self.store.read() as session:
            thread, topic = await store.thread_with_topic(session, thread_id)
            if thread.hidden and not moderator:
                raise NotFound(N_("Utas %(id)s tidak ditemukan."), id=thread_id)
            page, more = await store.replies(
                session, thread_id, PAGE_SIZE, after=after, before=before
            )
            official = (
                list(await store.official_replies(session, thread_id)) if thread.official else []
            )
            sitting, category = await store.links(session, thread)
        # Read backwards, `more` means older replies; read forwards, newer ones. A reader
        # who came from a page on the other side knows there is one there.
        newer = bool(page) and (True if before is not None else more)
        older = bool(page) and (more if before is not None else after is not None)
        if sitting is not None and not sitting.is_public:
            sitting = None
        return ThreadPage(thread, topic, page, official, sitting, category, newer, older)

    async def categories(self) -> list[ComplaintCategory]:
        async with self.store.read() as session:
            return list(await pengaduan_store.categories(session))

    # Writing

    async def open_thread(self, opening: Opening, author: Author) -> ForumThread:
        title = _text(opening.title, MAX_TITLE, "title", N_("Isi judul utas."))
        body = _text(opening.body, MAX_BODY, "body", N_("Isi pesan utas."))
        async with self.store.transaction() as session:
            topic = await store.get_topic(session, opening.topic_id)
            if topic.archived:
                raise Refused(
                    RefusalCode.CLOSED, N_("Topik ini diarsipkan: tidak menerima utas baru.")
                )
            await self._check_links(session, opening)
            scope = f"forum:topic:{opening.topic_id}"
            name, badge = await self._admit(session, author, scope, 0, f"{title}\n{body}")
            word = await _words(session, f"{title}\n{body}")
            now = utcnow()
            thread = ForumThread(
                topic_id=opening.topic_id,
                title=title,
                body=body,
                author_name=name,
                badge=badge,
                sitting_id=opening.sitting_id,
                raperda_id=opening.raperda_id,
                category_id=opening.category_id,
                hidden=word is WordAction.HOLD,
                created_at=now,
                last_activity_at=now,
                locked=False,
                slow_mode_s=0,
                official=False,
                reply_count=0,
                **_who(author),
            )
            session.add(thread)
            await session.flush()
            if thread.hidden:
                await self.reports.hold(session, THREAD_KIND, thread.id, _thread_target(thread))
            await self._subscribe(session, thread.id, author)
        return thread

    async def reply(self, thread_id: int, body: object, author: Author) -> ForumReply:
        body = _text(body, MAX_BODY, "body", N_("Isi balasan."))
        async with self.store.transaction() as session:
            thread = await store.get_thread(session, thread_id, lock=True)
            if thread.hidden:
                raise NotFound(N_("Utas %(id)s tidak ditemukan."), id=thread_id)
            if thread.locked:
                raise Refused(RefusalCode.CLOSED, N_("Utas ini dikunci: tidak menerima balasan."))
            scope = f"forum:thread:{thread_id}"
            name, badge = await self._admit(session, author, scope, thread.slow_mode_s, body)
            word = await _words(session, body)
            reply = ForumReply(
                thread_id=thread_id,
                body=body,
                author_name=name,
                badge=badge,
                official=False,
                hidden=word is WordAction.HOLD,
                created_at=utcnow(),
                **_who(author),
            )
            session.add(reply)
            await session.flush()
            if reply.hidden:
                await self.reports.hold(session, REPLY_KIND, reply.id, _reply_target(reply))
            else:
                thread.reply_count += 1
                thread.last_activity_at = reply.created_at
            await self._subscribe(session, thread_id, author)
            recipients = [
                s
                for s in await store.subscriptions(session, thread_id)
                if s.identity_hash != author.sender.identity
            ]
        if not reply.hidden:
            self._notify(thread, reply, recipients)
        return reply

    async def _admit(
        self, session: AsyncSession, author: Author, scope: str, slow_mode_s: int, text: str
    ) -> tuple[str, str]:
        """The name and badge a post carries. Members and staff post under their account with
        its badge; everyone else passes the moderation gate (bans, floods, slow mode)."""
        user = author.user
        if user is not None and (badge := badge_of(user)):
            member = await _member(session, user.member_id)
            return (member.name if member else user.username), badge
        try:
            name = check_name(author.name)
        except Refused as error:  # shown beside the name field, not the message
            fields = {"name": error.template}
            raise InvalidInput(error.template, fields=fields, **error.params) from None
        await self.gate.admit(scope, author.sender, text, slow_mode_s)
        return name, ""

    async def _check_links(self, session: AsyncSession, opening: Opening) -> None:
        if opening.sitting_id is not None:
            try:
                await repo.get_sitting(session, opening.sitting_id, public_only=True)
            except NotFound as error:
                fields = {"sitting_id": error.template}
                raise InvalidInput(error.template, fields=fields, **error.params) from None
        if opening.raperda_id is not None and not await _published_raperda(
            session, opening.raperda_id
        ):
            message = N_("Raperda tidak ditemukan.")
            raise InvalidInput(message, fields={"raperda_id": message})
        if opening.category_id is not None and (
            await session.get(ComplaintCategory, opening.category_id) is None
        ):
            message = N_("Kategori tidak ditemukan.")
            raise InvalidInput(message, fields={"category_id": message})

    async def _subscribe(self, session: AsyncSession, thread_id: int, author: Author) -> None:
        if not author.email:
            return
        email = author.email.strip()
        if "@" not in email or " " in email or len(email) > MAX_EMAIL:
            message = N_("Alamat e-mail tidak valid.")
            raise InvalidInput(message, fields={"email": message})
        token = self.vault.seal(Contact(email=email))
        existing = await store.subscriptions(session, thread_id)
        if any(s.identity_hash == author.sender.identity for s in existing):
            return
        session.add(
            ForumSubscription(
                thread_id=thread_id,
                identity_hash=author.sender.identity,
                contact_token=token,
            )
        )

    def _notify(
        self, thread: ForumThread, reply: ForumReply, recipients: list[ForumSubscription]
    ) -> None:
        """After the commit (a mail failure never fails the reply); each e-mail carries a
        signed link that ends its subscription."""
        if not self.mailer.enabled or not recipients:
            return
        for subscription in recipients:
            email = self.vault.open(subscription.contact_token).email
            self.mailer.send(
                email,
                f"[Forum DPRD] {thread.title[:80]}",
                _mail_body(
                    self.public_url,
                    thread,
                    reply,
                    self.signer.sign(UNSUBSCRIBE, subscription.id),
                ),
            )

    async def unsubscribe(self, token: str) -> None:
        try:
            subscription_id = int(self.signer.unsign(UNSUBSCRIBE, token))
        except (BadSignature, TypeError, ValueError):
            raise NotFound(N_("Langganan tidak ditemukan atau sudah berhenti.")) from None
        async with self.store.transaction() as session:
            subscription = await session.get(ForumSubscription, subscription_id)
            if subscription is None:
                raise NotFound(N_("Langganan tidak ditemukan atau sudah berhenti."))
            await session.delete(subscription)

    # Members and moderators

    async def mark_official(self, user: CurrentUser, reply_id: int, official: bool) -> ForumReply:
        """A member marks (or unmarks) a member's or staff reply as the DPRD's answer."""
        if not user.has(MEMBERS):
            raise PermissionDenied(N_("Hanya anggota DPRD yang dapat menandai jawaban resmi."))
        async with self.store.transaction() as session:
            reply = await store.get_reply(session, reply_id)
            if not reply.badge or reply.hidden:
                raise InvalidInput(N_("Hanya balasan anggota atau sekretariat yang dapat resmi."))
            thread = await store.get_thread(session, reply.thread_id, lock=True)
            reply.official = official
            await store.refresh_official(session, thread)
            action = "forum.official" if official else "forum.unofficial"
            await repo.audit(session, user.username, action, f"forum_reply:{reply.id}")
        return reply

    async def moderate(
        self,
        user: CurrentUser,
        thread_id: int,
        *,
        locked: bool | None = None,
        slow_mode_s: object = None,
    ) -> ForumThread:
        if not user.has(MODERATORS):
            raise PermissionDenied(N_("Hanya moderator yang dapat mengatur utas."))
        async with self.store.transaction() as session:
            thread = await store.get_thread(session, thread_id, lock=True)
            changes = []
            if locked is not None:
                thread.locked = locked
                changes.append(f"locked={locked}")
            if slow_mode_s is not None:
                thread.slow_mode_s = check_slow_mode(slow_mode_s)
                changes.append(f"slow_mode_s={thread.slow_mode_s}")
            await repo.audit(
                session,
                user.username,
                "forum.settings",
                f"forum_thread:{thread_id}",
                ", ".join(changes),
            )
        return thread

    async def ban(
        self, user: CurrentUser, kind: str, target_id: int, minutes: object, reason: str
    ) -> Ban:
        """Ban the identity (and device) behind a thread or reply, everywhere residents post:
        the same bans as live comments."""
        if not user.has(MODERATORS):
            raise PermissionDenied(N_("Hanya moderator yang dapat memblokir."))
        minutes = check_ban_minutes(minutes)
        async with self.store.transaction() as session:
            post = (
                await store.get_thread(session, target_id)
                if kind == THREAD_KIND
                else await store.get_reply(session, target_id)
            )
            if post.user_id is not None:
                raise InvalidInput(N_("Akun anggota atau staf tidak diblokir dari sini."))
            until = utcnow() + dt.timedelta(minutes=minutes)
            ban = Ban(post.identity_hash, None, until, device=post.device_hash)
            row = await repo_comments.add_ban(
                session, ban, reason=reason[:300], actor=user.username
            )
            await repo.audit(
                session,
                user.username,
                "forum.ban",
                f"identity:{post.identity_hash[:8]}",
                f"{minutes} menit; {kind} {target_id}; {reason}",
            )
        ban = Ban(ban.identity, None, until, str(row.id), ban.device)
        await self.gate.apply(ban)
        return ban

    async def add_topic(
        self, user: CurrentUser, komisi: str, title: str, description: str
    ) -> ForumTopic:
        if not user.has(STAFF):
            raise PermissionDenied(N_("Hanya sekretariat yang dapat menambah topik."))
        komisi = _text(komisi, 100, "komisi", N_("Isi komisi."))
        title = _text(title, MAX_TITLE, "title", N_("Isi judul topik."))
        description = clean_text(description)[:500]
        async with self.store.transaction() as session:
            topic = await store.add_topic(session, komisi, title, description)
            await repo.audit(
                session, user.username, "forum.topic", f"forum_topic:{topic.id}", title
            )
        return topic

    async def edit_topic(
        self,
        user: CurrentUser,
        topic_id: int,
        *,
        title: object,
        description: object,
        position: object,
        archived: bool,
    ) -> ForumTopic:
        """Rename, describe, reorder or archive a topic. Archiving closes it to new threads;
        its threads stay readable, searchable and open to replies."""
        if not user.has(STAFF):
            raise PermissionDenied(N_("Hanya sekretariat yang dapat mengubah topik."))
        title = _text(title, MAX_TITLE, "title", N_("Isi judul topik."))
        description = clean_text(description)[:500] if isinstance(description, str) else ""
        order = _position(position)
        async with self.store.transaction() as session:
            topic = await store.get_topic(session, topic_id)
            before = (topic.title, topic.description, topic.position, topic.archived)
            topic.title, topic.description = title, description
            topic.position, topic.archived = order, archived
            after = (title, description, order, archived)
            changes = [
                f"{name}={new!r}"
                for name, old, new in zip(
                    ("title", "description", "position", "archived"), before, after, strict=True
                )
                if old != new
            ]
            if changes:
                await repo.audit(
                    session,
                    user.username,
                    "forum.topic.edit",
                    f"forum_topic:{topic_id}",
                    ", ".join(changes),
                )
        return topic


def thread_url(thread_id: int) -> str:
    return f"/forum/utas/{thread_id}"


def reply_url(thread_id: int, reply_id: int) -> str:
    """The thread's page that opens at the reply (pages are keyset: `setelah` an id)."""
    return f"/forum/utas/{thread_id}?setelah={reply_id - 1}#b{reply_id}"


async def hit_urls(session: AsyncSession, hits: Iterable[Hit]) -> dict[tuple[str, int], str]:
    """Links for the forum's search hits (threads and replies), by (kind, id)."""
    hits = list(hits)
    threads = await store.reply_threads(session, (h.ref_id for h in hits if h.kind == "reply"))
    urls = {}
    for hit in hits:
        if hit.kind == "thread":
            urls[hit.kind, hit.ref_id] = thread_url(hit.ref_id)
        elif hit.kind == "reply" and hit.ref_id in threads:
            urls[hit.kind, hit.ref_id] = reply_url(threads[hit.ref_id], hit.ref_id)
    return urls


def _position(value: object) -> int:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return 0
    if not text.isdigit() or int(text) > MAX_POSITION:
        message = N_("Urutan harus bilangan 0 sampai %(max)s.")
        raise InvalidInput(message, fields={"position": message}, max=MAX_POSITION)
    return int(text)


def badge_of(user: CurrentUser) -> str:
    """The badge an account posts with: members', staff's, or none (moderators)."""
    if user.has(MEMBERS) and not user.has(STAFF):
        return Badge.MEMBER.value
    if user.has(STAFF):
        return Badge.STAFF.value
    return ""


def _who(author: Author) -> dict:
    sender = author.sender
    user_id = author.user.id if author.user is not None and badge_of(author.user) else None
    return {
        "identity_hash": sender.identity,
        "ip_hash": sender.ip,
        "device_hash": sender.device or None,
        "user_id": user_id,
    }


async def _published_raperda(session: AsyncSession, raperda_id: int) -> bool:
    draft = await raperda_store.get(session, raperda_id)
    return draft is not None and draft.current_version_id is not None


async def _member(session: AsyncSession, member_id: int | None) -> Member | None:
    return await session.get(Member, member_id) if member_id else None


async def _words(session: AsyncSession, text: str) -> WordAction | None:
    """The same banned-word list as comments: a blocked word refuses, a held one hides the
    post into the moderator queue."""
    action = WordFilter(await repo_comments.banned_patterns(session)).match(text)
    if action is WordAction.BLOCK:
        raise Refused(RefusalCode.BLOCKED_WORD, N_("Pesan memuat kata yang tidak diizinkan."))
    return action


def _text(value: object, limit: int, field_name: str, empty: str) -> str:
    text = clean_text(value) if isinstance(value, str) else ""
    if not text:
        raise InvalidInput(empty, fields={field_name: empty})
    if len(text) > limit:
        message = N_("Paling banyak %(max)s karakter.")
        raise InvalidInput(message, fields={field_name: message}, max=limit)
    return text


def _parse_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    if not cursor:
        return None
    stamp, _, ident = cursor.partition("_")
    try:
        return dt.datetime.fromtimestamp(float(stamp), dt.UTC), int(ident)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(N_("Halaman tidak valid.")) from None


def _thread_target(thread: ForumThread) -> Target:
    return Target(f"{thread.title}: {thread.body}"[:EXCERPT], thread_url(thread.id))


def _reply_target(reply: ForumReply) -> Target:
    return Target(reply.body[:EXCERPT], reply_url(reply.thread_id, reply.id))


def _mail_body(public_url: str, thread: ForumThread, reply: ForumReply, token: str) -> str:
    return (
        f'{reply.author_name} membalas utas "{thread.title}":\n\n{reply.body[:1000]}\n\n'
        f"Baca: {public_url}{reply_url(thread.id, reply.id)}\n"
        f"Berhenti berlangganan: {public_url}/forum/berhenti?k={token}\n"
    )


class _Threads:
    async def describe(self, session: AsyncSession, target_id: int) -> Target:
        thread = await store.get_thread(session, target_id)
        if thread.hidden:
            raise NotFound(N_("Utas %(id)s tidak ditemukan."), id=target_id)
        return _thread_target(thread)

    async def set_hidden(self, session: AsyncSession, target_id: int, hidden: bool) -> None:
        thread = await store.get_thread(session, target_id)
        thread.hidden = hidden


class _Replies:
    async def describe(self, session: AsyncSession, target_id: int) -> Target:
        reply = await store.get_reply(session, target_id)
        if reply.hidden:
            raise NotFound(N_("Balasan %(id)s tidak ditemukan."), id=target_id)
        return _reply_target(reply)

    async def set_hidden(self, session: AsyncSession, target_id: int, hidden: bool) -> None:
        reply = await store.get_reply(session, target_id)
        thread = await store.get_thread(session, reply.thread_id, lock=True)
        if reply.hidden != hidden:
            reply.hidden = hidden
            thread.reply_count += -1 if hidden else 1
            await store.refresh_official(session, thread)
