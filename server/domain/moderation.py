"""The rules for public text: length, banned words, floods, slow mode, duplicates and bans.

Plain domain code (no aiohttp, no SQL), so live comments, the forum and Raperda input all apply
the same rules. Counters and bans live on the bus, which makes every limit hold across nodes:
a spammer who moves to another node meets the same counters and the same ban. A ban is on the
person's comment identity (and device), not on the address an office or a school shares; an
address ban is a separate, short choice.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from confusable_homoglyphs import confusables

from server.domain.errors import DomainError
from server.i18n import N_

MAX_TEXT_CHARS = 500
MAX_NAME_CHARS = 40
MAX_PATTERN_CHARS = 100
MAX_SLOW_MODE_S = 600
MAX_BAN_MINUTES = 30 * 24 * 60
# An address ban also shuts out everyone else behind it (an office, a school, a carrier's NAT).
MAX_IP_BAN_MINUTES = 60


class RefusalCode(enum.StrEnum):
    """The `code` of an error frame in the comment socket protocol (DESIGN.md)."""

    RATE_LIMITED = "rate_limited"
    SLOW_MODE = "slow_mode"
    TOO_LONG = "too_long"
    BANNED = "banned"
    BLOCKED_WORD = "blocked_word"
    CLOSED = "closed"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"  # not stored (the database is down): the same text may be retried


class Refused(DomainError):
    """A text was not accepted. `code` is machine-readable; `message` is for the resident."""

    def __init__(self, code: RefusalCode, message: str, **params: object) -> None:
        super().__init__(message, **params)
        self.code = code


class WordAction(enum.StrEnum):
    BLOCK = "block"  # refused outright, the sender is told
    HOLD = "hold"  # kept for a moderator to approve or hide


WORD_ACTION_LABELS = {
    WordAction.BLOCK: N_("Tolak"),
    WordAction.HOLD: N_("Tahan untuk moderasi"),
}


# Bidirectional overrides and other invisible format characters let a text display differently
# from what moderators read; control characters break layouts. Both go.
_INVISIBLE = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u206f\ufeff]"
)
_SPACES = re.compile(r"[ \t]+")
_NEWLINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """What is stored and shown: no invisible characters, tidy spaces, at most one blank line."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n")))
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n\n", text).strip()


def check_text(text: object) -> str:
    if not isinstance(text, str):
        raise Refused(RefusalCode.INVALID, N_("Pesan harus berupa teks."))
    text = clean_text(text)
    if not text:
        raise Refused(RefusalCode.INVALID, N_("Pesan tidak boleh kosong."))
    if len(text) > MAX_TEXT_CHARS:
        raise Refused(
            RefusalCode.TOO_LONG,
            N_("Pesan terlalu panjang (paling banyak %(max)s karakter)."),
            max=MAX_TEXT_CHARS,
        )
    return text


def check_name(name: object) -> str:
    if not isinstance(name, str) or not (name := clean_text(name).replace("\n", " ")):
        raise Refused(RefusalCode.INVALID, N_("Isi nama tampilan terlebih dahulu."))
    if len(name) > MAX_NAME_CHARS:
        raise Refused(
            RefusalCode.TOO_LONG,
            N_("Nama terlalu panjang (paling banyak %(max)s karakter)."),
            max=MAX_NAME_CHARS,
        )
    return name


# Banned words

_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "€": "e",
    }
)
_REPEATS = re.compile(r"(.)\1+")
_REPEATED_LETTERS = re.compile(r"([^\W\d_])\1+")
_NON_LETTER = re.compile(r"[^a-z]+")
_NON_PATTERN = re.compile(r"[^a-z*?]+")
# Below this length a pattern only matches whole words: "asu" must not catch "asuransi".
MIN_COMPACT_MATCH = 5


_WORD = re.compile(r"\w+")


def normalise(text: str, leet: bool = True) -> str:
    """Fold look-alikes, case, accents, leetspeak and stretched letters: 'B4NGS4TTT', 'bаngsat'
    (Cyrillic а) and 'bangsat' meet."""
    folded = _fold_letters(text)
    if leet:
        folded = _WORD.sub(_unleet, folded)
    return _REPEATS.sub(r"\1", folded)


