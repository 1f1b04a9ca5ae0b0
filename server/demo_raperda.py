"""The demo's Raperda and what residents and the committee said about it, written for the demo
in the structure of a real Perda (UU 12/2011 Lampiran II)."""

from __future__ import annotations

from dataclasses import dataclass

RAPERDA_TITLE = "Penataan dan Pemberdayaan Pedagang Kaki Lima"
# The sitting that debates it (server/demo.py seeds it).
RAPERDA_SITTING = "Rapat Kerja Komisi B dengan Dinas Perdagangan"
RAPERDA_TEXT = """\
RANCANGAN PERATURAN DAERAH KOTA PEKALONGAN
NOMOR ... TAHUN 2027
TENTANG
PENATAAN DAN PEMBERDAYAAN PEDAGANG KAKI LIMA

DENGAN RAHMAT TUHAN YANG MAHA ESA

WALI KOTA PEKALONGAN,

Menimbang : a. bahwa pedagang kaki lima merupakan bagian dari perekonomian rakyat
               yang perlu ditata dan diberdayakan;
            b. bahwa penataan pedagang kaki lima harus menjaga ketertiban, kebersihan
               dan hak pejalan kaki atas trotoar;
            c. bahwa berdasarkan pertimbangan sebagaimana dimaksud dalam huruf a dan
               huruf b, perlu menetapkan Peraturan Daerah tentang Penataan dan
               Pemberdayaan Pedagang Kaki Lima;
Mengingat : 1. Pasal 18 ayat (6) Undang-Undang Dasar Negara Republik Indonesia Tahun 1945;
            2. Undang-Undang Nomor 20 Tahun 2008 tentang Usaha Mikro, Kecil, dan Menengah;
            3. Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah;

Dengan Persetujuan Bersama
DEWAN PERWAKILAN RAKYAT DAERAH KOTA PEKALONGAN
dan
WALI KOTA PEKALONGAN

MEMUTUSKAN:

Menetapkan : PERATURAN DAERAH TENTANG PENATAAN DAN PEMBERDAYAAN PEDAGANG KAKI LIMA.

BAB I
KETENTUAN UMUM

Pasal 1
Dalam Peraturan Daerah ini yang dimaksud dengan:
1. Daerah adalah Kota Pekalongan.
2. Wali Kota adalah Wali Kota Pekalongan.
3. Pedagang Kaki Lima yang selanjutnya disingkat PKL adalah pelaku usaha yang
   berdagang dengan sarana usaha bergerak maupun tidak bergerak di tempat umum.
4. Lokasi PKL adalah tempat untuk menjalankan usaha PKL yang ditetapkan oleh Wali Kota.

BAB II
PENATAAN

Bagian Kesatu
Lokasi

Pasal 2
(1) Wali Kota menetapkan lokasi PKL dengan memperhatikan kepentingan umum,
    ketertiban dan kebersihan.
(2) Lokasi PKL sebagaimana dimaksud pada ayat (1) dapat berupa:
    a. lokasi permanen;
    b. lokasi sementara dengan batas waktu tertentu; dan
    c. lokasi pada hari dan jam tertentu.
(3) Trotoar hanya dapat ditetapkan sebagai lokasi PKL apabila lebar bebas untuk
    pejalan kaki paling sedikit 1,5 (satu koma lima) meter.

Pasal 3
Setiap PKL wajib memiliki Tanda Daftar Usaha yang diterbitkan tanpa dipungut biaya.

Bagian Kedua
Larangan

Pasal 4
Setiap PKL dilarang:
a. berdagang di luar lokasi PKL yang ditetapkan;
b. mendirikan bangunan permanen di lokasi PKL; dan
c. membuang sampah atau limbah usaha ke saluran air.

BAB III
PEMBERDAYAAN

Pasal 5
(1) Pemerintah Daerah memberdayakan PKL melalui pelatihan, pendampingan usaha
    dan kemudahan akses permodalan.
(2) Pemberdayaan sebagaimana dimaksud pada ayat (1) dilaksanakan paling sedikit
    1 (satu) kali dalam setahun.

BAB IV
SANKSI ADMINISTRATIF

Pasal 6
(1) PKL yang melanggar ketentuan sebagaimana dimaksud dalam Pasal 4 dikenai sanksi
    administratif berupa:
    a. teguran lisan;
    b. teguran tertulis; dan/atau
    c. pencabutan Tanda Daftar Usaha.
(2) Barang dagangan PKL tidak boleh dirusak dalam penegakan sanksi.

BAB V
KETENTUAN PENUTUP

Pasal 7
Peraturan Daerah ini mulai berlaku pada tanggal diundangkan.

Ditetapkan di Pekalongan
pada tanggal ...
WALI KOTA PEKALONGAN,
"""


@dataclass(frozen=True)
class DemoInput:
    """One resident's input: on a pasal (its number) and ayat, or on the whole draft."""

    name: str
    verified_by: str  # "phone" or "email", as the resident verified
    pasal: str | None
    position: str
    text: str
    ayat: str = ""
    proposed: str = ""


INPUTS = (
    DemoInput(
        "Yuliana",
        "phone",
        "2",
        "usul_perubahan",
        "Lebar 1,5 meter terlalu sempit untuk kursi roda dan kereta bayi, dan jalur pemandu "
        "tunanetra sering tertutup gerobak.",
        ayat="3",
        # The whole pasal, as the form offers it to edit, with ayat (3) reworded.
        proposed="(1) Wali Kota menetapkan lokasi PKL dengan memperhatikan kepentingan umum, "
        "ketertiban dan kebersihan.\n"
        "(2) Lokasi PKL sebagaimana dimaksud pada ayat (1) dapat berupa:\n"
        "a. lokasi permanen;\n"
        "b. lokasi sementara dengan batas waktu tertentu; dan\n"
        "c. lokasi pada hari dan jam tertentu.\n"
        "(3) Trotoar hanya dapat ditetapkan sebagai lokasi PKL apabila lebar bebas untuk "
        "pejalan kaki paling sedikit 2 (dua) meter dan jalur pemandu bagi penyandang "
        "disabilitas netra tidak terhalang.",
    ),
    DemoInput(
        "Hendro",
        "email",
        "2",
        "setuju",
        "Lokasi pada hari dan jam tertentu cocok untuk pasar malam di sekitar Alun-alun.",
    ),
    DemoInput(
        "Bu Darmi",
        "phone",
        "3",
        "setuju",
        "Syukur kalau pendaftarannya gratis. Selama ini kami sering dimintai uang oleh oknum.",
    ),
    DemoInput(
        "Rizal",
        "email",
        "6",
        "tidak_setuju",
        "Pencabutan Tanda Daftar Usaha langsung mematikan usaha kecil. Sebaiknya didahului "
        "pembinaan dan relokasi.",
        ayat="1",
    ),
    DemoInput(
        "Paguyuban PKL Kraton",
        "phone",
        None,
        "setuju",
        "Kami mendukung Raperda ini asal PKL dilibatkan saat menetapkan lokasi.",
    ),
)
# The committee's public answer on Pasal 2, where the proposed wording was made.
RESPONSE_PASAL = "2"
RESPONSE = (
    "Komisi B menerima usul lebar bebas trotoar 2 meter dan jalur pemandu yang tidak "
    "terhalang. Rumusan Pasal 2 ayat (3) akan diubah pada versi berikutnya."
)
