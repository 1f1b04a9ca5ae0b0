"""`sidang backup` / `sidang restore`: every table round-trips, across SQLite and PostgreSQL, and
the media directory is checked against the manifest."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from server.backup import DATABASE_FILE, BackupError, backup, check_media, restore
from server.domain.sitting import SittingStatus
from server.store import Store, repo
from server.store.models import Holiday, SearchEntry
from tests.conftest import empty_tables
from tests.factories import new_sitting

OTHER = {"sqlite": "postgres_url", "postgres": "sqlite_url"}


async def fill(store: Store) -> int:
    async with store.transaction() as session:
        member = await repo.create_member(session, "Siti Aminah", "Fraksi A", "Komisi A")
        await repo.create_user(session, "sekwan", "argon2-hash", "sekretariat", None)
        await repo.create_user(session, "siti", "argon2-hash", "anggota", member.id)
        sitting = await new_sitting(
            session,
            title="Paripurna APBD — “Perubahan”",
            status=SittingStatus.ENDED,
            agenda=["Pembukaan", "Pandangan fraksi"],
            starts_at=dt.datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=dt.UTC),
        )
        await repo.save_recording(
            session,
            sitting,
            playlist_path=f"{sitting.id}/index.m3u8",
            mp4_path=f"{sitting.id}/recording.mp4",
            duration_s=4.25,
            sha256="0" * 64,
            size=3,
            recovered=False,
            expected_s=4.0,
            gaps="[]",
        )
        session.add(Holiday(day=dt.date(2026, 3, 19), name="Nyepi"))
        await repo.audit(session, "cli", "sitting.ended", f"sitting:{sitting.id}", "4.2 s")
        return sitting.id


def rows(folder) -> list[str]:
    return (folder / DATABASE_FILE).read_text().splitlines()[1:]  # the header has the time


@pytest.mark.slow
async def test_a_backup_restores_into_the_other_backend_row_for_row(
    request, database_url, tmp_path
):
    source = Store(database_url)
    target_url = request.getfixturevalue(OTHER[request.node.callspec.params["database_url"]])
    await empty_tables(target_url)
    target = Store(target_url)
    media = tmp_path / "media"
    (media / "1" / "720p").mkdir(parents=True)
    (media / "1" / "720p" / "seg00000.m4s").write_bytes(b"segment")
    (media / "1" / "recording.mp4").write_bytes(b"mp4")
    try:
        sitting_id = await fill(source)
        counts = await backup(source, media, tmp_path / "one")
        assert counts["sitting"] == 1 and counts["agenda_item"] == 2 and counts["holiday"] == 1
        assert "search_entry" not in counts  # derived: rebuilt on restore

        restored = await restore(target, tmp_path / "one")
        assert restored == counts
        await backup(target, media, tmp_path / "two")
        assert rows(tmp_path / "two") == rows(tmp_path / "one")
        async with target.transaction() as session:
            sitting = await repo.get_sitting(session, sitting_id, public_only=False)
            assert sitting.recording.duration_s == 4.25
            assert sitting.starts_at == dt.datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=dt.UTC)
            indexed = await session.scalars(
                select(SearchEntry.ref_id).where(SearchEntry.kind == "sitting")
            )
            assert list(indexed) == [sitting_id]  # the search index was rebuilt
            later = await new_sitting(session, title="Rapat berikutnya")  # ids continue
            assert later.id > sitting_id

        with pytest.raises(BackupError, match="already holds"):
            await restore(target, tmp_path / "one")
    finally:
        await source.close()
        await target.close()

    manifest = json.loads((tmp_path / "one" / "media.json").read_text())
    assert [f["path"] for f in manifest["files"]] == ["1/720p/seg00000.m4s", "1/recording.mp4"]
    assert check_media(tmp_path / "one", media).missing == []
    (media / "1" / "recording.mp4").write_bytes(b"MP4")
    (media / "1" / "720p" / "seg00000.m4s").unlink()
    check = check_media(tmp_path / "one", media)
    assert (check.missing, check.different) == (["1/720p/seg00000.m4s"], ["1/recording.mp4"])
