"""Moderation: banned words, pre-moderation, slow mode, bans, pins, the console and its rules."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

import pytest

from server.app import create_app
from server.bus import MemoryBus
from server.comments.views import IDENTITY_COOKIE
from server.domain.moderation import (
    DEFAULT_BANNED_WORDS,
    MAX_IP_BAN_MINUTES,
    Ban,
    BannedPattern,
    Gate,
    Refused,
    Sender,
    WordAction,
    WordFilter,
    check_ban_minutes,
    normalise,
)
from server.keys import COMMENTS
from tests.conftest import log_in
from tests.test_comments import connect, outcome, post, receive_until


def moderated(client, token):
    async def call(path: str, body: dict | None = None):
        response = await client.post(path, json=body or {}, headers={"X-CSRF-Token": token})
        return response.status, await response.json()

    return call


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dasar G0BL0K!", WordAction.BLOCK),
        ("gooooblok", WordAction.BLOCK),
        ("b.a.n.g.s.a.t", WordAction.BLOCK),
        ("JANCOOOK", WordAction.BLOCK),
        ("a n j i n g", WordAction.HOLD),
        ("asuransi kesehatan gratis", None),
        ("kasur di rumah sakit", None),
        ("100 anggota hadir", None),
    ],
)
def test_word_filter_sees_through_leetspeak_stretching_and_spacing(text, expected):
    patterns = [
        BannedPattern("goblok", WordAction.BLOCK),
        BannedPattern("bangsat", WordAction.BLOCK),
        BannedPattern("jan*cok", WordAction.BLOCK),
        BannedPattern("asu", WordAction.BLOCK),
        BannedPattern("anjing", WordAction.HOLD),
    ]
    assert WordFilter(patterns).match(text) is expected


@pytest.mark.parametrize(
    "text", ["Pasal 741 ayat 5", "pukul 17.41 WIB", "anggaran 4.5 miliar", "1764445741.25"]
)
def test_plain_numbers_never_spell_a_banned_word(text):
    """'741' reads as 't-a-i' in leetspeak; inside a word it is caught, as a number it is not."""
    word_filter = WordFilter([BannedPattern(p, a) for p, a in DEFAULT_BANNED_WORDS])
    assert word_filter.match(text) is None
    assert word_filter.match("dasar 7a1") is WordAction.HOLD


async def test_a_ban_follows_the_banned_browser_and_spares_its_neighbours():
    gate = Gate(MemoryBus())
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    await gate.apply(Ban("spammer", None, until, origin="7"))
    with pytest.raises(Refused):
        await gate.check_ban(Sender("spammer", "ip-kantor", "hp-spammer"))
    await gate.check_ban(Sender("tetangga", "ip-kantor", "hp-tetangga"))  # same address
    with pytest.raises(Refused):  # the comment cookie cleared: a new identity, the same device
        await gate.check_ban(Sender("akun-baru", "ip-kantor", "hp-spammer"))
    with pytest.raises(Refused):  # and that new identity is banned on any device and network
        await gate.check_ban(Sender("akun-baru", "ip-rumah", "hp-lain"))
    await gate.check_ban(Sender("tetangga", "ip-kantor", "hp-tetangga"))


async def test_an_address_ban_refuses_everyone_behind_it_but_spreads_to_nobody():
    gate = Gate(MemoryBus())
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
    ban = Ban("spammer", "ip-warnet", until, origin="9")
    await gate.apply(ban)
    with pytest.raises(Refused):
        await gate.check_ban(Sender("tetangga", "ip-warnet", "hp-tetangga"))
    await gate.check_ban(Sender("tetangga", "ip-rumah", "hp-tetangga"))  # not tainted
    await gate.lift(ban)
    await gate.check_ban(Sender("tetangga", "ip-warnet", "hp-tetangga"))


def test_an_address_ban_is_short():
    assert check_ban_minutes(MAX_IP_BAN_MINUTES, ip=True) == MAX_IP_BAN_MINUTES
    assert check_ban_minutes(24 * 60) == 24 * 60
    with pytest.raises(Refused):
        check_ban_minutes(MAX_IP_BAN_MINUTES + 1, ip=True)


async def test_lifting_a_ban_also_lifts_the_identities_and_devices_it_spread_to():
    gate = Gate(MemoryBus())
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    ban = Ban("spammer", None, until, origin="7", device="hp-spammer")
    await gate.apply(ban)
    for sender in (Sender("spammer", "ip-kantor", "hp-baru"), Sender("akun-baru", "ip", "hp-baru")):
        with pytest.raises(Refused):  # the ban spreads: a new device, then a fresh identity
            await gate.check_ban(sender)
    await gate.apply(Ban("orang-lain", None, until, origin="8"))

    await gate.lift(ban)
    for sender in (
        Sender("spammer", "ip-rumah", "hp-spammer"),
        Sender("spammer", "ip-kantor", "hp-baru"),
        Sender("akun-baru", "ip-kantor", "hp-baru"),
        Sender("akun-baru", "ip-lain", "hp-lain"),
    ):
        await gate.check_ban(sender)
    with pytest.raises(Refused):  # another moderator's ban is untouched
        await gate.check_ban(Sender("orang-lain", "ip-lain"))


def test_normalise_folds_case_accents_and_repeats():
    assert normalise("Bángsaaat") == "bangsat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dasar g\u043ebl\u043ek", WordAction.BLOCK),  # Cyrillic о twice
        ("\u0430nj\u0456ng", WordAction.HOLD),  # Cyrillic а and і
        ("b\u03b1ngs\u03b1t!", WordAction.BLOCK),  # Greek α
        ("\U0001d424\U0001d428\U0001d427\U0001d42d\U0001d428\U0001d425", WordAction.BLOCK),
        ("\u0420\u0430\u0441\u0430\u043b 741", None),  # look-alike letters, a plain number
    ],
)
def test_word_filter_folds_look_alike_letters(text, expected):
    """TR39 skeletons: a Cyrillic or Greek letter that looks Latin reads as that letter."""
    word_filter = WordFilter([BannedPattern(p, a) for p, a in DEFAULT_BANNED_WORDS])
    assert word_filter.match(text) is expected


def test_a_pattern_typed_with_look_alike_letters_still_matches_latin_text():
    word_filter = WordFilter([BannedPattern("k\u0430mpret", WordAction.BLOCK)])
    assert word_filter.match("dasar kampret") is WordAction.BLOCK


@pytest.mark.parametrize(
    ("first", "second"), [("Pasal 1", "Pasal 11"), ("10 miliar", "100 miliar")]
)
async def test_numbers_that_differ_are_different_messages(first, second):
    gate, sender = Gate(MemoryBus()), Sender("warga", "ip-kantor")
    await gate.admit("sitting:1", sender, first, 0)
    await gate.admit("sitting:1", sender, second, 0)
    with pytest.raises(Refused):
        await gate.admit("sitting:1", sender, first, 0)


async def test_stretched_letters_and_look_alikes_are_still_the_same_message():
    gate, sender = Gate(MemoryBus()), Sender("warga", "ip-kantor")
    await gate.admit("sitting:1", sender, "Bagus sekali", 0)
    for again in ("bagusssss sekali", "b\u0430gus sekali"):
        with pytest.raises(Refused):
            await gate.admit("sitting:1", sender, again, 0)


async def test_banned_words_block_or_hold_and_moderators_edit_the_list(client, login, live_sitting):
    call = moderated(client, await login("moderator"))
    status, word = await call("/moderasi/kata-terlarang", {"pattern": "bangsat", "action": "block"})
    assert status == 201
    assert (await call("/moderasi/kata-terlarang", {"pattern": "tolol", "action": "hold"}))[
        0
    ] == 201
    ws = await connect(client, live_sitting)
    await post(ws, "dasar b4ngs4tt")
    error = await outcome(ws, "dasar b4ngs4tt")
    assert error["code"] == "blocked_word"
    await post(ws, "kebijakan t0lol")
    held = await outcome(ws, "kebijakan t0lol")
    assert held["type"] == "held" and "menunggu" in held["message"]

    assert (await call(f"/moderasi/kata-terlarang/{word['id']}/hapus"))[0] == 200
    await post(ws, "bangsat itu kata kasar")
    assert (await outcome(ws, "bangsat itu kata kasar"))["type"] == "comment"


async def test_premoderation_holds_until_a_moderator_approves(client, login, live_sitting):
    call = moderated(client, await login("sekretariat"))
    status, body = await call(f"/moderasi/{live_sitting}/pengaturan", {"premoderation": True})
    assert status == 200 and body["settings"]["premoderation"] is True
    moderator = await client.ws_connect(f"/moderasi/{live_sitting}/ws")
    resident = await connect(client, live_sitting)
    await post(resident, "Mohon jalan Sapuro diperbaiki")
    assert (await outcome(resident, "Mohon jalan Sapuro diperbaiki"))["type"] == "held"
    queued = await receive_until(moderator, "held")
    assert queued["text"] == "Mohon jalan Sapuro diperbaiki" and len(queued["identity"]) == 8

    assert (await call(f"/moderasi/{live_sitting}/komentar/{queued['id']}/tampilkan"))[0] == 200
    shown = await receive_until(resident, "comment")
    assert (shown["id"], shown["text"]) == (queued["id"], "Mohon jalan Sapuro diperbaiki")
    assert "restored" not in shown  # an approval appears now, at the end of the list


async def test_an_undone_hide_puts_the_comment_back_in_its_place(client, login, live_sitting):
    call = moderated(client, await login("moderator"))
    resident = await connect(client, live_sitting)
    ids = []
    for text in ("pertama", "kedua", "ketiga"):
        await post(resident, text)
        ids.append((await outcome(resident, text))["id"])
    assert (await call(f"/moderasi/{live_sitting}/komentar/{ids[1]}/sembunyikan"))[0] == 200
    assert (await receive_until(resident, "hidden"))["id"] == ids[1]
    assert (await call(f"/moderasi/{live_sitting}/komentar/{ids[1]}/tampilkan"))[0] == 200
    back = await receive_until(resident, "comment")
    assert (back["id"], back["text"], back["restored"]) == (ids[1], "kedua", True)

    late = await client.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    history = []
    while (frame := await late.receive_json())["type"] != "settings":
        if frame["type"] == "comment":
            history.append(frame["text"])
    assert history == ["pertama", "kedua", "ketiga"]


async def test_slow_mode_and_pinned_message_reach_open_sockets(client, login, live_sitting):
    call = moderated(client, await login("moderator"))
    ws = await connect(client, live_sitting)
    await call(
        f"/moderasi/{live_sitting}/pengaturan", {"slow_mode_s": 30, "pinned": "Agenda: APBD"}
    )
    assert (await receive_until(ws, "settings"))["pinned"] == ""  # the state on joining
    settings = await receive_until(ws, "settings")
    assert (settings["slow_mode"], settings["pinned"]) == (30, "Agenda: APBD")
    await post(ws, "pertama")
    assert (await outcome(ws, "pertama"))["type"] == "comment"
    await post(ws, "kedua")
    assert (await outcome(ws, "kedua"))["code"] == "slow_mode"
    late = await client.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    assert (await receive_until(late, "hello"))["slow_mode"] == 30


async def test_settings_are_validated(client, login, live_sitting):
    call = moderated(client, await login("moderator"))
    assert (await call(f"/moderasi/{live_sitting}/pengaturan", {"slow_mode_s": -1}))[0] == 400
    assert (await call(f"/moderasi/{live_sitting}/pengaturan", {"premoderation": "ya"}))[0] == 400


@pytest.fixture
async def proxied_client(aiohttp_client, make_config, database_url, store):
    config = make_config(
        database_url=database_url, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)
    )
    return await aiohttp_client(create_app(config))


def drop_cookie(client, name: str) -> None:
    client.session.cookie_jar.clear(lambda morsel: morsel.key == name)


async def test_a_ban_is_on_the_identity_not_on_the_address(proxied_client, live_sitting):
    """Two browsers behind one office NAT: banning one leaves the other free to comment."""
    client = proxied_client
    spammer = await connect(client, live_sitting, ip="203.0.113.66")
    await post(spammer, "BELI PULSA MURAH")
    comment = await outcome(spammer, "BELI PULSA MURAH")
    spammer_cookies = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    await client.app[COMMENTS].ban(
        live_sitting, int(comment["id"]), minutes=60, reason="spam", actor="mod"
    )
    await post(spammer, "BELI PULSA LAGI")
    assert (await outcome(spammer, "BELI PULSA LAGI"))["code"] == "banned"

    client.session.cookie_jar.clear()  # another browser in the same office
    colleague = await connect(client, live_sitting, ip="203.0.113.66")
    await post(colleague, "Kapan jalan Sapuro diperbaiki?")
    assert (await outcome(colleague, "Kapan jalan Sapuro diperbaiki?"))["type"] == "comment"

    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies(spammer_cookies)
    moved = await connect(client, live_sitting, ip="198.51.100.20")  # the spammer, elsewhere
    await post(moved, "dari jaringan lain")
    assert (await outcome(moved, "dari jaringan lain"))["code"] == "banned"
    drop_cookie(client, IDENTITY_COOKIE)  # a fresh identity, but the same browser
    returned = await connect(client, live_sitting, ip="198.51.100.20")
    await post(returned, "akun baru")
    assert (await outcome(returned, "akun baru"))["code"] == "banned"


async def test_an_address_ban_is_an_explicit_short_choice(proxied_client, store, live_sitting):
    client = proxied_client
    spammer = await connect(client, live_sitting, ip="203.0.113.77")
    await post(spammer, "SPAM BERGANTI AKUN")
    comment = await outcome(spammer, "SPAM BERGANTI AKUN")
    client.session.cookie_jar.clear()
    call = moderated(client, await log_in(client, store, "moderator"))
    path = f"/moderasi/{live_sitting}/komentar/{comment['id']}/blokir"
    status, body = await call(path, {"minutes": 24 * 60, "ip": True})
    assert status == 400 and "60 menit" in body["error"]
    status, body = await call(path, {"minutes": 30, "ip": True})
    assert status == 200 and body["ip"] is True
    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    assert "data-ban-ip" in page and "semua orang di jaringan yang sama" in page
    assert "+ alamat IP" in page  # the list of bans tells an address ban apart

    client.session.cookie_jar.clear()
    neighbour = await connect(client, live_sitting, ip="203.0.113.77")
    await post(neighbour, "saya warga lain")
    assert (await outcome(neighbour, "saya warga lain"))["code"] == "banned"


async def test_console_is_for_moderators_only(client, login, live_sitting):
    anonymous = await client.get(f"/moderasi/{live_sitting}", allow_redirects=False)
    assert anonymous.status == 303
    await login("anggota")
    assert (await client.get(f"/moderasi/{live_sitting}")).status == 403
    await login("moderator")
    page = await client.get(f"/moderasi/{live_sitting}")
    html = await page.text()
    assert page.status == 200 and "Kata terlarang" in html and "Mode lambat" in html


async def test_a_moderator_lists_and_lifts_a_ban(client, login, live_sitting):
    call = moderated(client, await login("moderator"))
    resident = await connect(client, live_sitting)
    await post(resident, "iklan pinjol")
    comment = await outcome(resident, "iklan pinjol")
    status, _ = await call(
        f"/moderasi/{live_sitting}/komentar/{comment['id']}/blokir",
        {"minutes": 60, "reason": "spam"},
    )
    assert status == 200
    await post(resident, "masih di sini")
    assert (await outcome(resident, "masih di sini"))["code"] == "banned"

    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    ban_id = re.search(r'data-lift-ban="(\d+)"', page).group(1)
    assert "spam" in page
    assert (await call(f"/moderasi/blokir/{ban_id}/cabut"))[0] == 200
    await post(resident, "maaf, saya warga biasa")
    assert (await outcome(resident, "maaf, saya warga biasa"))["type"] == "comment"
    assert (await call(f"/moderasi/blokir/{ban_id}/cabut"))[0] == 404, "already lifted"
    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    assert "data-lift-ban" not in page
