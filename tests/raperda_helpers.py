"""Raperda texts shaped like real Perda (UU 12/2011 Lampiran II), written for these tests, and
helpers that import and publish them."""

from __future__ import annotations

SAMPAH_V1 = """\
RANCANGAN PERATURAN DAERAH KOTA PEKALONGAN
NOMOR ... TAHUN 2026
TENTANG
PENGELOLAAN SAMPAH RUMAH TANGGA

DENGAN RAHMAT TUHAN YANG MAHA ESA

WALI KOTA PEKALONGAN,

Menimbang : a. bahwa sampah rumah tangga yang tidak dikelola dengan baik
               menimbulkan dampak bagi kesehatan masyarakat dan lingkungan;
            b. bahwa berdasarkan pertimbangan sebagaimana dimaksud dalam huruf a,
               perlu menetapkan Peraturan Daerah tentang Pengelolaan Sampah Rumah Tangga;
Mengingat : 1. Pasal 18 ayat (6) Undang-Undang Dasar Negara Republik Indonesia Tahun 1945;
            2. Undang-Undang Nomor 18 Tahun 2008 tentang Pengelolaan Sampah;
            3. Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah;

Dengan Persetujuan Bersama
DEWAN PERWAKILAN RAKYAT DAERAH KOTA PEKALONGAN
dan
WALI KOTA PEKALONGAN

MEMUTUSKAN:

Menetapkan : PERATURAN DAERAH TENTANG PENGELOLAAN SAMPAH RUMAH TANGGA.

BAB I
KETENTUAN UMUM

Pasal 1
Dalam Peraturan Daerah ini yang dimaksud dengan:
1. Daerah adalah Kota Pekalongan.
2. Wali Kota adalah Wali Kota Pekalongan.
3. Sampah adalah sisa kegiatan sehari-hari manusia yang berbentuk padat.

BAB II
HAK DAN KEWAJIBAN

Bagian Kesatu
Hak

Pasal 2
Setiap orang berhak mendapatkan pelayanan pengelolaan sampah secara baik
dan berwawasan lingkungan.

Bagian Kedua
Kewajiban

Pasal 3
(1) Setiap rumah tangga wajib memilah sampah sebelum diangkut.
(2) Pemilahan sampah sebagaimana dimaksud pada ayat (1) dilakukan dengan
    memisahkan:
    a. sampah organik;
    b. sampah anorganik; dan
    c. sampah bahan berbahaya dan beracun.
(3) Ketentuan lebih lanjut mengenai tata cara pemilahan diatur dengan
    Peraturan Wali Kota.

Pasal 4
Setiap orang dilarang membuang sampah ke sungai dan saluran drainase.

BAB III
RETRIBUSI

Pasal 5
(1) Pelayanan pengangkutan sampah dikenakan retribusi.
(2) Besaran retribusi ditetapkan dengan Peraturan Daerah tersendiri.

BAB IV
KETENTUAN PENUTUP

Pasal 6
Peraturan Daerah ini mulai berlaku pada tanggal diundangkan.

Ditetapkan di Pekalongan
pada tanggal ...
WALI KOTA PEKALONGAN,
"""

# Version 2: a new Pasal 4 on bank sampah is inserted, so the old Pasal 4 (the ban on dumping
# into rivers) becomes Pasal 5 with the same wording, and Pasal 3 ayat (2) gains a huruf.
SAMPAH_V2 = SAMPAH_V1.replace(
    """    b. sampah anorganik; dan
    c. sampah bahan berbahaya dan beracun.""",
    """    b. sampah anorganik;
    c. sampah bahan berbahaya dan beracun; dan
    d. sampah elektronik.""",
).replace(
    """Pasal 4
Setiap orang dilarang membuang sampah ke sungai dan saluran drainase.

BAB III
RETRIBUSI

Pasal 5
(1) Pelayanan pengangkutan sampah dikenakan retribusi.
(2) Besaran retribusi ditetapkan dengan Peraturan Daerah tersendiri.

BAB IV
KETENTUAN PENUTUP

Pasal 6
""",
    """Pasal 4
Pemerintah Daerah membina bank sampah di setiap kelurahan.

Pasal 5
Setiap orang dilarang membuang sampah ke sungai, pantai dan saluran drainase.

BAB III
RETRIBUSI

Pasal 6
(1) Pelayanan pengangkutan sampah dikenakan retribusi.
(2) Besaran retribusi ditetapkan dengan Peraturan Daerah tersendiri.

BAB IV
KETENTUAN PENUTUP

Pasal 7
""",
)
