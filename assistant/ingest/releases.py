"""Release files (txt, md, html, pdf, docx, jsonl) -> Release: metadata, people, paragraphs."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.ingest.chunk import chunk_release
from assistant.ingest.formats import (
    READERS,
    Draft,
    Limits,
    apply_meta,
    check_text,
    decode,
    encoding_notes,
    over_limit,
)
from assistant.ingest.meta import check_size, check_url, publisher, read_sidecar
from assistant.text import extract_people, find_date, normalize, parse_date, split_paragraphs
from assistant.types import Release

__all__ = ["SUPPORTED_SUFFIXES", "Limits", "LoadedFile", "discover", "load_file"]
__all__ += ["load_file_partial", "read_file", "source_for"]
__all__ += ["extract_people", "find_date", "parse_date"]  # re-exported from assistant.text

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".jsonl"})


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files named directly (whatever their suffix) and supported files found in folders."""
    found: list[Path] = []
    for path in map(Path, paths):
        found.extend(_walk(path) if path.is_dir() else [path])
    return list(dict.fromkeys(found))


def _walk(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and not path.name.upper().startswith("README")
    )


@dataclass(frozen=True)
class LoadedFile:
    """One file read: its key (source_for), good releases, one-line problems and notes.

    A file with problems failed (wholly, or some jsonl lines); notes are warnings only,
    such as the legacy encoding a file was read in.
    """

    file: str
    releases: tuple[Release, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def default_limits() -> Limits:
    """The limits of the environment's settings (ASSISTANT_MAX_*)."""
    return Limits.from_settings(Settings())


def load_file(path: Path, limits: Limits | None = None) -> list[Release]:
    """Read one file into releases; raise IngestError if nothing in it is usable."""
    releases, problems = load_file_partial(path, limits)
    if not releases:
        raise IngestError(problems[0] if problems else f"`{Path(path).name}`: no releases found")
    return releases


def load_file_partial(
    path: Path, limits: Limits | None = None
) -> tuple[list[Release], list[str]]:
    """Read one file: the good releases and one-line problems with the rest (jsonl lines)."""
    loaded = _load(Path(path), limits or default_limits())
    return list(loaded.releases), list(loaded.problems)


def read_file(path: Path, limits: Limits | None = None) -> LoadedFile:
    """Read one file, never raising IngestError: a file that cannot be read has one problem."""
    try:
        return _load(Path(path), limits or default_limits())
    except IngestError as error:
        return LoadedFile(source_for(path), problems=(str(error),))


def _load(path: Path, limits: Limits) -> LoadedFile:
    data = _read_bytes(path, limits)
    if path.suffix.lower() == ".jsonl":
        return _load_jsonl(path, data, limits)
    sidecar = read_sidecar(path, limits)
    label = f"`{path.name}`: "
    draft = apply_meta(label, READERS[path.suffix.lower()](path, data, limits), sidecar)
    release = _release(path, draft, limits, sidecar, label=label)
    _check_chunks(label, release, limits)
    return LoadedFile(source_for(path), (release,), notes=draft.notes)


def _read_bytes(path: Path, limits: Limits) -> bytes:
    """The file's bytes, read only once it is known to be supported and within the limit."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise IngestError(f"`{path.name}`: unsupported file type; convert it to one of {supported}")
    if not path.is_file():
        raise IngestError(f"`{path}`: file not found; check the path")
    check_size(path, path.stat().st_size, limits)
    with path.open("rb") as file:
        data = file.read(limits.file_bytes + 1)  # the file may have grown since stat
    check_size(path, len(data), limits)
    if not data.strip():
        raise IngestError(f"`{path.name}`: empty file; add the release text or remove the file")
    return data


def _check_chunks(label: str, release: Release, limits: Limits) -> None:
    """Refuse a release that would make more chunks than the limit (hours of embedding)."""
    count = len(chunk_release(release, limits.chunk_words, limits.chunk_max_paragraphs))
    if count > limits.release_chunks:
        limit = f"{limits.release_chunks:,}-chunk per-release"
        raise over_limit(label, f"{count:,} chunks", limit, "MAX_RELEASE_CHUNKS")


# --- metadata, ids and hashes -------------------------------------------------------------


def _release(path: Path, draft: Draft, limits: Limits, extra: Any = None,
             rid: str = "", label: str = "") -> Release:
    check_url(label, draft.url)
    source = publisher(draft.source, path, draft.url, limits)
    date = draft.date or find_date("\n".join(draft.paragraphs))
    people = draft.people or extract_people(draft.paragraphs)
    fields: list[Any] = [draft.title, draft.subtitle, str(date), draft.url, source]
    fields.append(draft.paragraphs)
    fields.append(extra)
    fields.append([[person.name, person.role] for person in people])
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return Release(
        id=rid or _short_hash(source_for(path)),
        title=draft.title,
        paragraphs=draft.paragraphs,
        source=source,
        content_hash=hashlib.sha256(payload.encode()).hexdigest(),
        subtitle=draft.subtitle,
        date=date,
        people=people,
        url=draft.url,
    )


def source_for(path: Path) -> str:
    """The file's key: its resolved absolute path (posix), the same from any working directory.

    Release ids hash this key and --sync compares it by prefix with the key of a folder
    (`root + "/"`), so one file is one release however it is reached (relative path,
    symlink, another cwd). The cost: moving or renaming the corpus folder changes every
    key, so the moved releases are indexed anew; re-ingest with --rebuild after a move.
    """
    return Path(path).resolve().as_posix()


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


# --- jsonl: one release per line -----------------------------------------------------------


def _load_jsonl(path: Path, data: bytes, limits: Limits) -> LoadedFile:
    releases, problems = [], []
    text, encoding = decode(path, data)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            releases.append(_jsonl_release(path, number, line, limits))
        except IngestError as error:
            problems.append(f"{path.name} line {number}: {error}")
    notes = encoding_notes(path, encoding)
    return LoadedFile(source_for(path), tuple(releases), tuple(problems), notes)


def _jsonl_release(path: Path, number: int, line: str, limits: Limits) -> Release:
    check_text("", line, limits)
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise IngestError(f"not valid JSON ({error.msg}); fix or remove the line") from None
    if not isinstance(record, dict):
        raise IngestError("not a JSON object; expected {'title', 'date', 'text'}")
    for key in ("title", "text"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise IngestError(f"missing {key!r}")
    paragraphs = tuple(split_paragraphs(record["text"]))
    if not paragraphs:
        raise IngestError("'text' has no body text")
    draft = Draft(title=normalize(record["title"]).strip(), paragraphs=paragraphs,
                  url=str(record.get("url") or "").strip())
    meta = {key: record.get(key) for key in ("subtitle", "date", "source", "people")}
    draft = apply_meta("", draft, meta)
    rid = re.sub(r"[^A-Za-z0-9_.-]", "_", str(record.get("id") or ""))
    release = _release(path, draft, limits,
                       rid=rid or _short_hash(f"{source_for(path)}#{number}"))
    _check_chunks("", release, limits)
    return release
