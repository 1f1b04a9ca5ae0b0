"""Splitting Raperda text into Menimbang, Mengingat, BAB, Bagian, Pasal, ayat and huruf, and
matching the pasal of a new version to the last one."""

from __future__ import annotations

from server.raperda.structure import parse
from server.raperda.versions import Previous, match_pasal, word_diff
from tests.raperda_helpers import SAMPAH_V1, SAMPAH_V2


def test_title_and_considerations():
    draft = parse(SAMPAH_V1)
    assert draft.title == "PENGELOLAAN SAMPAH RUMAH TANGGA"
    assert [item.label for item in draft.menimbang] == ["a", "b"]
    assert draft.menimbang[0].text.endswith("bagi kesehatan masyarakat dan lingkungan;")
    assert [item.label for item in draft.mengingat] == ["1", "2", "3"]
    assert (
        draft.mengingat[1].text == "Undang-Undang Nomor 18 Tahun 2008 tentang Pengelolaan Sampah;"
    )


def test_pasal_carry_bab_bagian_ayat_and_huruf():
    draft = parse(SAMPAH_V1)
    assert [p.number for p in draft.pasal] == ["1", "2", "3", "4", "5", "6"]
    pasal1, pasal2, pasal3 = draft.pasal[:3]
    assert pasal1.bab == "BAB I KETENTUAN UMUM" and pasal1.bagian == ""
    assert [item.label for item in pasal1.items] == ["1", "2", "3"]
    assert pasal2.text.startswith("Setiap orang berhak") and pasal2.text.endswith("lingkungan.")
    assert (pasal3.bab, pasal3.bagian) == ("BAB II HAK DAN KEWAJIBAN", "Bagian Kedua Kewajiban")
    assert [a.number for a in pasal3.ayat] == ["1", "2", "3"]
    ayat2 = pasal3.ayat[1]
    assert ayat2.text == (
        "Pemilahan sampah sebagaimana dimaksud pada ayat (1) dilakukan dengan memisahkan:"
    )
    assert [(i.label, i.text) for i in ayat2.items] == [
        ("a", "sampah organik;"),
        ("b", "sampah anorganik; dan"),
        ("c", "sampah bahan berbahaya dan beracun."),
    ]
    assert pasal3.ayat[2].text.endswith("diatur dengan Peraturan Wali Kota.")
    assert draft.pasal[4].bab == "BAB III RETRIBUSI" and draft.pasal[4].bagian == ""
    assert draft.closing.startswith("Ditetapkan di Pekalongan")
    assert "Ditetapkan" not in draft.pasal[-1].plain()
    assert draft.warnings == []


def test_paragraf_and_inserted_pasal():
    text = """Pasal 1
Cukup jelas.
BAB II
PERIZINAN
Bagian Kesatu
Umum
Paragraf 1
Izin Usaha
Pasal 2
(1) Usaha wajib memiliki izin.
Pasal 2A
Izin berlaku 5 (lima) tahun.
"""
    draft = parse(text)
    assert [p.number for p in draft.pasal] == ["1", "2", "2A"]
    assert draft.pasal[2].paragraf == "Paragraf 1 Izin Usaha"
    assert draft.warnings == []


def test_warnings_for_staff_to_correct():
    text = """Pasal 1
(1) Satu.
(3) Tiga.
Pasal 3
Pasal 3
Isi.
"""
    warnings = [template % params for template, params in parse(text).warnings]
    assert "Pasal 1: ayat (3) tidak berurutan." in warnings
    assert "Sesudah Pasal 1 ditemukan Pasal 3." in warnings
    assert "Pasal 3 muncul dua kali." in warnings
    assert parse("Teks tanpa struktur.").warnings[0][0].startswith("Tidak ada pasal")


def test_a_renumbered_pasal_is_matched_by_wording_for_staff_to_confirm():
    old = parse(SAMPAH_V1).pasal
    new = parse(SAMPAH_V2).pasal
    previous = [Previous(lineage=n + 1, number=p.number, text=p.plain()) for n, p in enumerate(old)]
    matches = match_pasal(previous, [(p.number, p.plain()) for p in new])
    by_number = {p.number: m for p, m in zip(new, matches, strict=True)}
    assert by_number["3"].lineage == 3 and not by_number["3"].confirm  # changed in place
    assert by_number["4"].lineage is None  # new: bank sampah
    assert by_number["5"].lineage == 4 and by_number["5"].confirm  # the old Pasal 4, moved
    assert by_number["6"].lineage == 5 and by_number["6"].previous_number == "5"
    assert by_number["7"].lineage == 6


def test_word_diff():
    pieces = word_diff("dilarang membuang sampah ke sungai", "dilarang membuang sampah ke laut")
    assert [(p.op, p.text) for p in pieces if p.op != "same"] == [
        ("del", "sungai"),
        ("ins", "laut"),
    ]


def test_word_diff_rebuilds_both_texts():
    old = "(1) Setiap orang dilarang membuang sampah ke sungai dan saluran drainase."
    for new in (old, "", old.replace("sungai", "sungai, pantai"), "(1) Ditulis ulang semuanya."):
        pieces = word_diff(old, new)
        assert "".join(p.text for p in pieces if p.op != "ins") == old
        assert "".join(p.text for p in pieces if p.op != "del") == new
