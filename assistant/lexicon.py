"""Language lists the assistant reads text with: months, days, numbers, amounts, roles, places.

Every list here is general knowledge of Indonesian and English, and each says where it
comes from. None is drawn from an evaluation set (eval/sets/, IDK-MRC, the cross-lingual
set): a list tuned on a set would make that set's figures training figures.
"""

from __future__ import annotations

# Months and days --------------------------------------------------------------------------

# Month names in calendar order: Indonesian as KBBI (Kamus Besar Bahasa Indonesia) spells
# them, and English.
MONTH_NAMES_ID = ("januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus",
                  "september", "oktober", "november", "desember")
MONTH_NAMES_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
                  "september", "october", "november", "december")
# The customary abbreviations of both languages ("12 Okt 2023", "Sept. 5").
MONTH_ABBREVIATIONS = {"jan": 1, "feb": 2, "agu": 8, "aug": 8, "sep": 9, "sept": 9, "okt": 10,
                       "oct": 10, "nov": 11, "des": 12, "dec": 12}
# Month names and abbreviations as an answer or a passage writes them (what verify checks).
MONTHS: dict[str, int] = {
    **{name: n for names in (MONTH_NAMES_ID, MONTH_NAMES_EN)
       for n, name in enumerate(names, start=1)},
    **MONTH_ABBREVIATIONS,
}
# Forms that only a written date reads as a month: the spellings before the 1972 spelling
# reform (EYD: "Pebruari", "Nopember") and the shortest abbreviations ("3 Mar 2023", "Jul.
# 2023"), which in running text are too often other words to count as a month there.
DATE_MONTH_VARIANTS = {"pebruari": 2, "peb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7,
                       "agt": 8, "ags": 8, "nopember": 11, "nop": 11}
DATE_MONTHS: dict[str, int] = {**MONTHS, **DATE_MONTH_VARIANTS}

# Days of the week, Monday first (KBBI; English).
DAYS_ID = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
DAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS = frozenset(DAYS_ID + DAYS_EN)
# Indonesian words for spans of time: century, year, day, week, month (KBBI).
TIME_UNITS_ID = ("abad", "tahun", "hari", "minggu", "bulan")

# Numbers and amounts -----------------------------------------------------------------------

# Cardinal numerals one to ten (KBBI; English).
CARDINALS_ID = ("satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
                "sepuluh")
CARDINALS_EN = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# Ordinals a question uses for a numbered item ("the first priority", "prioritas kedua").
ORDINALS = {"first": "1", "pertama": "1", "second": "2", "kedua": "2", "third": "3",
            "ketiga": "3", "keempat": "4", "kelima": "5"}
