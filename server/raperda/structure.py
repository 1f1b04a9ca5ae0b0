"""Split the text of a Raperda into its parts, as UU 12/2011 Lampiran II lays a regulation out.

Pure and deterministic: text in, a `Draft` out, with `warnings` for what looks wrong (a pasal
number skipped, an ayat out of order, lines that belong to no part) so staff can correct the
text before it is published. Pasal carry their BAB, Bagian and Paragraf; a pasal's body is its
ayat, each with its huruf (or angka) items, or, without ayat, lines and items of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from server.i18n import N_

# Headings stand on their own line; everything is matched on stripped lines.
_BAB = re.compile(r"^BAB\s+([IVXLCDM]+[A-Z]?)\s*$")
_BAGIAN = re.compile(r"^Bagian\s+(Ke[a-z]+)\s*$", re.IGNORECASE)
_PARAGRAF = re.compile(r"^Paragraf\s+(\d+[A-Za-z]?)\s*$", re.IGNORECASE)
_PASAL = re.compile(r"^Pasal\s+(\d+[A-Z]?)\s*$")
_AYAT = re.compile(r"^\((\d+[a-z]?)\)\s*(.*)$")
_HURUF = re.compile(r"^([a-z])\.\s+(.*)$")
_ANGKA = re.compile(r"^(\d+)\.\s+(.*)$")
_MENIMBANG = re.compile(r"^Menimbang\s*:?\s*(.*)$", re.IGNORECASE)
_MENGINGAT = re.compile(r"^Mengingat\s*:?\s*(.*)$", re.IGNORECASE)
# What closes the considerations and opens the body of the regulation.
_MEMUTUSKAN = re.compile(r"^(Dengan\s+Persetujuan\s+Bersama|MEMUTUSKAN\s*:?)", re.IGNORECASE)
_MENETAPKAN = re.compile(r"^Menetapkan\s*:?\s*(.*)$", re.IGNORECASE)
# What follows the last pasal: the place and date of enactment, the signatures.
_PENUTUP = re.compile(r"^(Ditetapkan\s+di|Diundangkan\s+di|PENJELASAN\b)", re.IGNORECASE)


@dataclass
class Item:
    """A huruf (a., b.) or angka (1., 2.) item."""

    label: str
    text: str


@dataclass
class Ayat:
    number: str
    text: str
    items: list[Item] = field(default_factory=list)
    tail: str = ""  # a closing line after the items

    def plain(self) -> str:
        return _joined(f"({self.number}) {self.text}", self.items, self.tail)


@dataclass
class Pasal:
    number: str
    bab: str = ""  # "BAB II KETENTUAN UMUM"
    bagian: str = ""  # "Bagian Kesatu Umum"
    paragraf: str = ""
    text: str = ""  # the opening of a pasal without ayat ("Dalam Peraturan Daerah ini ...")
    items: list[Item] = field(default_factory=list)
    ayat: list[Ayat] = field(default_factory=list)
    tail: str = ""

    @property
    def label(self) -> str:
        return f"Pasal {self.number}"

    def plain(self) -> str:
        """The pasal's wording, one part a line: what residents read, diffs and search use."""
        if self.ayat:
            return "\n".join(a.plain() for a in self.ayat)
        return _joined(self.text, self.items, self.tail)


@dataclass
class Draft:
    title: str = ""
    menimbang: list[Item] = field(default_factory=list)
    mengingat: list[Item] = field(default_factory=list)
    pasal: list[Pasal] = field(default_factory=list)
    closing: str = ""
    warnings: list[tuple[str, dict]] = field(default_factory=list)

    def warn(self, template: str, **params: object) -> None:
        self.warnings.append((template, params))


def _joined(head: str, items: list[Item], tail: str) -> str:
    lines = [head] if head else []
    lines += [f"{item.label}. {item.text}" for item in items]
    if tail:
        lines.append(tail)
    return "\n".join(lines)


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\t", " ").replace("\u00a0", " ")
    return [" ".join(line.split()) for line in text.split("\n")]


def parse(text: str) -> Draft:
    draft = Draft()
    lines = [line for line in _lines(text) if line]
    i = 0
    title: list[str] = []
    while i < len(lines) and not any(p.match(lines[i]) for p in (_MENIMBANG, _PASAL, _BAB)):
        title.append(lines[i])
        i += 1
    draft.title = _title(title)
    i = _considerations(draft, lines, i)
    _body(draft, lines, i)
    _check_numbers(draft)
    return draft


def _title(lines: list[str]) -> str:
    """The name of the draft: the words after TENTANG, else the first line."""
    for n, line in enumerate(lines):
        if line.upper() == "TENTANG" and n + 1 < len(lines):
            words: list[str] = []
            for rest in lines[n + 1 :]:
                if rest.upper().startswith(("DENGAN RAHMAT", "WALI KOTA", "BUPATI", "GUBERNUR")):
                    break
                words.append(rest)
            return " ".join(words)
    return lines[0] if lines else ""


