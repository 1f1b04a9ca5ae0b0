"""Test data built through the real repository and status machine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from server.domain.sitting import SittingStatus, SittingType
from server.store import repo
from server.store.models import Sitting

SITTING_DEFAULTS = {
    "type": SittingType.PARIPURNA,
    "title": "Paripurna APBD",
    "starts_at": dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC),
    "location": "Ruang Paripurna",
    "is_public": True,
    "quorum_rule": "2/3",
    "komisi": "",
}
FORWARD = (SittingStatus.SCHEDULED, SittingStatus.LIVE, SittingStatus.ENDED)


async def new_sitting(
    session, *, status: SittingStatus = SittingStatus.DRAFT, agenda: Iterable[str] = (), **fields
) -> Sitting:
    """A sitting with `agenda` items, walked forward from draft to `status` (up to ended)."""
    sitting = await repo.create_sitting(session, **(SITTING_DEFAULTS | fields))
    for title in agenda:
        await repo.add_agenda_item(session, sitting, title=title)
    if status is not SittingStatus.DRAFT:
        for step in FORWARD[: FORWARD.index(status) + 1]:
            await repo.change_status(session, sitting, step)
    return sitting