def fingerprint(text: str) -> str:
    """What makes two texts the same message: look-alikes, case, accents and stretched letters
    fold ('bagusssss' is 'bagus'), but digits never do, since 'Pasal 1' is not 'Pasal 11' and
    '10 miliar' is not '100 miliar'."""
    folded = _REPEATED_LETTERS.sub(r"\1", _fold_letters(text))
    return hashlib.sha256(folded.encode()).hexdigest()[:24]


def _fold_letters(text: str) -> str:
    folded = unicodedata.normalize("NFKD", skeleton(text).casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def skeleton(text: str) -> str:
    """Unicode TR39 skeleton for the letters a banned word is made of: each character outside
    ASCII that confusables.txt maps to Latin letters becomes them (Cyrillic 'а', Greek 'ο',
    fullwidth or mathematical letters). ASCII itself stays: its TR39 prototypes would read '1'
    as 'l' and 'm' as 'rn', where leetspeak already reads digits inside words and a plain
    number such as 'Pasal 1' must stay a number."""
    if text.isascii():
        return text
    return "".join(c if c.isascii() else _prototype(c) for c in unicodedata.normalize("NFD", text))


@lru_cache(maxsize=4096)
def _prototype(char: str) -> str:
    """The Latin letters `char` is confusable with, from the library's copy of confusables.txt
    (a character that has a prototype lists exactly that one), or `char` itself."""
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=[])
    for glyph in found[0]["homoglyphs"] if found else ():
        if glyph["c"].isascii() and glyph["c"].isalpha():
            return glyph["c"]
    return char


def _unleet(match: re.Match[str]) -> str:
    """Read digits as letters only inside words ('g0bl0k'); plain numbers such as a date,
    a price or 'Pasal 741' stay numbers, so they never spell a banned word."""
    word = match.group(0)
    return word.translate(_LEET) if any(c.isalpha() for c in word) else word


def normalise_pattern(pattern: str) -> str:
    return _NON_PATTERN.sub("", normalise(pattern.strip()))


def check_pattern(pattern: object) -> str:
    if not isinstance(pattern, str) or not _NON_PATTERN.sub("", normalise(pattern)).strip("*?"):
        raise Refused(RefusalCode.INVALID, N_("Pola kata wajib berisi huruf."))
    if len(pattern) > MAX_PATTERN_CHARS:
        raise Refused(RefusalCode.TOO_LONG, N_("Pola kata terlalu panjang."))
    return pattern.strip().casefold()


@dataclass(frozen=True)
class BannedPattern:
    """A word, or a word with `*` (any letters) and `?` (one letter), e.g. 'jan*cok'."""

    pattern: str
    action: WordAction

    def __post_init__(self) -> None:
        check_pattern(self.pattern)

    @property
    def letters(self) -> str:
        return normalise_pattern(self.pattern)

    def regex(self) -> str:
        parts = {"*": "[a-z]*", "?": "[a-z]"}
        return "".join(parts.get(c, re.escape(c)) for c in self.letters)


class WordFilter:
    """Matches whole normalised words, and long patterns also inside the text with separators
    removed ('a.n.j.i.n.g'). Text is read with and without leetspeak, so 'g0bl0k' matches and
    'goblok!' is not misread as 'gobloki'. The strictest action of all matches wins."""

    def __init__(self, patterns: list[BannedPattern]) -> None:
        self._by_action: list[tuple[WordAction, re.Pattern[str], re.Pattern[str] | None]] = []
        for action in (WordAction.BLOCK, WordAction.HOLD):
            chosen = [p for p in patterns if p.action is action]
            if not chosen:
                continue
            words = re.compile(r"\b(?:" + "|".join(p.regex() for p in chosen) + r")\b")
            long = [p.regex() for p in chosen if len(p.letters.strip("*?")) >= MIN_COMPACT_MATCH]
            self._by_action.append((action, words, re.compile("|".join(long)) if long else None))

    def match(self, text: str) -> WordAction | None:
        forms = []
        for leet in (False, True):
            spaced = _NON_LETTER.sub(" ", normalise(text, leet))
            forms.append((spaced, _REPEATS.sub(r"\1", spaced.replace(" ", ""))))
        for action, words, long in self._by_action:
            for spaced, compact in forms:
                if words.search(spaced) or words.fullmatch(compact):
                    return action
                if long is not None and long.search(compact):
                    return action
        return None


