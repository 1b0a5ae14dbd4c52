"""Ingest: each format, metadata overrides, stable ids and hashes, helpful failures."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.ingest.releases import (
    Limits,
    LoadedFile,
    discover,
    load_file,
    load_file_partial,
    read_file,
    source_for,
)
from assistant.types import Person

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SAMPLE = CORPUS / "2023-09-29_kemenko-pmk-guangxi-zhuang.txt"
BODY = (
    "JAKARTA - Menko PMK Muhadjir Effendy membuka rapat pada Senin (2/10/2023).\n\n"
    "Rapat membahas perlindungan sosial. Hasilnya akan dilaporkan kepada Presiden."
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_release() -> None:
    (release,) = load_file(SAMPLE)
    assert release.title == "Kemenko PMK Terima Audiensi Daerah Otonomi Guangxi Zhuang RRT"
    assert release.subtitle.startswith("Kemenko PMK Dorong Kerja Sama")
    assert release.date == dt.date(2023, 9, 29)
    assert release.paragraphs[0].startswith("KEMENKO PMK - Kementerian")
    assert all("\u00a0" not in p and "\u2013" not in p for p in release.paragraphs)
    assert not any(p.startswith(("Kontributor Foto", "Reporter")) for p in release.paragraphs)
    assert release.paragraphs[-1].startswith("Turut hadir dalam audiensi")
    assert len(release.id) == 16 and len(release.content_hash) == 64
    assert release.source == "Kemenko PMK"  # the publisher, from corpus/.meta.json


@pytest.mark.parametrize(
    "person",
    [
        Person("Nunung Nuryanto", "Deputi Bidang Koordinasi Peningkatan Kesejahteraan Sosial"),
        Person(
            "Warsito",
            "Deputi Bidang Koordinasi Peningkatan Kualitas Pendidikan dan "
            "Moderasi Beragama Kemenko PMK",
        ),
        Person("Joko Kusnanto Anggoro", "Staf Khusus Menko PMK Bidang Kerja Sama Luar Negeri"),
        Person("Muhadjir Effendy", "Menko PMK"),
        Person("Joko Widodo", "Presiden"),
    ],
)
def test_sample_people(person: Person) -> None:
    assert person in load_file(SAMPLE)[0].people


def test_sample_names_no_institution_as_person() -> None:
    names = {person.name for person in load_file(SAMPLE)[0].people}
    assert not any("Guangxi" in name or "Zhuang" in name for name in names)


def test_front_matter_overrides_extraction(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Judul Resmi\ndate: 2023-10-05\nurl: https://example.go.id/r/1\n"
        "people:\n  - Budi Santoso | Juru Bicara\n---\nJudul Resmi\n\n" + BODY
    )
    (release,) = load_file(write(tmp_path / "rilis.txt", text))
    assert release.title == "Judul Resmi"
    assert release.date == dt.date(2023, 10, 5)
    assert release.url == "https://example.go.id/r/1"
    assert release.people == (Person("Budi Santoso", "Juru Bicara"),)
    assert release.paragraphs[0].startswith("JAKARTA - ")


@pytest.mark.parametrize("url", [
    "javascript:alert(document.cookie)", "JavaScript:alert(1)", "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "file:///etc/passwd", "/rilis/1",
    "vbscript:msgbox", "https://", "http://[::1"])
def test_a_url_that_is_not_http_is_refused_with_its_reason(tmp_path: Path, url: str) -> None:
    # before: accepted, and returned in citations as a link
    front = write(tmp_path / "rilis.txt", f"---\ntitle: Judul\nurl: {json.dumps(url)}\n---\n"
                  + BODY)
    with pytest.raises(IngestError, match=r"`rilis.txt`: url .* is not an http\(s\) address"):
        load_file(front)
    line = {"title": "Judul", "text": BODY, "url": url}
    jsonl = write(tmp_path / "rilis.jsonl", json.dumps(line) + "\n")
    releases, problems = load_file_partial(jsonl)
    assert not releases and "rilis.jsonl line 1: url" in problems[0]


@pytest.mark.parametrize("url", ["https://www.kemenkopmk.go.id/rilis/1", "HTTP://example.id",
                                 ""])
def test_an_http_url_is_kept(tmp_path: Path, url: str) -> None:
    text = f"---\ntitle: Judul\nurl: {json.dumps(url)}\n---\n" + BODY
    assert load_file(write(tmp_path / "rilis.txt", text))[0].url == url


def test_front_matter_title_without_title_line(tmp_path: Path) -> None:
    (release,) = load_file(write(tmp_path / "rilis.md", "---\ntitle: Judul\n---\n" + BODY))
    assert release.title == "Judul"
    assert release.paragraphs[0].startswith("JAKARTA - ")


def test_sidecar_overrides_and_feeds_the_hash(tmp_path: Path) -> None:
    path = write(tmp_path / "rilis.txt", "Judul Asli\n\n" + BODY)
    before = load_file(path)[0]
    assert before.date == dt.date(2023, 10, 2)
    assert Person("Muhadjir Effendy", "Menko PMK") in before.people
    sidecar = {
        "title": "Judul Baru",
        "date": "6 Oktober 2023",
        "source": "arsip/rilis-7",
        "people": [{"name": "Ani", "role": "Kabag"}],
    }
    write(tmp_path / "rilis.txt.meta.json", json.dumps(sidecar))
    after = load_file(path)[0]
    assert (after.title, after.date, after.source) == (
        "Judul Baru",
        dt.date(2023, 10, 6),
        "arsip/rilis-7",
    )
    assert after.people == (Person("Ani", "Kabag"),)
    assert after.id == before.id and after.content_hash != before.content_hash


def test_markdown_headings_are_stripped(tmp_path: Path) -> None:
    (release,) = load_file(write(tmp_path / "rilis.md", "# Judul **Tebal**\n\n" + BODY))
    assert release.title == "Judul Tebal"


def test_html_page(tmp_path: Path) -> None:
    html = """<html><head><title>Situs | Judul</title>
    <meta property="og:title" content="Judul Berita">
    <meta property="article:published_time" content="2023-09-29T08:00:00+07:00">
    <script>var x = "jangan diambil";</script><style>p {color: red}</style></head>
    <body><nav><a>Beranda</a></nav><header><h1>Judul Berita</h1></header>
    <article><p>KEMENKO PMK &ndash; Menko PMK Muhadjir Effendy hadir.</p>
    <p>Paragraf&nbsp;kedua.</p><script>document.write("iklan")</script>
    <ul><li>Butir satu.</li></ul></article><footer>Hak cipta</footer></body></html>"""
    (release,) = load_file(write(tmp_path / "berita.html", html))
    assert release.title == "Judul Berita"
    assert release.date == dt.date(2023, 9, 29)
    assert release.paragraphs == (
        "KEMENKO PMK - Menko PMK Muhadjir Effendy hadir.",
        "Paragraf kedua.",
        "Butir satu.",
    )
    assert Person("Muhadjir Effendy", "Menko PMK") in release.people


def test_html_without_metadata_uses_title_tag_and_body_date(tmp_path: Path) -> None:
    html = "<html><head><title>Judul</title></head><body><p>Rapat Jumat (29/9/2023).</p></body>"
    (release,) = load_file(write(tmp_path / "a.htm", html))
    assert (release.title, release.date) == ("Judul", dt.date(2023, 9, 29))


def _pdf(path: Path, lines: list[str]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    for line in lines:
        if line:
            pdf.drawString(50, y, line)
        y -= 16
    if not lines:
        pdf.rect(100, 100, 200, 200, fill=1)
    pdf.save()
    return path


def test_pdf_with_text(tmp_path: Path) -> None:
    lines = [
        "Kemenko PMK Gelar Rapat Koordinasi",
        "",
        "JAKARTA - Menko PMK Muhadjir Effendy memimpin rapat koordinasi pada Senin",
        "(2/10/2023) di kantor Kemenko PMK yang dihadiri oleh para deputi dan pejabat.",
        "Rapat membahas perlindungan sosial dan penanganan bencana di berbagai daerah.",
    ]
    (release,) = load_file(_pdf(tmp_path / "rilis.pdf", lines))
    assert release.title == "Kemenko PMK Gelar Rapat Koordinasi"
    assert release.date == dt.date(2023, 10, 2)
    assert release.paragraphs[0].startswith("JAKARTA - Menko PMK")
    assert "Senin (2/10/2023)" in release.paragraphs[0]


def test_docx(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for text in ["Judul Dokumen", "", *BODY.split("\n\n")]:
        document.add_paragraph(text)
    document.save(str(tmp_path / "rilis.docx"))
    (release,) = load_file(tmp_path / "rilis.docx")
    assert release.title == "Judul Dokumen"
    assert release.paragraphs == tuple(BODY.split("\n\n"))
    assert release.date == dt.date(2023, 10, 2)


def test_jsonl_keeps_good_lines(tmp_path: Path) -> None:
    records = [
        {
            "id": "rilis/1",
            "title": "Satu",
            "date": "2023-09-29",
            "text": "A.\n\nB.",
            "url": "https://example.go.id/1",
        },
        {"title": "Dua", "date": "29 Sept 2023", "text": "C."},
        {"title": "Tiga", "date": "2023-09-29"},
    ]
    path = write(tmp_path / "news.jsonl", "\n".join(json.dumps(r) for r in records) + "\n\n")
    releases, problems = load_file_partial(path)
    assert [r.title for r in releases] == ["Satu", "Dua"]
    assert problems == ["news.jsonl line 3: missing 'text'"]
    first, second = releases
    assert (first.id, first.source, first.url) == (
        "rilis_1",
        "example.go.id",  # no source given: the publisher's site
        "https://example.go.id/1",
    )
    assert first.paragraphs == ("A.", "B.")
    assert second.source == "" and len(second.id) == 16  # publisher unknown, never the file
    assert second.date == dt.date(2023, 9, 29)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"title": "T", "text": "x", "date": "kemarin"}', "is not a date"),
        ('{"text": "x"}', "missing 'title'"),
    ],
)
def test_jsonl_problems(tmp_path: Path, line: str, problem: str) -> None:
    path = write(tmp_path / "news.jsonl", line + "\n")
    releases, problems = load_file_partial(path)
    assert releases == [] and len(problems) == 1
    assert problems[0].startswith("news.jsonl line 1: ") and problem in problems[0]
    with pytest.raises(IngestError, match="line 1"):
        load_file(path)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("kosong.txt", b"", "empty file"),
        ("spasi.txt", b"  \n\n ", "empty file"),
        ("biner.txt", b"PK\x03\x04\x00\x00binary\x00", "binary file"),
        ("kontrol.txt", bytes(range(1, 32)) * 40 + b"\xff\xfe teks", "binary file"),
        ("rusak.pdf", b"%PDF-1.4\n\x8f\x12 garbage \x00\x01 not a pdf", "corrupt PDF"),
        ("rusak.docx", b"this is not a zip archive at all", "corrupt DOCX"),
        ("catatan.rtf", b"{\\rtf1 teks}", "unsupported file type"),
        ("halaman.html", b"<html><body><script>x()</script></body></html>", "no text"),
        ("judul.txt", b"Hanya Judul\n", "no body text"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason) as error:
        load_file_partial(path)
    message = str(error.value)
    assert name in message and "\n" not in message


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"no text layer \(scanned image\?\)"):
        load_file(_pdf(tmp_path / "scan.pdf", []))


ACCENTED = "Judul Café\n\nJAKARTA - Menko PMK meninjau « Sekolah Rakyat » pada Senin (2/10/2023)."


@pytest.mark.parametrize(
    ("encoding", "data", "note"),
    [
        ("UTF-8", ACCENTED.encode("utf-8"), None),
        ("UTF-8 with BOM", ACCENTED.encode("utf-8-sig"), None),
        ("UTF-16 with BOM", ACCENTED.encode("utf-16"), None),
        ("Windows-1252", ACCENTED.replace("«", "\u201c").encode("cp1252"), "read as Windows-1252"),
        ("Latin-1", (ACCENTED + " \x81").encode("latin-1"), "read as Latin-1"),
    ],
)
def test_encodings_are_detected(
    tmp_path: Path, encoding: str, data: bytes, note: str | None
) -> None:
    path = tmp_path / "rilis.txt"
    path.write_bytes(data)
    loaded = read_file(path)
    assert loaded.problems == () and len(loaded.releases) == 1
    (release,) = loaded.releases
    assert release.title == "Judul Café"
    assert "Sekolah Rakyat" in release.paragraphs[0] and release.date == dt.date(2023, 10, 2)
    if note is None:
        assert loaded.notes == ()
    else:
        (message,) = loaded.notes
        assert message.startswith("`rilis.txt`: not UTF-8, ") and note in message
        assert "save it as UTF-8" in message and "\n" not in message


@pytest.mark.parametrize("suffix", [".html", ".jsonl"])
def test_legacy_encoding_note_for_html_and_jsonl(tmp_path: Path, suffix: str) -> None:
    text = {
        ".html": "<html><head><title>Judul Café</title></head><body><p>Isi rilis.</p></body></html>",
        ".jsonl": json.dumps({"title": "Judul Café", "text": "Isi rilis."}, ensure_ascii=False),
    }[suffix]
    path = tmp_path / f"rilis{suffix}"
    path.write_bytes(text.encode("cp1252"))
    loaded = read_file(path)
    assert [r.title for r in loaded.releases] == ["Judul Café"]
    assert len(loaded.notes) == 1 and "read as Windows-1252" in loaded.notes[0]


def test_ids_and_hashes_are_stable(tmp_path: Path) -> None:
    path = tmp_path / "rilis.txt"
    shutil.copy(SAMPLE, path)
    first, again = load_file(path)[0], load_file(path)[0]
    assert (first.id, first.content_hash) == (again.id, again.content_hash)
    path.write_text(
        path.read_text(encoding="utf-8").replace("nol persen", "0 persen"), encoding="utf-8"
    )
    edited = load_file(path)[0]
    assert edited.id == first.id and edited.content_hash != first.content_hash


def test_ids_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    path = write(corpus / "sub" / "r.txt", "Judul\n\n" + BODY)
    (tmp_path / "link").symlink_to(corpus)
    seen = set()
    for cwd, given in [
        (tmp_path, Path("corpus/sub/r.txt")),
        (corpus / "sub", Path("r.txt")),
        (SAMPLE.parent, path),
        (tmp_path, Path("link/sub/../sub/r.txt")),
    ]:
        monkeypatch.chdir(cwd)
        (release,) = load_file(given)
        seen.add((release.id, source_for(given)))
    assert seen == {(load_file(path)[0].id, path.resolve().as_posix())}


@pytest.mark.parametrize("folder", ["corpus", "corpus/", "./corpus/sub/..", "link"])
def test_source_of_a_file_extends_the_source_of_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """The --sync contract: a file is under a folder when its key starts with root + "/"."""
    (tmp_path / "corpus" / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    for found in discover([write(tmp_path / "corpus" / "sub" / "r.txt", "x")]):
        assert source_for(found).startswith(source_for(Path(folder)).rstrip("/") + "/")


def test_read_file_reports_a_whole_file_failure_as_its_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "judul.txt", "Hanya Judul\n")
    loaded = read_file(path)
    assert loaded == LoadedFile(
        source_for(path),
        problems=("`judul.txt`: no body text after the title; add the release text",),
    )


def _docx_file(path: Path, paragraphs: list[str]) -> Path:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def _limits(**changes: int) -> Limits:
    return replace(Limits.from_settings(Settings()), **changes)


LONG = ["Judul Panjang", *(f"Paragraf {i} berisi beberapa kata saja." for i in range(20))]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("r.txt", lambda p: write(p, "\n\n".join(LONG))),
        ("r.md", lambda p: write(p, "# " + "\n\n".join(LONG))),
        ("r.html", lambda p: write(p, "<h1>Judul</h1>" + "".join(f"<p>{t}</p>" for t in LONG))),
        ("r.pdf", lambda p: _pdf(p, LONG)),
        ("r.docx", lambda p: _docx_file(p, LONG)),
    ],
)
def test_each_reader_refuses_text_over_the_limit(tmp_path: Path, name: str, make: Any) -> None:
    path = make(tmp_path / name)
    assert load_file(path, _limits(text_chars=10_000))[0].paragraphs
    with pytest.raises(IngestError) as error:
        load_file_partial(path, _limits(text_chars=300))
    message = str(error.value)
    assert message.startswith(f"`{name}`: ") and "\n" not in message
    assert "300-character text limit (ASSISTANT_MAX_TEXT_CHARS)" in message


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_MAX_FILE_MB", "0.1")
    big = write(tmp_path / "big.txt", "Judul\n\n" + "kata " * 30_000)
    with pytest.raises(IngestError, match=r"`big.txt`: 146.5 KB is over the 102.4 KB file limit"):
        load_file(big)
    path = write(tmp_path / "r.txt", "Judul\n\n" + BODY)
    monkeypatch.setenv("ASSISTANT_MAX_FILE_MB", "1")
    monkeypatch.setenv("ASSISTANT_MAX_RELEASE_CHUNKS", "1")
    monkeypatch.setenv("ASSISTANT_CHUNK_WORDS", "10")
    with pytest.raises(IngestError, match=r"2 chunks is over the 1-chunk per-release limit"):
        load_file(path)
    assert load_file(path, _limits(release_chunks=2))[0].title == "Judul"


def test_discover(tmp_path: Path) -> None:
    for name in [
        "b.txt",
        "a.pdf",
        "sub/c.jsonl",
        "sub/d.docx",
        "e.html",
        "README.md",
        "f.txt.meta.json",
        ".hidden.txt",
        ".git/g.txt",
        "notes.rtf",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = discover([tmp_path, tmp_path / "notes.rtf"])
    names = [p.relative_to(tmp_path).as_posix() for p in found]
    assert names == ["a.pdf", "b.txt", "e.html", "sub/c.jsonl", "sub/d.docx", "notes.rtf"]


def test_source_is_the_publisher_given_else_the_folders_else_the_urls_host(
    tmp_path: Path,
) -> None:
    corpus, other = tmp_path / "corpus", tmp_path / "other"
    (corpus / "sub").mkdir(parents=True)
    other.mkdir()
    write(corpus / ".meta.json", json.dumps({"source": "Kemenko PMK"}))
    write(corpus / "sub" / "a.txt", "Judul A\n\n" + BODY)
    write(corpus / "b.txt", "---\nsource: Kemenkes\n---\nJudul B\n\n" + BODY)
    write(corpus / "c.txt", "Judul C\n\n" + BODY)
    write(corpus / "c.txt.meta.json", json.dumps({"source": "BNPB"}))
    write(other / "d.txt", "Judul D\n\n" + BODY)
    write(other / "e.txt", "---\nurl: https://www.kemenkopmk.go.id/x\n---\nJudul E\n\n" + BODY)
    write(other / "f.jsonl", json.dumps({"title": "F", "text": "Isi."}) + "\n"
          + json.dumps({"title": "G", "text": "Isi.", "source": "Antara"}) + "\n")
    sources = {r.title: r.source for path in discover([tmp_path]) for r in load_file(path)}
    assert sources == {"Judul A": "Kemenko PMK", "Judul B": "Kemenkes", "Judul C": "BNPB",
                       "Judul D": "", "Judul E": "kemenkopmk.go.id", "F": "", "G": "Antara"}
    (release,) = load_file(corpus / "sub" / "a.txt")
    write(corpus / "sub" / ".meta.json", json.dumps({"source": "Deputi I"}))  # nearest wins
    (relabelled,) = load_file(corpus / "sub" / "a.txt")
    assert relabelled.source == "Deputi I" and relabelled.content_hash != release.content_hash


def test_a_folder_meta_json_with_other_keys_says_where_they_belong(tmp_path: Path) -> None:
    write(tmp_path / ".meta.json", json.dumps({"source": "Kemenko PMK", "date": "2023-01-01"}))
    path = write(tmp_path / "a.txt", "Judul\n\n" + BODY)
    with pytest.raises(IngestError, match=r"sets only \['source'\], not \['date'\]; put those"):
        load_file(path)
    assert discover([tmp_path]) == [path]  # the folder's file is never read as a release
