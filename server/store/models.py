"""Database tables. Changes here need an Alembic migration in server/migrations/versions."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    column,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC on every backend (SQLite hands back naive datetimes otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime}


class Institution(Base):
    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer)


class Member(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    fraksi: Mapped[str] = mapped_column(String(100), default="")
    komisi: Mapped[str] = mapped_column(String(100), default="")
    photo: Mapped[str | None] = mapped_column(String(300), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    member: Mapped[Member | None] = relationship(lazy="joined")


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token and this row its SHA-256, so a
    session ends the moment its row goes (logout, password change) and a copy of the table
    opens no session."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Sitting(Base):
    __tablename__ = "sitting"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    quorum_rule: Mapped[str] = mapped_column(String(5), default="1/2")
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    ingest_key: Mapped[str] = mapped_column(String(64))
    komisi: Mapped[str] = mapped_column(String(100), default="")
    secret_ballot: Mapped[bool] = mapped_column(Boolean, default=False)
    live_started_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="sitting",
        order_by="AgendaItem.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="sitting", lazy="selectin", order_by="Document.id"
    )
    recording: Mapped[Recording | None] = relationship(
        back_populates="sitting", lazy="selectin", uselist=False
    )


class AgendaItem(Base):
    __tablename__ = "agenda_item"
    __table_args__ = (UniqueConstraint("sitting_id", "position", name="sitting_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    start_offset: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_offset: Mapped[float | None] = mapped_column(Float, nullable=True)

    sitting: Mapped[Sitting] = relationship(back_populates="agenda_items")
    documents: Mapped[list[Document]] = relationship(
        back_populates="agenda_item", lazy="selectin", order_by="Document.id"
    )


class Document(Base):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int | None] = mapped_column(
        ForeignKey("sitting.id", ondelete="SET NULL"), nullable=True, index=True
    )
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="SET NULL"), nullable=True
    )
    jenis: Mapped[str] = mapped_column(String(30))
    nomor: Mapped[str] = mapped_column(String(50), default="")
    tahun: Mapped[int] = mapped_column(Integer)
    judul: Mapped[str] = mapped_column(String(500))
    tanggal_penetapan: Mapped[dt.date | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="berlaku")
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL"), nullable=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    original_filename: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    sitting: Mapped[Sitting | None] = relationship(back_populates="documents", lazy="selectin")
    agenda_item: Mapped[AgendaItem | None] = relationship(
        back_populates="documents", lazy="selectin"
    )

    @property
    def stored_name(self) -> str:
        return f"{self.sha256[:2]}/{self.sha256}.pdf"


class Recording(Base):
    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), unique=True
    )
    playlist_path: Mapped[str] = mapped_column(String(500))
    mp4_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    # The wall time the sitting was live, and the (start, end) holes in the media (JSON), so
    # staff see before publishing when the record is not whole.
    expected_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    gaps: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    sitting: Mapped[Sitting] = relationship(back_populates="recording")

    @property
    def missing_s(self) -> float:
        """How much shorter than the live wall time the recording is (0 when unknown)."""
        return max(0.0, (self.expected_s or 0.0) - self.duration_s)

    @property
    def gap_list(self) -> list[tuple[float, float]]:
        return [tuple(gap) for gap in json.loads(self.gaps or "[]")]


class AuditEntry(Base):
    """Who did what and when: staff and moderator actions are all logged here."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class Comment(Base):
    """A resident's live comment. Hidden and held comments stay for audit; the archive replays
    the visible ones at `offset_s` into the recording."""

    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), index=True
    )
    identity_hash: Mapped[str] = mapped_column(String(64), index=True)
    ip_hash: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    offset_s: Mapped[float] = mapped_column(Float)
    question: Mapped[bool] = mapped_column(Boolean, default=False)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class CommentSettings(Base):
    """Per-sitting switches a moderator sets; absent means the defaults."""

    __tablename__ = "comment_settings"

    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True
    )
    slow_mode_s: Mapped[int] = mapped_column(Integer, default=0)
    premoderation: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_links: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[str] = mapped_column(String(300), default="")


