"""Gradio web chat over the assistant, plus the /ask (JSON) and /chat (markdown) API endpoints."""

# No `from __future__ import annotations`: gr.api reads the handlers' type hints at runtime.

import datetime as dt
import html
import os
import re
from collections.abc import Sequence
from typing import Any, Protocol

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from assistant.answer import to_json  # noqa: E402
from assistant.errors import AssistantError  # noqa: E402
from assistant.types import Answer, Citation, IndexedRelease  # noqa: E402

# every event shares one queue (default limit 1): the assistant (Chroma, sqlite cache) is not
# safe to call from several threads at once
ONE_AT_A_TIME = "assistant"
TITLE = "Asisten Siaran Pers Kemenko PMK"
EMPTY_INDEX = (
    "Belum ada siaran pers di indeks. Untuk menambahkannya, letakkan berkas siaran pers "
    "(.txt, .md, .html, .pdf, .docx atau .jsonl) di folder `corpus/`, lalu jalankan "
    "`assistant ingest corpus/` (atau `make run`) dan kirim pertanyaan lagi."
)
# markdown syntax anywhere in a line, and at its start; `<` `>` `&` are left to html.escape
_INLINE = re.compile(r"([\\`*_\[\]|~$])")
_BLOCK_MARK = re.compile(r"^([#+-])")  # heading or bullet
_ORDERED_MARK = re.compile(r"^(\d+)([.)])")  # "2023. ..." would start a numbered list
_MARKER = re.compile(r"\\\[(\d+)\\\](?!:)")  # an escaped [n] marker, not a link definition


def escape(text: str) -> str:
    """Release text made inert for the chat's markdown: no HTML, no markup, one line."""
    text = _INLINE.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))
    return _ORDERED_MARK.sub(r"\1\\\2", _BLOCK_MARK.sub(r"\\\1", text))


def render_citation(citation: Citation) -> str:
    """One item of the sources list: bold title, date, source, and the quote in a blockquote."""
    date = citation.date.isoformat() if citation.date else "tanpa tanggal"
    return (f"{citation.n}. **{escape(citation.title)}** · {date} · {escape(citation.source)}"
            f"\n\n   > {escape(citation.quote)}")


def render_answer(answer: Answer) -> str:
    """The answer text with its [n] markers, then the numbered "Sumber" list."""
    text = _MARKER.sub(r"[\1]", escape(answer.text))
    if not answer.citations:
        return text
    sources = "\n\n".join(render_citation(c) for c in answer.citations)
    return f"{text}\n\n**Sumber**\n\n{sources}"


class QuestionAnswerer(Protocol):
    """What the UI needs of pipeline.Assistant (tests may pass a small fake)."""

    def ask(self, question: str, k: int | None = None, since: dt.date | None = None,
            until: dt.date | None = None) -> Answer:
        """Answer a question from the indexed releases."""
        ...

    def releases(self) -> Sequence[IndexedRelease]:
        """The indexed releases."""
        ...


def _parse_date(value: str | None, name: str) -> dt.date | None:
    if not value or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise gr.Error(f"{name} {value!r} bukan tanggal; gunakan format YYYY-MM-DD") from exc


class _Handlers:
    """The app's event handlers, bound to one assistant; AssistantError becomes gr.Error."""

    def __init__(self, assistant: QuestionAnswerer) -> None:
        self.assistant = assistant

    def _has_releases(self) -> bool:
        try:
            return bool(self.assistant.releases())
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def _ask(self, question: str, since: str | None, until: str | None) -> Answer:
        if not question or not question.strip():
            raise gr.Error("Tulis pertanyaan terlebih dahulu.")
        start, end = _parse_date(since, "since"), _parse_date(until, "until")
        try:
            return self.assistant.ask(question.strip(), since=start, until=end)
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
        return render_answer(self._ask(question, since, until))

    def respond(self, question: str, history: list[dict[str, Any]], since: str,
                until: str) -> tuple[list[dict[str, Any]], str]:
        """Append the question and its answer to the chat and clear the textbox."""
        if not question or not question.strip():
            return history, question
        reply = self.chat(question, since, until)
        history = [*history, {"role": "user", "content": question},
                   {"role": "assistant", "content": reply}]
        return history, ""


def create_app(assistant: QuestionAnswerer) -> gr.Blocks:
    """The chat page and the /ask and /chat API endpoints over one assistant."""
    handlers = _Handlers(assistant)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n\nJawaban dikutip dari siaran pers; setiap kalimat "
                    "diberi nomor sumber [n].")
        chatbot = gr.Chatbot(label="Percakapan", height=520, feedback_options=None,
                             latex_delimiters=[])
        with gr.Row():
            question = gr.Textbox(placeholder="Tulis pertanyaan…", show_label=False, scale=5,
                                  autofocus=True)
            send = gr.Button("Kirim", variant="primary", scale=1)
        with gr.Accordion("Saring tanggal", open=False), gr.Row():
            since = gr.Textbox(label="Sejak (YYYY-MM-DD)")
            until = gr.Textbox(label="Sampai (YYYY-MM-DD)")
        inputs = [question, chatbot, since, until]
        for trigger in (question.submit, send.click):
            trigger(handlers.respond, inputs, [chatbot, question], api_visibility="private",
                    concurrency_id=ONE_AT_A_TIME)
        gr.api(handlers.ask, api_name="ask", concurrency_id=ONE_AT_A_TIME)
        gr.api(handlers.chat, api_name="chat", concurrency_id=ONE_AT_A_TIME)
    return app


def launch(assistant: QuestionAnswerer, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the chat on host:port until interrupted (no share link, no analytics)."""
    create_app(assistant).launch(server_name=host, server_port=port, share=False)
