"""Photos as residents send them, made safe to publish: judged by content (never by name or
declared type), re-encoded with Pillow, with all metadata (EXIF GPS first of all) dropped."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from server.domain.errors import InvalidInput
from server.i18n import N_

MAX_PHOTOS = 3
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
FORMATS = ("JPEG", "PNG", "WEBP")
# Another format hidden inside the picture: a browser or an unzip tool would read it differently.
FOREIGN_MARKERS = (b"<script", b"<html", b"<svg", b"<?php", b"<!doctype", b"%pdf-", b"pk\x03\x04")

TOO_MANY = N_("Paling banyak 3 foto.")
TOO_BIG = N_("Foto terlalu besar (paling besar 8 MB dan 40 megapiksel).")
NOT_PHOTO = N_("Berkas ini bukan foto JPEG, PNG atau WebP.")
SVG = N_("Gambar SVG tidak diterima; kirim foto JPEG, PNG atau WebP.")
POLYGLOT = N_("Foto ini memuat data lain selain gambar, jadi tidak diterima.")


def refuse(message: str) -> InvalidInput:
    return InvalidInput(message, fields={"photos": message})


def clean_photo(data: bytes) -> bytes:
    """A JPEG re-encoded from the pixels alone, turned upright by its EXIF orientation."""
    if len(data) > MAX_BYTES:
        raise refuse(TOO_BIG)
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")) or b"<svg" in head:
        raise refuse(SVG)
    if any(marker in data.lower() for marker in FOREIGN_MARKERS):
        raise refuse(POLYGLOT)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            if image.width * image.height > MAX_PIXELS:
                raise refuse(TOO_BIG)
            if _has_trailing_data(data, image.format):
                raise refuse(POLYGLOT)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise refuse(TOO_BIG) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise refuse(NOT_PHOTO) from None
    image = ImageOps.exif_transpose(image).convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _has_trailing_data(data: bytes, image_format: str | None) -> bool:
    """Bytes after the image's own end marker are where a second file hides."""
    body = data.rstrip(b"\x00\r\n ")
    if image_format == "JPEG":
        return not body.endswith(b"\xff\xd9")
    if image_format == "PNG":
        return not body.endswith(b"IEND\xaeB`\x82")
    if image_format == "WEBP":
        return len(data) != int.from_bytes(data[4:8], "little") + 8
    return True
