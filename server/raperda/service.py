"""Raperda input: staff import a draft and publish its versions; residents comment on a pasal,
an ayat or the whole draft while the consultation window is open; the committee reads a
summary per pasal and answers in public. Views parse and render; the rules live here, in
structure.py (splitting the text), versions.py (matching and diffs) and stage.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from markupsafe import Markup

from server.bus import Bus
from server.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from server.domain.moderation import (
    Gate,
    Limits,
    RefusalCode,
    Refused,
    Sender,
    Settings,
    WordFilter,
    clean_text,
    must_hold,
)
from server.i18n import N_
from server.mail import Mailer
from server.pdftext import extract_text
from server.raperda.html import decode
from server.raperda.identity import Resident, link_token
from server.raperda.stage import Stage, stage_of
from server.raperda.structure import Draft, Pasal, parse
from server.raperda.versions import Match, Previous, match_pasal, word_diff
from server.reports import Target
from server.signing import Signer
from server.store import Store, repo, search_index
from server.store import comments as repo_comments
from server.store import raperda as store
from server.store.models import (
    Document,
    Raperda,
    RaperdaComment,
    RaperdaResponse,
    RaperdaUnit,
    RaperdaVersion,
    Sitting,
    utcnow,
)

MAX_COMMENT = 2000
MAX_PROPOSED = 4000
MAX_SOURCE = 1_000_000
MAX_TITLE = 300
# A resident writes a few considered inputs, not a stream: five in ten minutes per identity.
# Input shown per page on a pasal's page and its summary; the counts always cover all of it.
PAGE_SIZE = 30
INPUT_LIMITS = Limits(per_identity=5, per_ip=30, window_s=600.0, duplicate_window_s=86400.0)
LINK_LIMITS = Limits(per_identity=3, per_ip=10, window_s=3600.0, duplicate_window_s=60.0)


class Position:
    SETUJU = "setuju"
    TIDAK_SETUJU = "tidak_setuju"
    USUL = "usul_perubahan"


POSITIONS = (Position.SETUJU, Position.TIDAK_SETUJU, Position.USUL)
POSITION_LABELS = {
    "": N_("Tanpa sikap"),
    Position.SETUJU: N_("Setuju"),
    Position.TIDAK_SETUJU: N_("Tidak setuju"),
    Position.USUL: N_("Usul perubahan"),
}
KIND_LABELS = {"menimbang": N_("Menimbang"), "mengingat": N_("Mengingat")}


@dataclass(frozen=True)
class Unit:
    """A unit as pages show it: its parts decoded and its text as HTML."""

    row: RaperdaUnit
    parts: dict
    html: Markup

    @property
    def lineage(self) -> int:
        return self.row.lineage

    @property
    def label(self) -> str:
        return f"Pasal {self.row.number}" if self.row.kind == "pasal" else self.row.kind.title()

    @property
    def ayat_numbers(self) -> list[str]:
        return [a["number"] for a in self.parts.get("ayat", [])]


@dataclass
class DraftPage:
    raperda: Raperda
    stage: Stage
    versions: list[RaperdaVersion]
    version: RaperdaVersion
    units: list[Unit]
    counts: dict[int | None, dict[str, int]]
    responses: dict[int, RaperdaResponse]
    document: Document | None = None
    naskah: Document | None = None
    sittings: list[Sitting] = field(default_factory=list)

    def total(self, lineage: int | None) -> int:
        return sum(self.counts.get(lineage, {}).values())


@dataclass
class Input:
    """One visible comment with where it was made (the pasal's number in its version)."""

    comment: RaperdaComment
    made_on: str  # "Pasal 4 (versi 1)"
    version_number: int


@dataclass
class PasalPage:
    page: DraftPage
    unit: Unit
    previous: Unit | None  # the same pasal in the version before, for the diff
    inputs: list[Input]  # one page, newest first
    response: RaperdaResponse | None
    older: int | None = None  # the next page's cursor (`sebelum`); None on the last page


@dataclass(frozen=True)
class Preview:
    """An unpublished version split for staff to check, with how its pasal continue the last
    published ones (renumbered ones wait for confirmation)."""

    version: RaperdaVersion
    draft: Draft
    matches: list[Match]
    previous_label: dict[int, str]


@dataclass(frozen=True)
class Comparison:
    label: str
    old_label: str
    pieces: tuple
    changed: bool


@dataclass(frozen=True)
class SummaryRow:
    unit: Unit | None  # None: input on the whole draft
    counts: dict[str, int]
    inputs: list[RaperdaComment]
    response: RaperdaResponse | None
    older: int | None = None  # one pasal's summary: the next page's cursor, None on the last

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class StaffView:
    raperda: Raperda
    versions: list[RaperdaVersion]
    sitting_ids: set[int]
    sittings: list[Sitting]
    documents: list[Document]


@dataclass(frozen=True)
class Posted:
    comment_id: int
    held: bool


def _parts(pasal: Pasal) -> dict:
    return {
        "text": pasal.text,
        "items": [[i.label, i.text] for i in pasal.items],
        "tail": pasal.tail,
        "ayat": [
            {
                "number": a.number,
                "text": a.text,
                "items": [[i.label, i.text] for i in a.items],
                "tail": a.tail,
            }
            for a in pasal.ayat
        ],
    }


class PublishedUnits:
    """Published versions' units as pages show them, kept in memory: a published version never
    changes, so its 120 pasal are read from the store once, not on every page about the draft.
    Kept by id and publication time, so a reused id (a restored database) is never mistaken
    for the version kept. Bounded: the version read least recently goes first."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._by_version: OrderedDict[tuple[int, dt.datetime], tuple[Unit, ...]] = OrderedDict()

    async def of(self, session, version: RaperdaVersion) -> tuple[Unit, ...]:
        assert version.published_at is not None, "only a published version never changes"
        key = (version.id, version.published_at)
        units = self._by_version.get(key)
        if units is None:
            units = tuple(_unit(row) for row in await store.units(session, version.id))
            self._by_version[key] = units
            if len(self._by_version) > self.size:
                self._by_version.popitem(last=False)
        else:
            self._by_version.move_to_end(key)
        return units


class DraftCounts:
    """Each draft's visible input counted by lineage and position, kept in memory while the
    draft's `input_version` stands. Every change to its visible input bumps that number in the
    same transaction (store.input_changed), on whichever node, and the number is read before
    the counts: a page never shows counts older than the last change it could see, and all of
    a draft's input is counted once per change instead of once per page. The draft's creation
    time is part of the stamp, as the publication time is for PublishedUnits. Bounded like
    PublishedUnits."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._by_draft: OrderedDict[int, tuple[tuple, dict[int | None, dict[str, int]]]] = (
            OrderedDict()
        )

    async def of(self, session, raperda: Raperda) -> dict[int | None, dict[str, int]]:
        stamp = (raperda.created_at, raperda.input_version)
        kept = self._by_draft.get(raperda.id)
        if kept is not None and kept[0] == stamp:
            self._by_draft.move_to_end(raperda.id)
            return kept[1]
        counts = await store.counts(session, raperda.id)
        self._by_draft[raperda.id] = (stamp, counts)
        self._by_draft.move_to_end(raperda.id)
        if len(self._by_draft) > self.size:
            self._by_draft.popitem(last=False)
        return counts