# Indonesian and Javanese profanity seeded into a fresh database; moderators edit the list.
DEFAULT_BANNED_WORDS: tuple[tuple[str, WordAction], ...] = (
    ("anjing", WordAction.HOLD),
    ("anjir", WordAction.HOLD),
    ("babi", WordAction.HOLD),
    ("bangsat", WordAction.BLOCK),
    ("bajingan", WordAction.BLOCK),
    ("brengsek", WordAction.BLOCK),
    ("goblok", WordAction.BLOCK),
    ("tolol", WordAction.BLOCK),
    ("idiot", WordAction.HOLD),
    ("kampret", WordAction.BLOCK),
    ("keparat", WordAction.BLOCK),
    ("kontol", WordAction.BLOCK),
    ("memek", WordAction.BLOCK),
    ("ngentot", WordAction.BLOCK),
    ("ngewe", WordAction.BLOCK),
    ("pantek", WordAction.BLOCK),
    ("pukimak", WordAction.BLOCK),
    ("lonte", WordAction.BLOCK),
    ("tai", WordAction.HOLD),
    ("taik", WordAction.BLOCK),
    ("jan*cok", WordAction.BLOCK),
    ("jan*cuk", WordAction.BLOCK),
    ("dian*cuk", WordAction.BLOCK),
    ("asu", WordAction.BLOCK),
    ("ndasmu", WordAction.BLOCK),
    ("matamu", WordAction.HOLD),
    ("raimu", WordAction.HOLD),
    ("celeng", WordAction.HOLD),
    ("gathel", WordAction.BLOCK),
    ("kirik", WordAction.HOLD),
)


@dataclass(frozen=True)
class Settings:
    """What a moderator switches per sitting (or per forum thread)."""

    slow_mode_s: int = 0
    premoderation: bool = False
    allow_links: bool = False
    pinned: str = ""


def must_hold(settings: Settings, word_action: WordAction | None) -> bool:
    """Blocked words are refused before this; a held word or pre-moderation waits for approval."""
    if word_action is WordAction.BLOCK:
        raise Refused(RefusalCode.BLOCKED_WORD, N_("Pesan memuat kata yang tidak diizinkan."))
    return settings.premoderation or word_action is WordAction.HOLD


# Floods, slow mode, duplicates and bans


