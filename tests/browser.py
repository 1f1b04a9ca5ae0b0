"""Debian Chromium through Playwright, launched as ../shared/BROWSER.md describes.

Never downloads a browser: the executable is /usr/bin/chromium, installed by
scripts/ensure-services.sh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--password-store=basic",
    "--use-mock-keychain",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page, server, username: str, password: str) -> None:
    """Log a Playwright page in through the login form."""
    await page.goto(str(server.make_url("/masuk")))
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("form button[type=submit]")
    await page.wait_for_load_state()
