"""The Releases tab's event handlers: upload and index files (uploads.py), list and search
the indexed releases, and delete one after a confirmation."""

# No `from __future__ import annotations`: Gradio reads the handlers' type hints at runtime.

from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AssistantError
from assistant.pipeline import Assistant
from assistant.types import IndexedRelease
from assistant.web.admission import shown_file
from assistant.web.i18n import t
from assistant.web.render import escape
from assistant.web.uploads import Upload, delete_release, ingest_uploads

COLUMNS = ("col_title", "col_date", "col_chunks", "col_source", "col_file", "col_id")
FILE_COLUMNS = ("col_file", "col_status", "col_reason")


class ReleaseHandlers:
    """Upload, list, search and delete releases; refreshes the chat's source filter."""

    def __init__(self, assistant: Assistant,
                 received: Callable[[], Collection[Path]] | None = None) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.received = received  # files Gradio took in through its upload route

    def release_rows(self, query: str = "") -> list[list[Any]]:
        """The indexed releases matching query: title, date, chunks, source, file, id."""
        needle = (query or "").strip().lower()
        return [self._row(r) for r in self.assistant.index.releases()
                if not needle or needle in f"{r.title} {r.source} {r.file} {r.id}".lower()]

    @staticmethod
    def _row(r: IndexedRelease) -> list[Any]:
        date = r.date.isoformat() if r.date else ""
        return [r.title, date, r.n_chunks, r.source, shown_file(r.file), r.id]

    def table(self, query: str, lang: str) -> dict[str, Any]:
        """The releases table (headers in lang)."""
        return {"headers": [t(lang, k) for k in COLUMNS], "data": self.release_rows(query)}

    def source_choices(self) -> dict[str, Any]:
        """The source filter's choices: every publisher in the index."""
        sources = {r.source for r in self.assistant.index.releases() if r.source}
        return gr.update(choices=sorted(sources))

    def upload(self, files: list[str] | None, lang: str, query: str,
               progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        """Index the uploaded files (uploads.py), report per file, refresh the lists."""
        if not files:
            raise gr.Error(t(lang, "no_files"))
        if len(files) > self.settings.upload_max_files:
            raise gr.Error(t(lang, "too_many", n=len(files), max=self.settings.upload_max_files))
        received = {Path(p).resolve() for p in self.received()} if self.received else None
        progress(0, desc=t(lang, "progress"))
        try:
            result = ingest_uploads(self.assistant.index,
                                    [Upload(Path(f), Path(f).name) for f in files], received,
                                    lambda done, total: progress(done / max(total, 1),
                                                                 desc=t(lang, "progress")))
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc
        rows = [[r.file, t(lang, f"status_{r.status}"), r.reason] for r in result.files]
        counts = Counter(r.status for r in result.files)
        summary = t(lang, "summary", **{s: counts[s] for s in
                                        ("added", "updated", "unchanged", "failed")})
        table = {"headers": [t(lang, k) for k in FILE_COLUMNS], "data": rows}
        return (gr.update(value=table, visible=True), self.table(query, lang),
                self.source_choices(), summary)

    def select(self, evt: gr.SelectData) -> tuple[str, str]:
        """Remember the release of the clicked table row."""
        row = evt.row_value or []
        if len(row) < len(COLUMNS):
            return "", ""
        return str(row[-1]), f"{row[0]} ({row[-1]})"

    def confirm(self, release_id: str, lang: str) -> tuple[Any, ...]:
        """Ask before deleting: the selected release's title and what deleting does."""
        record = self.assistant.index.catalog.get(release_id or "")
        if record is None:
            raise gr.Error(t(lang, "select_first"))
        return gr.update(visible=True), t(lang, "confirm_delete", title=escape(record.title))

    def delete(self, release_id: str, query: str, lang: str) -> tuple[Any, ...]:
        """Delete the confirmed release (and its uploaded file, so it does not come back)."""
        record = self.assistant.index.catalog.get(release_id or "")
        if record is None:
            raise gr.Error(t(lang, "select_first"))
        try:
            delete_release(self.assistant.index, release_id)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc
        return ("", "", gr.update(visible=False), self.table(query, lang),
                self.source_choices(), t(lang, "deleted", title=escape(record.title)))
