"""Hostile files: each is refused (or read) in one line, in bounded memory and time, and the
good file given after it is still loaded.

Each row runs the way the indexer reads files (discover, then load_file_partial one file at a
time, an IngestError reported and the next file read) in a forked child, so that the child's
peak RSS measures this row alone and a file that would hang is stopped by an alarm.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import struct
import traceback
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from assistant.errors import IngestError
from assistant.ingest.formats import MB
from assistant.ingest.releases import discover, load_file_partial

MEMORY_BOUND_MB = 250  # peak RSS growth allowed while reading one hostile file
TIME_BOUND_S = 60  # not a benchmark: the quadratic and unbounded cases took hours
GOOD = "Rapat Koordinasi\n\nJAKARTA - Menko PMK membuka rapat pada Senin (2/10/2023).\n"
WORD_ML = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

Writer = Callable[[Path], None]


def text_file(*blocks: tuple[bytes, int]) -> Writer:
    """A file of each block repeated its number of times, written without holding it whole."""

    def write(path: Path) -> None:
        with path.open("wb") as file:
            for block, times in blocks:
                for _ in range(times):
                    file.write(block)

    return write


def jsonl_lines(*records: dict[str, str]) -> Writer:
    return lambda path: path.write_text("\n".join(map(json.dumps, records)), encoding="utf-8")


def with_sidecar(sidecar_bytes: int) -> Writer:
    def write(path: Path) -> None:
        path.write_text(GOOD, encoding="utf-8")
        text_file((b" " * MB, sidecar_bytes // MB))(path.with_name(path.name + ".meta.json"))

    return write


def docx(body_xml: Callable[[], Any], declared_size: int | None = None) -> Writer:
    """A minimal DOCX whose word/document.xml body is streamed from body_xml's chunks; with
    declared_size, its headers claim that uncompressed size whatever the data inflates to."""

    def write(path: Path) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
            archive.writestr("_rels/.rels", _RELS)
            with archive.open("word/document.xml", "w") as part:
                part.write(f'<w:document xmlns:w="{WORD_ML}"><w:body>'.encode())
                for chunk in body_xml():
                    part.write(chunk)
                part.write(b"</w:body></w:document>")
        data = buffer.getvalue()
        path.write_bytes(_declare_size(data, declared_size) if declared_size else data)

    return write


_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


def _paragraph(text: str) -> bytes:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()


def _declare_size(data: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size of word/document.xml in its local and central headers."""
    patched, name = bytearray(data), b"word/document.xml"
    for signature, name_offset, size_offset in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        start = patched.find(signature)
        while start >= 0:
            if patched[start + name_offset :].startswith(name):
                patched[start + size_offset : start + size_offset + 4] = struct.pack("<I", size)
            start = patched.find(signature, start + 4)
    return bytes(patched)


def pdf_bomb(inflated_mb: int) -> Writer:
    """A one-page PDF whose content stream inflates to inflated_mb MB (of spaces)."""

    def write(path: Path) -> None:
        compressor = zlib.compressobj(9)
        stream = compressor.compress(b"BT /F1 12 Tf 50 700 Td (Judul) Tj ET\n")
        stream += b"".join(compressor.compress(b" " * MB) for _ in range(inflated_mb))
        stream += compressor.flush()
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%b\nendstream" % (len(stream), stream),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        path.write_bytes(_pdf(objects))

    return write


def _pdf(objects: list[bytes]) -> bytes:
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _many_people(count: int) -> bytes:
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = (f"Menteri Budi X{letters[i % 26]}{letters[i // 26 % 26]}{letters[i // 676 % 26]}." for i in range(count))
    return ("Judul\n\n" + " ".join(names)).encode()


