"""Shared setup for the pengaduan tests: an app with a data key, categories, a filed report."""

from __future__ import annotations

import io
import re

from cryptography.fernet import Fernet
from PIL import Image

from server.store import pengaduan as store_pengaduan
from tests.conftest import csrf_token_for

DATA_KEY = Fernet.generate_key().decode()
LINK = re.compile(r"/pengaduan/(ADU-\d{4}-[A-Z0-9]{5})\?k=([A-Za-z0-9_%-]+)")


async def seed_category(
    store, name: str = "Jalan dan infrastruktur", komisi: str = "Komisi C"
) -> int:
    async with store.transaction() as session:
        return (await store_pengaduan.add_category(session, name, komisi)).id


def jpeg(size=(64, 48), exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", **({"exif": exif} if exif else {}))
    return out.getvalue()


def png(size=(256, 256)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (220, 230, 210)).save(out, "PNG")
    return out.getvalue()


async def file_report(client, category_id: int, **fields) -> tuple[str, str, object]:
    """Post the form; returns the code, the secret and the response."""
    token = await csrf_token_for(client)
    data = {
        "csrf_token": token,
        "category": str(category_id),
        "description": "Jalan berlubang di depan SD Negeri 1, sudah tiga bulan.",
        "location": "Jl. Hayam Wuruk 12",
        "kelurahan": "Podosugih",
        "privacy": "biasa",
        **fields,
    }
    response = await client.post("/pengaduan", data=data, allow_redirects=False)
    if response.status != 303:
        return "", "", response
    match = LINK.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1), match.group(2), response