class RaperdaService:
    def __init__(
        self,
        store_: Store,
        bus: Bus,
        signer: Signer,
        mailer: Mailer,
        limits: Limits | None = None,
    ) -> None:
        self.store = store_
        self.signer = signer
        self.mailer = mailer
        self.gate = Gate(bus, limits or INPUT_LIMITS)
        self.link_gate = Gate(bus, LINK_LIMITS)
        self.units = PublishedUnits()
        self.counts = DraftCounts()

    async def link_for(self, name: str, email: str, ip: str, next_path: str | None = None) -> str:
        """A verification link's token (returning to `next_path`, already checked, once
        opened); asking for many is refused like any flood."""
        digest = self.signer.digest
        sender = Sender(digest("resident-email", email), digest("raperda-ip", ip))
        try:
            await self.link_gate.admit("raperda-verify", sender, email, 0)
        except Refused as refused:
            raise RateLimited(refused.template, **refused.params) from None
        return link_token(self.signer, name, email, next_path)

    # Reading

    async def drafts(self, now: dt.datetime | None = None, *, staff: bool = False):
        now = now or utcnow()
        async with self.store.read() as session:
            rows = await store.drafts(session, published_only=not staff)
        return [(r, _stage(r, now)) for r in rows]

    async def draft_page(
        self,
        raperda_id: int,
        version_number: int | None = None,
        *,
        staff: bool = False,
        now: dt.datetime | None = None,
    ) -> DraftPage:
        async with self.store.read() as session:
            return await self._draft_page(session, raperda_id, version_number, staff, now)

    async def _draft_page(
        self, session, raperda_id, version_number, staff, now, only: int | None = None
    ) -> DraftPage:
        """The draft in one version; with `only` (a lineage, 0: the whole draft) just that
        pasal's unit, for the pages about one pasal."""
        raperda = await store.get(session, raperda_id)
        if raperda is None or (raperda.current_version_id is None and not staff):
            raise NotFound(N_("Raperda tidak ditemukan."))
        versions = await store.versions(session, raperda_id, text=False)
        published = [v for v in versions if v.published_at]
        if not published:
            raise NotFound(N_("Raperda ini belum dipublikasikan."))
        version = published[-1]
        if version_number is not None:
            chosen = [v for v in published if v.number == version_number]
            if not chosen:
                raise NotFound(N_("Versi tidak ditemukan."))
            version = chosen[0]
        page = DraftPage(
            raperda=raperda,
            stage=_stage(raperda, now or utcnow()),
            versions=published,
            version=version,
            units=[],
            counts=await self.counts.of(session, raperda),
            responses=await store.responses(session, raperda_id),
        )
        units = await self.units.of(session, version)
        if only is not None:
            page.units = [u for u in units if u.lineage == only]
            return page
        page.units = list(units)
        docs = await store.documents(session, (raperda.document_id, raperda.naskah_id))
        page.document = docs.get(raperda.document_id or 0)
        page.naskah = docs.get(raperda.naskah_id or 0)
        page.sittings = [
            s for s in await store.sittings(session, raperda_id) if repo.is_publicly_visible(s)
        ]
        return page

    async def pasal_page(
        self,
        raperda_id: int,
        lineage: int,
        version_number: int | None = None,
        before: int | None = None,
    ) -> PasalPage:
        """A pasal with one page of its input, newest first: the input older than the id
        `before`, or the newest."""
        async with self.store.read() as session:
            page = await self._draft_page(session, raperda_id, version_number, False, None, lineage)
            unit = next((u for u in page.units if u.lineage == lineage), None)
            if unit is None:
                raise NotFound(N_("Pasal ini tidak ada dalam versi tersebut."))
            earlier = [v for v in page.versions if v.number < page.version.number]
            previous = None
            if earlier:
                units = await self.units.of(session, earlier[-1])
                previous = next((u for u in units if u.lineage == lineage), None)
            rows, more = await store.comments_page(
                session, raperda_id, lineage, PAGE_SIZE, before=before
            )
            inputs = await self._inputs(session, page.versions, rows)
        older = rows[-1].id if more else None
        return PasalPage(page, unit, previous, inputs, page.responses.get(lineage), older)

    async def _inputs(self, session, versions, rows: Iterable[RaperdaComment]) -> list[Input]:
        """Each input with the pasal it was made on, as numbered in its (published) version."""
        rows = list(rows)
        by_id = {v.id: v for v in versions}
        units = {
            u.row.id: u
            for version_id in {c.version_id for c in rows if c.unit_id}
            for u in await self.units.of(session, by_id[version_id])
        }
        out = []
        for c in rows:
            unit = units.get(c.unit_id or 0)
            out.append(Input(c, unit.label if unit else "", by_id[c.version_id].number))
        return out

    async def compare(self, raperda_id: int, old: int, new: int) -> list[Comparison]:
        """Each pasal of version `new` against the same pasal (its lineage) in `old`."""
        async with self.store.read() as session:
            page = await self._draft_page(session, raperda_id, new, False, None)
            before = [v for v in page.versions if v.number == old]
            if not before:
                raise NotFound(N_("Versi tidak ditemukan."))
            previous = {u.lineage: u for u in await self.units.of(session, before[0])}
        out = []
        for unit in page.units:
            was = previous.pop(unit.lineage, None)
            old_text = was.row.text if was else ""
            out.append(
                Comparison(
                    unit.label,
                    was.label if was else "",
                    word_diff(old_text, unit.row.text),
                    old_text != unit.row.text,
                )
            )
        for was in previous.values():  # pasal the new version dropped
            out.append(Comparison("", was.label, word_diff(was.row.text, ""), True))
        return out

    async def summary(
        self,
        raperda_id: int,
        lineage: int | None = None,
        *,
        inputs: bool = True,
        before: int | None = None,
        position: str | None = None,
    ) -> tuple[DraftPage, list[SummaryRow]]:
        """Per pasal of the current version (and the whole draft): counts by position and,
        with `inputs`, every input (with its proposed wording) from every version of that
        pasal. One pasal only when `lineage` is given (0: the whole draft): all its counts
        and one page of its input, newest first (older than `before`, of one `position`
        when given)."""
        older = None
        async with self.store.read() as session:
            page = await self._draft_page(session, raperda_id, None, False, None, lineage)
            rows: Iterable[RaperdaComment] = ()
            if lineage is not None:
                rows, more = await store.comments_page(
                    session,
                    raperda_id,
                    lineage or None,
                    PAGE_SIZE,
                    before=before,
                    position=position,
                )
                older = rows[-1].id if more else None
            elif inputs:
                rows = await store.comments(session, raperda_id)
        by_lineage: dict[int | None, list[RaperdaComment]] = {}
        for c in rows:
            by_lineage.setdefault(c.lineage, []).append(c)
        targets: list[Unit | None] = [None, *page.units]
        if lineage is not None:
            targets = [u for u in targets if (u.lineage if u else 0) == lineage]
            if not targets:
                raise NotFound(N_("Pasal ini tidak ada dalam versi tersebut."))
        out = []
        for unit in targets:
            key = unit.lineage if unit else None
            found = by_lineage.get(key, [])
            out.append(
                SummaryRow(
                    unit,
                    page.counts.get(key, {}),
                    found,
                    page.responses.get(key) if key is not None else None,
                    older,
                )
            )
        return page, out

    async def export_csv(self, raperda_id: int) -> str:
        """Every visible input, one row each, with the pasal it is on now and the committee's
        answer on that pasal: what the Pansus meeting reads."""
        page, rows = await self.summary(raperda_id)
        numbers = {v.id: v.number for v in page.versions}
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "id",
                "pasal",
                "ayat",
                "versi",
                "sikap",
                "masukan",
                "usul_rumusan",
                "nama",
                "waktu_utc",
                "tanggapan_dprd",
            ]
        )
        for row in rows:
            for c in row.inputs:
                writer.writerow(
                    [
                        c.id,
                        row.unit.label if row.unit else "Seluruh rancangan",
                        c.ayat,
                        numbers.get(c.version_id, ""),
                        c.position,
                        c.text,
                        c.proposed,
                        c.name,
                        c.created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                        row.response.text if row.response else "",
                    ]
                )
        return out.getvalue()

    # Residents

    async def post(
        self,
        raperda_id: int,
        resident: Resident,
        sender: Sender,
        *,
        lineage: int | None,
        ayat: str = "",
        position: str = "",
        text: str = "",
        proposed: str = "",
        now: dt.datetime | None = None,
    ) -> Posted:
        now = now or utcnow()
        text, proposed = clean_text(text), clean_text(proposed)
        problems = _check_input(position, text, proposed)
        if problems:
            raise InvalidInput(N_("Periksa kembali isian yang ditandai."), fields=problems)
        async with self.store.read() as session:
            raperda = await store.get(session, raperda_id)
            if raperda is None or raperda.current_version_id is None:
                raise NotFound(N_("Raperda tidak ditemukan."))
            stage = _stage(raperda, now)
            if stage is not Stage.OPEN:
                raise Conflict(N_("Masukan hanya dapat dikirim selama konsultasi publik dibuka."))
            unit = None
            if lineage is not None:
                unit = await store.unit_of(session, raperda.current_version_id, lineage)
                if unit is None:
                    raise InvalidInput(
                        N_("Pasal ini tidak ada dalam versi terbaru."),
                        fields={"lineage": N_("Pilih pasal dari versi terbaru.")},
                    )
                if ayat and ayat not in _unit(unit).ayat_numbers:
                    raise InvalidInput(
                        N_("Ayat ini tidak ada dalam pasal tersebut."),
                        fields={"ayat": N_("Pilih salah satu ayat pasal ini.")},
                    )
            elif ayat:
                raise InvalidInput(
                    N_("Ayat hanya dapat dipilih pada sebuah pasal."),
                    fields={"ayat": N_("Pilih pasal terlebih dahulu.")},
                )
            words = WordFilter(await repo_comments.banned_patterns(session))
        try:
            await self.gate.admit(f"raperda:{raperda_id}", sender, f"{text}\n{proposed}", 0)
            held = must_hold(Settings(), words.match(f"{resident.name}\n{text}\n{proposed}"))
        except Refused as refused:
            if refused.code is RefusalCode.BLOCKED_WORD:
                raise InvalidInput(refused.template, fields={"text": refused.template}) from None
            if refused.code is RefusalCode.BANNED:
                raise PermissionDenied(refused.template, **refused.params) from None
            raise RateLimited(refused.template, **refused.params) from None
        async with self.store.transaction() as session:
            comment = RaperdaComment(
                raperda_id=raperda_id,
                version_id=raperda.current_version_id,
                unit_id=unit.id if unit else None,
                lineage=lineage,
                ayat=ayat,
                position=position,
                text=text,
                proposed=proposed if position == Position.USUL else "",
                name=resident.name,
                identity_hash=resident.identity,
                ip_hash=sender.ip,
                verified_by=resident.verified_by,
                held=held,
                created_at=now,
            )
            session.add(comment)
            await session.flush()
            await store.input_changed(session, raperda_id)
        return Posted(comment.id, held)

    async def mine(self, resident: Resident) -> list[tuple[RaperdaComment, Raperda, str, str]]:
        """The resident's own input with its draft, its pasal's label and where it shows."""
        async with self.store.read() as session:
            rows = list(await store.by_identity(session, resident.identity))
            units = await store.units_by_id(session, (c.unit_id for c in rows if c.unit_id))
            drafts = {r.id: r for r in await store.drafts(session, published_only=False)}
        return [
            (
                c,
                drafts[c.raperda_id],
                _unit(units[c.unit_id]).label if c.unit_id in units else "",
                shown_at(c),
            )
            for c in rows
        ]

    async def withdraw(self, comment_id: int, resident: Resident) -> None:
        async with self.store.transaction() as session:
            comment = await store.comment(session, comment_id)
            if comment is None or comment.identity_hash != resident.identity:
                raise NotFound(N_("Masukan tidak ditemukan."))
            comment.withdrawn = True
            await store.input_changed(session, comment.raperda_id)

    # Staff

    async def create(self, title: str, source_text: str, actor: str) -> int:
        title = clean_text(title).replace("\n", " ")
        source_text = _check_source(source_text)
        draft = parse(source_text)
        title = title or draft.title.title()
        if not title or len(title) > MAX_TITLE:
            raise InvalidInput(
                N_("Judul wajib diisi (paling banyak 300 karakter)."),
                fields={"title": N_("Isi judul Raperda.")},
            )
        async with self.store.transaction() as session:
            raperda = Raperda(title=title, summary="", next_lineage=1)
            session.add(raperda)
            await session.flush()
            session.add(RaperdaVersion(raperda_id=raperda.id, number=1, source_text=source_text))
            await repo.audit(session, actor, "raperda.create", str(raperda.id))
            return raperda.id

    async def staff_view(self, raperda_id: int) -> StaffView:
        """The draft for its staff page, with the documents and sittings it may link to: the
        latest ones and always those it links to now, so saving never drops an older link."""
        async with self.store.read() as session:
            raperda = await store.get(session, raperda_id)
            if raperda is None:
                raise NotFound(N_("Raperda tidak ditemukan."))
            linked = list(await store.sittings(session, raperda_id))
            latest = await repo.list_sittings(session, public_only=False)
            docs = await store.documents(session, (raperda.document_id, raperda.naskah_id))
            recent = await repo.list_documents(session)
            versions = list(await store.versions(session, raperda_id))
        return StaffView(
            raperda,
            versions,
            {s.id for s in linked},
            [*linked, *(s for s in latest if s not in linked)],
            [*docs.values(), *(d for d in recent if d.id not in docs)],
        )

    async def save_text(self, raperda_id: int, source_text: str, note: str, actor: str) -> None:
        """Staff correct the text of the unpublished version, or start the next version."""
        source_text = _check_source(source_text)
        async with self.store.transaction() as session:
            raperda = await store.get(session, raperda_id)
            if raperda is None:
                raise NotFound(N_("Raperda tidak ditemukan."))
            versions = await store.versions(session, raperda_id)
            last = versions[-1]
            if last.published_at is None:
                last.source_text, last.note = source_text, note[:500]
            else:
                session.add(
                    RaperdaVersion(
                        raperda_id=raperda_id,
                        number=last.number + 1,
                        source_text=source_text,
                        note=note[:500],
                    )
                )
            await repo.audit(session, actor, "raperda.text", str(raperda_id))

    async def preview(self, raperda_id: int) -> Preview | None:
        """The unpublished version split for checking; None when every version is out."""
        async with self.store.read() as session:
            versions = await store.versions(session, raperda_id)
            if not versions or versions[-1].published_at is not None:
                return None
            draft = parse(versions[-1].source_text)
            previous = await self._previous(session, versions)
        matches = match_pasal(previous, [(p.number, p.plain()) for p in draft.pasal])
        labels = {p.lineage: f"Pasal {p.number}" for p in previous}
        return Preview(versions[-1], draft, matches, labels)

    async def _previous(self, session, versions) -> list[Previous]:
        published = [v for v in versions if v.published_at]
        if not published:
            return []
        rows = await store.units(session, published[-1].id)
        return [Previous(u.lineage, u.number, u.text) for u in rows if u.kind == "pasal"]

    async def publish(
        self,
        raperda_id: int,
        continues: dict[int, int | None],
        actor: str,
        now: dt.datetime | None = None,
    ) -> int:
        """Publish the unpublished version. `continues` maps a pasal's index in the new version
        to the lineage it continues (staff confirmed the proposals); a pasal not in it takes
        the proposal when that needed no confirmation, else starts a new lineage."""
        now = now or utcnow()
        async with self.store.transaction() as session:
            raperda = await store.get(session, raperda_id)
            if raperda is None:
                raise NotFound(N_("Raperda tidak ditemukan."))
            versions = list(await store.versions(session, raperda_id))
            version = versions[-1]
            if version.published_at is not None:
                raise Conflict(N_("Tidak ada versi baru untuk dipublikasikan."))
            draft = parse(version.source_text)
            if not draft.pasal:
                raise InvalidInput(N_("Tidak ada pasal yang dikenali. Perbaiki teksnya dahulu."))
            previous = await self._previous(session, versions)
            matches = match_pasal(previous, [(p.number, p.plain()) for p in draft.pasal])
            known = {p.lineage for p in previous}
            lineages = []
            for n, match in enumerate(matches):
                chosen = continues.get(n)
                if n not in continues and not match.confirm:
                    chosen = match.lineage
                if chosen is not None and (chosen not in known or chosen in lineages):
                    raise InvalidInput(
                        N_("Setiap pasal lama hanya dapat dilanjutkan oleh satu pasal baru.")
                    )
                lineages.append(chosen)
            old_units = []
            if raperda.current_version_id is not None:
                old_units = list(await store.units(session, raperda.current_version_id))
            fixed = {u.kind: u.lineage for u in old_units if u.kind != "pasal"}
            position = 0
            new_units: list[RaperdaUnit] = []

            def lineage_for(value: int | None) -> int:
                if value is not None:
                    return value
                raperda.next_lineage += 1
                return raperda.next_lineage - 1

            for kind, items in (("menimbang", draft.menimbang), ("mengingat", draft.mengingat)):
                if not items:
                    continue
                parts = {"items": [[i.label, i.text] for i in items]}
                text = "\n".join(f"{i.label}. {i.text}" for i in items)
                new_units.append(
                    RaperdaUnit(
                        version_id=version.id,
                        position=position,
                        kind=kind,
                        lineage=lineage_for(fixed.get(kind)),
                        content=json.dumps(parts),
                        text=text,
                    )
                )
                position += 1
            for pasal, lineage in zip(draft.pasal, lineages, strict=True):
                new_units.append(
                    RaperdaUnit(
                        version_id=version.id,
                        position=position,
                        kind="pasal",
                        number=pasal.number,
                        lineage=lineage_for(lineage),
                        bab=pasal.bab[:300],
                        bagian=pasal.bagian[:300],
                        paragraf=pasal.paragraf[:300],
                        content=json.dumps(_parts(pasal)),
                        text=pasal.plain(),
                    )
                )
                position += 1
            session.add_all(new_units)
            version.published_at = now
            raperda.current_version_id = version.id
            if not raperda.title:
                raperda.title = draft.title[:MAX_TITLE]
            await session.flush()
            ids = [u.id for u in old_units] + [u.id for u in new_units]
            await session.run_sync(lambda s: search_index.reindex(s.connection(), "pasal", ids))
            await repo.audit(session, actor, "raperda.publish", f"{raperda_id} v{version.number}")
            return version.number

    async def update(
        self,
        raperda_id: int,
        *,
        title: str,
        summary: str,
        opens_at: dt.datetime | None,
        closes_at: dt.datetime | None,
        document_id: int | None,
        naskah_id: int | None,
        sitting_ids: list[int],
        enacted: bool,
        actor: str,
    ) -> None:
        title = clean_text(title).replace("\n", " ")
        problems = {}
        if not title or len(title) > MAX_TITLE:
            problems["title"] = N_("Isi judul Raperda.")
        if opens_at and closes_at and closes_at <= opens_at:
            problems["closes_at"] = N_("Konsultasi harus ditutup sesudah dibuka.")
        if problems:
            raise InvalidInput(N_("Periksa kembali isian yang ditandai."), fields=problems)
        async with self.store.transaction() as session:
            raperda = await store.get(session, raperda_id)
            if raperda is None:
                raise NotFound(N_("Raperda tidak ditemukan."))
            docs = await store.documents(session, (document_id, naskah_id))
            for name, value in (("document_id", document_id), ("naskah_id", naskah_id)):
                if value is not None and value not in docs:
                    raise InvalidInput(
                        N_("Dokumen tidak ditemukan."),
                        fields={name: N_("Dokumen tidak ditemukan.")},
                    )
            for sitting_id in sitting_ids:
                await repo.get_sitting(session, sitting_id, public_only=False)
            raperda.title, raperda.summary = title, clean_text(summary)
            raperda.opens_at, raperda.closes_at = opens_at, closes_at
            raperda.document_id, raperda.naskah_id = document_id, naskah_id
            raperda.enacted = enacted
            await store.set_sittings(session, raperda_id, sitting_ids)
            await repo.audit(session, actor, "raperda.update", str(raperda_id))

    async def respond(self, raperda_id: int, lineage: int, text: str, author: str) -> None:
        """The committee's public answer on a pasal; an empty text withdraws it."""
        text = clean_text(text)
        if len(text) > MAX_PROPOSED:
            raise InvalidInput(
                N_("Tanggapan terlalu panjang."), fields={"response": N_("Persingkat tanggapan.")}
            )
        async with self.store.transaction() as session:
            raperda = await store.get(session, raperda_id)
            if raperda is None or raperda.current_version_id is None:
                raise NotFound(N_("Raperda tidak ditemukan."))
            if await store.unit_of(session, raperda.current_version_id, lineage) is None:
                raise NotFound(N_("Pasal ini tidak ada dalam versi tersebut."))
            existing = await session.get(RaperdaResponse, (raperda_id, lineage))
            if not text:
                if existing is not None:
                    await session.delete(existing)
            elif existing is None:
                session.add(
                    RaperdaResponse(
                        raperda_id=raperda_id,
                        lineage=lineage,
                        text=text,
                        author=author,
                        updated_at=utcnow(),
                    )
                )
            else:
                existing.text, existing.author, existing.updated_at = text, author, utcnow()
            await repo.audit(session, author, "raperda.respond", f"{raperda_id}/{lineage}")

    async def held(self, raperda_id: int) -> list[RaperdaComment]:
        async with self.store.read() as session:
            return list(await store.held(session, raperda_id))

    async def moderate(self, comment_id: int, action: str, actor: str) -> int:
        """Release an input held for a banned word, or hide it (reported input is reviewed in
        the shared report queue). Returns its draft's id."""
        if action not in ("release", "hide"):
            raise InvalidInput(N_("Tindakan tidak dikenal."))
        async with self.store.transaction() as session:
            comment = await store.comment(session, comment_id)
            if comment is None:
                raise NotFound(N_("Masukan tidak ditemukan."))
            if not comment.held:
                raise Conflict(N_("Masukan ini tidak sedang ditahan."))
            comment.held = False
            comment.hidden = action == "hide"
            await store.input_changed(session, comment.raperda_id)
            await repo.audit(session, actor, f"raperda.{action}", str(comment_id))
            return comment.raperda_id


