"""The web chat's event handlers, bound to one assistant; AssistantError becomes gr.Error.

Chat: a question streams into the chat as the answer stage yields it, then the evidence
panel shows the answer's sources. Releases tab: upload (uploads.py), list, search, delete.
"""

# No `from __future__ import annotations`: gr.api reads the handlers' type hints at runtime.

import datetime as dt
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AssistantError
from assistant.evaluation import feedback
from assistant.pipeline import Assistant
from assistant.schema import to_json
from assistant.text import parse_iso_date
from assistant.types import Answer
from assistant.web.i18n import t
from assistant.web.render import (
    EVIDENCE_TURNS,
    answer_markdown,
    conversation_markdown,
    escape,
    evidence_html,
    plain_text,
)
from assistant.web.uploads import Upload, delete_release, ingest_uploads

EMPTY_INDEX = (
    "Belum ada siaran pers di indeks. Untuk menambahkannya, buka tab **Siaran pers** dan "
    "unggah berkas (.txt, .md, .html, .pdf, .docx atau .jsonl), atau letakkan berkas di "
    "folder `corpus/` lalu jalankan `assistant ingest corpus/` (atau `make run`), dan kirim "
    "pertanyaan lagi."
)
HISTORY_TURNS = 3  # earlier questions a follow-up is read with


def _date(value: str | None, name: str) -> dt.date | None:
    try:
        return parse_iso_date(value)
    except ValueError as exc:
        raise gr.Error(f"{name}: {exc}") from exc


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request else None