def _considerations(draft: Draft, lines: list[str], i: int) -> int:
    """Menimbang (huruf) and Mengingat (angka), up to where the body begins."""
    target: list[Item] | None = None
    while i < len(lines):
        line = lines[i]
        if _PASAL.match(line) or _BAB.match(line):
            return i
        if _MEMUTUSKAN.match(line) or _MENETAPKAN.match(line):
            target = None
            i += 1
            continue
        if match := _MENIMBANG.match(line):
            target, line = draft.menimbang, match.group(1)
        elif match := _MENGINGAT.match(line):
            target, line = draft.mengingat, match.group(1)
        if target is not None and line:
            marker = (_HURUF if target is draft.menimbang else _ANGKA).match(line)
            if marker:
                target.append(Item(marker.group(1), marker.group(2)))
            elif target:
                target[-1].text += " " + line
            else:
                target.append(Item("", line))
        i += 1
    return i


def _body(draft: Draft, lines: list[str], i: int) -> None:
    bab = bagian = paragraf = ""
    pasal: Pasal | None = None
    heading: str | None = None  # the heading still waiting for its title line
    closing: list[str] = []
    for line in lines[i:]:
        if closing or _PENUTUP.match(line):
            closing.append(line)
            continue
        if match := _BAB.match(line):
            bab, bagian, paragraf, heading = f"BAB {match.group(1)}", "", "", "bab"
            pasal = None
            continue
        if match := _BAGIAN.match(line):
            bagian, paragraf, heading = f"Bagian {match.group(1).capitalize()}", "", "bagian"
            pasal = None
            continue
        if match := _PARAGRAF.match(line):
            paragraf, heading = f"Paragraf {match.group(1)}", "paragraf"
            pasal = None
            continue
        if match := _PASAL.match(line):
            pasal = Pasal(match.group(1), bab, bagian, paragraf)
            draft.pasal.append(pasal)
            heading = None
            continue
        if heading is not None:  # the title line of a BAB, Bagian or Paragraf
            if heading == "bab":
                bab = f"{bab} {line}"
            elif heading == "bagian":
                bagian = f"{bagian} {line}"
            else:
                paragraf = f"{paragraf} {line}"
            heading = None
            continue
        if pasal is None:
            draft.warn(N_("Baris di luar pasal mana pun: %(line)s"), line=line[:80])
            continue
        _pasal_line(draft, pasal, line)
    draft.closing = "\n".join(closing)


def _pasal_line(draft: Draft, pasal: Pasal, line: str) -> None:
    if match := _AYAT.match(line):
        pasal.ayat.append(Ayat(match.group(1), match.group(2)))
        return
    holder: Ayat | Pasal = pasal.ayat[-1] if pasal.ayat else pasal
    marker = _HURUF.match(line) or _ANGKA.match(line)
    if marker and not holder.tail:
        holder.items.append(Item(marker.group(1), marker.group(2)))
    elif holder.items:
        # After the last item a line that starts a sentence closes the list ("Ketentuan
        # lebih lanjut ..."); a lower-case one continues the item.
        if line[0].isupper() and holder.items[-1].text.endswith((".", ":", ";")):
            holder.tail = f"{holder.tail} {line}".strip()
        else:
            holder.items[-1].text += " " + line
    elif isinstance(holder, Ayat):
        holder.text = f"{holder.text} {line}".strip()
    elif pasal.ayat:
        draft.warn(N_("%(pasal)s: teks sesudah ayat tanpa nomor ayat."), pasal=pasal.label)
    else:
        pasal.text = f"{pasal.text} {line}".strip()


def _number(value: str) -> tuple[int, str]:
    digits = re.match(r"\d+", value)
    return (int(digits.group()) if digits else 0, value[len(digits.group()) if digits else 0 :])


def _check_numbers(draft: Draft) -> None:
    """Pasal run 1, 2, 3 (an inserted 12A is fine); ayat of each pasal run (1), (2) ..."""
    if not draft.pasal:
        draft.warn(N_("Tidak ada pasal yang dikenali. Setiap pasal diawali baris 'Pasal 1'."))
    expected = 1
    seen: set[str] = set()
    for pasal in draft.pasal:
        number, suffix = _number(pasal.number)
        if pasal.number in seen:
            draft.warn(N_("%(pasal)s muncul dua kali."), pasal=pasal.label)
        elif not suffix and number != expected:
            draft.warn(
                N_("Sesudah Pasal %(before)s ditemukan %(pasal)s."),
                before=expected - 1,
                pasal=pasal.label,
            )
        seen.add(pasal.number)
        if not suffix:
            expected = number + 1
        for n, ayat in enumerate(pasal.ayat, start=1):
            if _number(ayat.number) != (n, "") and not _number(ayat.number)[1]:
                draft.warn(
                    N_("%(pasal)s: ayat (%(ayat)s) tidak berurutan."),
                    pasal=pasal.label,
                    ayat=ayat.number,
                )
                break
        if not pasal.ayat and not pasal.text and not pasal.items:
            draft.warn(N_("%(pasal)s kosong."), pasal=pasal.label)
