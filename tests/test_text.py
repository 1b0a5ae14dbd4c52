"""Text helpers: normalisation, paragraphs, Indonesian sentences, dates and people."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.text import (
    extract_people,
    find_date,
    normalize,
    parse_date,
    sentences,
    split_paragraphs,
    split_sentences,
)
from assistant.types import Person

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SAMPLE = CORPUS / "2023-09-29_kemenko-pmk-guangxi-zhuang.txt"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jakarta,\u00a0Jumat", "Jakarta, Jumat"),
        ("KEMENKO PMK \u2013 Kementerian", "KEMENKO PMK - Kementerian"),
        ("a\u2014b\u2212c", "a-b-c"),
        ("\u201cBudaya,\u201d ujarnya \u2018ya\u2019", "\"Budaya,\" ujarnya 'ya'"),
        ("tiga\u202fribu\u2009dua\u200bpuluh", "tiga ribu duapuluh"),
        ("a  \t b", "a b"),
        ("baris \u00a0\r\nkedua\r\n", "baris\nkedua\n"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_split_paragraphs_drops_blank_lines_and_empty_labels() -> None:
    text = "Judul\n\n\u00a0\n\nSatu.\nDua.\n\n\n\nTiga.\n\nKontributor Foto:\nReporter:\nEditor : "
    assert split_paragraphs(text) == ["Judul", "Satu.\nDua.", "Tiga."]


def test_split_paragraphs_keeps_labels_with_values() -> None:
    assert split_paragraphs("Isi.\n\nReporter: Budi") == ["Isi.", "Reporter: Budi"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Satu dua. Tiga empat! Lima?", ["Satu dua.", "Tiga empat!", "Lima?"]),
        ("Dr. Budi hadir. Prof. H. Ahmad datang.", ["Dr. Budi hadir.", "Prof. H. Ahmad datang."]),
        ("Hj. Siti dan Ir. Joko tiba.", ["Hj. Siti dan Ir. Joko tiba."]),
        ("Di Jl. Merdeka No. 3 kantornya.", ["Di Jl. Merdeka No. 3 kantornya."]),
        ("Oleh Budi S.Pd. M.Si. Ia guru.", ["Oleh Budi S.Pd. M.Si. Ia guru."]),
        ("Surat a.n. Menteri dikirim.", ["Surat a.n. Menteri dikirim."]),
        ("Oleh A. Rahman. Ia hadir.", ["Oleh A. Rahman.", "Ia hadir."]),
        ("Naik 3.5 persen. Total 1.000.000 orang.", ["Naik 3.5 persen.", "Total 1.000.000 orang."]),
        ("Pada Jumat (29/9/2023). Lalu pulang.", ["Pada Jumat (29/9/2023).", "Lalu pulang."]),
        ('"Kami siap," ujarnya. Ia pergi.', ['"Kami siap," ujarnya.', "Ia pergi."]),
        ('"Kami siap." Ia pergi.', ['"Kami siap."', "Ia pergi."]),
        ('"Kami siap." ujarnya.', ['"Kami siap." ujarnya.']),
        ('Dia tiba. "Halo," katanya.', ["Dia tiba.", '"Halo," katanya.']),
        ("Tahun 2024. 5 orang hadir.", ["Tahun 2024.", "5 orang hadir."]),
        ("tanpa titik", ["tanpa titik"]),
        ("Baris satu\nBaris dua.", ["Baris satu", "Baris dua."]),
        ("Huruf kecil. lalu lanjut.", ["Huruf kecil. lalu lanjut."]),
        ("  ", []),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_sentence_spans_are_stripped_offsets() -> None:
    text = "  Satu.   Dua.  "
    spans = split_sentences(text)
    assert spans == [(2, 7), (10, 14)]
    assert [text[s:e] for s, e in spans] == ["Satu.", "Dua."]


def test_sample_sentences() -> None:
    paragraphs = split_paragraphs(SAMPLE.read_text(encoding="utf-8"))
    dateline = sentences(paragraphs[2])
    assert len(dateline) == 1 and dateline[0].endswith("Jumat (29/9/2023).")
    quote = next(p for p in paragraphs if p.startswith('"Ada 3'))
    assert sentences(quote) == [quote]
    warsito = sentences(next(p for p in paragraphs if p.startswith("Selanjutnya")))
    assert len(warsito) == 2 and warsito[1].startswith("Hal ini")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jumat (29/9/2023)", dt.date(2023, 9, 29)),
        ("(Rabu, 12/11/2025)", dt.date(2025, 11, 12)),
        ("29/9/2023", dt.date(2023, 9, 29)),
        ("29-09-2023", dt.date(2023, 9, 29)),
        ("29 September 2023", dt.date(2023, 9, 29)),
        ("29 Sept 2023", dt.date(2023, 9, 29)),
        ("Senin, 2 Oktober 2023", dt.date(2023, 10, 2)),
        ("17 Agt 2024", dt.date(2024, 8, 17)),
        ("1 Mei 2024", dt.date(2024, 5, 1)),
        ("5 Des. 2022", dt.date(2022, 12, 5)),
        ("2023-09-29", dt.date(2023, 9, 29)),
        ("2023-09-29T10:00:00+07:00", dt.date(2023, 9, 29)),
        ("September 29, 2023", dt.date(2023, 9, 29)),
        ("29 March 2023", dt.date(2023, 3, 29)),
        ("31/2/2023", None),
        ("30 Februari 2024", None),
        ("2023-13-01", None),
        ("besok pagi", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_find_date_takes_the_first_valid_date() -> None:
    text = "Rapat 31/2/2023 batal; digelar Jumat (29/9/2023) dan forum 3-4 November 2023."
    assert find_date(text) == dt.date(2023, 9, 29)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Menko PMK Muhadjir Effendy hadir.", [Person("Muhadjir Effendy", "Menko PMK")]),
        ("arahan Presiden Joko Widodo untuk", [Person("Joko Widodo", "Presiden")]),
        ("Wakil Presiden Ma'ruf Amin membuka.", [Person("Ma'ruf Amin", "Wakil Presiden")]),
        (
            "Deputi Bidang Koordinasi Peningkatan Kesejahteraan Sosial, Nunung Nuryanto, hadir.",
            [
                Person(
                    "Nunung Nuryanto", "Deputi Bidang Koordinasi Peningkatan Kesejahteraan Sosial"
                )
            ],
        ),
        (
            "Staf Khusus Menko PMK Bidang Kerja Sama Luar Negeri Joko Kusnanto Anggoro Mewakili",
            [
                Person(
                    "Joko Kusnanto Anggoro", "Staf Khusus Menko PMK Bidang Kerja Sama Luar Negeri"
                )
            ],
        ),
        ("Gubernur Jawa Barat Ridwan Kamil", [Person("Ridwan Kamil", "Gubernur Jawa Barat")]),
        ("Wali Kota Surabaya Eri Cahyadi", [Person("Eri Cahyadi", "Wali Kota Surabaya")]),
        (
            "Menteri Sosial Prof. Dr. Budi Santoso, M.Si.",
            [Person("Budi Santoso", "Menteri Sosial")],
        ),
        ("Plt. Asdep Pemuda Rina Dewi", [Person("Rina Dewi", "Plt Asdep Pemuda")]),
        (
            "Menko PMK dan Gubernur Jawa Tengah Ganjar Pranowo",
            [Person("Ganjar Pranowo", "Gubernur Jawa Tengah")],
        ),
        # institutions and places are not people
        (
            "dipimpin oleh Direktur Jenderal Departemen Sumber Daya Manusia Daerah Otonomi "
            "Guangxi Zhuang didampingi",
            [],
        ),
        ("Kepala Biro Perencanaan dan Kerja Sama, Sesdep Bidang Koordinasi", []),
        ("Kementerian Koordinator Bidang Pembangunan Manusia dan Kebudayaan", []),
        ("Menko PMK agar dapat hadir.", []),
        ("Ketua Komisi X DPR hadir.", []),
    ],
)
def test_extract_people(text: str, expected: list[Person]) -> None:
    assert list(extract_people([text])) == expected


def test_extract_people_merges_short_mentions_and_keeps_longest_role() -> None:
    people = extract_people(
        [
            "Deputi Warsito hadir.",
            "Deputi Bidang Pendidikan, Warsito.",
            "Deputi Nunung bicara.",
            "Deputi Sosial Nunung Nuryanto hadir.",
        ]
    )
    assert people == (
        Person("Warsito", "Deputi Bidang Pendidikan"),
        Person("Nunung Nuryanto", "Deputi Sosial"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wakil Wakil Presiden Budi Karya hadir.", [Person("Budi Karya", "Wakil Wakil Presiden")]),
        ("Plt Budi Karya hadir.", [Person("Budi Karya", "Plt")]),  # "Plt" is a head itself
        ("Wakil Budi Karya hadir.", []),  # "Wakil" without a head is not a role
        ("Wakil Wakil", []),
    ],
)
def test_role_prefixes(text: str, expected: list[Person]) -> None:
    assert list(extract_people([text])) == expected


def test_thousands_of_role_prefixes_do_not_overflow_the_stack() -> None:
    # recursion once per "Wakil" raised RecursionError, which stopped the whole ingest
    text = "Wakil " * 5000 + "Presiden Budi Karya hadir."
    assert extract_people([text]) == (Person("Budi Karya", "Wakil " * 4999 + "Wakil Presiden"),)


def test_names_that_are_subsets_of_longer_names_are_merged() -> None:
    people = extract_people(["Menteri Budi hadir. Menteri Santoso Budi hadir. Menteri Ani hadir."])
    names = [person.name for person in people]
    assert names == ["Santoso Budi", "Ani"]
    people = extract_people(["Menteri Budi Santoso dan Menteri Santoso Budi hadir."])
    assert [person.name for person in people] == ["Budi Santoso", "Santoso Budi"]


@contextmanager
def finishes_within(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: these inputs took hours when the work was quadratic."""

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_sentences_of_a_long_line_of_periods_are_found_in_linear_time() -> None:
    # each period sliced the rest of the line (here 10 MB) to look at the next character
    line = "a." * 100_000 + " kata" * 2_000_000 + ". Akhir kalimat."
    with finishes_within(30):
        assert sentences(line) == [line[: -len(" Akhir kalimat.")], "Akhir kalimat."]


def test_many_distinct_people_are_merged_in_linear_time() -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [f"Budi X{a}{b}{c}" for a in letters for b in letters for c in letters]
    text = " ".join(f"Menteri {name}." for name in names)
    with finishes_within(30):
        people = extract_people([text])
    assert [person.name for person in people] == names
