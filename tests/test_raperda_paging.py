"""A popular pasal's input is paged newest first by keyset: following the plain "Tampilkan lebih
banyak" links reaches every visible input exactly once, hidden, held and withdrawn input never
shows, and the counts cover all of it; counts kept in memory follow every change, on every
node. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import math
import re

import pytest
from sqlalchemy import select

from server import keys
from server.app import create_app
from server.raperda.service import PAGE_SIZE, InputReports
from server.store import raperda as raperda_store
from server.store.models import BannedWord, Raperda, RaperdaComment, RaperdaUnit, utcnow
from tests.test_raperda import (  # noqa: F401
    app_client,
    comment,
    import_and_publish,
    lineage_of,
    resident,
)

MORE = re.compile(r'<a href="([^"]+)" rel="next" class="more">Tampilkan lebih banyak</a>')
SHOWN = re.compile(r'<li id="masukan-(\d+)">')


async def add_inputs(store, raperda_id: int, lineage: int | None, n: int) -> list[int]:
    """`n` inputs straight into the store (the rate limit would refuse them through the form),
    every seventh one hidden, held or withdrawn. Returns the visible ones' ids, newest first."""
    async with store.transaction() as session:
        version_id = (await session.get(Raperda, raperda_id)).current_version_id
        unit_id = None
        if lineage is not None:
            unit_id = await session.scalar(
                select(RaperdaUnit.id).where(
                    RaperdaUnit.version_id == version_id, RaperdaUnit.lineage == lineage
                )
            )
        rows = [
            RaperdaComment(
                raperda_id=raperda_id,
                version_id=version_id,
                unit_id=unit_id,
                lineage=lineage,
                position=("", "setuju", "tidak_setuju", "usul_perubahan")[i % 4],
                text=f"Tersembunyi nomor {i}." if 1 <= i % 7 <= 3 else f"Masukan nomor {i}.",
                proposed="Rumusan usulan." if i % 4 == 3 else "",
                name=f"Warga {i}",
                identity_hash=f"{i:064d}",
                ip_hash="0" * 64,
                verified_by="email",
                hidden=i % 7 == 1,
                held=i % 7 == 2,
                withdrawn=i % 7 == 3,
                created_at=utcnow(),
            )
            for i in range(n)
        ]
        session.add_all(rows)
        await session.flush()
        await raperda_store.input_changed(session, raperda_id)
        return [r.id for r in reversed(rows) if not (r.hidden or r.held or r.withdrawn)]


async def walk(client, url: str) -> tuple[list[int], list[str]]:
    """Follow the "Tampilkan lebih banyak" links from `url` to the last page, as a browser
    without JavaScript would; returns the inputs' ids in the order shown, and each page."""
    seen: list[int] = []
    pages: list[str] = []
    while url:
        response = await client.get(url)
        assert response.status == 200, url
        page = await response.text()
        pages.append(page)
        seen += [int(i) for i in SHOWN.findall(page)]
        more = MORE.search(page)
        url = html.unescape(more.group(1)) if more else ""
        assert len(pages) < 50, "the pages do not end"
    return seen, pages


@pytest.mark.parametrize("where", ["pasal", "summary", "whole"])
async def test_every_visible_input_is_reached_page_by_page_exactly_once(
    app_client,  # noqa: F811
    store,
    where,
):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "3")
    on = None if where == "whole" else lineage
    visible = await add_inputs(store, raperda_id, on, 4 * PAGE_SIZE + 10)
    url = {
        "pasal": f"/raperda/{raperda_id}/pasal/{lineage}",
        "summary": f"/raperda/{raperda_id}/ringkasan?pasal={lineage}",
        "whole": f"/raperda/{raperda_id}/ringkasan?pasal=0",
    }[where]

    seen, pages = await walk(app_client, url)

    assert seen == visible  # newest first, none twice, none missing
    assert len(pages) == math.ceil(len(visible) / PAGE_SIZE) == 3
    total = f"Masukan warga ({len(visible)})" if where == "pasal" else f"{len(visible)} masukan"
    for page in pages:
        assert "Tersembunyi" not in page
        assert total in page  # the counts cover every page, not just this one
    assert "Kembali ke masukan terbaru" not in pages[0]
    assert "Kembali ke masukan terbaru" in pages[-1]


