"""Staff actions on sittings and their agenda, shared by the console and the JSON API.

Each action is one transaction that changes the data and writes its audit entry, so the two
front doors cannot drift apart (one audited an action the other did not).
"""

from __future__ import annotations

from typing import Any

from server.store import Store, repo
from server.store.models import AgendaItem, Sitting


async def create_sitting(
    store: Store, actor: str, fields: dict[str, Any], agenda: list[str] | None = None
) -> Sitting:
    """A sitting, with its agenda items (titles, in order) when they are known already."""
    async with store.transaction() as session:
        sitting = await repo.create_sitting(session, **fields)
        await repo.audit(session, actor, "sitting.create", f"sitting:{sitting.id}")
        for title in agenda or []:
            item = await repo.add_agenda_item(session, sitting, title=title)
            await repo.audit(session, actor, "agenda.add", f"agenda:{item.id}", item.title)
    return sitting


async def update_sitting(
    store: Store, actor: str, sitting_id: int, changes: dict[str, Any]
) -> Sitting:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        await repo.update_sitting(session, sitting, changes)
        await repo.audit(
            session, actor, "sitting.update", f"sitting:{sitting_id}", ", ".join(sorted(changes))
        )
    return sitting


async def delete_sitting(store: Store, actor: str, sitting_id: int) -> None:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        await repo.delete_sitting(session, sitting)
        await repo.audit(session, actor, "sitting.delete", f"sitting:{sitting_id}")


async def rotate_ingest_key(store: Store, actor: str, sitting_id: int) -> str:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        key = await repo.rotate_ingest_key(session, sitting)
        await repo.audit(session, actor, "sitting.ingest_key", f"sitting:{sitting_id}")
    return key


async def add_agenda_item(
    store: Store, actor: str, sitting_id: int, fields: dict[str, Any]
) -> AgendaItem:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        item = await repo.add_agenda_item(session, sitting, **fields)
        await repo.audit(session, actor, "agenda.add", f"agenda:{item.id}", item.title)
    return item


async def update_agenda_item(
    store: Store, actor: str, sitting_id: int, item_id: int, changes: dict[str, Any]
) -> AgendaItem:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        item = await repo.get_agenda_item(session, sitting, item_id)
        await repo.update_agenda_item(session, item, changes)
        await repo.audit(session, actor, "agenda.update", f"agenda:{item_id}")
    return item


async def delete_agenda_item(store: Store, actor: str, sitting_id: int, item_id: int) -> None:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        item = await repo.get_agenda_item(session, sitting, item_id)
        await repo.delete_agenda_item(session, sitting, item)
        await repo.audit(session, actor, "agenda.delete", f"agenda:{item_id}")


async def reorder_agenda(
    store: Store, actor: str, sitting_id: int, item_ids: list[int]
) -> list[AgendaItem]:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        await repo.reorder_agenda(session, sitting, item_ids)
        await repo.audit(session, actor, "agenda.reorder", f"sitting:{sitting_id}")
    return list(sitting.agenda_items)


async def move_agenda_item(
    store: Store, actor: str, sitting_id: int, item_id: int, step: int
) -> None:
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        await repo.move_agenda_item(session, sitting, item_id, step)
        await repo.audit(session, actor, "agenda.move", f"agenda:{item_id}", f"{step:+d}")
