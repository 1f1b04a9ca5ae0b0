"""`sidang demo` shows the participation features with something in them: a Raperda open for
input with residents' positions, a proposed wording with its diff and the committee's answer,
and a forum thread a member answered officially. Seeded through the services, once."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from server.app import create_app
from server.demo import seed_demo, seed_participation
from server.store import Store
from server.store.models import ForumReply, RaperdaComment, RaperdaResponse


async def counts(url: str) -> tuple[int, int, int]:
    store = Store(url)
    try:
        async with store.read() as session:
            return tuple(
                [
                    await session.scalar(select(func.count()).select_from(model))
                    for model in (RaperdaComment, RaperdaResponse, ForumReply)
                ]
            )
    finally:
        await store.close()


async def test_demo_seeds_raperda_input_and_an_official_forum_answer(
    aiohttp_client, make_config, database_url
):
    config = make_config(database_url=database_url)
    assert await seed_demo(config) is True
    seeded = await counts(database_url)
    assert await seed_demo(config) is False
    await seed_participation(config)
    assert await counts(database_url) == seeded == (5, 1, 2), "a second run adds nothing"

    client = await aiohttp_client(create_app(config))
    index = await (await client.get("/raperda")).text()
    raperda_id = re.search(r'href="/raperda/(\d+)"', index).group(1)
    draft = await (await client.get(f"/raperda/{raperda_id}")).text()
    assert "Penataan dan Pemberdayaan Pedagang Kaki Lima" in draft
    assert "Tahap: Konsultasi publik dibuka" in draft
    assert "Rapat Kerja Komisi B dengan Dinas Perdagangan" in draft  # the linked sitting
    lineage = re.search(r'id="pasal-(\d+)">\s*<h3>Pasal 2</h3>', draft).group(1)
    page = await (await client.get(f"/raperda/{raperda_id}/pasal/{lineage}")).text()
    assert "Usul perubahan: 1" in page and "Setuju: 1" in page
    # the proposed wording as a diff against the pasal, showing only what it changes
    assert "<del>1,5</del><ins>2</ins>" in page and "<del>(1) Wali Kota" not in page
    assert "Komisi B menerima usul lebar bebas trotoar 2 meter" in page  # tanggapan DPRD

    forum = await (await client.get("/forum")).text()
    topic_id = re.search(r'href="/forum/(\d+)"', forum).group(1)
    topic = await (await client.get(f"/forum/{topic_id}")).text()
    thread_id = re.search(r'href="/forum/utas/(\d+)"', topic).group(1)
    thread = await (await client.get(f"/forum/utas/{thread_id}")).text()
    assert "Kapan perekaman KTP-el keliling ke kelurahan lagi?" in thread
    assert "Dijawab resmi DPRD" in thread and "Anggota DPRD" in thread
    official = thread.split('id="h-official"', 1)[1]
    assert "Komisi A sudah meminta Disdukcapil" in official
