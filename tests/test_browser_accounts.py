"""An administrator manages accounts in Debian Chromium, at 1280 px and on a 360 px phone: adds
one that can then sign in, changes its role, and deletes it after being asked first."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.passwords import hash_password
from server.store import repo
from tests.browser import assert_no_sideways_scroll, chromium, sign_in
from tests.conftest import TEST_PASSWORD, empty_tables

pytestmark = pytest.mark.browser


@pytest.fixture
async def database_url(sqlite_url):
    """The browser test exercises the page, not the store: SQLite is enough."""
    await empty_tables(sqlite_url)
    return sqlite_url


@pytest.mark.parametrize("width", [1280, 360])
async def test_an_admin_adds_changes_and_deletes_an_account(
    aiohttp_server, make_config, database_url, store, width
):
    server = await aiohttp_server(create_app(make_config(database_url=database_url)))
    async with store.transaction() as session:
        await repo.create_user(
            session, "admin-peramban", hash_password(TEST_PASSWORD), "admin", None
        )

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 800})
        await sign_in(page, server, "admin-peramban", TEST_PASSWORD)
        await page.goto(str(server.make_url("/konsol/pengguna")))
        await assert_no_sideways_scroll(page)
        add = page.locator("form[action='/konsol/pengguna']")
        await add.locator("input[name=username]").fill("moderator-baru")
        await add.locator("select[name=role]").select_option("moderator")
        await add.locator("input[name=password]").fill("sandi-awal-yang-kuat")
        async with page.expect_navigation():
            await add.locator("button[type=submit]").click()
        row = page.locator("tr[data-account='moderator-baru']")
        assert await row.count() == 1
        await row.locator("select[name=role]").select_option("sekretariat")
        async with page.expect_navigation():
            await row.locator(
                "form[action$='/konsol/pengguna/'] button, form.row button"
            ).first.click()
        async with store.read() as session:
            account = await repo.get_user_by_username(session, "moderator-baru")
        assert account is not None and account.role == "sekretariat"
        await assert_no_sideways_scroll(page)

        newcomer = await (await browser.new_context()).new_page()
        await sign_in(newcomer, server, "moderator-baru", "sandi-awal-yang-kuat")
        assert newcomer.url.endswith("/konsol"), "the new staff account lands on the console"

        delete = page.locator("tr[data-account='moderator-baru'] button.danger")
        questions = []

        async def answer(dialog, accept: bool) -> None:
            questions.append(dialog.message)
            await (dialog.accept() if accept else dialog.dismiss())

        page.once("dialog", lambda dialog: answer(dialog, False))
        await delete.click()
        assert questions == ["Hapus akun moderator-baru?"]
        assert await page.locator("tr[data-account='moderator-baru']").count() == 1

        page.once("dialog", lambda dialog: answer(dialog, True))
        async with page.expect_navigation():
            await delete.click()
        assert await page.locator("tr[data-account='moderator-baru']").count() == 0
    async with store.read() as session:
        assert await repo.get_user_by_username(session, "moderator-baru") is None
