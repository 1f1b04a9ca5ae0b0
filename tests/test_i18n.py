"""Every Indonesian message has an English translation; the catalogue loads."""

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from server.domain.documents import DOCUMENT_KIND_LABELS, DOCUMENT_STATUS_LABELS
from server.domain.roles import ROLE_LABELS
from server.domain.sitting import QUORUM_RULE_LABELS, SITTING_TYPE_LABELS, STATUS_LABELS
from server.i18n import LOCALE_DIR, Translations, current_locale
from tests.conftest import log_in
from tests.factories import new_sitting
from tests.test_comments import connect, outcome, post

ROOT = LOCALE_DIR.parent.parent
METHODS = [("server/**.py", "python"), ("web/templates/**.html", "jinja2")]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def english_catalog():
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po)


def test_every_message_and_label_is_translated():
    catalog = english_catalog()
    translated = {m.id for m in catalog if m.id and m.string}
    wanted = {
        message
        for *_, message, _, _ in extract_from_dir(
            ROOT, METHODS, OPTIONS, keywords={"_": None, "gettext": None, "N_": None}
        )
    }
    for labels in (
        SITTING_TYPE_LABELS,
        STATUS_LABELS,
        QUORUM_RULE_LABELS,
        ROLE_LABELS,
        DOCUMENT_KIND_LABELS,
        DOCUMENT_STATUS_LABELS,
    ):
        wanted |= set(labels.values())
    missing = sorted(m for m in wanted if isinstance(m, str) and m not in translated)
    assert missing == [], "run `make messages` and translate: " + repr(missing[:10])


def test_translations_switch_with_the_locale():
    translations = Translations()
    token = current_locale.set("en")
    try:
        assert translations.gettext("Jadwal") == "Schedule"
    finally:
        current_locale.reset(token)
    assert translations.gettext("Jadwal") == "Jadwal"


async def test_an_error_with_values_reads_in_english_with_its_values(client):
    english = await client.get("/sidang/987654?lang=en")
    assert english.status == 404
    assert "Sitting 987654 was not found." in await english.text()
    client.session.cookie_jar.clear()
    indonesian = await client.get("/sidang/987654", headers={"Accept": "application/json"})
    assert (await indonesian.json())["error"] == "Rapat 987654 tidak ditemukan."


async def test_a_refused_comment_is_explained_in_the_residents_language(client, live_sitting):
    client.session.cookie_jar.update_cookies({"sidang_lang": "en"})
    ws = await connect(client, live_sitting)
    await post(ws, "x" * 501)
    frame = await outcome(ws, "x" * 501)
    assert frame == {
        "type": "error",
        "code": "too_long",
        "message": "The message is too long (at most 500 characters).",
    }


async def test_status_names_inside_a_message_are_translated_with_it(client, store):
    token = await log_in(client, store, "sekretariat")
    async with store.transaction() as session:
        sitting_id = (await new_sitting(session)).id
    client.session.cookie_jar.update_cookies({"sidang_lang": "en"})
    refused = await client.post(
        f"/konsol/rapat/{sitting_id}/status", data={"csrf_token": token, "status": "published"}
    )
    assert refused.status == 409
    assert "cannot change from &#39;Draft&#39; to &#39;Published&#39;." in await refused.text()
