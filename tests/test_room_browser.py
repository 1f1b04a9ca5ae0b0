"""A member joins the room in Debian Chromium with a fake camera: the device check lists the
camera and microphone and its level meter moves, the server receives their video, the page
decodes the program and shows the member themselves; being muted is said, and a vote shows as
pending until the server has recorded it."""

from __future__ import annotations

import asyncio

import pytest

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import keys
from server.app import create_app
from server.comments.hub import channel_for
from server.domain.roles import Role
from server.keys import ROOMS
from server.passwords import hash_password
from server.room.session import Participant, member_key
from server.store import repo
from tests.browser import chromium, sign_in
from tests.conftest import TEST_PASSWORD
from tests.live_helpers import eventually, scheduled_sitting
from tests.room_helpers import add_member, set_seats
from tests.test_comments import bus_comment

pytestmark = pytest.mark.browser

FRAMES_DECODED = """async () => {
  const pc = window.sidangRoom && window.sidangRoom.pc;
  if (!pc) return 0;
  let frames = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
  });
  return frames;
}"""


async def frames_decoded_above(page, count: int, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while await page.evaluate(FRAMES_DECODED) <= count:
            await asyncio.sleep(0.2)


@pytest.fixture
def database_url(sqlite_url):
    """The browser test exercises WebRTC, not the store: SQLite is enough."""
    return sqlite_url


async def test_a_member_joins_from_chromium(
    aiohttp_server, make_config, database_url, store, loopback_ice
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna Ruang Uji")
    live = await app[keys.LIVE].start(sitting_id, actor="test")
    await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())
    member_id = await add_member(store, "Anggota Peramban")
    await set_seats(store, 1)  # the member alone makes the quorum, so a vote can open
    async with store.transaction() as session:
        await repo.create_user(
            session, "anggota-peramban", hash_password(TEST_PASSWORD), "anggota", member_id
        )
        await repo.create_user(
            session, "pimpinan-peramban", hash_password(TEST_PASSWORD), "pimpinan", None
        )

    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, server, "anggota-peramban", TEST_PASSWORD)
        await page.goto(str(server.make_url(f"/ruang/{sitting_id}")))
        await page.wait_for_function(
            "() => document.querySelector('[data-preview]').srcObject !== null", timeout=10_000
        )
        # The device check: Chromium's fake camera and microphone are listed and chosen, and
        # its beeping microphone moves the meter (once the page was touched, as people do).
        await page.wait_for_function(
            "() => document.querySelectorAll('[data-camera] option').length > 0"
            " && document.querySelectorAll('[data-microphone] option').length > 0"
        )
        assert await page.locator("[data-camera]").input_value() != ""
        await page.click("h1")
        await page.wait_for_function(
            "() => document.querySelector('[data-level]').value > 0.05", timeout=10_000
        )
        await page.click("[data-join=video]")
        await frames_decoded_above(page, 30)
        await page.wait_for_function(
            "() => { const v = document.querySelector('[data-self]');"
            " return !v.hidden && v.videoWidth > 0; }"
        )

        rooms = app[ROOMS]
        session = rooms.rooms[sitting_id]
        chair = Participant(0, "pimpinan", Role.PIMPINAN, None, "Pimpinan")
        await rooms.command(session, chair, {"type": "floor", "member": member_id})
        program_input = f"member:{member_id}"
        await eventually(lambda: live.program.input_frames().get(program_input, 0) > 10)
        await page.wait_for_selector(f"[data-member-id='{member_id}'] .badge-floor")
        assert await page.is_visible("[data-countdown]")

        # The network drops: the page reconnects on its own, with a new peer connection, and
        # finds its seat and the floor where it left them.
        await page.evaluate("() => { window.previousPeer = window.sidangRoom.pc; }")
        _, connection = session.connections[member_key(member_id)]
        await connection.close(1012, "restart")
        await page.wait_for_function(
            "() => { const pc = window.sidangRoom.pc; return pc && pc !== window.previousPeer"
            " && pc.connectionState === 'connected'; }",
            timeout=20_000,
        )
        await frames_decoded_above(page, 10)
        await page.wait_for_selector(f"[data-member-id='{member_id}'] .badge-floor")
        assert session.state.seats[member_id].connected

        # The chair mutes the member, who reads it, and allows them again.
        notice = page.locator("[data-muted-notice]")
        await rooms.command(session, chair, {"type": "mute", "member": member_id})
        await notice.wait_for(state="visible")
        assert "Anda dibisukan" in await notice.text_content()
        await rooms.command(session, chair, {"type": "allow", "member": member_id})
        await notice.wait_for(state="hidden")

        # A vote: from the tap until the server has it, the choice shows as being sent. The
        # page holds the ballot frame back to look at that state, then lets it go.
        await rooms.command(session, chair, {"type": "open_vote", "title": "Raperda Parkir"})
        await page.wait_for_selector("[data-vote] >> text=Raperda Parkir")
        await page.evaluate(
            "() => { const ws = window.sidangRoom.ws; const send = ws.send.bind(ws);"
            " ws.send = (data) => { if (JSON.parse(data).type === 'ballot')"
            " window.heldBallot = () => send(data); else send(data); }; }"
        )
        await page.click("[data-choice=setuju]")
        status = page.locator("[data-vote-status]")
        assert "Mengirim suara" in await status.text_content()
        assert await page.locator("[data-choice=setuju].pending").is_disabled()
        assert await page.locator("[data-choice=tidak_setuju]").is_disabled()
        await page.evaluate("() => window.heldBallot()")
        await page.wait_for_selector("[data-vote-status] >> text=Suara Anda sudah tercatat.")
        assert await page.locator("[data-choice].pending").count() == 0

        # Residents' comments are read beside the program, questions can be singled out, and
        # members post nothing from here.
        question = bus_comment(7, "Kapan jalan Kedungwuni diperbaiki?")
        question["c"]["question"] = True
        for event in (bus_comment(6, "Salam dari Wiradesa"), question):
            await app[keys.BUS].publish(channel_for(sitting_id), event)
        await page.wait_for_selector("#komentar li.question >> text=Kedungwuni")
        await page.check("#komentar [data-questions-only]")
        assert not await page.is_visible("#komentar li >> text=Wiradesa")
        assert await page.is_visible("#komentar li >> text=Kedungwuni")
        assert await page.locator("#komentar form").count() == 0

        # The chair removes the member, finds them listed, and lets them back in.
        await rooms.command(session, chair, {"type": "remove", "member": member_id})
        chair_page = await (await browser.new_context()).new_page()
        await sign_in(chair_page, server, "pimpinan-peramban", TEST_PASSWORD)
        await chair_page.goto(str(server.make_url(f"/ruang/{sitting_id}")))
        await chair_page.wait_for_function(
            "() => document.querySelector('[data-preview]').srcObject !== null", timeout=10_000
        )
        await chair_page.click("[data-join=audio]")
        await chair_page.click("[data-removed] li:has-text('Anggota Peramban') button")
        await chair_page.wait_for_selector("[data-removed-box]", state="hidden")
        assert member_id not in session.state.removed
