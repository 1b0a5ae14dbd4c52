"""Reading one document into a Draft (ingest/formats.py): text, encodings, front matter,
Markdown, HTML, metadata, limits. PDF and DOCX edge cases live in test_hostile_files.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assistant.errors import IngestError
from assistant.ingest.formats import (
    MB,
    READERS,
    Limits,
    apply_meta,
    check_text,
    decode,
    draft_from_paragraphs,
    encoding_notes,
    format_size,
    parse_people,
    read_text,
)
from assistant.types import Person

LIMITS = Limits(file_bytes=MB, unpacked_bytes=MB, text_chars=10_000, release_chunks=100,
                chunk_words=200, chunk_max_paragraphs=4)
BODY = "Jakarta - Rapat membahas anggaran gizi di 12 provinsi."


@pytest.mark.parametrize(("data", "text", "encoding"), [
    ("Rapat – gizi".encode(), "Rapat – gizi", "UTF-8"),
    ("\ufeffJudul".encode(), "Judul", "UTF-8"),  # the BOM is dropped
    ("Rapat Ă".encode("utf-16"), "Rapat Ă", "UTF-16"),
    ("Café".encode("cp1252"), "Café", "Windows-1252"),
])
def test_decode_reads_the_encodings_staff_files_come_in(data: bytes, text: str,
                                                       encoding: str) -> None:
    assert decode(Path("a.txt"), data) == (text, encoding)


def test_binary_data_is_refused_with_what_to_do() -> None:
    with pytest.raises(IngestError, match="`x.txt`: binary file.*export it as"):
        decode(Path("x.txt"), bytes(range(256)) * 4)


def test_only_a_legacy_encoding_gets_a_note() -> None:
    assert encoding_notes(Path("a.txt"), "UTF-8") == ()
    assert "save it as UTF-8" in encoding_notes(Path("a.txt"), "Windows-1252")[0]


def test_text_release_title_subtitle_and_body() -> None:
    data = f"Rapat Stunting\nSubjudul tanpa titik\n\n{BODY}\n\nParagraf kedua.\n".encode()
    draft = read_text(Path("a.txt"), data, LIMITS)
    assert (draft.title, draft.subtitle) == ("Rapat Stunting", "Subjudul tanpa titik")
    assert draft.paragraphs == (BODY, "Paragraf kedua.") and draft.notes == ()


def test_a_dateline_is_body_not_subtitle() -> None:
    draft = draft_from_paragraphs(Path("a.txt"), ["Judul", "JAKARTA - Rapat digelar hari ini"])
    assert draft.subtitle == "" and draft.paragraphs == ("JAKARTA - Rapat digelar hari ini",)


def test_front_matter_overrides_and_fills_metadata() -> None:
    data = ("---\ntitle: \"Judul Resmi\"\ndate: 2023-10-02\nurl: https://x.go.id/a\n"
            "people:\n  - Budi Santoso | Deputi\n---\n\n" + BODY).encode()
    draft = read_text(Path("a.md"), data, LIMITS)
    assert draft.title == "Judul Resmi" and draft.date == dt.date(2023, 10, 2)
    assert draft.url == "https://x.go.id/a" and draft.people == (Person("Budi Santoso", "Deputi"),)
    assert draft.paragraphs == (BODY,)


def test_markdown_markup_is_removed() -> None:
    data = b"# Judul **Tebal**\n\nIsi dengan [tautan](https://x) dan __garis__ kata."
    draft = read_text(Path("a.md"), data, LIMITS)
    assert draft.title == "Judul Tebal"
    assert draft.paragraphs == ("Isi dengan tautan dan garis kata.",)


@pytest.mark.parametrize(("data", "message"), [
    (b"---\ntitle: x\n\nIsi.", "no closing '---'"),
    (b"", "no text found"),
    (b"Hanya judul", "no body text after the title"),
    (b"---\ndate: kemarin\n---\nJudul\n\nIsi.", "'kemarin' is not a date; use YYYY-MM-DD"),
])
def test_a_broken_text_file_says_what_to_fix(data: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        read_text(Path("a.md"), data, LIMITS)


def test_text_over_the_limit_names_the_setting() -> None:
    with pytest.raises(IngestError, match=r"10,001 characters.*ASSISTANT_MAX_TEXT_CHARS"):
        check_text("`a.txt`: ", "x" * 10_001, LIMITS)
    assert check_text("", "x" * 10_000, LIMITS) == "x" * 10_000


@pytest.mark.parametrize(("size", "text"), [
    (20 * MB, "20 MB"), (52.4 * MB, "52.4 MB"), (150_000, "146.5 KB"), (2048, "2 KB")])
def test_format_size(size: float, text: str) -> None:
    assert format_size(size) == text


def test_html_release_drops_page_chrome() -> None:
    page = (b"<html><head><title>Situs | Rapat</title><script>x()</script></head><body>"
            b"<nav>Menu Beranda</nav><article><h1>Rapat Stunting</h1>"
            b"<p>Jakarta - Rapat membahas anggaran gizi di 12 provinsi.</p></article>"
            b"<footer>Hak cipta</footer></body></html>")
    draft = READERS[".html"](Path("a.html"), page, LIMITS)
    text = " ".join(draft.paragraphs)
    assert draft.title == "Rapat Stunting" and "anggaran gizi" in text
    assert "Menu" not in text and "Hak cipta" not in text and "x()" not in text


def test_people_metadata_accepts_strings_and_objects() -> None:
    assert parse_people(["Budi | Deputi", {"name": "Sari", "role": "Asdep"}, " | x"]) == (
        Person("Budi", "Deputi"), Person("Sari", "Asdep"))
    assert parse_people("Ani") == (Person("Ani", ""),)


def test_empty_metadata_values_keep_what_was_read() -> None:
    draft = draft_from_paragraphs(Path("a.txt"), ["Judul", BODY])
    assert apply_meta("", draft, {"title": "", "source": None}) == draft
