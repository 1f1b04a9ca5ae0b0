"""The store on SQLite and PostgreSQL: models, transitions, agenda order, transactions."""

import datetime as dt

import pytest
from sqlalchemy import select

from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.moderation import RefusalCode, Refused
from server.domain.sitting import InvalidTransition, SittingStatus
from server.store import repo
from server.store.comments import add_comments
from server.store.models import AgendaItem, Comment, Sitting
from tests.factories import new_sitting

STARTS = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


async def test_a_new_sitting_is_a_draft_with_a_secret_ingest_key(store):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
    async with store.read() as session:
        loaded = await repo.get_sitting(session, sitting.id, public_only=False)
    assert loaded.status == "draft"
    assert len(loaded.ingest_key) >= 32
    assert loaded.starts_at == STARTS and loaded.starts_at.tzinfo is not None


async def test_drafts_and_closed_sittings_are_not_public(store):
    async with store.transaction() as session:
        draft = await new_sitting(session)
        closed = await new_sitting(session, is_public=False)
        await repo.change_status(session, closed, SittingStatus.SCHEDULED)
        open_ = await new_sitting(session)
        await repo.change_status(session, open_, SittingStatus.SCHEDULED)
    async with store.read() as session:
        public = await repo.list_sittings(session)
        assert [s.id for s in public] == [open_.id]
        for hidden in (draft, closed):
            with pytest.raises(NotFound):
                await repo.get_sitting(session, hidden.id, public_only=True)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["scheduled", "live", "ended", "published"], True),
        (["scheduled", "draft", "scheduled"], True),
        (["live"], False),
        (["scheduled", "ended"], False),
        (["scheduled", "live", "scheduled"], False),
        (["scheduled", "live", "ended", "live"], False),
        (["scheduled", "live", "ended", "published", "ended"], False),
    ],
)
async def test_only_valid_status_transitions(store, path, allowed):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
        sitting_id = sitting.id
    try:
        async with store.transaction() as session:
            sitting = await repo.get_sitting(session, sitting_id, public_only=False)
            for step in path:
                await repo.change_status(session, sitting, SittingStatus(step))
    except InvalidTransition:
        assert not allowed
    else:
        assert allowed
    async with store.read() as session:
        stored = await repo.get_sitting(session, sitting_id, public_only=False)
    assert stored.status == (path[-1] if allowed else "draft"), "a refused change must roll back"


async def test_going_live_and_ending_stamp_the_times(store):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
        for step in ("scheduled", "live", "ended"):
            await repo.change_status(session, sitting, SittingStatus(step))
    assert sitting.live_started_at is not None
    assert sitting.ended_at >= sitting.live_started_at


async def test_agenda_items_keep_order_through_moves_reorders_and_deletes(store):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
        items = [await repo.add_agenda_item(session, sitting, title=t) for t in "ABCD"]
        await repo.move_agenda_item(session, sitting, items[3].id, -1)
        assert [i.title for i in sitting.agenda_items] == list("ABDC")
        await repo.reorder_agenda(
            session, sitting, [items[2].id, items[0].id, items[1].id, items[3].id]
        )
        assert [i.title for i in sitting.agenda_items] == list("CABD")
        await repo.delete_agenda_item(session, sitting, items[0])
    async with store.read() as session:
        rows = (
            await session.scalars(
                select(AgendaItem)
                .where(AgendaItem.sitting_id == sitting.id)
                .order_by(AgendaItem.position)
            )
        ).all()
    assert [(r.position, r.title) for r in rows] == [(1, "C"), (2, "B"), (3, "D")]


async def test_reorder_must_name_every_item_once(store):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
        a = await repo.add_agenda_item(session, sitting, title="A")
        await repo.add_agenda_item(session, sitting, title="B")
        with pytest.raises(InvalidInput):
            await repo.reorder_agenda(session, sitting, [a.id, a.id])


async def test_agenda_end_before_start_is_refused(store):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
        with pytest.raises(InvalidInput):
            await repo.add_agenda_item(session, sitting, title="X", start_offset=50, end_offset=10)


async def test_a_failed_transaction_leaves_nothing_behind(store):
    with pytest.raises(Conflict):
        async with store.transaction() as session:
            await new_sitting(session, title="half written")
            await repo.create_user(session, "budi", "h", "anggota", None)
            await repo.create_user(session, "BUDI", "h", "anggota", None)
    async with store.read() as session:
        titles = (await session.scalars(select(Sitting.title))).all()
        assert "half written" not in titles
        assert await repo.get_user_by_username(session, "budi") is None


async def test_only_drafts_can_be_deleted(store):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
        await repo.change_status(session, sitting, SittingStatus.SCHEDULED)
        with pytest.raises(Conflict):
            await repo.delete_sitting(session, sitting)


async def test_users_link_to_members_and_usernames_are_case_insensitive(store):
    async with store.transaction() as session:
        member = await repo.create_member(session, "Siti Aminah", "PKB", "Komisi A")
        await repo.create_user(session, "Siti", "hash", "anggota", member.id)
    async with store.read() as session:
        user = await repo.get_user_by_username(session, "siti")
        assert user.member.name == "Siti Aminah"


async def test_recording_row_is_upserted(store):
    async with store.transaction() as session:
        sitting = await new_sitting(session)
        await repo.save_recording(session, sitting, playlist_path="a.m3u8", duration_s=10.0)
        await repo.save_recording(
            session, sitting, playlist_path="a.m3u8", duration_s=12.5, sha256="ab" * 32
        )
    async with store.read() as session:
        loaded = await repo.get_sitting(session, sitting.id, public_only=False)
        assert loaded.recording.duration_s == 12.5


async def test_a_batch_of_comments_stores_the_live_ones_and_refuses_the_rest(store):
    async with store.transaction() as session:
        live = await new_sitting(session, status=SittingStatus.LIVE)
        ended = await new_sitting(session, status=SittingStatus.ENDED)
        fields = {
            "identity_hash": "i" * 16,
            "ip_hash": "p" * 16,
            "name": "Warga",
            "question": False,
            "held": False,
        }
        outcomes = await add_comments(
            session,
            [
                (live.id, fields | {"text": "pertama"}),
                (ended.id, fields | {"text": "terlambat"}),
                (live.id, fields | {"text": "kedua"}),
            ],
        )
    assert isinstance(outcomes[1], Refused) and outcomes[1].code is RefusalCode.CLOSED
    assert [c.text for c in (outcomes[0], outcomes[2])] == ["pertama", "kedua"]
    assert outcomes[0].id < outcomes[2].id and outcomes[0].offset_s >= 0
    async with store.read() as session:
        stored = (await session.scalars(select(Comment.text).order_by(Comment.id))).all()
    assert stored == ["pertama", "kedua"]
