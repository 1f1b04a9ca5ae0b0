"""An administrator deletes an account in Debian Chromium: the console asks first."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.passwords import hash_password
from server.store import repo
from tests.browser import chromium, sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(sqlite_url):
    """The browser test exercises the page, not the store: SQLite is enough."""
    return sqlite_url


async def test_deleting_an_account_asks_first(aiohttp_server, make_config, database_url, store):
    server = await aiohttp_server(create_app(make_config(database_url=database_url)))
    async with store.transaction() as session:
        password = hash_password(TEST_PASSWORD)
        await repo.create_user(session, "admin-peramban", password, "admin", None)
        await repo.create_user(session, "akan-dihapus", "x", "moderator", None)

    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, server, "admin-peramban", TEST_PASSWORD)
        await page.goto(str(server.make_url("/konsol/pengguna")))
        delete = page.locator("tr[data-account='akan-dihapus'] button.danger")
        questions = []

        async def answer(dialog, accept: bool) -> None:
            questions.append(dialog.message)
            await (dialog.accept() if accept else dialog.dismiss())

        page.once("dialog", lambda dialog: answer(dialog, False))
        await delete.click()
        assert questions == ["Hapus akun akan-dihapus?"]
        assert await page.locator("tr[data-account='akan-dihapus']").count() == 1

        page.once("dialog", lambda dialog: answer(dialog, True))
        async with page.expect_navigation():
            await delete.click()
        assert await page.locator("tr[data-account='akan-dihapus']").count() == 0
    async with store.read() as session:
        assert await repo.get_user_by_username(session, "akan-dihapus") is None
