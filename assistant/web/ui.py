"""The staff web chat's page (Gradio Blocks): layout and event wiring; handlers.py runs them.

Tab "Tanya": answers stream into the chat; the evidence panel beside it shows the numbered
sources of the latest answer (the quoted sentence highlighted in its passage, the whole
release behind a disclosure); clicking or hovering `[n]` brings up that source. Filters
(dates, sources), example questions, copy-as-plain-text, Markdown export, thumbs up/down
with a comment (index/feedback.jsonl). Tab "Siaran pers": upload and index files, list,
search and delete releases. Labels are Indonesian by default, English selectable.
The /ask and /chat endpoints serve gradio_client. server.py mounts the page on the API.
"""

# No `from __future__ import annotations`: gr.api reads the handlers' type hints at runtime.

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from assistant.pipeline import Assistant  # noqa: E402
from assistant.web.handlers import Handlers, example_text  # noqa: E402
from assistant.web.i18n import DEFAULT, EXAMPLES, LANGUAGES, t  # noqa: E402
from assistant.web.render import evidence_html  # noqa: E402

TITLE = t(DEFAULT, "title")
ASK, WRITE = "ask", "write"  # concurrency groups: questions run side by side, writes one by one
ASK_CONCURRENCY = 8
HERE = Path(__file__).parent
CSS = (HERE / "ui.css").read_text(encoding="utf-8")
JS = (HERE / "ui.js").read_text(encoding="utf-8")
# system fonts: the default theme would fetch Google Fonts, and the machines are offline
THEME = gr.themes.Soft(primary_hue="teal", font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
                       font_mono=["ui-monospace", "monospace"])


def _labels(lang: str, limits: str, intro: str = "intro") -> list[Any]:
    """Updates that put every labelled component in lang (order of create_app's `labelled`)."""
    return [
        f"# {t(lang, 'title')}\n\n{t(lang, intro)}",
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
    settings = assistant.settings
    lang0 = DEFAULT
    intro = "intro_llm" if settings.llm else "intro"  # written answers are checked, not quoted
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        # only files Gradio itself received through its upload route may be indexed
        handlers = Handlers(assistant, received=lambda: app.upload_file_set)
        lang = gr.State(lang0)
        turns = gr.State([])
        pending = gr.State(None)
        selected = gr.State("")
        with gr.Row(equal_height=False):
            header = gr.Markdown(f"# {t(lang0, 'title')}\n\n{t(lang0, intro)}")
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
        chatbot.example_select(example_text, None, question, api_visibility="private").then(
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
                                      mb=settings.upload_max_mb), intro)
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