# name, what writes it, a substring of the one-line reason (None: it must load)
ROWS: list[tuple[str, Writer, str | None]] = [
    # 52 MB of text was 134k chunks and ~9 hours of embedding
    ("big.txt", text_file((b"Kata kata kata. " * 65536, 52)), "over the 20 MB file limit (ASSISTANT_MAX_FILE_MB)"),
    # one 21 MB line: the whole file is over the file limit
    ("line.jsonl", text_file((b'{"title": "T", "text": "', 1), (b"kata " * MB, 5), (b'x"}', 1)), "25.0 MB is over the 20 MB file limit (ASSISTANT_MAX_FILE_MB)"),
    # a line under the file limit but over the text limit is one problem; the file's other lines load
    ("lines.jsonl", jsonl_lines({"title": "Baik", "text": "Isi baik."}, {"title": "T", "text": "kata " * 500_000}), "line 2: 2,500,0"),
    # a title and one 5 MB line without punctuation made 402 chunks of ~25,000 words
    ("unpunctuated.txt", text_file((b"Judul\n\n", 1), (b"kata " * MB, 1)), "-character text limit (ASSISTANT_MAX_TEXT_CHARS)"),
    # under the text limit, cut to ~120-word chunks, still too many for one release
    ("wordy.txt", text_file((b"Judul\n\n", 1), (b"kata " * 65536, 6)), "2,000-chunk per-release limit (ASSISTANT_MAX_RELEASE_CHUNKS)"),
    ("sidecar.txt", with_sidecar(21 * MB), "`sidecar.txt.meta.json`: 21 MB is over the 20 MB file limit"),
    # 1.2 GB of XML in 3.9 MB reached 7.3 GB RSS: the declared size is refused before inflating
    ("bomb.docx", docx(lambda: (_paragraph("a" * MB) for _ in range(200))), "word/document.xml unpacked (200.0 MB) is over the 50 MB unpacked-size limit (ASSISTANT_MAX_UNPACKED_MB)"),
    # a header that understates the size: zipfile stops at the declared size, the CRC fails
    ("lying.docx", docx(lambda: (_paragraph("a" * MB) for _ in range(200)), declared_size=1000), "corrupt DOCX"),
    # within the unpacked limit, 1.5 M empty paragraphs took ~500 MB as a python-docx tree
    ("paragraphs.docx", docx(lambda: [_paragraph("Judul"), _paragraph("Isi rilis."), *[b"<w:p/>" * 100_000] * 15]), None),
    ("bomb.pdf", pdf_bomb(100), "a compressed stream is over the 50 MB unpacked-size limit (ASSISTANT_MAX_UNPACKED_MB)"),
    # 8 MB of small tags: ~5.8 M characters of text, read without a 300 MB soup
    ("dense.html", text_file((b"<html><body><article>", 1), (b"<p>Paragraf berisi kata.</p>" * 100_000, 3), (b"</article></body></html>", 1)), "-character text limit (ASSISTANT_MAX_TEXT_CHARS)"),
    # "Wakil Wakil ..." recursed once per word: RecursionError, a traceback, the ingest stopped
    ("wakil.txt", text_file((b"Judul\n\n", 1), (b"Wakil " * 5000, 1)), None),
    # "a.a.a.": each period sliced the rest of the line to see what followed (quadratic)
    ("dots.txt", text_file((b"Judul\n\n", 1), (b"a." * 900_000, 1)), None),
    # 30,000 distinct people: every pair of names was compared (quadratic)
    ("people.txt", lambda path: path.write_bytes(_many_people(30_000)), None),
]


def read_like_the_indexer(paths: list[Path]) -> dict[str, Any]:
    """Each discovered file read on its own; an IngestError is a one-line failure."""
    loaded: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in discover(paths):
        try:
            releases, file_problems = load_file_partial(path)
        except IngestError as error:
            releases, file_problems = [], [str(error)]
        loaded[path.name] = [release.title for release in releases]
        problems.extend(file_problems)
    return {"loaded": loaded, "problems": problems}


def in_child(work: Callable[[], Any]) -> tuple[Any, float]:
    """work() run in a forked child: its result and the child's peak RSS growth in MB."""
    baseline = psutil.Process().memory_info().rss
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running pytest's teardown
        os.close(reader)
        signal.alarm(TIME_BOUND_S)
        try:
            outcome: Any = ("ok", work())
        except BaseException:  # noqa: BLE001 - any escape is the failure being tested
            outcome = ("raised", traceback.format_exc())
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(pickle.dumps(outcome))
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        pytest.fail(f"reading took over {TIME_BOUND_S} s or crashed ({name})")
    kind, result = pickle.loads(data)
    if kind == "raised":
        pytest.fail(f"an exception other than IngestError escaped:\n{result}")
    return result, (usage.ru_maxrss * 1024 - baseline) / MB


@pytest.mark.parametrize(("name", "write", "reason"), ROWS, ids=[row[0] for row in ROWS])
def test_hostile_file(tmp_path: Path, name: str, write: Writer, reason: str | None) -> None:
    hostile, good = tmp_path / name, tmp_path / "good.txt"
    write(hostile)
    good.write_text(GOOD, encoding="utf-8")
    outcome, growth_mb = in_child(lambda: read_like_the_indexer([hostile, good]))
    problems = outcome["problems"]
    assert all("\n" not in p and "Traceback" not in p for p in problems), problems
    if reason is None:
        assert problems == [] and outcome["loaded"][name], outcome
    else:
        assert [p for p in problems if reason in p], problems
        assert all(p.startswith((f"`{name}", f"{name} line")) for p in problems), problems
    assert outcome["loaded"]["good.txt"] == ["Rapat Koordinasi"]
    assert growth_mb < MEMORY_BOUND_MB, f"peak RSS grew {growth_mb:.0f} MB reading {name}"
