"""Static files for phones on slow, metered data: fingerprinted URLs and precompressed copies.

A file's content hash names both its URL (`js/watch.js` is linked as `js/watch.<hash>.js`, which
can be cached for a year because new content gets a new URL) and its compressed copies
(`web/compressed/js/watch.js.<hash>.br` and `.gz`). Copies are made at set-up time
(`python -m server.assets`, run by `make assets` and by the image's build), so a wheel carries
them; a copy made from older content is never served, so a file edited after the build goes out
uncompressed until the next build, never stale.

web/ is package data: `server/web` is a link to the repository's web/, which a wheel build
copies in as plain files. The same path therefore works in a checkout (the editable install)
and in site-packages after `pip install sidang-*.whl` (tests/test_packaging.py installs one).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import brotli

WEB_DIR = Path(__file__).resolve().parent / "web"
STATIC_DIR = WEB_DIR / "static"
COMPRESSED_DIR = WEB_DIR / "compressed"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"  # an address without the current hash: content may change
HASH_LENGTH = 12
# Text worth compressing; images and fonts are compressed already.
COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".txt", ".map", ".webmanifest"}
MIN_COMPRESS_BYTES = 512  # below this the header overhead eats the gain
# Preferred first: brotli is some 15-20% smaller than gzip on JavaScript.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
_FINGERPRINTED = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.\w+)?$")


@dataclass(frozen=True)
class StaticFile:
    """A file to send: which bytes, with which headers."""

    path: Path
    content_type: str
    cache_control: str
    encoding: str | None
    vary: bool


class Assets:
    """Fingerprints and compressed copies of one static tree; hashes are cached per file
    version (size and mtime), so a file edited while the server runs gets a new URL."""

    def __init__(self, root: Path = STATIC_DIR, compressed: Path = COMPRESSED_DIR) -> None:
        self.root = root.resolve()
        self.compressed = compressed
        self._hashes: dict[str, tuple[int, int, str]] = {}

    def url(self, name: str) -> str:
        """The fingerprinted address of `name` (relative to the static root); raises
        FileNotFoundError for a file that is not there, so a typo fails the page, not the user."""
        path = self._source(name)
        if path is None:
            raise FileNotFoundError(f"no static file {name!r}")
        return f"/static/{_with_hash(name, self._hash(name, path))}"

    def resolve(self, requested: str, accept_encoding: str) -> StaticFile | None:
        """What to send for `/static/{requested}`, or None when there is no such file."""
        name, wanted = requested, None
        match = _FINGERPRINTED.match(requested)
        if match and self._source(requested) is None:
            name, wanted = match["stem"] + (match["ext"] or ""), match["hash"]
        path = self._source(name)
        if path is None:
            return None
        digest = self._hash(name, path)
        cache = IMMUTABLE if wanted == digest else SHORT
        content_type = content_type_for(path)
        if path.suffix not in COMPRESSIBLE:
            return StaticFile(path, content_type, cache, None, vary=False)
        accepted = accepted_encodings(accept_encoding)
        for encoding, suffix in ENCODINGS:
            copy = self.compressed / f"{name}.{digest}{suffix}"
            if encoding in accepted and copy.is_file():
                return StaticFile(copy, content_type, cache, encoding, vary=True)
        return StaticFile(path, content_type, cache, None, vary=True)

    def build(self) -> list[Path]:
        """Write the compressed copies that are missing and delete outdated ones; returns the
        copies written."""
        written, keep = [], set()
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            if path.suffix not in COMPRESSIBLE or path.stat().st_size < MIN_COMPRESS_BYTES:
                continue
            name = path.relative_to(self.root).as_posix()
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
            for suffix, compress in ((".br", _brotli), (".gz", _gzip)):
                copy = self.compressed / f"{name}.{digest}{suffix}"
                keep.add(copy)
                if copy.is_file():
                    continue
                packed = compress(data)
                if len(packed) < len(data):
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    _write_atomically(copy, packed)
                    written.append(copy)
        if self.compressed.is_dir():
            for old in self.compressed.rglob("*"):
                if old.is_file() and old not in keep:
                    old.unlink()
        return written

    def _source(self, name: str) -> Path | None:
        """The file for `name` inside the root; None for anything else (`..`, directories)."""
        if not name or name.startswith("/") or "\\" in name:
            return None
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def _hash(self, name: str, path: Path) -> str:
        stat = path.stat()
        cached = self._hashes.get(name)
        if cached and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached[2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]
        self._hashes[name] = (stat.st_size, stat.st_mtime_ns, digest)
        return digest


def content_type_for(path: Path) -> str:
    """Set here, not guessed from /etc/mime.types, which varies between machines."""
    guessed = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return guessed or "application/octet-stream"


def accepted_encodings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header allows (q > 0), lower case."""
    accepted = set()
    for item in header.lower().split(","):
        coding, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding.strip() and quality > 0:
            accepted.add(coding.strip())
    if "*" in accepted:
        accepted |= {encoding for encoding, _ in ENCODINGS}
    return accepted


def _with_hash(name: str, digest: str) -> str:
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def _brotli(data: bytes) -> bytes:
    return brotli.compress(data, mode=brotli.MODE_TEXT, quality=11)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def main() -> None:
    """`python -m server.assets`: compress the static tree (the Makefile's `assets` step)."""
    written = Assets().build()
    print(f"static files: {len(written)} compressed copies written to {COMPRESSED_DIR}")


if __name__ == "__main__":
    main()
