"""The staff web chat (Gradio Blocks) mounted on the REST API's FastAPI app, served by uvicorn.

Tab "Tanya": answers stream into the chat; the evidence panel beside it shows the numbered
sources of the latest answer (the quoted sentence highlighted in its passage, the whole
release behind a disclosure); clicking or hovering `[n]` brings up that source. Filters
(dates, sources), example questions, copy-as-plain-text, Markdown export, thumbs up/down
with a comment (index/feedback.jsonl). Tab "Siaran pers": upload and index files, list,
search and delete releases. Labels are Indonesian by default, English selectable.
The /ask and /chat endpoints for gradio_client stay as before.
"""

# No `from __future__ import annotations`: gr.api reads the handlers' type hints at runtime.

import datetime as dt
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from assistant import feedback  # noqa: E402
from assistant.answer import to_json  # noqa: E402
from assistant.auth import Users  # noqa: E402
from assistant.errors import AssistantError  # noqa: E402
from assistant.i18n import DEFAULT, EXAMPLES, LANGUAGES, t  # noqa: E402
from assistant.pipeline import Assistant, IngestReport  # noqa: E402
from assistant.render import (  # noqa: E402, F401  (render_* are re-exported for callers)
    EVIDENCE_TURNS,
    answer_markdown,
    conversation_markdown,
    escape,
    evidence_html,
    plain_text,
    render_answer,
    render_citation,
)
from assistant.types import Answer  # noqa: E402

TITLE = t(DEFAULT, "title")
ASK, WRITE = "ask", "write"  # concurrency groups: questions run side by side, writes one by one
ASK_CONCURRENCY = 8
STREAM_WORDS, STREAM_DELAY = 4, 0.03  # the answer streams in a few words at a time
EMPTY_INDEX = (
    "Belum ada siaran pers di indeks. Untuk menambahkannya, buka tab **Siaran pers** dan "
    "unggah berkas (.txt, .md, .html, .pdf, .docx atau .jsonl), atau letakkan berkas di "
    "folder `corpus/` lalu jalankan `assistant ingest corpus/` (atau `make run`), dan kirim "
    "pertanyaan lagi."
)
_UNSAFE_NAME = re.compile(r"[^\w.-]+")
HERE = Path(__file__).parent
CSS = (HERE / "ui.css").read_text(encoding="utf-8")
JS = (HERE / "ui.js").read_text(encoding="utf-8")
# system fonts: the default theme would fetch Google Fonts, and the machines are offline
THEME = gr.themes.Soft(primary_hue="teal", font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
                       font_mono=["ui-monospace", "monospace"])


def _parse_date(value: str | None, name: str) -> dt.date | None:
    if not value or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise gr.Error(f"{name} {value!r} bukan tanggal; gunakan format YYYY-MM-DD") from exc


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request else None


