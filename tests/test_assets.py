"""Static files: content-hash addresses cached for a year, precompressed text, no stale copy."""

from __future__ import annotations

import gzip
import os
import re

import brotli
import pytest

from server import keys
from server.app import create_app
from server.assets import IMMUTABLE, SHORT, Assets, accepted_encodings
from tests.conftest import seed_live_sitting

SCRIPT = "const greeting = 'selamat datang';\n" * 100  # 3.5 KB of compressible text
FINGERPRINTED = re.compile(r"^/static/js/app\.[0-9a-f]{12}\.js$")


@pytest.fixture
def database_url(sqlite_url):
    """Static files do not touch the store: one backend is enough."""
    return sqlite_url


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "static"
    (root / "js").mkdir(parents=True)
    (root / "img").mkdir()
    (root / "js" / "app.js").write_text(SCRIPT)
    (root / "js" / "tiny.js").write_text("x();\n")
    (root / "img" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return Assets(root, tmp_path / "build")


@pytest.fixture
async def static_client(aiohttp_client, make_config, database_url, tree):
    """The real app, its /static/ route reading the test tree; bodies are left compressed."""
    app = create_app(make_config(database_url=database_url))
    app[keys.ASSETS] = tree
    return await aiohttp_client(app, auto_decompress=False)


async def test_a_fingerprinted_address_is_cached_for_a_year(static_client, tree):
    url = tree.url("js/app.js")
    assert FINGERPRINTED.match(url)
    response = await static_client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.status == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "Set-Cookie" not in response.headers, "a shared cache would hand it to everyone"
    assert await response.text() == SCRIPT


async def test_a_bare_or_outdated_address_still_works_with_a_short_cache(static_client, tree):
    for url in ("/static/js/app.js", "/static/js/app.0123456789ab.js"):
        response = await static_client.get(url, headers={"Accept-Encoding": "identity"})
        assert response.status == 200, url
        assert response.headers["Cache-Control"] == SHORT
        assert await response.text() == SCRIPT


async def test_text_goes_out_precompressed_in_the_best_coding_the_browser_accepts(
    static_client, tree
):
    tree.build()
    url = tree.url("js/app.js")
    cases = {
        "gzip, deflate, br, zstd": ("br", brotli.decompress),
        "gzip": ("gzip", gzip.decompress),
        "br;q=0, gzip;q=0.5": ("gzip", gzip.decompress),
        "identity": (None, bytes),
        "": (None, bytes),
    }
    for accept, (encoding, decode) in cases.items():
        response = await static_client.get(url, headers={"Accept-Encoding": accept})
        assert response.headers.get("Content-Encoding") == encoding, accept
        assert response.headers["Vary"] == "Accept-Encoding", "caches keep the codings apart"
        assert response.headers["Cache-Control"] == IMMUTABLE
        body = await response.read()
        assert decode(body).decode() == SCRIPT
        if encoding:
            assert len(body) < len(SCRIPT) / 5


async def test_an_edited_file_gets_a_new_address_and_never_an_outdated_copy(static_client, tree):
    tree.build()
    old_url = tree.url("js/app.js")
    path = tree.root / "js" / "app.js"
    path.write_text("const edited = true;\n" * 100)
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)  # a later version, surely
    new_url = tree.url("js/app.js")
    assert new_url != old_url
    response = await static_client.get(new_url, headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in response.headers, "the copy was made from older content"
    assert (await response.text()).startswith("const edited")
    tree.build()
    response = await static_client.get(new_url, headers={"Accept-Encoding": "br, gzip"})
    assert response.headers["Content-Encoding"] == "br"


async def test_images_are_not_compressed_again(static_client, tree):
    tree.build()
    response = await static_client.get(tree.url("img/logo.png"), headers={"Accept-Encoding": "br"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert "Content-Encoding" not in response.headers
    assert "Vary" not in response.headers


async def test_nothing_outside_the_static_tree_is_served(static_client, tree):
    for url in ("/static/%2E%2E/%2E%2E/etc/passwd", "/static/js", "/static/js/missing.js"):
        response = await static_client.get(url)
        assert response.status == 404, url
    assert tree.resolve("../build/x", "") is None
    with pytest.raises(FileNotFoundError):
        tree.url("js/missing.js")


def test_the_build_writes_each_copy_once_and_drops_outdated_ones(tree):
    written = {p.name for p in tree.build()}
    digest = tree.url("js/app.js").split(".")[-2]
    assert written == {f"app.js.{digest}.br", f"app.js.{digest}.gz"}, "not tiny.js, not PNG"
    assert tree.build() == [], "copies already there are kept"
    (tree.root / "js" / "app.js").write_text(SCRIPT + "// v2\n")
    tree.build()
    left = sorted(p.name for p in (tree.compressed / "js").iterdir())
    assert len(left) == 2 and digest not in "".join(left)


def test_accept_encoding_is_read_with_its_weights():
    assert accepted_encodings("gzip, deflate, br") == {"gzip", "deflate", "br"}
    assert accepted_encodings("br;q=0, gzip; q=0.8") == {"gzip"}
    assert accepted_encodings("*") >= {"br", "gzip"}
    assert accepted_encodings("br;q=zero") == set()


async def test_pages_link_static_files_by_content_hash(client, store):
    """The real tree: the layout's stylesheet and the watch page's script and hls.js build."""
    sitting_id = await seed_live_sitting(store)
    html = await (await client.get(f"/sidang/{sitting_id}")).text()
    assert re.search(r'href="/static/css/sidang\.[0-9a-f]{12}\.css"', html)
    assert re.search(r'src="/static/js/watch\.[0-9a-f]{12}\.js"', html)
    hls = re.search(r'data-hls="(/static/vendor/hls\.light\.min\.[0-9a-f]{12}\.js)"', html)
    assert hls, "the light build, fetched by watch.js only when the browser needs it"
    assert '<script src="/static/vendor/' not in html
    response = await client.get(hls.group(1))
    assert response.status == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
