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


# How far the page scrolls sideways, and the first elements that stick out (tables inside a
# .table-scroll box scroll on their own and do not count).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .filter((el) => el.closest(".table-scroll") === null)
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  return { scroll: document.documentElement.scrollWidth - width, wide: wide.slice(0, 5) };
}"""


async def assert_no_sideways_scroll(page) -> None:
    found = await page.evaluate(OVERFLOW)
    assert found["scroll"] <= 0, f"{page.url} scrolls sideways: {found}"


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page, server, username: str, password: str) -> None:
    """Log a Playwright page in through the login form; `server` is a test server or a base
    URL (the end-to-end suite's nginx or one node)."""
    base = server if isinstance(server, str) else str(server.make_url("/")).rstrip("/")
    await page.goto(f"{base}/masuk")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("form button[type=submit]")
    await page.wait_for_load_state()
