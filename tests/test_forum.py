"""The forum: threads, badges, official replies, moderation enforced on the server, reports,
e-mail on replies, keyset pages and stemmed search."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import re
from email import message_from_bytes, policy

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from server import keys
from server.app import create_app
from server.domain.moderation import WordAction
from server.domain.sitting import SittingStatus
from server.store import Store, repo
from server.store import comments as repo_comments
from server.store.migrate import alembic_config, upgrade
from server.store.models import ForumReply, ForumThread, ForumTopic
from tests.conftest import csrf_token_for, log_in
from tests.factories import new_sitting
from tests.raperda_helpers import SAMPAH_V1

REPLY_LINK = re.compile(r'data-reply="(\d+)"')


class Outbox:
    enabled = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))

    async def drain(self) -> None:
        pass


@pytest.fixture
async def forum(aiohttp_client, make_config, database_url, store):
    """Behind a trusted proxy (each resident an address of their own), with a data key so
    residents may leave an e-mail, and an outbox instead of SMTP."""
    config = make_config(
        database_url=database_url,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
        data_keys=(Fernet.generate_key().decode(),),
    )
    client = await aiohttp_client(create_app(config))
    client.app[keys.FORUM].mailer = Outbox()
    return client


async def topic_id(store) -> int:
    """The first topic (tables are emptied between tests, so the migration's seed is gone)."""
    async with store.transaction() as session:
        found = await session.scalar(select(func.min(ForumTopic.id)))
        if found is None:
            topic = ForumTopic(komisi="Komisi C", title="Pembangunan", description="")
            session.add(topic)
            await session.flush()
            found = topic.id
        return found


async def as_resident(client, ip: str) -> str:
    """Another browser: fresh cookies, its own address; returns its CSRF token."""
    client.session.cookie_jar.clear()
    client._forum_ip = ip
    return await csrf_token_for(client)


async def post(client, path: str, data: dict, token: str | None):
    headers = {"X-Forwarded-For": getattr(client, "_forum_ip", "192.0.2.1")}
    if token is not None:
        data = {**data, "csrf_token": token}
    return await client.post(path, data=data, headers=headers, allow_redirects=False)


async def open_thread(client, store, token, title="Perbaikan jalan Pantura", **extra) -> int:
    topic = await topic_id(store)
    response = await post(
        client,
        f"/forum/{topic}/baru",
        {"name": "Siti", "title": title, "body": "Kapan jalan rusak diperbaiki?", **extra},
        token,
    )
    assert response.status == 303, await response.text()
    return int(re.search(r"/forum/utas/(\d+)", response.headers["Location"]).group(1))


async def reply(client, thread: int, token, body="Setuju, segera.", **extra):
    return await post(
        client, f"/forum/utas/{thread}/balas", {"name": "Budi", "body": body, **extra}, token
    )


async def member_login(client, store, name="Hj. Aminah") -> str:
    client.session.cookie_jar.clear()
    async with store.transaction() as session:
        member = await repo.create_member(session, name, "Fraksi A", "Komisi C")
    return await log_in(client, store, "anggota", member_id=member.id)


async def test_a_member_answers_with_a_badge_and_marks_the_official_reply(forum, store):
    token = await as_resident(forum, "192.0.2.10")
    thread = await open_thread(forum, store, token)
    token = await member_login(forum, store)
    response = await reply(forum, thread, token, body="Dianggarkan tahun depan.")
    assert response.status == 303
    page = await (await forum.get(f"/forum/utas/{thread}")).text()
    assert "Hj. Aminah" in page and "Anggota DPRD" in page
    reply_id = int(REPLY_LINK.findall(page)[-1])
    response = await post(forum, f"/forum/balasan/{reply_id}/resmi", {"official": "1"}, token)
    assert response.status == 303
    topic_page = await (await forum.get(f"/forum/{await topic_id(store)}")).text()
    assert "Dijawab resmi DPRD" in topic_page
    async with store.read() as session:
        assert (await session.get(ForumThread, thread)).official is True
    # A resident's reply is never the DPRD's answer, and residents cannot mark one.
    token = await as_resident(forum, "192.0.2.11")
    await reply(forum, thread, token)
    response = await post(forum, f"/forum/balasan/{reply_id}/resmi", {"official": "0"}, token)
    assert response.status in (401, 403)


async def test_a_locked_thread_refuses_every_reply_on_the_server(forum, store):
    token = await as_resident(forum, "192.0.2.20")
    thread = await open_thread(forum, store, token)
    forum.session.cookie_jar.clear()
    mod = await log_in(forum, store, "moderator")
    response = await post(forum, f"/forum/utas/{thread}/atur", {"locked": "1"}, mod)
    assert response.status == 303
    token = await as_resident(forum, "192.0.2.21")
    response = await reply(forum, thread, token)
    assert response.status == 409
    token = await member_login(forum, store)
    assert (await reply(forum, thread, token)).status == 409
    async with store.read() as session:
        assert await session.scalar(select(func.count()).select_from(ForumReply)) == 0


async def test_slow_mode_holds_a_resident_to_one_reply_per_period(forum, store):
    token = await as_resident(forum, "192.0.2.30")
    thread = await open_thread(forum, store, token)
    forum.session.cookie_jar.clear()
    mod = await log_in(forum, store, "moderator")
    response = await post(forum, f"/forum/utas/{thread}/atur", {"slow_mode_s": "120"}, mod)
    assert response.status == 303
    token = await as_resident(forum, "192.0.2.31")
    assert (await reply(forum, thread, token, body="Pertama")).status == 303
    response = await reply(forum, thread, token, body="Kedua")
    assert response.status == 429
    assert "Mode lambat" in await response.text()
    other = await as_resident(forum, "192.0.2.32")
    assert (await reply(forum, thread, other, body="Warga lain")).status == 303


async def test_three_reports_hide_a_reply_until_a_moderator_restores_it(forum, store):
    token = await as_resident(forum, "192.0.2.40")
    thread = await open_thread(forum, store, token)
    await reply(forum, thread, token, body="Iklan obat kuat murah")
    async with store.read() as session:
        reply_id = await session.scalar(select(ForumReply.id))
    for n in range(3):
        token = await as_resident(forum, f"198.51.100.{n}")
        response = await post(
            forum, f"/laporkan/forum_balasan/{reply_id}", {"reason": "spam"}, token
        )
        assert response.status == 303
    page = await (await forum.get(f"/forum/utas/{thread}")).text()
    assert "Iklan obat kuat" not in page
    forum.session.cookie_jar.clear()
    mod = await log_in(forum, store, "moderator")
    queue = await (await forum.get("/moderasi/laporan")).text()
    assert "Iklan obat kuat" in queue
    item = re.search(r'data-report-item="(\d+)"', queue).group(1)
    await post(forum, f"/moderasi/laporan/{item}/pulihkan", {}, mod)
    page = await (await forum.get(f"/forum/utas/{thread}")).text()
    assert "Iklan obat kuat" in page


async def test_a_banned_identity_cannot_post_anywhere_in_the_forum(forum, store):
    token = await as_resident(forum, "192.0.2.50")
    thread = await open_thread(forum, store, token)
    resident_cookies = forum.session.cookie_jar.filter_cookies(forum.make_url("/"))
    forum.session.cookie_jar.clear()
    mod = await log_in(forum, store, "moderator")
    response = await post(forum, f"/forum/utas/{thread}/blokir", {"minutes": "60"}, mod)
    assert response.status == 303
    forum.session.cookie_jar.clear()
    forum.session.cookie_jar.update_cookies(resident_cookies)
    token = await csrf_token_for(forum)
    response = await reply(forum, thread, token)
    assert response.status == 403


async def test_every_forum_form_needs_the_csrf_token(forum, store):
    token = await as_resident(forum, "192.0.2.60")
    thread = await open_thread(forum, store, token)
    topic = await topic_id(store)
    forum.session.cookie_jar.clear()
    await log_in(forum, store, "admin")
    for path in (
        f"/forum/{topic}/baru",
        f"/forum/utas/{thread}/balas",
        f"/forum/utas/{thread}/atur",
        f"/forum/utas/{thread}/blokir",
        "/forum/balasan/1/resmi",
        "/forum/balasan/1/blokir",
        "/forum/topik",
        "/forum/berhenti",
        f"/laporkan/forum_utas/{thread}",
    ):
        response = await post(forum, path, {"body": "x", "title": "x", "name": "x"}, None)
        assert response.status == 403, path
    page = await (await forum.get(f"/forum/utas/{thread}")).text()
    forms = page.count('<form method="post"')
    assert forms >= 4 and page.count('name="csrf_token"') >= forms


async def test_replies_are_paged_by_keyset_and_each_page_links_on(forum, store):
    token = await as_resident(forum, "192.0.2.70")
    thread = await open_thread(forum, store, token)
    async with store.transaction() as session:
        first = await session.get(ForumThread, thread)
        for n in range(120):
            session.add(
                ForumReply(
                    thread_id=thread,
                    body=f"balasan nomor {n}",
                    author_name="Warga",
                    badge="",
                    identity_hash="x",
                    ip_hash="y",
                    official=False,
                    hidden=False,
                )
            )
        first.reply_count = 120
    page = await (await forum.get(f"/forum/utas/{thread}")).text()
    ids = [int(i) for i in REPLY_LINK.findall(page)]
    assert len(ids) == 50 and "balasan nomor 0<" in page
    after = re.search(r'\?setelah=(\d+)" rel="next"', page).group(1)
    page = await (await forum.get(f"/forum/utas/{thread}?setelah={after}")).text()
    second = [int(i) for i in REPLY_LINK.findall(page)]
    assert second[0] == ids[-1] + 1 and len(second) == 50
    last = await (await forum.get(f"/forum/utas/{thread}?setelah={second[-1]}")).text()
    assert len(REPLY_LINK.findall(last)) == 20 and 'rel="next"' not in last
    before = re.search(r'\?sebelum=(\d+)" rel="prev"', last).group(1)
    back = await (await forum.get(f"/forum/utas/{thread}?sebelum={before}")).text()
    assert [int(i) for i in REPLY_LINK.findall(back)] == second


async def test_search_finds_threads_by_stemmed_words(forum, store):
    token = await as_resident(forum, "192.0.2.80")
    await open_thread(forum, store, token, title="Perbaikan jalan di Kelurahan Krapyak")
    token = await as_resident(forum, "192.0.2.81")
    await open_thread(forum, store, token, title="Jadwal posyandu balita", body="Kapan buka?")
    page = await (await forum.get("/forum?q=memperbaiki+jalan")).text()
    assert "Krapyak" in page and "posyandu" not in page


async def test_subscribers_get_an_email_on_a_reply_and_can_stop_it(forum, store):
    token = await as_resident(forum, "192.0.2.90")
    thread = await open_thread(forum, store, token, notify="1", email="siti@example.id")
    await reply(forum, thread, token, body="Saya tambahkan fotonya.")  # one's own reply
    outbox = forum.app[keys.FORUM].mailer
    assert outbox.sent == []
    token = await member_login(forum, store)
    await reply(forum, thread, token, body="Sudah kami teruskan ke dinas.")
    assert [to for to, *_ in outbox.sent] == ["siti@example.id"]
    body = outbox.sent[0][2]
    assert "Sudah kami teruskan" in body
    unsubscribe = re.search(r"/forum/berhenti\?k=(\S+)", body).group(1)
    token = await as_resident(forum, "192.0.2.91")
    response = await post(forum, "/forum/berhenti", {"k": unsubscribe}, token)
    assert response.status == 200
    await reply(forum, thread, token, body="Terima kasih.")
    assert len(outbox.sent) == 1


async def test_banned_words_refuse_or_hold_a_post_for_the_moderator(forum, store):
    async with store.transaction() as session:
        await repo_comments.add_banned_word(session, "bangsat", WordAction.BLOCK)
        await repo_comments.add_banned_word(session, "tai", WordAction.HOLD)
    token = await as_resident(forum, "192.0.2.100")
    thread = await open_thread(forum, store, token)
    response = await reply(forum, thread, token, body="Dasar b4ngs4t")
    assert response.status == 400
    assert 'id="err-body"' in await response.text()
    response = await reply(forum, thread, token, body="Jalannya penuh tai kucing")
    assert response.headers["Location"].endswith("?tersimpan=ditahan")
    assert "penuh tai" not in await (await forum.get(f"/forum/utas/{thread}")).text()
    forum.session.cookie_jar.clear()
    await log_in(forum, store, "moderator")
    assert "penuh tai" in await (await forum.get("/moderasi/laporan")).text()


async def test_a_topic_pages_its_threads_by_latest_activity(forum, store):
    topic = await topic_id(store)
    async with store.transaction() as session:
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for n in range(35):
            at = start + dt.timedelta(hours=n)
            session.add(
                ForumThread(
                    topic_id=topic,
                    title=f"Utas nomor {n:02d}",
                    body="isi",
                    author_name="Warga",
                    identity_hash="x",
                    ip_hash="y",
                    created_at=at,
                    last_activity_at=at,
                )
            )
    page = await (await forum.get(f"/forum/{topic}")).text()
    titles = re.findall(r"Utas nomor (\d\d)", page)
    assert titles[0] == "34" and len(titles) == 30
    cursor = re.search(r'\?sebelum=([^"]+)" rel="next"', page).group(1)
    rest = await (await forum.get(f"/forum/{topic}?sebelum={cursor}")).text()
    assert re.findall(r"Utas nomor (\d\d)", rest) == ["04", "03", "02", "01", "00"]
    assert 'rel="next"' not in rest


async def test_form_mistakes_come_back_beside_their_fields(forum, store):
    token = await as_resident(forum, "192.0.2.110")
    topic = await topic_id(store)
    thread = {"name": "", "title": "Judul yang diketik", "body": "Isi"}
    response = await post(forum, f"/forum/{topic}/baru", thread, token)
    assert response.status == 400
    page = await response.text()
    assert 'id="err-name"' in page and 'value="Judul yang diketik"' in page
    thread |= {"name": "Rina", "sitting_id": "999"}
    response = await post(forum, f"/forum/{topic}/baru", thread, token)
    assert response.status == 400
    assert 'id="err-sitting_id"' in await response.text()


async def add_replies(store, thread: int, bodies: list[str]) -> None:
    """Replies written straight to the store (no flood limits), indexed as any flush is."""
    async with store.transaction() as session:
        session.add_all(
            ForumReply(
                thread_id=thread,
                body=body,
                author_name="Warga",
                badge="",
                identity_hash="f" * 64,
                ip_hash="0" * 64,
                official=False,
                hidden=False,
            )
            for body in bodies
        )
        (await session.get(ForumThread, thread)).reply_count += len(bodies)


def reply_id_of(response) -> int:
    return int(re.search(r"#b(\d+)$", response.headers["Location"]).group(1))


async def test_search_finds_any_reply_by_stem_and_links_to_its_page(forum, store):
    token = await as_resident(forum, "192.0.2.110")
    thread = await open_thread(forum, store, token, title="Genangan di Pantai Sari")
    await add_replies(store, thread, [f"Tanggapan warga nomor {n}." for n in range(60)])
    token = await as_resident(forum, "192.0.2.111")
    posted = await reply(forum, thread, token, body="Saluran perlu pembersihan rutin.")
    target = reply_id_of(posted)
    page = await (await forum.get("/forum?q=membersihkan+saluran")).text()
    assert page.count('class="result-reply"') == 1 and "result-thread" not in page
    link = f"/forum/utas/{thread}?setelah={target - 1}#b{target}"
    assert f'href="{link}"' in page and "Genangan di Pantai Sari" in page
    # The reply is the 61st: not on the thread's first page, but on the page the link opens.
    assert f'id="b{target}"' not in await (await forum.get(f"/forum/utas/{thread}")).text()
    opened = await (await forum.get(link.split("#")[0])).text()
    assert f'id="b{target}"' in opened and "pembersihan rutin" in opened
    page = await (await forum.get("/forum?q=genangan")).text()
    assert page.count('class="result-thread"') == 1 and "result-reply" not in page


THREAD_MATCH = re.compile(r'<li><a href="(/forum/utas/\d+[^"]*)">')


async def test_a_long_thread_is_searched_within_in_thread_order(forum, store):
    """A reader of a long thread finds the posts about one thing, in the order they were
    written, each opening the thread at its page; other threads and hidden replies stay out."""
    token = await as_resident(forum, "192.0.2.115")
    thread = await open_thread(
        forum, store, token, title="Drainase Kota", body="Saluran di Jalan Sriwijaya mampet."
    )
    other = await open_thread(forum, store, token, title="Saluran lain", body="Saluran buntu.")
    await add_replies(store, other, ["Saluran di sini juga mampet."])
    bodies = [
        f"Saluran blok {n} perlu dibersihkan." if n % 2 else f"Tanggapan nomor {n}."
        for n in range(80)
    ]
    await add_replies(store, thread, bodies)
    async with store.transaction() as session:
        replies = (
            await session.scalars(
                select(ForumReply).where(ForumReply.thread_id == thread).order_by(ForumReply.id)
            )
        ).all()
        replies[1].hidden = True  # "Saluran blok 1": hidden by a moderator
    ids = [r.id for r in replies]

    page = await (await forum.get(f"/forum/utas/{thread}?q=salurannya")).text()
    assert 'role="search"' in page and "Hasil di utas ini" in page
    links = THREAD_MATCH.findall(page)
    # The opening post, then replies 3, 5, 7 …: 30 to a page, in thread order.
    expected = [f"/forum/utas/{thread}"] + [
        f"/forum/utas/{thread}?setelah={ids[n] - 1}#b{ids[n]}" for n in range(3, 80, 2)
    ]
    assert [link.replace("&amp;", "&") for link in links] == expected[:30]
    assert "Saluran blok 3 perlu dibersihkan." in page
    more = re.search(r'href="([^"]+)" rel="next">Hasil berikutnya', page).group(1)
    rest = await (await forum.get(more.replace("&amp;", "&"))).text()
    assert [link.replace("&amp;", "&") for link in THREAD_MATCH.findall(rest)] == expected[30:]
    assert "Hasil berikutnya" not in rest
    # The link opens the page that holds the reply.
    opened = await (await forum.get(expected[-1].split("#")[0])).text()
    assert f'id="b{ids[79]}"' in opened

    nothing = await (await forum.get(f"/forum/utas/{thread}?q=%3Cscript%3Ekucing")).text()
    assert THREAD_MATCH.findall(nothing) == [] and "Tidak ada tulisan di utas ini" in nothing
    assert "<script>kucing" not in nothing and "&lt;script&gt;kucing" in nothing
    # A short thread has no search box, but answers a search link all the same.
    short = await (await forum.get(f"/forum/utas/{other}")).text()
    assert 'role="search"' not in short
    found = await (await forum.get(f"/forum/utas/{other}?q=mampet")).text()
    assert len(THREAD_MATCH.findall(found)) == 1


async def test_replies_indexed_before_the_thread_scope_are_found_after_the_migration(
    aiohttp_client, make_config, tmp_path
):
    """Migration 0016 indexes existing replies again: without their thread's scope word, a
    search within the thread would miss every one of them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'upgraded.db'}"
    await asyncio.to_thread(upgrade, url)
    store = Store(url)
    try:
        client = await aiohttp_client(create_app(make_config(database_url=url)))
        thread = await open_thread(client, store, await as_resident(client, "192.0.2.120"))
        await add_replies(store, thread, ["Trotoar Jalan Hayam Wuruk rusak."])
        search = f"/forum/utas/{thread}?q=trotoar"
        assert len(THREAD_MATCH.findall(await (await client.get(search)).text())) == 1
        config = alembic_config(url)
        await asyncio.to_thread(command.downgrade, config, "0015_forum_search_topics")
        assert THREAD_MATCH.findall(await (await client.get(search)).text()) == []
        await asyncio.to_thread(upgrade, url)
        assert len(THREAD_MATCH.findall(await (await client.get(search)).text())) == 1
    finally:
        await store.close()


async def test_forum_posts_are_archive_results_and_moderation_keeps_hidden_ones_out(forum, store):
    async with store.transaction() as session:
        await repo_comments.add_banned_word(session, "tai", WordAction.HOLD)
    token = await as_resident(forum, "192.0.2.120")
    thread = await open_thread(forum, store, token, title="Retribusi parkir di alun-alun")
    posted = await reply(forum, thread, token, body="Juru parkir meminta tarif berlebihan.")
    target = reply_id_of(posted)
    held = await reply(forum, thread, token, body="Tarif parkir bikin tai kucing marah.")
    assert held.headers["Location"].endswith("?tersimpan=ditahan")

    page = await (await forum.get("/arsip?q=tarif+parkir")).text()
    assert "Balasan forum" in page
    assert f'href="/forum/utas/{thread}?setelah={target - 1}#b{target}"' in page
    assert "kucing" not in page
    page = await (await forum.get("/arsip?q=retribusi")).text()
    assert "Utas forum" in page and f'href="/forum/utas/{thread}"' in page
    found = await (await forum.get("/api/v1/search?q=tarif&kind=reply")).json()
    assert [item["id"] for item in found["items"]] == [target]
    assert (await (await forum.get("/api/v1/search?q=kucing")).json())["items"] == []

    # Three reports hide the thread: it and every reply leave both searches, until restored.
    for n in range(3):
        token = await as_resident(forum, f"198.51.100.{20 + n}")
        response = await post(forum, f"/laporkan/forum_utas/{thread}", {"reason": "spam"}, token)
        assert response.status == 303
    for path in ("/arsip?q=parkir", "/forum?q=parkir"):
        page = await (await forum.get(path)).text()
        assert "Retribusi parkir" not in page and "tarif berlebihan" not in page
    forum.session.cookie_jar.clear()
    mod = await log_in(forum, store, "moderator")
    queue = await (await forum.get("/moderasi/laporan")).text()
    item = re.search(r'data-report-item="(\d+)">\s*<p class="meta">[^·]*forum_utas', queue)
    await post(forum, f"/moderasi/laporan/{item.group(1)}/pulihkan", {}, mod)
    page = await (await forum.get("/forum?q=parkir")).text()
    assert "tarif berlebihan" in page and "kucing" not in page


async def test_a_sitting_and_a_raperda_list_the_threads_about_them(forum, store):
    async with store.transaction() as session:
        sitting = await new_sitting(session, title="Rapat Komisi C", status=SittingStatus.LIVE)
    raperda = forum.app[keys.RAPERDA]
    raperda_id = await raperda.create("", SAMPAH_V1, "uji")
    await raperda.publish(raperda_id, {}, "uji")
    token = await as_resident(forum, "192.0.2.130")
    about_sitting = await open_thread(
        forum, store, token, title="Pertanyaan soal rapat drainase", sitting_id=str(sitting.id)
    )
    await open_thread(forum, store, token, title="Bank sampah per RW", raperda_id=str(raperda_id))
    hidden = await open_thread(
        forum, store, token, title="Utas yang disembunyikan", sitting_id=str(sitting.id)
    )
    async with store.transaction() as session:
        (await session.get(ForumThread, hidden)).hidden = True
    token = await member_login(forum, store)
    answer = reply_id_of(await reply(forum, about_sitting, token, body="Sudah dijadwalkan."))
    await post(forum, f"/forum/balasan/{answer}/resmi", {"official": "1"}, token)

    watch = await (await forum.get(f"/sidang/{sitting.id}")).text()
    listed = watch[watch.index('id="forum"') :]
    assert f'href="/forum/utas/{about_sitting}"' in listed and "1 balasan" in listed
    assert "Dijawab resmi DPRD" in listed
    assert "Utas yang disembunyikan" not in watch and "Bank sampah" not in watch
    draft = await (await forum.get(f"/raperda/{raperda_id}")).text()
    assert "Bank sampah per RW" in draft and "0 balasan" in draft
    assert "rapat drainase" not in draft

    token = await as_resident(forum, "192.0.2.131")
    topic = await topic_id(store)
    response = await post(
        forum,
        f"/forum/{topic}/baru",
        {"name": "Siti", "title": "Judul", "body": "Isi", "raperda_id": "999999"},
        token,
    )
    assert response.status == 400 and 'id="err-raperda_id"' in await response.text()


async def test_a_thread_about_a_sitting_starts_from_its_page(forum, store):
    """From the sitting's page a resident picks a topic and finds the new-thread form already
    linked to that sitting; an archived topic takes no new thread and is not offered."""
    topic = await topic_id(store)
    async with store.transaction() as session:
        sitting = await new_sitting(session, title="Rapat Komisi B", status=SittingStatus.LIVE)
        session.add(ForumTopic(komisi="Komisi B", title="Lama", description="", archived=True))
    token = await as_resident(forum, "192.0.2.150")
    page = await (await forum.get(f"/sidang/{sitting.id}")).text()
    start = re.search(r'<a href="([^"]+)" class="start-thread">', page[page.index('id="forum"') :])
    index = await (await forum.get(start.group(1).replace("&amp;", "&"))).text()
    offered = re.findall(r'<a href="([^"]+)" class="start-thread">', index)
    assert offered == [f"/forum/{topic}/baru?rapat={sitting.id}"]
    form = await (await forum.get(offered[0])).text()
    assert f'name="sitting_id" inputmode="numeric" pattern="[0-9]*" value="{sitting.id}"' in form
    opened = await post(
        forum,
        f"/forum/{topic}/baru",
        {"name": "Siti", "title": "Banjir di Kuripan", "body": "Kapan?", "sitting_id": sitting.id},
        token,
    )
    assert opened.status == 303
    page = await (await forum.get(f"/sidang/{sitting.id}")).text()
    assert "Banjir di Kuripan" in page[page.index('id="forum"') :]
    unrelated = await (await forum.get("/forum?rapat=abc")).text()
    assert 'class="start-thread"' not in unrelated and 'id="pilih-topik"' not in unrelated


async def test_staff_rename_reorder_and_archive_a_topic(forum, store):
    topic = await topic_id(store)
    async with store.transaction() as session:
        session.add(ForumTopic(komisi="Komisi C", title="Air bersih", description=""))
    token = await as_resident(forum, "192.0.2.140")
    thread = await open_thread(forum, store, token)
    edit = {"title": "Jalan dan jembatan", "description": "Perbaikan jalan.", "position": "5"}
    refused = await post(forum, f"/forum/{topic}/atur", {**edit, "archived": "1"}, token)
    assert refused.status in (401, 403)
    assert (await post(forum, f"/forum/{topic}/atur", edit, None)).status == 403

    forum.session.cookie_jar.clear()
    staff = await log_in(forum, store, "sekretariat")
    bad = await post(forum, f"/forum/{topic}/atur", {**edit, "position": "-1"}, staff)
    assert bad.status == 400 and 'id="err-position"' in await bad.text()
    response = await post(forum, f"/forum/{topic}/atur", {**edit, "archived": "1"}, staff)
    assert response.status == 303
    index = await (await forum.get("/forum")).text()
    # Within Komisi C, "Air bersih" (position 0) now comes before the renamed topic (5).
    assert index.index("Air bersih") < index.index("Jalan dan jembatan") and "diarsipkan" in index
    async with store.read() as session:
        audit = await repo.recent_audit(session)
    assert any(a.action == "forum.topic.edit" and "archived=True" in a.detail for a in audit)

    token = await as_resident(forum, "192.0.2.141")
    page = await (await forum.get(f"/forum/{topic}")).text()
    assert "Perbaikan jalan." in page and f"/forum/{topic}/baru" not in page
    response = await post(
        forum, f"/forum/{topic}/baru", {"name": "Siti", "title": "Baru", "body": "Isi"}, token
    )
    assert response.status == 409
    assert "Kapan jalan rusak" in await (await forum.get(f"/forum/utas/{thread}")).text()
    assert (await reply(forum, thread, token)).status == 303  # its threads stay open


async def test_each_subscriber_gets_one_real_email_per_reply_and_can_stop_it(
    aiohttp_client, make_config, database_url, store, smtp_server
):
    inbox, smtp_url = smtp_server
    config = make_config(
        database_url=database_url,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
        data_keys=(Fernet.generate_key().decode(),),
        smtp_url=smtp_url,
    )
    client = await aiohttp_client(create_app(config))
    mailer = client.app[keys.FORUM].mailer

    async def delivered() -> list[tuple[list[str], str]]:
        await mailer.drain()
        mails = [
            (e.rcpt_tos, message_from_bytes(e.content, policy=policy.default).get_content())
            for e in inbox.messages
        ]
        inbox.messages.clear()
        return mails

    siti = await as_resident(client, "192.0.2.150")
    thread = await open_thread(client, store, siti, notify="1", email="siti@example.id")
    budi = await as_resident(client, "192.0.2.151")
    await reply(client, thread, budi, body="Saya juga mengalami.", notify="1", email="budi@ex.id")
    mails = await delivered()
    assert [to for to, _ in mails] == [["siti@example.id"]]  # not Budi, for his own reply
    assert "Saya juga mengalami." in mails[0][1]

    member = await member_login(client, store)
    await reply(client, thread, member, body="Sudah kami teruskan ke dinas.")
    mails = await delivered()
    assert sorted(to[0] for to, _ in mails) == ["budi@ex.id", "siti@example.id"]
    siti_mail = next(body for to, body in mails if to == ["siti@example.id"])

    # The link works without a login, from any browser.
    link = re.search(r"(/forum/berhenti\?k=\S+)", siti_mail).group(1)
    client.session.cookie_jar.clear()
    form = await (await client.get(link)).text()
    token = re.search(r'name="k" value="([^"]+)"', form).group(1)
    csrf = await csrf_token_for(client)
    response = await client.post("/forum/berhenti", data={"k": token, "csrf_token": csrf})
    assert response.status == 200 and 'name="k"' not in await response.text()
    for stale in (token, token + "x"):  # used once already; forged
        again = await client.post("/forum/berhenti", data={"k": stale, "csrf_token": csrf})
        assert again.status == 404
    member = await member_login(client, store, name="H. Rahmat")
    await reply(client, thread, member, body="Jadwal perbaikan minggu depan.")
    assert [to for to, _ in await delivered()] == [["budi@ex.id"]]
