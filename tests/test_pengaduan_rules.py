"""Pengaduan rules without a server: codes, working days, photos, the vault, the status machine."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from cryptography.fernet import Fernet
from PIL import Image

from server.domain.errors import Conflict, InvalidInput
from server.pengaduan import codes, photos, workdays
from server.pengaduan.status import Status, check_transition
from server.pengaduan.vault import Contact, Vault
from tests.pengaduan_helpers import jpeg


def test_codes_are_random_and_shaped_like_the_example():
    made = [codes.new_code(2026) for _ in range(2000)]
    assert all(codes.is_code(c) for c in made)
    # 30**5 codes: two of 2,000 draws coincide about one run in twelve (the service draws again
    # when a code is taken), three or more about one run in 10,000. A small or skewed space
    # would collide far more often.
    assert len(made) - len(set(made)) <= 2
    for position in range(-5, 0):
        assert {c[position] for c in made} == set(codes.ALPHABET)
    suffixes = sorted(c[-5:] for c in made)
    assert suffixes != [c[-5:] for c in made]  # not issued in order
    assert not codes.is_code("ADU-2026-0OIL1")  # look-alike letters are never used


def test_secret_is_checked_against_its_hash_only():
    secret = codes.new_secret()
    stored = codes.secret_hash(secret)
    assert secret not in stored
    assert codes.secret_matches(secret, stored)
    assert not codes.secret_matches(secret + "x", stored)
    assert not codes.secret_matches(None, stored)


def test_working_days_skip_weekends_and_holidays():
    monday = dt.date(2026, 3, 2)
    assert workdays.add_working_days(monday, 3, set()) == dt.date(2026, 3, 5)
    friday = dt.date(2026, 3, 6)
    assert workdays.add_working_days(friday, 3, set()) == dt.date(2026, 3, 11)
    saturday = dt.date(2026, 3, 7)
    assert workdays.add_working_days(saturday, 3, set()) == dt.date(2026, 3, 11)
    nyepi = {dt.date(2026, 3, 19), dt.date(2026, 3, 20)}
    assert workdays.add_working_days(dt.date(2026, 3, 18), 3, nyepi) == dt.date(2026, 3, 25)
    assert workdays.add_working_days(monday, 5, set()) == dt.date(2026, 3, 9)
    assert workdays.is_overdue(dt.date(2026, 3, 5), dt.date(2026, 3, 6))
    assert not workdays.is_overdue(dt.date(2026, 3, 5), dt.date(2026, 3, 5))


def test_status_machine_order_and_reasons():
    check_transition(Status.DITERIMA, Status.DIVERIFIKASI, opd="", komisi="", reason="")
    with pytest.raises(Conflict):
        check_transition(Status.DITERIMA, Status.SELESAI, opd="", komisi="", reason="")
    with pytest.raises(InvalidInput):
        check_transition(Status.DIVERIFIKASI, Status.DITERUSKAN, opd="", komisi="", reason="")
    with pytest.raises(InvalidInput):
        check_transition(Status.DITERIMA, Status.DITOLAK, opd="", komisi="", reason="")


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "KameraWarga"  # Make
    exif[0x8825] = {1: "S", 2: (6.0, 53.0, 0.0), 3: "E", 4: (109.0, 40.0, 0.0)}  # GPS IFD
    return exif.tobytes()


def test_photo_is_reencoded_without_exif():
    original = jpeg(exif=_exif_with_gps())
    assert b"KameraWarga" in original
    cleaned = photos.clean_photo(original)
    image = Image.open(io.BytesIO(cleaned))
    assert image.format == "JPEG"
    assert not image.getexif()
    assert b"KameraWarga" not in cleaned and b"Exif" not in cleaned


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', photos.SVG),
        (b"<svg onload='alert(1)'></svg>", photos.SVG),
        (jpeg() + b"<script>alert(1)</script>", photos.POLYGLOT),
        (jpeg() + b"PK\x03\x04zipdata", photos.POLYGLOT),
        (jpeg() + b"trailing bytes", photos.POLYGLOT),
        (b"GIF89a" + b"\x00" * 64, photos.NOT_PHOTO),
        (b"\xff" * (photos.MAX_BYTES + 1), photos.TOO_BIG),
    ],
)
def test_photo_refusals_name_the_field(data, message):
    with pytest.raises(InvalidInput) as caught:
        photos.clean_photo(data)
    assert caught.value.fields == {"photos": message}


def test_photo_with_too_many_pixels_is_refused():
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")
    with pytest.raises(InvalidInput) as caught:
        photos.clean_photo(out.getvalue())
    assert caught.value.fields == {"photos": photos.TOO_BIG}


def test_vault_rotation_keeps_old_tokens_readable():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    contact = Contact("Siti", "08123456789", "siti@example.id")
    token = Vault((old,)).seal(contact)
    assert token and "Siti" not in token
    rotating = Vault((new, old))
    assert rotating.open(token) == contact
    rotated = rotating.rotate(token)
    assert Vault((new,)).open(rotated) == contact


def test_vault_without_key_refuses_contact_but_not_an_empty_one():
    vault = Vault(())
    assert vault.seal(Contact()) is None
    with pytest.raises(InvalidInput) as caught:
        vault.seal(Contact(phone="0812"))
    assert "contact" in caught.value.fields


def test_pengaduan_settings_are_checked_at_start_up():
    from server.config import Config, ConfigError

    key = Fernet.generate_key().decode()
    config = Config.from_env(
        {
            "SIDANG_DATA_KEY": f"{key}, {Fernet.generate_key().decode()}",
            "SIDANG_SMTP_URL": "smtp://u:p@mail.example:587?starttls=1",
            "SIDANG_TIMEZONE": "Asia/Makassar",
            "SIDANG_MAP_TILES": "https://tile.example.org/{z}/{x}/{y}.png",
        }
    )
    assert config.data_keys[0] == key and len(config.data_keys) == 2
    assert config.timezone == "Asia/Makassar" and config.smtp_url and config.map_tiles
    defaults = Config.from_env({})
    assert defaults.data_keys == () and defaults.smtp_url is None and defaults.map_tiles is None
    assert defaults.timezone == "Asia/Jakarta" and defaults.contact_retention_days == 365
    for name, value in (
        ("SIDANG_DATA_KEY", "bukan-kunci"),
        ("SIDANG_SMTP_URL", "http://mail.example"),
        ("SIDANG_TIMEZONE", "Mars/Olympus"),
        ("SIDANG_MAP_TILES", "http://tile.example.org/{z}/{x}/{y}.png"),
    ):
        with pytest.raises(ConfigError, match=name):
            Config.from_env({name: value})


def test_demo_generates_a_data_key_once(tmp_path):
    from server.config import Config

    config = Config(data_dir=tmp_path).with_data_key()
    assert len(config.data_keys) == 1 and Vault(config.data_keys).available
    assert Config(data_dir=tmp_path).with_data_key().data_keys == config.data_keys
    assert (tmp_path / "data_key").stat().st_mode & 0o077 == 0
    given = Config(data_dir=tmp_path, data_keys=("x",))
    assert given.with_data_key() is given
