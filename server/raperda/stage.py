"""The stage a draft is in, said plainly, from its publication and consultation window."""

from __future__ import annotations

import datetime as dt
import enum

from server.i18n import N_


class Stage(enum.StrEnum):
    DRAFT = "draft"  # not published: staff only
    UPCOMING = "upcoming"  # published, the window has not opened
    OPEN = "open"
    CLOSED = "closed"  # the window has closed: the committee is deliberating
    ENACTED = "enacted"


STAGE_LABELS = {
    Stage.DRAFT: N_("Belum dipublikasikan"),
    Stage.UPCOMING: N_("Konsultasi publik belum dibuka"),
    Stage.OPEN: N_("Konsultasi publik dibuka"),
    Stage.CLOSED: N_("Konsultasi publik ditutup: masukan sedang dibahas DPRD"),
    Stage.ENACTED: N_("Sudah ditetapkan menjadi Perda"),
}


def stage_of(
    published: bool,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    enacted: bool,
    now: dt.datetime,
) -> Stage:
    if not published:
        return Stage.DRAFT
    if enacted:
        return Stage.ENACTED
    if opens_at is None or now < opens_at:
        return Stage.UPCOMING
    if closes_at is not None and now >= closes_at:
        return Stage.CLOSED
    return Stage.OPEN