class InputReports:
    """Residents' input as a reportable kind (server/reports.py): three reports hide it until a
    moderator restores or confirms it from the shared queue."""

    kind = "raperda"

    async def describe(self, session, target_id: int) -> Target:
        comment = await store.comment(session, target_id)
        if comment is None or comment.held or comment.withdrawn:
            raise NotFound(N_("Masukan tidak ditemukan."))
        return Target(
            f"{comment.name}: {comment.text or comment.proposed}"[:300], shown_at(comment)
        )

    async def set_hidden(self, session, target_id: int, hidden: bool) -> None:
        comment = await store.comment(session, target_id)
        if comment is not None:
            comment.hidden = hidden
            await store.input_changed(session, comment.raperda_id)


def shown_at(comment: RaperdaComment) -> str:
    """Where an input shows: the page of its pasal's input (or the whole draft's) that begins
    with it, newest first."""
    where = f"pasal/{comment.lineage}?" if comment.lineage else "ringkasan?pasal=0&"
    return f"/raperda/{comment.raperda_id}/{where}sebelum={comment.id + 1}#masukan-{comment.id}"


async def text_of_upload(filename: str, data: bytes) -> str:
    """The text of an uploaded draft, judged by content: a DOCX (a ZIP with a Word body) or a
    PDF (read in a child process with limits, server/pdftext.py)."""
    if data.startswith(b"%PDF-"):
        text = await extract_text(data)
        if not text.strip():
            raise _unreadable(N_("Teks PDF ini tidak dapat dibaca (mungkin hasil pindaian)."))
        return text
    if data.startswith(b"PK\x03\x04"):
        return _docx_text(data)
    raise _unreadable(N_("Unggah berkas DOCX atau PDF, atau tempel teksnya."))