class Handlers:
    """Every event of the page and the /ask and /chat endpoints of gradio_client."""

    def __init__(self, assistant: Assistant,
                 received: Callable[[], Collection[Path]] | None = None) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.received = received  # files Gradio took in through its upload route
        self.feedback_file = feedback.feedback_path(Path(self.settings.index_dir))

    # asking -------------------------------------------------------------------------------

    def _has_releases(self) -> bool:
        try:
            return bool(self.assistant.index.releases())
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def _stream(self, question: str, since: str | None, until: str | None,
                history: Sequence[str] = (), sources: Sequence[str] | None = None,
                ) -> Iterator[str | Answer]:
        start, end = _date(since, "since"), _date(until, "until")
        try:
            yield from self.assistant.ask_stream(question, since=start, until=end,
                                                 history=history, sources=sources or None)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def _ask(self, question: str, since: str | None, until: str | None) -> Answer:
        start, end = _date(since, "since"), _date(until, "until")
        try:
            return self.assistant.ask(question, since=start, until=end)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def ask(self, question: str, since: str = "", until: str = "") -> dict[str, Any]:
        """Answer a question (dates YYYY-MM-DD, optional); the `assistant ask --json` object."""
        if not self._has_releases():
            raise gr.Error(EMPTY_INDEX)
        return to_json(self._ask(question, since, until))

    def chat(self, question: str, since: str = "", until: str = "") -> str:
        """Answer a question as the chat shows it: markdown with the sources list."""
        if not self._has_releases():
            return EMPTY_INDEX
        return answer_markdown(to_json(self._ask(question, since, until)))

    def evidence(self, turns: Sequence[dict[str, Any]], lang: str) -> str:
        """The evidence panel for the conversation's answers (whole releases as stored)."""
        answers = [turn.get("answer") for turn in turns]
        cited = {c["release_id"] for a in answers[-EVIDENCE_TURNS:] if a for c in a["citations"]}
        stored = {rid: self.assistant.index.release(rid) for rid in cited}
        return evidence_html(answers, lang,
                             {rid: s.paragraphs for rid, s in stored.items() if s})

    def respond(self, question: str, messages: list[dict[str, Any]],
                turns: list[dict[str, Any]], lang: str, since: str, until: str,
                sources: list[str] | None) -> Iterator[tuple[Any, ...]]:
        """Append the question, stream its answer into the chat, then show the evidence."""
        if not question or not question.strip():
            yield messages, question, gr.skip(), turns
            return
        question = question.strip()
        messages = [*messages, {"role": "user", "content": question},
                    {"role": "assistant", "content": t(lang, "thinking")}]
        yield messages, "", gr.skip(), turns
        previous = [turn["question"] for turn in turns][-HISTORY_TURNS:]
        answer: dict[str, Any] | None = None
        reply = EMPTY_INDEX
        try:
            if self._has_releases():
                for partial in self._partials(question, since, until, previous, sources):
                    if isinstance(partial, Answer):
                        answer = to_json(partial)
                        reply = answer_markdown(answer, lang, quotes=False)
                    else:
                        live = {"role": "assistant", "content": escape(partial) + " …"}
                        yield [*messages[:-1], live], "", gr.skip(), turns
        except gr.Error as exc:
            reply = f"⚠️ {escape(str(exc.message))}"
        turns = [*turns, {"id": uuid.uuid4().hex[:12], "question": question, "answer": answer,
                          "history": previous}]
        messages = [*messages[:-1], {"role": "assistant", "content": reply}]
        yield messages, "", self.evidence(turns, lang), turns

    def _partials(self, question: str, since: str, until: str, previous: Sequence[str],
                  sources: Sequence[str] | None) -> Iterator[str | Answer]:
        """The answer text so far after each piece the answer stage yields, then the Answer."""
        text = ""
        for event in self._stream(question, since, until, previous, sources):
            if isinstance(event, Answer):
                yield event
                return
            text += event
            yield text

    def new_chat(self, lang: str) -> tuple[Any, ...]:
        """An empty conversation."""
        return [], [], evidence_html([], lang, {}), gr.update(value="", visible=False), \
            gr.update(value=None, visible=False), gr.update(visible=False)

    # briefing text, export, feedback ------------------------------------------------------

    def copy_text(self, turns: list[dict[str, Any]], lang: str) -> dict[str, Any]:
        """The latest answer with its sources as plain text."""
        answers = [turn["answer"] for turn in turns if turn.get("answer")]
        if not answers:
            raise gr.Error(t(lang, "no_answer"))
        return gr.update(value=plain_text(answers[-1], lang), visible=True)

    def export(self, turns: list[dict[str, Any]], messages: list[dict[str, Any]],
               lang: str) -> dict[str, Any]:
        """The conversation as a Markdown file to download."""
        replies = [m["content"] for m in messages if m["role"] == "assistant"]
        pairs = [(turn["question"], turn["answer"] or reply)
                 for turn, reply in zip(turns, replies, strict=False)]
        folder = Path(tempfile.mkdtemp(prefix="percakapan-"))
        path = folder / f"percakapan-{dt.datetime.now():%Y%m%d-%H%M}.md"
        path.write_text(conversation_markdown(pairs, lang), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    def like(self, turns: list[dict[str, Any]], lang: str, data: gr.LikeData,
             request: gr.Request) -> tuple[Any, ...]:
        """Record a thumbs up/down on an answer and offer a comment box."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = turns[index // 2] if 0 <= index // 2 < len(turns) else None
        if turn is None or turn.get("answer") is None or data.liked not in (True, False):
            return None, gr.update(visible=False), ""
        rating: feedback.Rating = "up" if data.liked else "down"
        feedback.record(self.feedback_file, turn["id"], rating, turn["answer"],
                        user=_user(request), history=turn["history"])
        return {"turn": index // 2, "rating": rating}, gr.update(visible=True), t(lang, "thanks")

    def comment(self, text: str, pending: dict[str, Any] | None, turns: list[dict[str, Any]],
                lang: str, request: gr.Request) -> tuple[Any, ...]:
        """Record the comment on the answer just rated."""
        if not pending or not text.strip():
            return pending, gr.update(), text, ""
        turn = turns[pending["turn"]]
        feedback.record(self.feedback_file, turn["id"], pending["rating"], turn["answer"],
                        comment=text, user=_user(request), history=turn["history"])
        return None, gr.update(visible=False), "", t(lang, "thanks_comment")

    # releases -----------------------------------------------------------------------------

    def release_rows(self, query: str = "") -> list[list[Any]]:
        """The indexed releases matching query (title, date, chunks, source, id)."""
        needle = (query or "").strip().lower()
        return [[r.title, r.date.isoformat() if r.date else "", r.n_chunks, r.source, r.id]
                for r in self.assistant.index.releases()
                if not needle or needle in f"{r.title} {r.source} {r.id}".lower()]

    def table(self, query: str, lang: str) -> dict[str, Any]:
        """The releases table (headers in lang)."""
        headers = [t(lang, k) for k in ("col_title", "col_date", "col_chunks", "col_source",
                                         "col_id")]
        return {"headers": headers, "data": self.release_rows(query)}

    def source_choices(self) -> dict[str, Any]:
        """The source filter's choices: every source in the index."""
        return gr.update(choices=sorted({r.source for r in self.assistant.index.releases()}))

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
        headers = [t(lang, k) for k in ("col_file", "col_status", "col_reason")]
        return ({"headers": headers, "data": rows}, self.table(query, lang),
                self.source_choices(), result.summary)

    def select(self, evt: gr.SelectData) -> tuple[str, str]:
        """Remember the release of the clicked table row."""
        row = evt.row_value or []
        if len(row) < 5:
            return "", ""
        return str(row[4]), f"{row[0]} ({row[4]})"

    def delete(self, release_id: str, query: str, lang: str) -> tuple[Any, ...]:
        """Delete the selected release (and its uploaded file, so it does not come back)."""
        record = self.assistant.index.state.catalog.get(release_id or "")
        if record is None:
            raise gr.Error(t(lang, "select_first"))
        try:
            delete_release(self.assistant.index, release_id)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc
        return ("", "", self.table(query, lang), self.source_choices(),
                t(lang, "deleted", title=escape(record.title)))


def example_text(evt: gr.SelectData) -> str:
    """The text of the clicked example question."""
    value = evt.value if isinstance(evt.value, dict) else {}
    return str(value.get("text", ""))
