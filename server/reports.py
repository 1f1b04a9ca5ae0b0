"""Reports and auto-hide for any feature: a resident reports an item, three distinct reporters
hide it (server.domain.moderation.after_report), and a moderator restores or confirms it from
the queue at /moderasi/laporan.

A feature registers its kind once with a `Reportable`: how to find an item (its excerpt and
address for the queue) and how to hide or show it. Both run inside the report's or the
review's transaction, so the item and its review state never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from server.bus import Bus
from server.domain.errors import NotFound
from server.domain.moderation import (
    HIDDEN_STATES,
    REPORT_LIMITS,
    Decision,
    Gate,
    ReviewState,
    Sender,
    after_report,
    check_report_note,
    check_report_reason,
    review,
)
from server.i18n import N_
from server.store import Store, repo
from server.store import reports as repo_reports
from server.store.models import ContentReport, ReportedItem


@dataclass(frozen=True)
class Target:
    """What the moderator queue shows of a reported item, and where to see it."""

    excerpt: str
    url: str


class Reportable(Protocol):
    async def describe(self, session: AsyncSession, target_id: int) -> Target:
        """The item, or NotFound when it does not exist or is not public."""
        ...

    async def set_hidden(self, session: AsyncSession, target_id: int, hidden: bool) -> None: ...


@dataclass(frozen=True)
class Reported:
    target: Target
    counted: bool  # False: this resident had already reported the item
    hidden: bool  # the item is hidden now


@dataclass(frozen=True)
class QueueEntry:
    item: ReportedItem
    reports: list[ContentReport]


class ReportService:
    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.gate = Gate(bus, REPORT_LIMITS)
        self._kinds: dict[str, Reportable] = {}

    def register(self, kind: str, reportable: Reportable) -> None:
        self._kinds[kind] = reportable

    def _reportable(self, kind: str) -> Reportable:
        if kind not in self._kinds:
            raise NotFound(N_("Jenis laporan tidak dikenal."))
        return self._kinds[kind]

    async def describe(self, kind: str, target_id: int) -> Target:
        reportable = self._reportable(kind)
        async with self.store.read() as session:
            return await reportable.describe(session, target_id)

    async def report(
        self, kind: str, target_id: int, sender: Sender, reason: object, note: object = ""
    ) -> Reported:
        reportable = self._reportable(kind)
        reason, note = check_report_reason(reason), check_report_note(note)
        await self.gate.check_ban(sender)
        await self.gate.limit_rate(sender, "report")
        async with self.store.transaction() as session:
            target = await reportable.describe(session, target_id)
            item = await repo_reports.item_for(session, kind, target_id, target.excerpt, target.url)
            counted = await repo_reports.add_report(session, item, sender, reason.value, note)
            before = ReviewState(item.state)
            state = after_report(before, item.reporters)
            if state is not before:
                await repo_reports.set_state(session, item, state)
                await reportable.set_hidden(session, target_id, True)
        return Reported(target, counted, ReviewState(item.state) in HIDDEN_STATES)

    async def hold(self, session: AsyncSession, kind: str, target_id: int, target: Target) -> None:
        """An item its feature held back itself (a banned word marked 'hold'): already hidden,
        it waits in the same queue, in the caller's transaction."""
        self._reportable(kind)
        item = await repo_reports.item_for(session, kind, target_id, target.excerpt, target.url)
        await repo_reports.set_state(session, item, ReviewState.HIDDEN)

    async def queue(self) -> list[QueueEntry]:
        async with self.store.read() as session:
            items = await repo_reports.queue(session)
            reports = await repo_reports.reports_of(session, [i.id for i in items])
        by_item: dict[int, list[ContentReport]] = {}
        for report in reports:
            by_item.setdefault(report.item_id, []).append(report)
        return [QueueEntry(item, by_item.get(item.id, [])) for item in items]

    async def decide(self, item_id: int, decision: Decision, *, actor: str) -> ReportedItem:
        """Restore (show again, reporters counted afresh) or confirm (keep hidden), audited."""
        async with self.store.transaction() as session:
            item = await repo_reports.get_item(session, item_id)
            was_hidden = ReviewState(item.state) in HIDDEN_STATES
            state = review(ReviewState(item.state), decision)
            await repo_reports.set_state(session, item, state, actor)
            if (state in HIDDEN_STATES) != was_hidden:
                reportable = self._reportable(item.kind)
                await reportable.set_hidden(session, item.target_id, not was_hidden)
            await repo.audit(
                session,
                actor,
                f"report.{decision.value}",
                f"{item.kind}:{item.target_id}",
                item.excerpt[:200],
            )
        return item