def _docx_text(data: bytes) -> str:
    import docx  # python-docx: imported when a DOCX arrives, not at start-up

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise _unreadable(N_("Berkas ini bukan dokumen Word (DOCX)."))
            if sum(i.file_size for i in archive.infolist()) > 50 * MAX_SOURCE:
                raise _unreadable(N_("Dokumen Word ini terlalu besar setelah dibuka."))
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise _unreadable(N_("Berkas ini bukan dokumen Word (DOCX).")) from error
    return "\n".join(paragraph.text for paragraph in document.paragraphs)


def _unreadable(message: str) -> InvalidInput:
    return InvalidInput(message, fields={"file": message})


def _check_source(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(
            N_("Tempel teks Raperda atau unggah berkasnya."),
            fields={"source": N_("Teks Raperda kosong.")},
        )
    if len(text) > MAX_SOURCE:
        raise InvalidInput(
            N_("Teks Raperda terlalu panjang."), fields={"source": N_("Teks terlalu panjang.")}
        )
    return text


def _check_input(position: str, text: str, proposed: str) -> dict[str, str]:
    problems = {}
    if position and position not in POSITIONS:
        problems["position"] = N_("Pilih salah satu sikap.")
    if not text and not (position == Position.USUL and proposed):
        problems["text"] = N_("Tulis masukan Anda.")
    if len(text) > MAX_COMMENT:
        problems["text"] = N_("Masukan paling banyak 2000 karakter.")
    if position == Position.USUL and not proposed:
        problems["proposed"] = N_("Tulis rumusan yang Anda usulkan.")
    if len(proposed) > MAX_PROPOSED:
        problems["proposed"] = N_("Usulan rumusan paling banyak 4000 karakter.")
    return problems


def _stage(raperda: Raperda, now: dt.datetime) -> Stage:
    return stage_of(
        raperda.current_version_id is not None,
        raperda.opens_at,
        raperda.closes_at,
        raperda.enacted,
        now,
    )


def _unit(row: RaperdaUnit) -> Unit:
    return Unit(row, *decode(row.id, row.lineage, row.content))
