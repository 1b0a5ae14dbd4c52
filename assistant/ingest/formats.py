"""Readers for each release format: bytes -> Draft (title, subtitle, paragraphs, metadata).

Metadata given explicitly (front matter, sidecar, jsonl fields) overrides what a reader
extracted; see corpus/README.md for the accepted forms.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.text import normalize, parse_date, split_paragraphs
from assistant.types import Person

MB = 2**20
_DATELINE = re.compile(r"^[A-Z][A-Z .,/()]{1,40} - ")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # not tab, newline, form feed


@dataclass(frozen=True)
class Limits:
    """How much one file may hold and unpack before it is refused (see Settings.max_*)."""

    file_bytes: int
    unpacked_bytes: int
    text_chars: int
    release_chunks: int
    chunk_words: int  # the chunking that release_chunks is counted with
    chunk_max_paragraphs: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits, and the chunking they count chunks with, of these settings."""
        return cls(
            file_bytes=int(settings.max_file_mb * MB),
            unpacked_bytes=int(settings.max_unpacked_mb * MB),
            text_chars=settings.max_text_chars,
            release_chunks=settings.max_release_chunks,
            chunk_words=settings.chunk_words,
            chunk_max_paragraphs=settings.chunk_max_paragraphs,
        )


def over_limit(label: str, amount: str, limit: str, variable: str) -> IngestError:
    """The one-line error for something over a limit, naming the variable that raises it."""
    return IngestError(
        f"{label}{amount} is over the {limit} limit (ASSISTANT_{variable}); "
        "split it or raise the limit; skipped"
    )


def format_size(size: float) -> str:
    """A byte count as staff read it: "52.4 MB", "146.5 KB", and "20 MB" when exact."""
    value, unit = (size / MB, "MB") if size >= MB else (size / 1024, "KB")
    return f"{value:,.0f} {unit}" if value == int(value) else f"{value:,.1f} {unit}"


def check_text(label: str, text: str, limits: Limits) -> str:
    """text itself, or an error when it is longer than the text limit."""
    if len(text) > limits.text_chars:
        raise over_limit(
            label, f"{len(text):,} characters of text", f"{limits.text_chars:,}-character text",
            "MAX_TEXT_CHARS",
        )
    return text


@dataclass(frozen=True)
class Draft:
    """What a reader extracted from one document, before metadata overrides."""

    title: str
    paragraphs: tuple[str, ...]
    subtitle: str = ""
    date: dt.date | None = None
    people: tuple[Person, ...] = ()
    url: str = ""
    source: str = ""
    notes: tuple[str, ...] = ()  # warnings for the ingest report, e.g. the encoding assumed


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8, UTF-16 with a BOM, else Windows-1252, else Latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        with suppress(UnicodeDecodeError):
            return data.decode("utf-16"), "UTF-16"
    if b"\x00" not in data:
        with suppress(UnicodeDecodeError):
            return data.decode("utf-8-sig"), "UTF-8"
        for encoding in ("Windows-1252", "Latin-1"):
            with suppress(UnicodeDecodeError):
                text = data.decode(encoding)
                # more than 1% control characters (and more than a stray one): not text
                if _CONTROL.subn("", text)[1] <= 1 + len(text) // 100:
                    return text, encoding
    raise IngestError(f"`{path.name}`: binary file, not text; export it as .txt, .pdf or .docx")


def encoding_notes(path: Path, encoding: str) -> tuple[str, ...]:
    """A note saying which legacy encoding was assumed; none for UTF-8 and UTF-16."""
    if encoding.startswith("UTF-"):
        return ()
    return (
        f"`{path.name}`: not UTF-8, read as {encoding}; "
        "if accented letters look wrong, save it as UTF-8 and ingest again",
    )