# Number words -> digits, so "tiga prioritas" matches "3 prioritas".
NUMBER_WORDS: dict[str, str] = {
    **{word: str(n) for words in (CARDINALS_ID, CARDINALS_EN)
       for n, word in enumerate(words, start=1)},
    **ORDINALS,
}
ZERO_WORDS = {"nol": "0", "zero": "0"}
# Scale words: the Indonesian ones (KBBI), their newspaper abbreviations and the
# non-standard "milyar", and the English short-scale ones.
SCALES_ID = {"ribu": 1e3, "juta": 1e6, "miliar": 1e9, "triliun": 1e12}
SCALES: dict[str, float] = {**SCALES_ID, "rb": 1e3, "jt": 1e6, "milyar": 1e9,
                            "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
# Indonesian words that state a number: the cardinals, tens and hundreds (puluh, ratus),
# the scales, and a half (setengah).
NUMERAL_WORDS_ID = (*CARDINALS_ID, "puluh", "ratus", *SCALES_ID, "setengah")
# Currency words -> ISO 4217 code (lower case): rupiah and US dollar, as codes, symbol
# ("Rp") and names in both languages.
CURRENCIES = {"rp": "idr", "idr": "idr", "rupiah": "idr", "usd": "usd", "us": "usd",
              "dolar": "usd", "dollar": "usd", "dollars": "usd"}

# People and their roles --------------------------------------------------------------------

# Words that start a government role ("Menteri", "Kepala"): the position titles of the
# Indonesian state (ministers, echelon-I/II officials, regional heads, rectors, police and
# military chiefs) as the ministries' organisation regulations and press releases write them.
ROLE_HEADS = frozenset(
    "Presiden Menteri Menko Wamen Deputi Dirjen Direktur Kepala Sekretaris Sesmenko Sesdep "
    "Asdep Gubernur Bupati Walikota Ketua Plt Plh Inspektur Camat Lurah Rektor Dekan Sekjen "
    "Kapolri Kapolda Kapolres Panglima Jaksa".split()
)
# Words that start a role when a head follows ("Wakil Menteri", "Plt Kepala"): deputy,
# acting (pelaksana tugas) and daily executive (pelaksana harian).
ROLE_HEAD_PREFIXES = frozenset(["Wakil", "Plt", "Plh"])
# Two-word titles: special staff, expert staff, mayor, assistant deputy, ambassador.
ROLE_HEAD_PAIRS = frozenset(
    [("Staf", "Khusus"), ("Tenaga", "Ahli"), ("Wali", "Kota"), ("Asisten", "Deputi")]
    + [("Duta", "Besar")]
)

# The words a role is written with after its head ("Deputi Bidang Koordinasi Peningkatan
# Kualitas Anak, Perempuan dan Pemuda"), by kind. A heuristic's vocabulary: it tells where
# a role ends and a person's name begins.
# Parts of titles and grades (Utama/Madya/Pratama: the civil-service echelons).
_TITLE_WORDS = """
Wakil Staf Khusus Tenaga Ahli Wali Kota Asisten Duta Besar Jenderal Utama Madya Pratama
Pimpinan Harian Eksekutif Umum Pengurus Agung Muda
"""
# Kinds of government body and organisation (the nomenclature of the state's organisation
# regulations), and of the bodies a role may belong to outside it.
_BODY_WORDS = """
Bidang Urusan Koordinasi Koordinator Kementerian Kemenko Badan Lembaga Biro Dinas Kantor
Pusat Direktorat Departemen Sekretariat Inspektorat Kabinet Komisi Dewan Majelis Unit
Pemerintah Perwakilan Komite Cabang Divisi Partai Fraksi Perusahaan Persero Bank Yayasan
Fakultas Pascasarjana Sekolah Rumah Sakit Kawasan Wilayah Kerja
"""
# Portfolios: the fields ministries, deputies and agencies are named after.
_PORTFOLIO_WORDS = """
Kerja Sama Luar Dalam Negeri Negara Nasional Internasional Sosial Kualitas Moderasi Beragama
Agama Manusia Sumber Daya Jaminan Pemuda Olahraga Perempuan Anak Keluarga Berencana Gizi
Vokasi Tinggi Dasar Menengah Budaya Seni Sejarah Mental Revolusi Masyarakat Bencana
Kemiskinan Rakyat Desa Tertinggal Transmigrasi Hukum Hak Asasi Ekonomi Kreatif Koperasi
Usaha Kecil Mikro Milik Ilmu Riset Inovasi Teknologi Informasi Komunikasi Digital Statistik
Pangan Obat Makanan Pengawas Zakat Haji Wakaf Siber Sandi Arsip Ideologi Pancasila
Lingkungan Hidup Tata Ruang Agraria Industri Energi Mineral Strategis Program Anggaran
Protokol Humas Hubungan Sarana Prasarana Infrastruktur Rehabilitasi Rekonstruksi Lansia
Disabilitas Warisan Cagar Film Musik Bahasa Sastra Hutan Laut Darat Udara Anti Korupsi
"""
# Levels of government and administrative area (Law 23/2014 on regional government).
_ADMINISTRATIVE_WORDS = """
Daerah Provinsi Kabupaten Kota Kecamatan Desa Kelurahan Republik Indonesia RI Otonomi
Istimewa Khusus Metro Raya
"""
# Indonesia's main islands and the words of its provinces' names (the official list of 38
# provinces), compass words included ("Jawa Barat", "Papua Pegunungan").
_REGION_WORDS = """
Jawa Sumatera Sumatra Kalimantan Sulawesi Papua Maluku Nusa Tenggara Bali Jakarta Aceh
Riau Jambi Bengkulu Lampung Banten Yogyakarta Gorontalo Barat Timur Tengah Utara Selatan
Kepulauan Pegunungan
"""
# Police (Polri) and armed-forces (TNI) bodies and rank titles.
_SECURITY_WORDS = """
Polisi Kepolisian Polda Polres Polresta Polri Komisaris Kombes Pol Ajun Brigadir Irjen
Komjen Kolonel Letnan Mayor Marsekal Laksamana Kapten
"""
# Countries whose names a role may hold ("Duta Besar Republik Indonesia untuk Jepang"),
# as Indonesian writes them.
_COUNTRY_WORDS = """
Amerika Serikat AS Inggris Jepang Tiongkok China Korea Australia Malaysia Singapura Arab
Saudi Rusia Jerman Prancis Belanda India Thailand
"""
ROLE_WORDS = ROLE_HEADS | frozenset(
    " ".join([_TITLE_WORDS, _BODY_WORDS, _PORTFOLIO_WORDS, _ADMINISTRATIVE_WORDS,
              _REGION_WORDS, _SECURITY_WORDS, _COUNTRY_WORDS]).split()
)
# After these words the next capitalised word names a place or body, not a person
# ("Kota Surabaya", "PT Pertamina", "Universitas Indonesia").
PLACE_INTRO = frozenset(
    "Daerah Otonomi Provinsi Kabupaten Kota Kecamatan Desa Republik Partai PT Universitas Institut "
    "Yayasan Bank".split()
)
# Capitalised words that end a name: function words and the reporting verbs of press
# releases ("Menko PMK Muhadjir Effendy Mengatakan ...", Indonesian grammar).
NAME_STOPS = frozenset(
    "Mewakili Selaku Sebagai Bersama Beserta Serta Dan Yang Di Ke Dari Pada Dalam Untuk Dengan "
    "Didampingi Mengatakan Menyampaikan Menjelaskan Menegaskan Menambahkan Berharap Turut "
    "Saat Ketika Hadir Juga Bahwa Ini Itu".split()
)
# Academic degrees and religious honorifics written before a name (Prof., Dr., H., Hj., KH).
HONORIFICS = frozenset("Prof Dr Drs Dra dr H Hj Ir KH Kyai".split())

# Role words a question may use (English or Indonesian) -> how the role starts in a
# release: translations of the position titles above (general bilingual knowledge).
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "deputi": ("deputy", "deputies", "deputi", "deputi-deputi"),
    "menteri": ("minister", "ministers", "menteri"),
    "menko": ("menko", "coordinating"),
    "presiden": ("president", "presiden"),
    "wakil presiden": ("vice-president",),
    "staf khusus": ("staff", "adviser", "advisor", "staf", "stafsus"),
    "direktur": ("director", "directors", "direktur", "dirjen"),
    "kepala": ("head", "kepala", "chief"),
    "sekretaris": ("secretary", "sekretaris", "sesmenko"),
    "gubernur": ("governor", "gubernur"),
    "bupati": ("regent", "bupati"),
    "wali kota": ("mayor", "walikota"),
    "asisten deputi": ("asdep",),
    "asdep": ("asdep",),
    "tenaga ahli": ("expert", "experts", "ahli"),
}
