"""The staff web chat's page (Gradio Blocks): layout and event wiring; handlers.py and
release_admin.py run them.

Tab "Tanya": answers stream into the chat, each saying the mode (and model) that produced
it; with a language model (ASSISTANT_LLM) a switch chooses a written answer or quoted
sentences for each question; the evidence panel beside it shows the numbered
sources of the latest answer (the quoted sentence highlighted in its passage, the whole
release behind a disclosure); clicking, hovering or tabbing to `[n]` brings up that source.
Filters (dates, sources), example questions, copy-as-plain-text, Markdown export, thumbs
up/down with a comment (index/feedback.jsonl); the chat's clear icon and "Percakapan baru"
both start a new conversation. Tab "Siaran pers": upload and index files, list, search and
delete releases (after a confirmation). Labels are Indonesian by default, English
selectable; switching re-renders earlier answers, and ui.js puts Gradio's own labels and
`<html lang>` in the same language. The /ask and /chat endpoints serve gradio_client.
server.py mounts the page on the API with THEME, CSS, JS and I18N.
"""

# No `from __future__ import annotations`: gr.api reads the handlers' type hints at runtime.

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from assistant.pipeline import Assistant  # noqa: E402
from assistant.web.evidence import evidence_html  # noqa: E402
from assistant.web.handlers import ChatHandlers, ConversationHandlers, example_text  # noqa: E402
from assistant.web.i18n import (  # noqa: E402
    DEFAULT,
    EXAMPLES,
    GRADIO,
    LANGUAGES,
    mode_choices,
    script_labels,
    t,
)
from assistant.web.release_admin import FILE_COLUMNS, ReleaseHandlers  # noqa: E402

TITLE = t(DEFAULT, "title")
ASK, WRITE = "ask", "write"  # concurrency groups: questions run side by side, writes one by one
ASK_CONCURRENCY = 8
HERE = Path(__file__).parent
CSS = (HERE / "ui.css").read_text(encoding="utf-8")
JS = (HERE / "ui.js").read_text(encoding="utf-8").replace(
    "/*LABELS*/{}", json.dumps(script_labels(), ensure_ascii=False))
I18N = gr.I18n(**GRADIO)  # Gradio's own labels, in the language ui.js sets
# system fonts: the default theme would fetch Google Fonts, and the machines are offline.
# Colours: teal-700 accents and buttons, gray-600 secondary text: WCAG AA (4.5:1) on the
# page's backgrounds, light and dark (tests/test_browser.py measures the rendered page).
THEME = gr.themes.Soft(
    primary_hue="teal", font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "monospace"],
).set(
    color_accent="*primary_700", color_accent_soft="*primary_50",  # dark: ui.css
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
    block_label_text_color="*primary_800", block_label_text_color_dark="*neutral_50",
    block_label_background_fill="*primary_100", block_label_background_fill_dark="*primary_800",
    block_title_text_color="*primary_800", block_title_text_color_dark="*neutral_50",
    block_title_background_fill="*primary_100", block_title_background_fill_dark="*primary_800",
    input_placeholder_color="*neutral_600", input_placeholder_color_dark="*neutral_300",
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_hover_dark="*primary_800",
    button_primary_text_color="white", button_primary_text_color_dark="white",
    button_primary_border_color="*primary_700", button_primary_border_color_dark="*primary_700",
    checkbox_label_background_fill_selected="*primary_700",
    checkbox_label_background_fill_selected_dark="*primary_700",
    checkbox_label_text_color_selected="white", checkbox_label_text_color_selected_dark="white",
)


def _labels(lang: str, limits: str, intro: str = "intro",
            modes: tuple[str, ...] = ("extractive",)) -> list[Any]:
    """Updates that put every labelled component in lang (order of create_app's `labelled`)."""
    return [
        f"# {t(lang, 'title')}\n\n{t(lang, intro)}", gr.update(label=t(lang, "language")),
        gr.update(label=t(lang, "tab_chat")), gr.update(label=t(lang, "tab_releases")),
        gr.update(label=t(lang, "chat"), examples=[{"text": q} for q in EXAMPLES[lang]]),
        gr.update(label=t(lang, "question"), placeholder=t(lang, "placeholder")),
        gr.update(value=t(lang, "send")),
        gr.update(label=t(lang, "filters")), gr.update(label=t(lang, "since")),
        gr.update(label=t(lang, "until")), gr.update(label=t(lang, "sources")),
        gr.update(value=t(lang, "copy")), gr.update(value=t(lang, "export")),
        gr.update(value=t(lang, "new_chat")), gr.update(label=t(lang, "copy_text")),
        gr.update(label=t(lang, "export_file")), gr.update(label=t(lang, "comment")),
        gr.update(value=t(lang, "send_comment")), gr.update(label=t(lang, "upload")),
        gr.update(value=t(lang, "ingest")), gr.update(label=t(lang, "results")),
        gr.update(label=t(lang, "search")), gr.update(label=t(lang, "releases")),
        gr.update(label=t(lang, "selected")), gr.update(value=t(lang, "delete")),
        gr.update(value=t(lang, "confirm_yes")), gr.update(value=t(lang, "confirm_no")),
        f"### {t(lang, 'evidence')}", gr.update(), limits,
        gr.update(label=t(lang, "answer_mode"), choices=mode_choices(lang, list(modes))),
    ]


