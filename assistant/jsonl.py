"""The one JSONL reader: numbered lines and records, errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line; an unreadable file is an AssistantError."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AssistantError(f"{path}: cannot read it as UTF-8 JSONL ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def parse_line(line: str) -> Any:
    """One JSON value; ValueError says what is wrong and where in the line."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None


def records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line; a bad line names the file and line."""
    for number, line in numbered_lines(path):
        try:
            yield number, parse_line(line)
        except ValueError as exc:
            raise AssistantError(f"{Path(path).name} line {number}: {exc}; fix or remove "
                                 "the line") from None