class _Handlers:
    """The app's event handlers, bound to one assistant; AssistantError becomes gr.Error."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.feedback_file = feedback.feedback_path(Path(self.settings.index_dir))

    # asking -------------------------------------------------------------------------------

    def _has_releases(self) -> bool:
        try:
            return bool(self.assistant.releases())
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def _ask(self, question: str, since: str | None, until: str | None,
             history: Sequence[str] = (), sources: Sequence[str] | None = None) -> Answer:
        if not question or not question.strip():
            raise gr.Error("Tulis pertanyaan terlebih dahulu.")
        start, end = _parse_date(since, "since"), _parse_date(until, "until")
        try:
            return self.assistant.ask(question.strip(), since=start, until=end,
                                      history=history, sources=sources or None)
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

    def evidence(self, turns: Sequence[dict[str, Any]], lang: str) -> str:
        """The evidence panel for the conversation's answers."""
        answers = [turn.get("answer") for turn in turns]
        cited = {c["release_id"] for a in answers[-EVIDENCE_TURNS:] if a for c in a["citations"]}
        return evidence_html(answers, lang,
                             {rid: self.assistant.release_paragraphs(rid) for rid in cited})

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
        previous = [turn["question"] for turn in turns][-3:]
        answer: dict[str, Any] | None = None
        try:
            if not self._has_releases():
                reply = EMPTY_INDEX
            else:
                answer = to_json(self._ask(question, since, until, previous, sources))
                reply = answer_markdown(answer, lang, quotes=False)
        except gr.Error as exc:
            reply = f"⚠️ {escape(str(exc.message))}"
        if answer is not None:
            yield from self._stream(messages, answer, turns)
        turns = [*turns, {"id": uuid.uuid4().hex[:12], "question": question, "answer": answer,
                          "history": previous}]
        messages = [*messages[:-1], {"role": "assistant", "content": reply}]
        yield messages, "", self.evidence(turns, lang), turns

    @staticmethod
    def _stream(messages: list[dict[str, Any]], answer: dict[str, Any],
                turns: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
        words = escape(answer["answer"]).replace("\\[", "[").replace("\\]", "]").split(" ")
        for end in range(STREAM_WORDS, len(words), STREAM_WORDS):
            partial = {"role": "assistant", "content": " ".join(words[:end]) + " …"}
            yield [*messages[:-1], partial], "", gr.skip(), turns
            time.sleep(STREAM_DELAY)

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
                for r in self.assistant.releases()
                if not needle or needle in f"{r.title} {r.source} {r.id}".lower()]

    def table(self, query: str, lang: str) -> dict[str, Any]:
        """The releases table (headers in lang)."""
        headers = [t(lang, k) for k in ("col_title", "col_date", "col_chunks", "col_source",
                                         "col_id")]
        return {"headers": headers, "data": self.release_rows(query)}

    def source_choices(self) -> dict[str, Any]:
        """The source filter's choices: every source in the index."""
        return gr.update(choices=sorted({r.source for r in self.assistant.releases()}))

    def upload(self, files: list[str] | None, lang: str, query: str,
               progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        """Copy the uploaded files into the upload folder, index them, report per file."""
        files = files or []
        limit_files, limit_mb = self.settings.upload_max_files, self.settings.upload_max_mb
        if not files:
            raise gr.Error(t(lang, "no_files"))
        if len(files) > limit_files:
            raise gr.Error(t(lang, "too_many", n=len(files), max=limit_files))
        rows, accepted = [], []
        folder = Path(self.settings.upload_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for upload in map(Path, files):
            size_mb = upload.stat().st_size / 2**20
            name = _UNSAFE_NAME.sub("_", upload.name).lstrip(".") or "berkas.txt"
            if size_mb > limit_mb:
                rows.append([name, t(lang, "status_failed"),
                             t(lang, "too_large", size=size_mb, max=limit_mb)])
                continue
            target = folder / name
            shutil.copyfile(upload, target)
            accepted.append(target)
        progress(0, desc=t(lang, "progress"))
        report = self._ingest(accepted, lambda done, total: progress(
            done / max(total, 1), desc=t(lang, "progress")))
        rows = [*_file_rows(report, accepted, lang), *rows]
        headers = [t(lang, k) for k in ("col_file", "col_status", "col_reason")]
        return ({"headers": headers, "data": rows}, self.table(query, lang),
                self.source_choices(), report.summary())

    def _ingest(self, paths: list[Path], progress: Any) -> IngestReport:
        if not paths:
            return IngestReport()
        try:
            return self.assistant.ingest(paths, progress=progress)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def select(self, evt: gr.SelectData) -> tuple[str, str]:
        """Remember the release of the clicked table row."""
        row = evt.row_value or []
        if len(row) < 5:
            return "", ""
        return str(row[4]), f"{row[0]} ({row[4]})"

    def delete(self, release_id: str, query: str, lang: str) -> tuple[Any, ...]:
        """Delete the selected release (and its uploaded file, so it does not come back)."""
        record = self.assistant.catalog().get(release_id or "")
        if record is None:
            raise gr.Error(t(lang, "select_first"))
        try:
            self.assistant.delete_release(release_id)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc
        _remove_upload(Path(self.settings.upload_dir), record.file,
                       [r.file for r in self.assistant.releases()])
        return ("", "", self.table(query, lang), self.source_choices(),
                t(lang, "deleted", title=escape(record.title)))


def _example_text(evt: gr.SelectData) -> str:
    """The text of the clicked example question."""
    value = evt.value if isinstance(evt.value, dict) else {}
    return str(value.get("text", ""))


def _file_rows(report: IngestReport, files: Sequence[Path], lang: str) -> list[list[str]]:
    """One row per uploaded file: its name, what happened and, for failures, why."""
    from assistant.ingest import source_for

    rows = []
    for path in files:
        status = report.files.get(source_for(path), "failed")
        reasons = [r for r in report.failed if r.startswith(f"`{path.name}`")]
        rows.append([path.name, t(lang, f"status_{status}"), "; ".join(reasons)])
    return rows


def _remove_upload(folder: Path, file: str, still_used: Sequence[str]) -> None:
    """Delete an uploaded file once no indexed release comes from it."""
    path = Path(file)
    if not file or file in still_used or not path.is_file():
        return
    if path.resolve().parent == folder.resolve():
        path.unlink()


def _labels(lang: str, limits: str) -> list[Any]:
    """Updates that put every labelled component in lang (order of create_app's `labelled`)."""
    return [
        f"# {t(lang, 'title')}\n\n{t(lang, 'intro')}",
        gr.update(label=t(lang, "tab_chat")), gr.update(label=t(lang, "tab_releases")),
        gr.update(label=t(lang, "chat"), examples=[{"text": q} for q in EXAMPLES[lang]]),
        gr.update(placeholder=t(lang, "placeholder")), gr.update(value=t(lang, "send")),
        gr.update(label=t(lang, "filters")), gr.update(label=t(lang, "since")),
        gr.update(label=t(lang, "until")), gr.update(label=t(lang, "sources")),
        gr.update(value=t(lang, "copy")), gr.update(value=t(lang, "export")),
        gr.update(value=t(lang, "new_chat")), gr.update(label=t(lang, "copy_text")),
        gr.update(label=t(lang, "export_file")), gr.update(label=t(lang, "comment")),
        gr.update(value=t(lang, "send_comment")), gr.update(label=t(lang, "upload")),
        gr.update(value=t(lang, "ingest")), gr.update(label=t(lang, "results")),
        gr.update(label=t(lang, "search")), gr.update(label=t(lang, "releases")),
        gr.update(label=t(lang, "selected")), gr.update(value=t(lang, "delete")),
        f"### {t(lang, 'evidence')}", gr.update(), limits,
    ]


def create_app(assistant: Assistant) -> gr.Blocks:
    """The chat page (tabs Tanya and Siaran pers) and the /ask and /chat API endpoints."""
    handlers = _Handlers(assistant)
    settings = assistant.settings
    lang0 = DEFAULT
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        lang = gr.State(lang0)
        turns = gr.State([])
        pending = gr.State(None)
        selected = gr.State("")
        with gr.Row(equal_height=False):
            header = gr.Markdown(f"# {t(lang0, 'title')}\n\n{t(lang0, 'intro')}")
            language = gr.Radio(list(LANGUAGES), value="Bahasa Indonesia",
                                container=False, scale=0, min_width=260,
                                elem_id="language")
        with gr.Tabs():
            with gr.Tab(t(lang0, "tab_chat"), id="chat") as tab_chat, gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label=t(lang0, "chat"), height=560, latex_delimiters=[],
                        feedback_options=("Like", "Dislike"), elem_id="chat",
                        examples=[{"text": q} for q in EXAMPLES[lang0]],
                        buttons=["copy", "copy_all"])
                    with gr.Row():
                        question = gr.Textbox(placeholder=t(lang0, "placeholder"),
                                              show_label=False, scale=5, autofocus=True,
                                              elem_id="question")
                        send = gr.Button(t(lang0, "send"), variant="primary", scale=1,
                                         elem_id="send")
                    with gr.Row(visible=False) as comment_row:
                        comment = gr.Textbox(label=t(lang0, "comment"), scale=5,
                                             elem_id="comment")
                        send_comment = gr.Button(t(lang0, "send_comment"), scale=1)
                    feedback_status = gr.Markdown(elem_id="feedback-status")
                    with gr.Accordion(t(lang0, "filters"), open=False) as filters:
                        with gr.Row():
                            since = gr.Textbox(label=t(lang0, "since"), elem_id="since")
                            until = gr.Textbox(label=t(lang0, "until"), elem_id="until")
                        sources = gr.Dropdown(label=t(lang0, "sources"), multiselect=True,
                                              choices=[], elem_id="sources")
                    with gr.Row():
                        copy = gr.Button(t(lang0, "copy"), size="sm", elem_id="copy")
                        export = gr.Button(t(lang0, "export"), size="sm", elem_id="export")
                        new_chat = gr.Button(t(lang0, "new_chat"), size="sm")
                    copy_text = gr.Textbox(label=t(lang0, "copy_text"), visible=False, lines=6,
                                           buttons=["copy"], elem_id="copy-text")
                    export_file = gr.File(label=t(lang0, "export_file"), visible=False,
                                          elem_id="export-file")
                with gr.Column(scale=2):
                    evidence_head = gr.Markdown(f"### {t(lang0, 'evidence')}")
                    evidence = gr.HTML(evidence_html([], lang0, {}), elem_id="evidence")
            with gr.Tab(t(lang0, "tab_releases"), id="releases") as tab_releases:
                limits = gr.Markdown(t(lang0, "limits", files=settings.upload_max_files,
                                       mb=settings.upload_max_mb))
                uploads = gr.File(label=t(lang0, "upload"), file_count="multiple",
                                  type="filepath", elem_id="uploads",
                                  file_types=[".txt", ".md", ".html", ".htm", ".pdf",
                                              ".docx", ".jsonl"])
                ingest = gr.Button(t(lang0, "ingest"), variant="primary", elem_id="ingest")
                ingest_status = gr.Markdown(elem_id="ingest-status")
                results = gr.Dataframe(label=t(lang0, "results"), interactive=False,
                                       elem_id="results", wrap=True)
                search = gr.Textbox(label=t(lang0, "search"), elem_id="search")
                releases = gr.Dataframe(handlers.table("", lang0), label=t(lang0, "releases"),
                                        interactive=False, wrap=True, elem_id="releases")
                with gr.Row():
                    chosen = gr.Textbox(label=t(lang0, "selected"), interactive=False,
                                        scale=4, elem_id="chosen")
                    delete = gr.Button(t(lang0, "delete"), variant="stop", scale=1,
                                       elem_id="delete")
                release_status = gr.Markdown(elem_id="release-status")

        # asking
        ask_inputs = [question, chatbot, turns, lang, since, until, sources]
        ask_outputs = [chatbot, question, evidence, turns]
        for trigger in (question.submit, send.click):
            trigger(handlers.respond, ask_inputs, ask_outputs, api_visibility="private",
                    concurrency_id=ASK, concurrency_limit=ASK_CONCURRENCY)
        chatbot.example_select(_example_text, None, question, api_visibility="private").then(
            handlers.respond, ask_inputs, ask_outputs, api_visibility="private",
            concurrency_id=ASK, concurrency_limit=ASK_CONCURRENCY)
        new_chat.click(handlers.new_chat, lang, [chatbot, turns, evidence, copy_text,
                                                 export_file, comment_row],
                       api_visibility="private")
        copy.click(handlers.copy_text, [turns, lang], copy_text, api_visibility="private").then(
            None, copy_text, None, js="(text) => { if (text && navigator.clipboard) "
                                      "navigator.clipboard.writeText(text).catch(() => {}); }")
        export.click(handlers.export, [turns, chatbot, lang], export_file,
                     api_visibility="private")
        chatbot.like(handlers.like, [turns, lang], [pending, comment_row, feedback_status],
                     api_visibility="private")
        for trigger in (comment.submit, send_comment.click):
            trigger(handlers.comment, [comment, pending, turns, lang],
                    [pending, comment_row, comment, feedback_status], api_visibility="private")

        # releases
        ingest.click(handlers.upload, [uploads, lang, search],
                     [results, releases, sources, ingest_status], api_visibility="private",
                     concurrency_id=WRITE, concurrency_limit=1).then(
            lambda: None, None, uploads, api_visibility="private")
        search.change(handlers.table, [search, lang], releases, api_visibility="private")
        releases.select(handlers.select, None, [selected, chosen], api_visibility="private")
        delete.click(handlers.delete, [selected, search, lang],
                     [selected, chosen, releases, sources, release_status],
                     api_visibility="private", concurrency_id=WRITE, concurrency_limit=1)

        # language
        labelled = [header, tab_chat, tab_releases, chatbot, question, send, filters, since,
                    until, sources, copy, export, new_chat, copy_text, export_file, comment,
                    send_comment, uploads, ingest, results, search, releases, chosen, delete,
                    evidence_head, evidence, limits]

        def switch(choice: str, current_turns: list[dict[str, Any]], query: str) -> list[Any]:
            code = LANGUAGES.get(choice, DEFAULT)
            updates = _labels(code, t(code, "limits", files=settings.upload_max_files,
                                      mb=settings.upload_max_mb))
            updates[-2] = handlers.evidence(current_turns, code)
            updates[labelled.index(releases)] = gr.update(label=t(code, "releases"),
                                                          value=handlers.table(query, code))
            return [code, *updates]

        language.change(switch, [language, turns, search], [lang, *labelled],
                        api_visibility="private")
        app.load(handlers.source_choices, None, sources, api_visibility="private")
        app.load(handlers.table, [search, lang], releases, api_visibility="private")

        gr.api(handlers.ask, api_name="ask", concurrency_id=ASK,
               concurrency_limit=ASK_CONCURRENCY)
        gr.api(handlers.chat, api_name="chat", concurrency_id=ASK,
               concurrency_limit=ASK_CONCURRENCY)
    return app


def create_server(assistant: Assistant, users: Users | None = None) -> Any:
    """The FastAPI app: REST API (/api/..., /docs) with the chat page mounted at /."""
    from assistant.api import create_api

    settings = assistant.settings
    api = create_api(assistant, users)
    return gr.mount_gradio_app(
        api, create_app(assistant), path="/",
        auth=users.verify if users else None,
        auth_message="Masuk dengan akun staf / Log in with your staff account",
        max_file_size=int(settings.upload_max_mb * 2**20),
        theme=THEME, css=CSS, js=JS,
    )


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
          users: Users | None = None) -> None:
    """Serve the chat and the API on host:port until interrupted (no share link, no analytics)."""
    import uvicorn

    uvicorn.run(create_server(assistant, users), host=host, port=port, log_level="warning")


def launch(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    """serve() without login (kept for callers of the earlier API)."""
    serve(assistant, host, port)