def create_app(assistant: Assistant) -> gr.Blocks:
    """The chat page (tabs Tanya and Siaran pers) and the /ask and /chat API endpoints."""
    settings = assistant.settings
    lang0 = DEFAULT
    modes = tuple(assistant.modes)  # the default first; more than one: a switch
    intro = "intro_llm" if "llm" in modes else "intro"  # written answers are checked
    limits_text = {code: t(code, "limits", files=settings.upload_max_files,
                           mb=settings.upload_max_mb) for code in LANGUAGES.values()}
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        chat = ChatHandlers(assistant)
        kept = ConversationHandlers(assistant)
        # only files Gradio itself received through its upload route may be indexed
        library = ReleaseHandlers(assistant, received=lambda: app.upload_file_set)
        lang = gr.State(lang0)
        turns = gr.State([])
        pending = gr.State(None)
        selected = gr.State("")
        with gr.Row(equal_height=False, elem_id="masthead"):
            header = gr.Markdown(f"# {t(lang0, 'title')}\n\n{t(lang0, intro)}",
                                 elem_id="title")
            language = gr.Radio(list(LANGUAGES), value="Bahasa Indonesia",
                                label=t(lang0, "language"), show_label=False,
                                container=False, scale=0, min_width=260, elem_id="language")
        with gr.Tabs():
            with gr.Tab(t(lang0, "tab_chat"), id="chat") as tab_chat, gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label=t(lang0, "chat"), show_label=False, height=560,
                        latex_delimiters=[], feedback_options=("Like", "Dislike"),
                        elem_id="chat", examples=[{"text": q} for q in EXAMPLES[lang0]],
                        buttons=["copy"])
                    with gr.Row():
                        question = gr.Textbox(label=t(lang0, "question"), show_label=False,
                                              placeholder=t(lang0, "placeholder"), scale=5,
                                              autofocus=True, elem_id="question")
                        send = gr.Button(t(lang0, "send"), variant="primary", scale=1,
                                         elem_id="send")
                    # quoted sentences or a written answer, when a language model is set
                    answer_mode = gr.Radio(mode_choices(lang0, list(modes)), value=modes[0],
                                           label=t(lang0, "answer_mode"),
                                           visible=len(modes) > 1, elem_id="answer-mode")
                    with gr.Row(visible=False) as comment_row:
                        comment = gr.Textbox(label=t(lang0, "comment"), scale=5,
                                             elem_id="comment")
                        send_comment = gr.Button(t(lang0, "send_comment"), scale=1)
                    feedback_status = gr.Markdown(elem_id="feedback-status")
                    with gr.Accordion(t(lang0, "filters"), open=False,
                                      elem_id="filters") as filters:
                        with gr.Row():
                            since = gr.Textbox(label=t(lang0, "since"), elem_id="since")
                            until = gr.Textbox(label=t(lang0, "until"), elem_id="until")
                        sources = gr.Dropdown(label=t(lang0, "sources"), multiselect=True,
                                              choices=[], elem_id="sources")
                    with gr.Row():
                        copy = gr.Button(t(lang0, "copy"), size="sm", elem_id="copy")
                        export = gr.Button(t(lang0, "export"), size="sm", elem_id="export")
                        new_chat = gr.Button(t(lang0, "new_chat"), size="sm",
                                             elem_id="new-chat")
                    copy_text = gr.Textbox(label=t(lang0, "copy_text"), visible=False, lines=6,
                                           buttons=["copy"], elem_id="copy-text")
                    export_file = gr.File(label=t(lang0, "export_file"), visible=False,
                                          elem_id="export-file")
                with gr.Column(scale=2):
                    evidence_head = gr.Markdown(f"### {t(lang0, 'evidence')}")
                    evidence = gr.HTML(evidence_html([], lang0, {}), elem_id="evidence")
            with gr.Tab(t(lang0, "tab_releases"), id="releases") as tab_releases:
                limits = gr.Markdown(limits_text[lang0])
                uploads = gr.File(label=t(lang0, "upload"), file_count="multiple",
                                  type="filepath", elem_id="uploads",
                                  file_types=[".txt", ".md", ".html", ".htm", ".pdf",
                                              ".docx", ".jsonl"])
                ingest = gr.Button(t(lang0, "ingest"), variant="primary", elem_id="ingest")
                ingest_status = gr.Markdown(elem_id="ingest-status")
                # hidden until an upload has rows: an empty table shows headers "1 2 3"
                results = gr.Dataframe(
                    {"headers": [t(lang0, k) for k in FILE_COLUMNS], "data": []},
                    label=t(lang0, "results"), interactive=False, elem_id="results",
                    wrap=True, visible=False)
                search = gr.Textbox(label=t(lang0, "search"), elem_id="search")
                releases = gr.Dataframe(library.table("", lang0), label=t(lang0, "releases"),
                                        interactive=False, wrap=True, elem_id="releases")
                with gr.Row():
                    chosen = gr.Textbox(label=t(lang0, "selected"), interactive=False,
                                        scale=4, elem_id="chosen")
                    delete = gr.Button(t(lang0, "delete"), variant="stop", scale=1,
                                       elem_id="delete")
                with gr.Row(visible=False, elem_id="confirm-delete") as confirm_row:
                    confirm_text = gr.Markdown(elem_id="confirm-text")
                    confirm_yes = gr.Button(t(lang0, "confirm_yes"), variant="stop",
                                            scale=0, elem_id="confirm-yes")
                    confirm_no = gr.Button(t(lang0, "confirm_no"), scale=0,
                                           elem_id="confirm-no")
                release_status = gr.Markdown(elem_id="release-status")

        # asking
        ask_inputs = [question, turns, lang, since, until, sources, answer_mode]
        ask_outputs = [chatbot, question, evidence, turns]
        for trigger in (question.submit, send.click):
            trigger(chat.respond, ask_inputs, ask_outputs, api_visibility="private",
                    concurrency_id=ASK, concurrency_limit=ASK_CONCURRENCY)
        chatbot.example_select(example_text, None, question, api_visibility="private").then(
            chat.respond, ask_inputs, ask_outputs, api_visibility="private",
            concurrency_id=ASK, concurrency_limit=ASK_CONCURRENCY)
        cleared = [chatbot, turns, evidence, copy_text, export_file, comment_row, pending,
                   feedback_status]
        for trigger in (new_chat.click, chatbot.clear):  # the chat's trash icon as well
            trigger(chat.new_chat, lang, cleared, api_visibility="private")
        copy.click(kept.copy_text, [turns, lang], copy_text, api_visibility="private").then(
            None, copy_text, None, js="(text) => { if (text && navigator.clipboard) "
                                      "navigator.clipboard.writeText(text).catch(() => {}); }")
        export.click(kept.export, [turns, lang], export_file, api_visibility="private")
        chatbot.like(kept.like, [turns, lang], [pending, comment_row, feedback_status],
                     api_visibility="private")
        for trigger in (comment.submit, send_comment.click):
            trigger(kept.comment, [comment, pending, turns, lang],
                    [pending, comment_row, comment, feedback_status], api_visibility="private")

        # releases
        ingest.click(library.upload, [uploads, lang, search],
                     [results, releases, sources, ingest_status], api_visibility="private",
                     concurrency_id=WRITE, concurrency_limit=1).then(
            lambda: None, None, uploads, api_visibility="private")
        search.change(library.table, [search, lang], releases, api_visibility="private")
        releases.select(library.select, None, [selected, chosen], api_visibility="private")
        releases.select(lambda: gr.update(visible=False), None, confirm_row,
                        api_visibility="private")
        delete.click(library.confirm, [selected, lang], [confirm_row, confirm_text],
                     api_visibility="private")
        confirm_no.click(lambda: gr.update(visible=False), None, confirm_row,
                         api_visibility="private")
        confirm_yes.click(library.delete, [selected, search, lang],
                          [selected, chosen, confirm_row, releases, sources, release_status],
                          api_visibility="private", concurrency_id=WRITE, concurrency_limit=1)

        # language
        labelled = [header, language, tab_chat, tab_releases, chatbot, question, send, filters,
                    since, until, sources, copy, export, new_chat, copy_text, export_file,
                    comment, send_comment, uploads, ingest, results, search, releases, chosen,
                    delete, confirm_yes, confirm_no, evidence_head, evidence, limits,
                    answer_mode]

        def switch(choice: str, current: list[dict[str, Any]], query: str) -> list[Any]:
            code = LANGUAGES.get(choice, DEFAULT)
            updates = _labels(code, limits_text[code], intro, modes)
            messages, updates[labelled.index(evidence)] = chat.relabel(current, code)
            updates[labelled.index(chatbot)] = gr.update(
                label=t(code, "chat"), examples=[{"text": q} for q in EXAMPLES[code]],
                value=messages)
            updates[labelled.index(releases)] = gr.update(label=t(code, "releases"),
                                                          value=library.table(query, code))
            return [code, *updates]

        language.change(switch, [language, turns, search], [lang, *labelled],
                        api_visibility="private")
        app.load(library.source_choices, None, sources, api_visibility="private")
        app.load(library.table, [search, lang], releases, api_visibility="private")

        gr.api(chat.ask, api_name="ask", concurrency_id=ASK, concurrency_limit=ASK_CONCURRENCY)
        gr.api(chat.chat, api_name="chat", concurrency_id=ASK,
               concurrency_limit=ASK_CONCURRENCY)
    return app