class Counters(Protocol):
    """The part of the bus the gate needs; the Redis bus shares it across nodes."""

    async def incr(self, key: str, ttl_s: float) -> int: ...

    async def set_value(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    async def get_value(self, key: str) -> str | None: ...

    async def delete_value(self, key: str) -> None: ...

    async def reset_counter(self, key: str) -> None: ...


@dataclass(frozen=True)
class Limits:
    """Per identity 3 texts in 5 s; an IP gets more room because a school or office shares one."""

    per_identity: int = 3
    per_ip: int = 6
    window_s: float = 5.0
    duplicate_window_s: float = 120.0


@dataclass(frozen=True)
class Sender:
    """Keyed hashes, never the raw cookie or IP: the bus and the store see only these. The
    device is a second signal of the same browser that outlives its comment identity (empty
    when the client sent none)."""

    identity: str
    ip: str
    device: str = ""


@dataclass(frozen=True)
class Ban:
    """An identity ban has no `ip`; an address ban (short, chosen explicitly) has one."""

    identity: str | None
    ip: str | None
    until: dt.datetime
    # The moderator's ban (its row id) this one is or spread from: taints carry it, so lifting
    # the ban lifts every identity and device it reached.
    origin: str = ""
    device: str | None = None


class Gate:
    """Admits or refuses one text. `scope` keeps one sitting's slow mode from another's."""

    def __init__(self, counters: Counters, limits: Limits | None = None) -> None:
        self._counters = counters
        self.limits = limits or Limits()

    async def admit(self, scope: str, sender: Sender, text: str, slow_mode_s: int) -> None:
        await self.check_ban(sender)
        await self.limit_rate(sender)
        limits = self.limits
        if slow_mode_s > 0 and await self._counters.incr(_slow_key(scope, sender), slow_mode_s) > 1:
            raise Refused(
                RefusalCode.SLOW_MODE,
                N_("Mode lambat aktif: satu pesan setiap %(seconds)s detik."),
                seconds=slow_mode_s,
            )
        duplicate = _duplicate_key(scope, sender, text)
        if await self._counters.incr(duplicate, limits.duplicate_window_s) > 1:
            raise Refused(RefusalCode.RATE_LIMITED, N_("Pesan yang sama sudah Anda kirim."))

    async def limit_rate(self, sender: Sender, what: str = "rate") -> None:
        """The flood limit alone, on counters named by `what` (reports count apart from
        texts)."""
        limits = self.limits
        by_identity = await self._counters.incr(f"mod:{what}:id:{sender.identity}", limits.window_s)
        by_ip = await self._counters.incr(f"mod:{what}:ip:{sender.ip}", limits.window_s)
        if by_identity > limits.per_identity or by_ip > limits.per_ip:
            raise Refused(
                RefusalCode.RATE_LIMITED,
                N_("Terlalu banyak pesan. Tunggu beberapa detik lalu coba lagi."),
            )

    async def withdraw(self, scope: str, sender: Sender, text: str) -> None:
        """An admitted text that could not be stored: its retry is neither a duplicate nor too
        soon for slow mode (the flood counters keep it, as they keep every attempt)."""
        await self._counters.reset_counter(_slow_key(scope, sender))
        await self._counters.reset_counter(_duplicate_key(scope, sender, text))

    async def check_ban(self, sender: Sender) -> None:
        """A banned identity taints the device it is seen with, and a banned device the fresh
        identity it comes back under, so clearing the comment cookie does not escape the ban.
        The address alone never spreads a ban: a neighbour behind the same NAT is someone else,
        and only an explicit address ban refuses them, while it lasts."""
        found: list[tuple[dt.datetime, str, bool]] = []
        for kind, target in (("id", sender.identity), ("dev", sender.device), ("ip", sender.ip)):
            if not target or (value := await self._active(_ban_key(kind, target))) is None:
                continue
            until, origin = value
            found.append((until, origin, kind != "ip"))
        if not found:
            return
        until, origin, _ = max(found)
        if any(spreads for *_, spreads in found):
            await self.apply(Ban(sender.identity, None, until, origin, sender.device or None))
        raise Refused(
            RefusalCode.BANNED,
            N_("Anda diblokir dari kolom komentar sampai %(until)s."),
            until=until,  # shown in the DPRD's zone and the reader's language
        )

    async def _active(self, key: str) -> tuple[dt.datetime, str] | None:
        value = await self._counters.get_value(key)
        if value is None:
            return None
        until, _, origin = value.partition(" ")
        if origin and await self._counters.get_value(_lifted_key(origin)) is not None:
            await self._counters.delete_value(key)  # a taint of a ban lifted since
            return None
        return dt.datetime.fromisoformat(until), origin

    async def apply(self, ban: Ban, now: dt.datetime | None = None) -> None:
        remaining = (ban.until - (now or dt.datetime.now(dt.UTC))).total_seconds()
        if remaining <= 0:
            return
        value = f"{ban.until.isoformat()} {ban.origin}".rstrip()
        for key in _ban_keys(ban):
            await self._counters.set_value(key, value, remaining)

    async def lift(self, ban: Ban) -> None:
        """Clear the banned identity, device and IP now; the taints it spread are cleared when
        next seen."""
        for key in _ban_keys(ban):
            await self._counters.delete_value(key)
        if ban.origin:  # outlives any taint: none lasts longer than the longest ban
            await self._counters.set_value(_lifted_key(ban.origin), "1", MAX_BAN_MINUTES * 60)


def _ban_keys(ban: Ban) -> list[str]:
    targets = (("id", ban.identity), ("dev", ban.device), ("ip", ban.ip))
    return [_ban_key(kind, target) for kind, target in targets if target]


def _slow_key(scope: str, sender: Sender) -> str:
    return f"mod:slow:{scope}:{sender.identity}"


def _duplicate_key(scope: str, sender: Sender, text: str) -> str:
    return f"mod:dup:{scope}:{sender.identity}:{fingerprint(text)}"


def _lifted_key(origin: str) -> str:
    return f"mod:ban:lifted:{origin}"


def _ban_key(kind: str, value: str) -> str:
    return f"mod:ban:{kind}:{value}"


def check_ban_minutes(value: object, *, ip: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_BAN_MINUTES:
        raise Refused(RefusalCode.INVALID, N_("Lama blokir harus 1 menit sampai 30 hari."))
    if ip and value > MAX_IP_BAN_MINUTES:
        raise Refused(
            RefusalCode.INVALID,
            N_("Blokir IP paling lama %(max)s menit: seluruh jaringan itu ikut terblokir."),
            max=MAX_IP_BAN_MINUTES,
        )
    return value


def check_slow_mode(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SLOW_MODE_S:
        raise Refused(
            RefusalCode.INVALID,
            N_("Mode lambat harus 0 sampai %(max)s detik."),
            max=MAX_SLOW_MODE_S,
        )
    return value


# Reports: residents flag an item (a forum reply, a Raperda comment); enough distinct reporters
# hide it until a moderator decides, as Decidim does.

REPORT_THRESHOLD = 3
MAX_REPORT_NOTE_CHARS = 300
# A resident reports a few items an hour; a flood of reports is itself abuse.
REPORT_LIMITS = Limits(per_identity=10, per_ip=30, window_s=3600.0)


class ReportReason(enum.StrEnum):
    SPAM = "spam"
    OFFENSIVE = "kasar"
    HATE = "sara"
    MISLEADING = "hoaks"
    PRIVACY = "data_pribadi"
    OTHER = "lain"


REPORT_REASON_LABELS = {
    ReportReason.SPAM: N_("Spam atau iklan"),
    ReportReason.OFFENSIVE: N_("Kasar atau menghina"),
    ReportReason.HATE: N_("Ujaran kebencian (SARA)"),
    ReportReason.MISLEADING: N_("Hoaks atau menyesatkan"),
    ReportReason.PRIVACY: N_("Membuka data pribadi orang lain"),
    ReportReason.OTHER: N_("Lainnya"),
}


class ReviewState(enum.StrEnum):
    OPEN = "open"  # reported by fewer than the threshold, still shown
    HIDDEN = "hidden"  # hidden by the reports, waiting for a moderator
    RESTORED = "restored"  # a moderator shows it again; only new reporters count from here
    CONFIRMED = "confirmed"  # a moderator keeps it hidden; further reports change nothing


class Decision(enum.StrEnum):
    RESTORE = "restore"
    CONFIRM = "confirm"


REVIEW_STATE_LABELS = {
    ReviewState.OPEN: N_("Dilaporkan"),
    ReviewState.HIDDEN: N_("Disembunyikan otomatis"),
    ReviewState.RESTORED: N_("Ditampilkan lagi"),
    ReviewState.CONFIRMED: N_("Disembunyikan (dikonfirmasi)"),
}
# What each state means for the item itself.
HIDDEN_STATES = frozenset({ReviewState.HIDDEN, ReviewState.CONFIRMED})


def check_report_reason(value: object) -> ReportReason:
    try:
        return ReportReason(value)
    except ValueError:
        raise Refused(RefusalCode.INVALID, N_("Pilih alasan laporan.")) from None


def check_report_note(value: object) -> str:
    note = clean_text(value) if isinstance(value, str) else ""
    if len(note) > MAX_REPORT_NOTE_CHARS:
        raise Refused(
            RefusalCode.TOO_LONG,
            N_("Keterangan laporan paling banyak %(max)s karakter."),
            max=MAX_REPORT_NOTE_CHARS,
        )
    return note


def after_report(state: ReviewState, reporters: int) -> ReviewState:
    """The state once `reporters` distinct residents (since the last review) have reported."""
    if state in (ReviewState.OPEN, ReviewState.RESTORED) and reporters >= REPORT_THRESHOLD:
        return ReviewState.HIDDEN
    return state


def review(state: ReviewState, decision: Decision) -> ReviewState:
    """A moderator restores (undoing a hide, or dismissing the reports) or confirms (hiding
    for good); either is possible from any state, so a decision can itself be undone."""
    return ReviewState.RESTORED if decision is Decision.RESTORE else ReviewState.CONFIRMED