class BannedWord(Base):
    """One moderator-editable pattern, shared by comments, the forum and Raperda input."""

    __tablename__ = "banned_word"

    id: Mapped[int] = mapped_column(primary_key=True)
    pattern: Mapped[str] = mapped_column(String(100), unique=True)
    action: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class CommentBan(Base):
    """A ban on an identity and its device until `until`, and on its IP only when the
    moderator chose an address ban; the bus holds the live copy."""

    __tablename__ = "comment_ban"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    until: Mapped[dt.datetime] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class ReportedItem(Base):
    """Something residents reported, of any feature (`kind`, `target_id`): its review state
    (server.domain.moderation.ReviewState), the distinct reporters since the last review, and
    what the moderator queue shows of it."""

    __tablename__ = "reported_item"
    __table_args__ = (
        UniqueConstraint("kind", "target_id", name="uq_reported_item_target"),
        Index("ix_reported_item_queue", "state", "first_reported_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))
    reporters: Mapped[int] = mapped_column(Integer, default=0)
    excerpt: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    first_reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    hidden_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reviewed_by: Mapped[str] = mapped_column(String(80), default="")


class ContentReport(Base):
    """One resident's report of an item; a resident (identity, device or address) counts once."""

    __tablename__ = "content_report"
    __table_args__ = (
        UniqueConstraint("item_id", "identity_hash", name="uq_content_report_reporter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("reported_item.id", ondelete="CASCADE"))
    identity_hash: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attendance(Base):
    """One stretch of a member's presence: remote (from the room) or in the hall (marked by
    staff). `left_at` is empty while they are present; quorum counts distinct members."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(10))
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    left_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    marked_by: Mapped[str] = mapped_column(String(80), default="")

    member: Mapped[Member] = relationship(lazy="joined")


class Vote(Base):
    """A vote on an agenda item. Totals are kept here, counted in the same transaction as each
    ballot, so a secret ballot keeps nothing else."""

    __tablename__ = "vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), index=True
    )
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(300))
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    opened_by: Mapped[str] = mapped_column(String(80))
    present_at_open: Mapped[int] = mapped_column(Integer)
    setuju: Mapped[int] = mapped_column(Integer, default=0)
    tidak_setuju: Mapped[int] = mapped_column(Integer, default=0)
    abstain: Mapped[int] = mapped_column(Integer, default=0)

    ballots: Mapped[list[Ballot]] = relationship(
        back_populates="vote", lazy="selectin", order_by="Ballot.id", cascade="all, delete-orphan"
    )


class Ballot(Base):
    """One member's ballot. The unique constraint is the last word on "one vote per member";
    in a secret ballot `choice` stays empty (the row only records that they voted)."""

    __tablename__ = "ballot"
    __table_args__ = (UniqueConstraint("vote_id", "member_id", name="vote_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    choice: Mapped[str | None] = mapped_column(String(15), nullable=True)
    via: Mapped[str] = mapped_column(String(10))
    entered_by: Mapped[str] = mapped_column(String(80))
    cast_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    vote: Mapped[Vote] = relationship(back_populates="ballots")
    member: Mapped[Member] = relationship(lazy="joined")


class RecordingEdit(Base):
    """How the published recording was cut from the raw one. `kept` (raw seconds, on segment
    edges, JSON) is the map between the two clocks: agenda offsets, comment offsets and caption
    cues stay on the raw clock and are mapped through it when shown."""

    __tablename__ = "recording_edit"

    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True
    )
    trim_start: Mapped[float] = mapped_column(Float, default=0.0)
    trim_end: Mapped[float | None] = mapped_column(Float, nullable=True)
    cuts: Mapped[str] = mapped_column(Text, default="[]")
    poster_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    kept: Mapped[str] = mapped_column(Text, default="[]")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    edited_by: Mapped[str] = mapped_column(String(80))
    edited_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RecordingJob(Base):
    """The latest edit or publish job of a sitting's recording. Persisted so that a restart
    (or the loss of the node running it) does not forget it: a job whose heartbeat stopped is
    taken over and run again, which is safe since the published tree is swapped in whole."""

    __tablename__ = "recording_job"
    __table_args__ = (Index("ix_recording_job_state", "state", "heartbeat_at"),)

    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    params: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(10))  # running, done, failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # [template, params] JSON
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class DocumentText(Base):
    """Text extracted from a document's PDF for search; `scanned` flags a PDF with no text
    layer, which staff should replace with an OCR'd copy."""

    __tablename__ = "document_text"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    scanned: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class CaptionCue(Base):
    """One cue of a sitting's captions or transcript, on the raw recording clock."""

    __tablename__ = "caption_cue"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class SearchEntry(Base):
    """One searchable thing (a sitting, agenda item, document or caption cue), kept in step
    with its source inside the same transaction (server/store/search_index.py).

    `stemmed_title`/`stemmed_body` hold Sastrawi-stemmed words; the full-text index over them
    lives outside the ORM (FTS5 on SQLite, a tsvector column with GIN on PostgreSQL; see
    migration 0004_archive)."""

    __tablename__ = "search_entry"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="kind_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    ref_id: Mapped[int] = mapped_column(Integer)
    sitting_id: Mapped[int | None] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), nullable=True, index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    stemmed_title: Mapped[str] = mapped_column(Text, default="")
    stemmed_body: Mapped[str] = mapped_column(Text, default="")
    offset_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category: Mapped[str] = mapped_column(String(30), default="")
    komisi: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ComplaintCategory(Base):
    """A kind of complaint staff manage; each goes to the komisi that oversees it."""

    __tablename__ = "complaint_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    komisi: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


COMPLAINT_STATS_INDEXES = {
    "category": ("month", "category_id"),
    "komisi": ("month", "komisi"),
    "kelurahan": ("month", "kelurahan", "privacy"),
    "verify": ("verify_s",),
    "finish": ("finish_s",),
    "on_time": ("verified_on_time", "followed_on_time"),
}


class Complaint(Base):
    """A resident's report (pengaduan). Contact details live only in `contact_token`, a Fernet
    token whose key is never in the database; the secret link is kept as its SHA-256.
    `due_on` is the next deadline in working days (verification, then follow-up); `month` is
    the filing month in SIDANG_TIMEZONE, so statistics group alike on every backend."""

    __tablename__ = "complaint"
    # Covering indexes for the statistics: each grouping and median is an index range scan.
    # The public list pages by filing time among visible reports; the inbox by deadline
    # within a komisi.
    __table_args__ = (
        *(
            Index(f"ix_complaint_stats_{name}", "held", *columns)
            for name, columns in COMPLAINT_STATS_INDEXES.items()
        ),
        Index("ix_complaint_public", "held", "filed_at", "id"),
        Index("ix_complaint_inbox", "komisi", "due_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[int] = mapped_column(ForeignKey("complaint_category.id"), index=True)
    komisi: Mapped[str] = mapped_column(String(100), index=True)
    opd: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(300), default="")
    kelurahan: Mapped[str] = mapped_column(String(100), default="", index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    privacy: Mapped[str] = mapped_column(String(10))
    contact_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    has_email: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    text_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaint.id", ondelete="SET NULL"), nullable=True
    )
    # Where the DPRD discussed it: a sitting, and optionally one of its agenda items.
    sitting_id: Mapped[int | None] = mapped_column(
        ForeignKey("sitting.id", ondelete="SET NULL"), nullable=True, index=True
    )
    agenda_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    verify_due: Mapped[dt.date] = mapped_column(Date)
    follow_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    followed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Kept when they happen, so statistics need no date arithmetic that differs by backend.
    verify_s: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    finish_s: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    verified_on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    followed_on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    category: Mapped[ComplaintCategory] = relationship(lazy="joined")


class ComplaintEvent(Base):
    """One step in a complaint's history: a status change with its message to the reporter,
    or a public answer by a member of the assigned komisi (`member_name` set)."""

    __tablename__ = "complaint_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    member_name: Mapped[str] = mapped_column(String(200), default="")


class ComplaintPhoto(Base):
    """A photo as we re-encoded it (JPEG, no metadata); the upload itself is never kept."""

    __tablename__ = "complaint_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Holiday(Base):
    """A day off that working-day deadlines skip (libur nasional, cuti bersama)."""

    __tablename__ = "holiday"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")


class Open311Key(Base):
    """An API key staff issued to an Open311 client; only its SHA-256 is kept."""

    __tablename__ = "open311_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Raperda(Base):
    """A draft regional regulation open for residents' input (server/raperda/). Its text lives in
    versions; `current_version_id` is the one published last (None: not published yet)."""

    __tablename__ = "raperda"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL"), nullable=True
    )
    naskah_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL"), nullable=True
    )
    opens_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    closes_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    enacted: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_lineage: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped with every change to the draft's visible input, in the same transaction: pages
    # keep the counts by position while it stands (server/raperda/service.py, DraftCounts).
    input_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class RaperdaSitting(Base):
    """A Bapemperda or Pansus sitting that discusses the draft."""

    __tablename__ = "raperda_sitting"

    raperda_id: Mapped[int] = mapped_column(
        ForeignKey("raperda.id", ondelete="CASCADE"), primary_key=True
    )
    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RaperdaVersion(Base):
    """The text of one version as staff imported it; parsed into units when published."""

    __tablename__ = "raperda_version"
    __table_args__ = (UniqueConstraint("raperda_id", "number", name="raperda_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    raperda_id: Mapped[int] = mapped_column(ForeignKey("raperda.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    source_text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class RaperdaUnit(Base):
    """A Menimbang, a Mengingat or a Pasal of one version. `lineage` is the same pasal across
    versions (kept when it is renumbered or moved); comments follow it. `content` is the
    pasal's parts as JSON (ayat, huruf) and `text` its plain wording."""

    __tablename__ = "raperda_unit"
    __table_args__ = (Index("ix_raperda_unit_version_position", "version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("raperda_version.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    number: Mapped[str] = mapped_column(String(10), default="")
    lineage: Mapped[int] = mapped_column(Integer)
    bab: Mapped[str] = mapped_column(String(300), default="")
    bagian: Mapped[str] = mapped_column(String(300), default="")
    paragraf: Mapped[str] = mapped_column(String(300), default="")
    content: Mapped[str] = mapped_column(Text, default="{}")
    text: Mapped[str] = mapped_column(Text, default="")


# Rendered per dialect as the queries render them, so each database matches its partial indexes.
_VISIBLE = and_(
    column("held").is_(False), column("hidden").is_(False), column("withdrawn").is_(False)
)
_HELD = and_(column("held").is_(True), column("withdrawn").is_(False))


class RaperdaComment(Base):
    """A resident's input on a pasal (its lineage, as seen in `version_id`), one of its ayat,
    or the whole draft (no lineage). Withdrawn, held and hidden input stays for audit."""

    __tablename__ = "raperda_comment"
    # Partial indexes of visible input (migration 0013): the counts by position, a pasal's
    # pages of input by id, and the held queue.
    __table_args__ = (
        Index(
            "ix_raperda_comment_visible_counts",
            "raperda_id",
            "lineage",
            "position",
            sqlite_where=_VISIBLE,
            postgresql_where=_VISIBLE,
        ),
        Index(
            "ix_raperda_comment_visible_pages",
            "raperda_id",
            "lineage",
            "id",
            sqlite_where=_VISIBLE,
            postgresql_where=_VISIBLE,
        ),
        Index(
            "ix_raperda_comment_held",
            "raperda_id",
            "id",
            sqlite_where=_HELD,
            postgresql_where=_HELD,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    raperda_id: Mapped[int] = mapped_column(ForeignKey("raperda.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("raperda_version.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("raperda_unit.id", ondelete="CASCADE"), nullable=True
    )
    lineage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ayat: Mapped[str] = mapped_column(String(10), default="")
    position: Mapped[str] = mapped_column(String(20), default="")
    text: Mapped[str] = mapped_column(Text)
    proposed: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(80))
    identity_hash: Mapped[str] = mapped_column(String(64), index=True)
    ip_hash: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(10))  # "email", "phone" or "login"
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PhoneCode(Base):
    """A one-time code sent by SMS to verify a resident's phone. Neither the number nor the
    code is stored: only keyed hashes (server/signing.py), so a copy of the database reveals
    no number, and codes cannot be tried against it offline."""

    __tablename__ = "phone_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(80))  # the display name to verify it with
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class RaperdaResponse(Base):
    """The committee's public answer on a pasal (its lineage): taken up or not, and why."""

    __tablename__ = "raperda_response"

    raperda_id: Mapped[int] = mapped_column(
        ForeignKey("raperda.id", ondelete="CASCADE"), primary_key=True
    )
    lineage: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ForumTopic(Base):
    """A forum topic; topics are listed grouped by the komisi that answers them, in staff's
    `position` order. An archived topic stays readable but takes no new threads."""

    __tablename__ = "forum_topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    komisi: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class ForumThread(Base):
    """A thread: its opening post, who wrote it (a resident's hashed identity, or an account
    with its badge), what it is about (a sitting, a Raperda, a complaint category), and the
    moderator's switches. Threads and replies are searched through `search_entry`."""

    __tablename__ = "forum_thread"
    __table_args__ = (
        # A topic's page: visible threads, latest activity first, paged by keyset.
        Index("ix_forum_thread_topic", "topic_id", "hidden", "last_activity_at", "id"),
        # The threads a sitting's or a Raperda's page lists.
        Index("ix_forum_thread_sitting", "sitting_id"),
        Index("ix_forum_thread_raperda", "raperda_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("forum_topic.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author_name: Mapped[str] = mapped_column(String(200))
    badge: Mapped[str] = mapped_column(String(20), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    identity_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sitting_id: Mapped[int | None] = mapped_column(
        ForeignKey("sitting.id", ondelete="SET NULL"), nullable=True
    )
    raperda_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaint_category.id", ondelete="SET NULL"), nullable=True
    )
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    slow_mode_s: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    official: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ForumReply(Base):
    """A reply; `official` marks the DPRD's official answer (set by a member)."""

    __tablename__ = "forum_reply"
    __table_args__ = (
        # A thread's page: visible replies in order, paged by keyset on id.
        Index("ix_forum_reply_page", "thread_id", "hidden", "id"),
        Index("ix_forum_reply_official", "thread_id", "official", "hidden", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("forum_thread.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    author_name: Mapped[str] = mapped_column(String(200))
    badge: Mapped[str] = mapped_column(String(20), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    identity_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    official: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ForumSubscription(Base):
    """An opt-in to e-mail on new replies. The address is a Fernet token (SIDANG_DATA_KEY);
    each e-mail carries a signed link that ends it."""

    __tablename__ = "forum_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("forum_thread.id", ondelete="CASCADE"), index=True
    )
    identity_hash: Mapped[str] = mapped_column(String(64))
    contact_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
