"""Readers for each release format: bytes -> Draft (title, subtitle, paragraphs, metadata).

Metadata given explicitly (front matter, sidecar, jsonl fields) overrides what a reader
extracted; see corpus/README.md for the accepted forms.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.errors import IngestError
from assistant.text import normalize, parse_date, split_paragraphs
from assistant.types import Person

_DATELINE = re.compile(r"^[A-Z][A-Z .,/()]{1,40} - ")


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


def decode(path: Path, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise IngestError(f"`{path.name}`: binary file, not text; export it as .txt, .pdf or .docx")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError(f"`{path.name}`: not UTF-8 text; save it as UTF-8") from None


def read_text(path: Path, data: bytes) -> Draft:
    text = decode(path, data)
    front, text = _split_front_matter(path, text)
    if path.suffix.lower() == ".md":
        text = _strip_markdown(text)
    paragraphs = split_paragraphs(text)
    title = normalize(front.get("title", "")).strip()
    if title and paragraphs and paragraphs[0].split("\n")[0] != title:
        paragraphs.insert(0, title)  # the front matter title stands in for a title line
    return apply_meta(f"`{path.name}`: ", draft_from_paragraphs(path, paragraphs), front)


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


def _read_html(path: Path, data: bytes) -> Draft:
    from bs4 import BeautifulSoup

    decode(path, data)  # same encoding rules as plain text
    soup = BeautifulSoup(data, "lxml")
    title = _html_title(soup)
    date = _html_date(soup)
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form", "noscript"]):
        tag.decompose()
    container = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = [el.get_text(" ", strip=True) for el in container.find_all(["p", "li", "h2", "h3"])]
    paragraphs = [p for block in blocks for p in split_paragraphs(block) if p != title]
    if not paragraphs:
        paragraphs = split_paragraphs(container.get_text("\n\n"))
    if not paragraphs:
        raise IngestError(f"`{path.name}`: no text in the page; save the article page itself")
    if not title:
        return replace(draft_from_paragraphs(path, paragraphs), date=date)
    return Draft(title=title, paragraphs=tuple(paragraphs), date=date)


def _html_title(soup: Any) -> str:
    og = soup.find("meta", attrs={"property": "og:title"})
    heading = soup.find("h1") or soup.find("title")
    text = heading.get_text(" ", strip=True) if heading else ""
    return normalize((og.get("content") if og else "") or text).strip()


def _html_date(soup: Any) -> dt.date | None:
    meta = soup.find("meta", attrs={"property": "article:published_time"})
    time = soup.find("time", attrs={"datetime": True})
    value = (meta.get("content") if meta else "") or (time.get("datetime") if time else "")
    return parse_date(value)


def _read_pdf(path: Path, data: bytes) -> Draft:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"`{path.name}`: password-protected PDF; save an unprotected copy")
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except IngestError:
        raise
    except Exception as error:  # pypdf raises many types for damaged files
        raise IngestError(f"`{path.name}`: corrupt PDF ({error}); re-export it") from error
    if not text.strip():
        raise IngestError(
            f"`{path.name}`: no text layer (scanned image?); run OCR or export it with text"
        )
    return draft_from_paragraphs(path, _pdf_paragraphs(text))


def _pdf_paragraphs(text: str) -> list[str]:
    """Rebuild paragraphs from PDF lines: a break after a blank line, a short line, or a
    line that ends a sentence when the next one starts with a capital."""
    lines = [line.strip() for line in normalize(text).split("\n")]
    longest = max(len(line) for line in lines)
    paragraphs: list[str] = []
    current = ""
    for line, following in zip(lines, lines[1:] + [""], strict=True):
        if line:
            joiner = "" if current.endswith("-") and line[:1].islower() else " "
            current = (current[:-1] if joiner == "" else current + joiner) + line
            current = current.strip()
        ends = line[-1:] in '.!?:"' and following[:1].isupper()
        if current and (not line or not following or ends or len(line) < 0.7 * longest):
            paragraphs.append(current)
            current = ""
    return [p for block in paragraphs for p in split_paragraphs(block)]


def _read_docx(path: Path, data: bytes) -> Draft:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # zipfile, lxml and python-docx each raise their own types
        raise IngestError(f"`{path.name}`: corrupt DOCX; open it in Word and save again") from error
    text = "\n\n".join(paragraph.text for paragraph in document.paragraphs)
    return draft_from_paragraphs(path, split_paragraphs(text))


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