async def test_the_summary_pages_one_position_and_refuses_a_bad_cursor(
    app_client,  # noqa: F811
    store,
):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "3")
    visible = await add_inputs(store, raperda_id, lineage, 10 * PAGE_SIZE)
    async with store.read() as session:
        proposals = [
            c.id
            for c in await session.scalars(
                select(RaperdaComment).where(RaperdaComment.id.in_(visible))
            )
            if c.position == "usul_perubahan"
        ]
    summary = f"/raperda/{raperda_id}/ringkasan?pasal={lineage}"
    first = await (await app_client.get(summary)).text()
    link = re.search(r'<a class="badge" href="([^"]+sikap=usul_perubahan[^"]*)"', first)
    assert link, "the count of proposals links to them"

    seen, pages = await walk(app_client, html.unescape(link.group(1)))

    assert seen == sorted(proposals, reverse=True)
    assert len(pages) == math.ceil(len(proposals) / PAGE_SIZE) == 2
    assert all("Usulan rumusan" in page and "<ins>" in page for page in pages)
    for bad in ("sikap=semua", "sebelum=abc", "sebelum=0"):
        response = await app_client.get(f"{summary}&{bad}")
        assert response.status == 400, bad
    deep = await app_client.get(f"/raperda/{raperda_id}/pasal/{lineage}?sebelum=x")
    assert deep.status == 400


async def test_a_reported_input_links_to_the_page_that_shows_it(
    app_client,  # noqa: F811
    store,
):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "4")
    oldest = (await add_inputs(store, raperda_id, lineage, 3 * PAGE_SIZE))[-1]
    whole = (await add_inputs(store, raperda_id, None, 3 * PAGE_SIZE))[-1]
    for comment_id in (oldest, whole):
        async with store.read() as session:
            target = await InputReports().describe(session, comment_id)
        page = await (await app_client.get(target.url.split("#")[0])).text()
        assert f'id="masukan-{comment_id}"' in page
        assert target.url.endswith(f"#masukan-{comment_id}")


async def test_counts_follow_every_change_to_the_input_on_every_node(
    app_client,  # noqa: F811
    aiohttp_client,
    make_config,
    database_url,
    store,
):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "4")
    # A second node on the same database, which keeps the counts it read in memory.
    other = await aiohttp_client(create_app(make_config(database_url=database_url)))
    link = re.compile(rf'href="/raperda/{raperda_id}/pasal/{lineage}">[^<(]*\((\d+)\)')

    async def counted() -> int:
        page = await (await other.get(f"/raperda/{raperda_id}")).text()
        return int(link.search(page).group(1))

    assert await counted() == 0
    form, headers = await resident(app_client)
    for text in ("Pertama.", "Kedua."):
        posted = await comment(app_client, form, headers, raperda_id, lineage, text=text)
        assert posted.status == 303
    assert await counted() == 2
    async with store.read() as session:
        first, second = (await session.scalars(select(RaperdaComment.id))).all()
    withdrawn = await app_client.post(
        f"/raperda/masukan/{first}/tarik", data={"csrf_token": form}, allow_redirects=False
    )
    assert withdrawn.status == 303 and await counted() == 1
    async with store.transaction() as session:  # three reports hide it (server/reports.py)
        await InputReports().set_hidden(session, second, True)
    assert await counted() == 0
    async with store.transaction() as session:
        session.add(BannedWord(pattern="bajingan", action="hold"))
    held = await comment(app_client, form, headers, raperda_id, lineage, text="Bajingan.")
    assert "ditahan" in held.headers["Location"] and await counted() == 0
    async with store.read() as session:
        held_id = max((await session.scalars(select(RaperdaComment.id))).all())
    await app_client.app[keys.RAPERDA].moderate(held_id, "release", "moderator")
    assert await counted() == 1
