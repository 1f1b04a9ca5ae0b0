"""Hostile PDF uploads (issue 13, finding 11): a clear 4xx or a document stored without text,
never a 500 or minutes of CPU."""

from __future__ import annotations

import io

import aiohttp
import pytest
from pypdf import PdfWriter
from pypdf.errors import LimitReachedError
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from server import documents, pdftext
from server.store import archive as archive_store
from server.store import repo
from tests.conftest import log_in


def pdf_with_text_ops(operators: int) -> bytes:
    """One page whose content stream repeats a text-showing operator: 300,000 of them compress
    to some 17 KB, and pypdf needs minutes of CPU to extract their text."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 1 Tf (a) Tj ET\n" * operators)
    page[NameObject("/Contents")] = writer._add_object(content.flate_encode(level=9))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def upload(client, token: str, pdf: bytes):
    form = aiohttp.FormData({"jenis": "perda", "judul": "Perda Uji", "tahun": "2026"})
    form.add_field("file", pdf, filename="perda.pdf", content_type="application/pdf")
    return await client.post("/api/v1/documents", headers={"X-CSRF-Token": token}, data=form)


async def test_text_is_extracted_in_a_child_process():
    assert await pdftext.extract_text(pdf_with_text_ops(3)) == "aaa"


async def test_a_pdf_too_costly_to_read_is_stored_without_text(client, store, monkeypatch):
    monkeypatch.setattr(pdftext, "EXTRACT_TIMEOUT_S", 1.0)
    pdf = pdf_with_text_ops(300_000)
    assert len(pdf) < 20_000
    token = await log_in(client, store, "sekretariat")
    response = await upload(client, token, pdf)
    assert response.status == 201, await response.text()
    document_id = (await response.json())["id"]
    async with store.read() as session:
        document = await repo.get_document(session, document_id)
        texts = await archive_store.document_texts(session, [document.id])
    assert texts[document.id].text == "" and texts[document.id].pages == 1


async def test_the_whole_pypdf_error_family_is_a_400(client, store, monkeypatch):
    def exhausted(_stream):
        raise LimitReachedError("limit reached")

    monkeypatch.setattr(documents, "PdfReader", exhausted)
    token = await log_in(client, store, "sekretariat")
    response = await upload(client, token, pdf_with_text_ops(1))
    assert response.status == 400
    assert "PDF rusak" in (await response.json())["error"]


@pytest.mark.parametrize("body", [b"%PDF-1.7\n" + b"[" * 5000, b"%PDF-1.4\n1 0 obj <<>> endobj"])
async def test_malformed_pdfs_are_a_400(client, store, body):
    token = await log_in(client, store, "sekretariat")
    assert (await upload(client, token, body)).status == 400