def read_text(path: Path, data: bytes, limits: Limits) -> Draft:
    """A plain-text or Markdown release, with optional front matter."""
    text, encoding = decode(path, data)
    check_text(f"`{path.name}`: ", text, limits)
    front, text = _split_front_matter(path, text)
    if path.suffix.lower() == ".md":
        text = _strip_markdown(text)
    paragraphs = split_paragraphs(text)
    title = normalize(front.get("title", "")).strip()
    if title and paragraphs and paragraphs[0].split("\n")[0] != title:
        paragraphs.insert(0, title)  # the front matter title stands in for a title line
    draft = replace(draft_from_paragraphs(path, paragraphs), notes=encoding_notes(path, encoding))
    return apply_meta(f"`{path.name}`: ", draft, front)


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    lines = text.lstrip("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return _parse_front_matter(lines[1:end]), "\n".join(lines[end + 1 :])
    raise IngestError(f"`{path.name}`: front matter has no closing '---' line; add one")


def _parse_front_matter(lines: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    key = ""
    for line in lines:
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and key:
            meta.setdefault(key, []).append(_unquote(item.group(1)))
        elif ":" in line:
            key, value = (part.strip() for part in line.split(":", 1))
            key = key.lower()
            if value:
                meta[key] = _unquote(value)
    return meta


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'" else value


def _strip_markdown(text: str) -> str:
    text = re.sub(r"(?m)^#{1,6}\s+", "", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"(\*\*|__|(?<!\w)[*_](?=\S))", "", text)


def draft_from_paragraphs(path: Path, paragraphs: list[str]) -> Draft:
    """Title (first line), optional subtitle and body paragraphs; an error if any is missing."""
    if not paragraphs:
        raise IngestError(f"`{path.name}`: no text found; add the release text")
    title, *rest = paragraphs[0].split("\n")
    body = (["\n".join(rest)] if rest else []) + paragraphs[1:]
    subtitle = ""
    if body and _looks_like_subtitle(body[0]):
        subtitle, body = body[0], body[1:]
    if not body:
        raise IngestError(f"`{path.name}`: no body text after the title; add the release text")
    return Draft(title=title, subtitle=subtitle, paragraphs=tuple(body))


def _looks_like_subtitle(paragraph: str) -> bool:
    single_line = "\n" not in paragraph and len(paragraph.split()) < 25
    return single_line and not paragraph.endswith(".") and not _DATELINE.match(paragraph)


_HTML_DROP = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript")


def _read_html(path: Path, data: bytes, limits: Limits) -> Draft:
    # lxml rather than BeautifulSoup: a 20 MB page of small tags took 650 MB and 14 s
    # as a soup, under 200 MB and 2 s as an lxml tree
    import lxml.html
    from lxml import etree

    label = f"`{path.name}`: "
    text, encoding = decode(path, data)  # same encoding rules as plain text
    parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except etree.ParserError:
        root = None
    if root is None:
        raise IngestError(f"{label}no text in the page; save the article page itself")
    title, date = _html_title(root), _html_date(root)
    etree.strip_elements(root, etree.Comment, etree.PI, *_HTML_DROP, with_tail=False)
    container = _html_first(root, "article", "main", "body", "html")
    blocks = [_html_text(el, " ") for el in container.iter("p", "li", "h2", "h3")]
    check_text(label, "\n\n".join(blocks), limits)
    paragraphs = [p for block in blocks for p in split_paragraphs(block) if p != title]
    if not paragraphs:
        whole = "\n\n".join(container.itertext())
        paragraphs = split_paragraphs(check_text(label, whole, limits))
    if not paragraphs:
        raise IngestError(f"{label}no text in the page; save the article page itself")
    notes = encoding_notes(path, encoding)
    if not title:
        return replace(draft_from_paragraphs(path, paragraphs), date=date, notes=notes)
    return Draft(title=title, paragraphs=tuple(paragraphs), date=date, notes=notes)


def _html_text(element: Any, separator: str) -> str:
    """The element's text pieces, each stripped, joined by separator (empty ones dropped)."""
    return separator.join(piece.strip() for piece in element.itertext() if piece.strip())


def _html_first(root: Any, *tags: str) -> Any:
    """The first element of the first of tags present (tags in order of preference)."""
    found = (root.find(f".//{tag}") for tag in tags)
    return next((element for element in found if element is not None), None)


def _html_title(root: Any) -> str:
    og = root.find(".//meta[@property='og:title']")
    heading = _html_first(root, "h1", "title")
    text = _html_text(heading, " ") if heading is not None else ""
    return normalize((og.get("content") if og is not None else "") or text).strip()


def _html_date(root: Any) -> dt.date | None:
    meta = root.find(".//meta[@property='article:published_time']")
    time = root.find(".//time[@datetime]")
    value = (meta.get("content") if meta is not None else "") or ""
    return parse_date(value or (time.get("datetime") if time is not None else ""))


def _read_pdf(path: Path, data: bytes, limits: Limits) -> Draft:
    from pypdf import PdfReader, apply_configuration, get_configuration
    from pypdf.errors import LimitReachedError

    label = f"`{path.name}`: "
    cap = limits.unpacked_bytes  # pypdf checks each stream it inflates against these
    names = ("zlib", "lzw", "run_length", "brotli", "jbig2", "array_based_stream")
    caps = {f"{name}_maximum_output_length": cap for name in names}
    config = get_configuration().with_overwrites(**caps, image_maximum_buffer_size=cap)
    try:
        with apply_configuration(config):
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise IngestError(f"{label}password-protected PDF; save an unprotected copy")
            text = "\n".join(_pdf_pages(label, reader, limits))
    except LimitReachedError:
        raise over_limit(label, "a compressed stream", f"{format_size(cap)} unpacked-size",
                         "MAX_UNPACKED_MB") from None
    except IngestError:
        raise
    except Exception as error:  # pypdf raises many types for damaged files
        raise IngestError(f"{label}corrupt PDF ({error}); re-export it") from error
    if not text.strip():
        raise IngestError(f"{label}no text layer (scanned image?); run OCR or export it with text")
    return draft_from_paragraphs(path, _pdf_paragraphs(text))


def _pdf_pages(label: str, reader: Any, limits: Limits) -> Iterator[str]:
    """The text of each page, stopping with an error once the text limit is passed."""
    size = 0
    for page in reader.pages:
        text = page.extract_text() or ""
        size += len(text) + 1
        if size > limits.text_chars:
            raise over_limit(label, "the text", f"{limits.text_chars:,}-character text",
                             "MAX_TEXT_CHARS")
        yield text


def _pdf_paragraphs(text: str) -> list[str]:
    """Rebuild paragraphs from PDF lines: a break after a blank line, a short line, or a
    line that ends a sentence when the next one starts with a capital."""
    lines = [line.strip() for line in normalize(text).split("\n")]
    longest = max(len(line) for line in lines)
    paragraphs: list[str] = []
    parts: list[str] = []  # joined once per paragraph: appending to a str is quadratic
    for line, following in zip(lines, lines[1:] + [""], strict=True):
        if line and parts and parts[-1].endswith("-") and line[:1].islower():
            parts[-1] = parts[-1][:-1]  # a word hyphenated across lines
            parts.append(line)
        elif line:
            parts.extend([" ", line] if parts else [line])
        ends = line[-1:] in '.!?:"' and following[:1].isupper()
        if parts and (not line or not following or ends or len(line) < 0.7 * longest):
            paragraphs.append("".join(parts).strip())
            parts = []
    return [p for block in paragraphs for p in split_paragraphs(block)]


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# run content -> its text, as python-docx's Run.text reads it (w:br is read from its type)
_RUN_TEXT = {_W + "t": "", _W + "tab": "\t", _W + "ptab": "\t", _W + "cr": "\n"}
_RUN_TEXT |= {_W + "br": "\n", _W + "noBreakHyphen": "-"}
# no entity expansion (billion laughs), no network, libxml2's default size caps
_XML_SAFE: dict[str, Any] = {"resolve_entities": False, "no_network": True, "huge_tree": False}


def _read_docx(path: Path, data: bytes, limits: Limits) -> Draft:
    label = f"`{path.name}`: "
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            part = _main_part(archive)
            with _open_part(label, archive, part, limits) as stream:
                paragraphs = list(_docx_paragraphs(label, stream, limits))
    except IngestError:
        raise
    except Exception as error:  # zipfile, zlib and lxml each raise their own types
        raise IngestError(f"{label}corrupt DOCX; open it in Word and save again") from error
    return draft_from_paragraphs(path, split_paragraphs("\n\n".join(paragraphs)))


def _main_part(archive: zipfile.ZipFile) -> str:
    """The document part named by the package relationships (usually word/document.xml)."""
    from lxml import etree

    if archive.getinfo("_rels/.rels").file_size > MB:
        raise ValueError("oversized _rels/.rels")
    rels = etree.fromstring(archive.read("_rels/.rels"), etree.XMLParser(**_XML_SAFE))
    for rel in rels.iter(_RELATIONSHIP):
        if rel.get("Type", "").endswith("/officeDocument"):
            return str(rel.get("Target", "")).lstrip("/")
    raise KeyError("no officeDocument relationship")


def _open_part(label: str, archive: zipfile.ZipFile, name: str, limits: Limits) -> _CappedPart:
    """A stream of one part that refuses to unpack more than the limit, declared or actual."""
    declared = archive.getinfo(name).file_size
    if declared > limits.unpacked_bytes:
        raise _unpacked_error(label, name, f" ({format_size(declared)})", limits)
    return _CappedPart(archive.open(name), label, name, limits)


def _unpacked_error(label: str, name: str, size: str, limits: Limits) -> IngestError:
    limit = f"{format_size(limits.unpacked_bytes)} unpacked-size"
    return over_limit(label, f"{name} unpacked{size}", limit, "MAX_UNPACKED_MB")


class _CappedPart:
    """Reads a zip member, counting the bytes inflated, and fails past the limit.

    zipfile already stops at the member's declared size; counting here bounds the part
    whatever its header says.
    """

    def __init__(self, raw: IO[bytes], label: str, name: str, limits: Limits) -> None:
        self.raw, self.label, self.name, self.limits, self.total = raw, label, name, limits, 0

    def read(self, size: int = -1) -> bytes:
        """Up to size bytes (64 KiB at most: never one unbounded read)."""
        data = self.raw.read(size if 0 < size <= 2**16 else 2**16)
        self.total += len(data)
        if self.total > self.limits.unpacked_bytes:
            raise _unpacked_error(self.label, self.name, "", self.limits)
        return data

    def __enter__(self) -> _CappedPart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


def _docx_paragraphs(label: str, stream: _CappedPart, limits: Limits) -> Iterator[str]:
    """The text of the body's paragraphs, as python-docx reads them, parsed as a stream:
    each element is dropped once read, so memory stays flat whatever the XML holds."""
    from lxml import etree

    parts: list[str] = []
    size = 0
    for _, element in etree.iterparse(stream, events=("end",), **_XML_SAFE):
        if element.tag in _RUN_TEXT and _in_body_run(element):
            parts.append(_run_text(element))
        elif element.tag == _W + "p" and _parent_tag(element) == _W + "body" and parts:
            size += sum(map(len, parts)) + 2
            if size > limits.text_chars:
                raise over_limit(label, "the text", f"{limits.text_chars:,}-character text",
                                 "MAX_TEXT_CHARS")
            yield "".join(parts)
            parts = []
        element.clear(keep_tail=True)
        while element.getprevious() is not None:  # drop what was read before this element
            del element.getparent()[0]


def _run_text(element: Any) -> str:
    if element.tag == _W + "t":
        return str(element.text or "")
    if element.tag == _W + "br" and element.get(_W + "type", "textWrapping") != "textWrapping":
        return ""  # page and column breaks
    return _RUN_TEXT[element.tag]


def _in_body_run(element: Any) -> bool:
    """Run content of a body paragraph (directly or in a hyperlink), not of a table or box."""
    run = element.getparent()
    if run is None or run.tag != _W + "r":
        return False
    paragraph = run.getparent()
    if _parent_tag(run) == _W + "hyperlink":
        paragraph = paragraph.getparent()
    return _parent_tag(paragraph) == _W + "body" and paragraph.tag == _W + "p"


def _parent_tag(element: Any) -> str:
    parent = element.getparent() if element is not None else None
    return str(parent.tag) if parent is not None else ""


READERS = {".txt": read_text, ".md": read_text, ".html": _read_html, ".htm": _read_html}
READERS |= {".pdf": _read_pdf, ".docx": _read_docx}


def apply_meta(label: str, draft: Draft, meta: dict[str, Any]) -> Draft:
    """Metadata values (front matter, sidecar) override what was extracted."""
    changes: dict[str, Any] = {
        key: normalize(str(meta[key])).strip()
        for key in ("title", "subtitle", "url", "source")
        if meta.get(key)
    }
    if meta.get("date"):
        changes["date"] = parse_date(str(meta["date"]))
        if changes["date"] is None:
            raise IngestError(f"{label}date {meta['date']!r} is not a date; use YYYY-MM-DD")
    if meta.get("people"):
        changes["people"] = parse_people(meta["people"])
    return replace(draft, **changes)


def parse_people(value: Any) -> tuple[Person, ...]:
    """People given as metadata: "Name | Role" strings or {"name", "role"} objects."""
    items = value if isinstance(value, list) else [value]
    people = []
    for item in items:
        if isinstance(item, dict):
            name, role = str(item.get("name", "")), str(item.get("role", ""))
        else:
            name, _, role = str(item).partition("|")
        if name.strip():
            people.append(Person(normalize(name).strip(), normalize(role).strip()))
    return tuple(people)
