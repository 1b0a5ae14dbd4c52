"""Metadata files beside releases: a file's `<file>.meta.json` sidecar, and a folder's
`.meta.json` naming the publisher of every release beneath it.

A release's `source` is its publisher, never its file: given in the release itself (front
matter, sidecar, a JSONL record's `source`), else by the nearest folder `.meta.json` above
the file (`{"source": "Kemenko PMK"}`), else the host of the release's url, else unknown
(""). The file stays on the index record (`file`) for administrators.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import IngestError
from assistant.ingest.formats import Limits, format_size, over_limit

META_KEYS = ("title", "subtitle", "date", "url", "source", "people")
FOLDER_META = ".meta.json"  # a folder's defaults; hidden, so never read as a release
FOLDER_KEYS = ("source",)  # what a whole folder can share (a title or date cannot)


def check_size(path: Path, size: int, limits: Limits) -> None:
    """Refuse a file bigger than the per-file limit."""
    if size > limits.file_bytes:
        limit = f"{format_size(limits.file_bytes)} file"
        raise over_limit(f"`{path.name}`: ", format_size(size), limit, "MAX_FILE_MB")


def read_sidecar(path: Path, limits: Limits) -> dict[str, Any]:
    """The metadata of `<path>.meta.json` (keys lower-cased), or {} when there is none."""
    sidecar = path.with_name(path.name + ".meta.json")
    return _read_object(sidecar, limits, META_KEYS) if sidecar.is_file() else {}


def folder_source(path: Path, limits: Limits) -> str:
    """The publisher named by the nearest folder `.meta.json` above path ("" when none)."""
    for folder in Path(path).resolve().parents:
        meta = folder / FOLDER_META
        if meta.is_file():
            values = _read_object(meta, limits, FOLDER_KEYS)
            unknown = sorted(set(values) - set(FOLDER_KEYS))
            if unknown:
                raise IngestError(
                    f"`{meta}`: a folder's {FOLDER_META} sets only {list(FOLDER_KEYS)}, not "
                    f"{unknown}; put those in each file's front matter or `<file>.meta.json`")
            return " ".join(str(values.get("source") or "").split())
    return ""


def check_url(label: str, url: str) -> str:
    """url when it is empty or an http(s) address; anything else (`javascript:`, `data:`,
    `file:`, a bare path) is refused, because citations show it as a link."""
    try:
        parts = urlsplit(url)
        if not url or (parts.scheme.lower() in ("http", "https") and parts.hostname):
            return url
    except ValueError:
        pass
    raise IngestError(f"{label}url {url[:80]!r} is not an http(s) address; give the "
                      "release's web address (https://...) or leave url out")


def publisher(given: str, path: Path, url: str, limits: Limits) -> str:
    """A release's source: as given, else its folder's default, else its url's host."""
    if given:
        return given
    host = (urlsplit(url).hostname or "") if url else ""
    return folder_source(path, limits) or host.removeprefix("www.")


def _read_object(path: Path, limits: Limits, keys: tuple[str, ...]) -> dict[str, Any]:
    check_size(path, path.stat().st_size, limits)
    try:
        meta = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IngestError(f"`{path.name}`: invalid JSON ({error}); fix or delete it") from None
    if not isinstance(meta, dict):
        raise IngestError(f"`{path.name}`: must be a JSON object with keys {keys}")
    return {str(key).lower(): value for key, value in meta.items()}
