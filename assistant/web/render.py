"""What the web chat shows and exports, built from the conversation's turns: the chat's
escaped markdown, the exported Markdown document and plain text for a briefing note.

A turn is the page's record of one question: {"id", "question", "history", "filters",
"mode" (the answer mode asked for, or None), "answer" (the `assistant ask --json` object,
or None), "problem" (a translatable message, or None), "error" (an error's text, or None)}.
Each answer ends with the mode (and model) that produced it. Every chat message is rendered from the
turns in the page's language, so switching language re-renders earlier answers too.

Release text is never trusted: in the chat it passes `escape` (HTML and markdown made
inert); in an exported document `escape_document` (markdown made inert, `<` and `>`
backslash-escaped, no HTML entities). Sources are grouped by release: one title, its
quotes beneath.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from assistant.lexical import detect_language
from assistant.web.i18n import t

AnswerJSON = Mapping[str, Any]
Turn = Mapping[str, Any]
Escape = Callable[[str], str]

# markdown syntax anywhere in a line, and at its start; `<` `>` `&` are left to html.escape
_INLINE = re.compile(r"([\\`*_\[\]|~$])")
_DOC_INLINE = re.compile(r"([\\`*_\[\]|~$<>])")  # a document has no html.escape: `<` `>` too
_ENTITY = re.compile(r"&(?=#?\w+;)")  # "&amp;" in a release must not become "&"
_BLOCK_MARK = re.compile(r"^([#+-])")  # heading or bullet
_ORDERED_MARK = re.compile(r"^(\d+)([.)])")  # "2023. ..." would start a numbered list
_MARKER = re.compile(r"\\\[(\d+)\\\](?!:)")  # an escaped [n] marker, not a link definition


def escape(text: str) -> str:
    """Release text made inert for the chat's markdown: no HTML, no markup, one line."""
    text = _INLINE.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))
    return _ORDERED_MARK.sub(r"\1\\\2", _BLOCK_MARK.sub(r"\\\1", text))


def escape_document(text: str) -> str:
    """Release text made inert for a Markdown file: markup and tags backslash-escaped, so
    it reads as written in an editor (no `&amp;`) and renders as text in a viewer."""
    text = _ENTITY.sub(r"\\&", _DOC_INLINE.sub(r"\\\1", " ".join(text.split())))
    return _ORDERED_MARK.sub(r"\1\\\2", _BLOCK_MARK.sub(r"\\\1", text))


def _date(value: str | dt.date | None, lang: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value or t(lang, "no_date")


# one answer --------------------------------------------------------------------------------


def by_release(citations: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Citations grouped by release, in order of each release's first citation."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for c in citations:
        groups.setdefault(c["release_id"], []).append(c)
    return list(groups.values())


def release_markdown(group: Sequence[Mapping[str, Any]], lang: str, quotes: bool,
                     esc: Escape = escape) -> str:
    """One cited release: its numbers, bold title, date and publisher, then each quote."""
    first = group[0]
    numbers = " ".join(f"[{c['n']}]" for c in group)
    head = " · ".join([f"- {numbers} **{esc(first['title'])}**", _date(first["date"], lang),
                       *([esc(first["source"])] if first["source"] else [])])
    if not quotes:
        return head
    return head + "".join(f"\n\n   > [{c['n']}] {esc(c['quote'])}" for c in group)


def answer_markdown(answer: AnswerJSON, lang: str = "id", quotes: bool = True,
                    document: bool = False) -> str:
    """The answer text with its [n] markers, then its sources grouped by release (each
    quote beneath its release, unless quotes is False: the chat page shows them in its
    evidence panel). document: for a Markdown file rather than the chat."""
    text = answer_text(answer, lang, document)
    if not answer["citations"]:
        return text
    esc = escape_document if document else escape
    items = [release_markdown(g, lang, quotes, esc) for g in by_release(answer["citations"])]
    sources = ("\n\n" if quotes else "\n").join(items)
    return f"{text}\n\n**{t(lang, 'sources_head')}**\n\n{sources}"


def answer_text(answer: AnswerJSON, lang: str = "id", document: bool = False) -> str:
    """The answer's escaped markdown: a notice first when there is one, and each sentence
    the sources do not support marked (in the chat inside class `unsupported`)."""
    esc = escape_document if document else escape
    sentences = answer.get("sentences") or []
    if all(s["supported"] for s in sentences):
        text = _MARKER.sub(r"[\1]", esc(answer["answer"]))
    else:
        text = " ".join(_sentence(s, lang, document) for s in sentences)
    notice = answer.get("notice")
    return f"{_note(esc(notice))}\n\n{text}" if notice else text


def _sentence(sentence: Mapping[str, Any], lang: str, document: bool) -> str:
    esc = escape_document if document else escape
    body = esc(sentence["text"]) + "".join(f" [{n}]" for n in sentence["citations"])
    if sentence["supported"]:
        return body
    label = html.escape(t(lang, "unsupported"))
    if document:
        return f"{body} (⚠ {label})"
    return (f"<span class='unsupported' title='{label}'>{body} "
            f"<span class='unsupported-mark'>⚠ {label}</span></span>")


def _note(text: str) -> str:
    return f"_ℹ️ {text}_"


# notes the page adds to an answer --------------------------------------------------------


def language_note(answer: AnswerJSON, lang: str, llm: bool) -> str:
    """For an English question answered with quotes: they are in the releases' language,
    and (when an LLM answers and did not just fail) the written answer is in English."""
    if answer["refused"] or answer.get("mode") == "llm" or not answer["citations"]:
        return ""
    if detect_language(answer["question"]) != "en":
        return ""
    hint = llm and not answer.get("notice")  # a notice here means the LLM just failed
    return t(lang, "quotes_language") + (" " + t(lang, "written_answer") if hint else "")


def filter_note(filters: Mapping[str, Any] | None, lang: str, esc: Escape = escape) -> str:
    """For a refusal under active filters: which, and that they may be why."""
    filters = filters or {}
    active = [t(lang, f"filter_{name}", date=esc(str(filters[name])))
              for name in ("since", "until") if filters.get(name)]
    if filters.get("sources"):
        active.append(t(lang, "filter_sources",
                        sources=", ".join(esc(str(s)) for s in filters["sources"])))
    return t(lang, "filter_note", filters="; ".join(active)) if active else ""


# turns: the chat's messages and the exported document ---------------------------------------


def reply_markdown(turn: Turn, lang: str, llm: bool = False, document: bool = False) -> str:
    """The assistant's message for one turn: the answer with its notes, or the problem."""
    esc = escape_document if document else escape
    answer = turn.get("answer")
    if answer is None:
        return problem_text(turn, lang, esc)
    body = answer_markdown(answer, lang, quotes=document, document=document)
    before = language_note(answer, lang, llm)
    after = filter_note(turn.get("filters"), lang, esc) if answer["refused"] else ""
    return "\n\n".join([*([_note(before)] if before else []), body,
                        *([_note(after)] if after else []), f"_{produced_by(answer, lang, esc)}_"])


def produced_by(answer: AnswerJSON, lang: str, esc: Escape = escape) -> str:
    """Which answer mode produced the answer (and, written, which model), in lang."""
    mode = answer.get("mode")
    if mode == "llm":
        return t(lang, "produced_llm", model=esc(str(answer.get("model") or "?")))
    return t(lang, "produced_reader" if mode == "reader" else "produced_extractive")


def problem_text(turn: Turn, lang: str, esc: Escape = escape) -> str:
    """Why a turn has no answer, in lang (an error from the assistant is shown as it is)."""
    problem = turn.get("problem") or {}
    if problem.get("key") == "bad_date":
        field = t(lang, f"{problem['field']}_name")
        return "⚠️ " + t(lang, "bad_date", field=field, value=esc(str(problem["value"])))
    if problem.get("key"):
        return t(lang, str(problem["key"]))
    return f"⚠️ {esc(str(turn.get('error') or ''))}"


def chat_messages(turns: Sequence[Turn], lang: str, llm: bool = False) -> list[dict[str, str]]:
    """The chat's messages: each turn's question and its reply, rendered in lang."""
    messages = []
    for turn in turns:
        messages += [{"role": "user", "content": turn["question"]},
                     {"role": "assistant", "content": reply_markdown(turn, lang, llm)}]
    return messages


def conversation_markdown(turns: Sequence[Turn], lang: str = "id", llm: bool = False,
                          now: dt.datetime | None = None) -> str:
    """The conversation as a Markdown document: each question, its answer and sources."""
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = [f"# {t(lang, 'title')}\n\n_{t(lang, 'chat')} · {stamp}_"]
    for number, turn in enumerate(turns, start=1):
        body = reply_markdown(turn, lang, llm, document=True)
        parts.append(f"## {number}. {escape_document(turn['question'])}\n\n{body}")
    return "\n\n".join(parts) + "\n"


# plain text (briefing note) -------------------------------------------------------------------


def marked_plain(answer: AnswerJSON, lang: str = "id") -> str:
    """The answer as plain text, each unsupported sentence followed by the ⚠ mark."""
    sentences = answer.get("sentences") or []
    if all(s["supported"] for s in sentences):
        return str(answer["answer"])
    mark = t(lang, "unsupported")
    return " ".join(s["text"] + "".join(f" [{n}]" for n in s["citations"])
                    + ("" if s["supported"] else f" (⚠ {mark})") for s in sentences)


def plain_text(answer: AnswerJSON, lang: str = "id") -> str:
    """The answer with its numbered sources as plain text, to paste into a briefing note."""
    lines = [f"{t(lang, 'question')}: {answer['question']}",
             f"{t(lang, 'answer')}: {marked_plain(answer, lang)}"]
    if answer.get("notice"):
        lines.append(f"({answer['notice']})")
    if answer["citations"]:
        lines += ["", f"{t(lang, 'sources_head')}:", *sources_plain(answer["citations"], lang)]
    return "\n".join(lines) + "\n"


def terminal_text(answer: AnswerJSON, lang: str = "id") -> str:
    """What `assistant ask` prints: the answer (unsupported sentences marked), a blank line,
    then its numbered sources."""
    lines = [marked_plain(answer, lang)]
    if answer["citations"]:
        lines += ["", *sources_plain(answer["citations"], lang)]
    return "\n".join(lines)


def sources_plain(citations: Sequence[Mapping[str, Any]], lang: str = "id") -> list[str]:
    """Each citation as plain lines: `[n] title (date), publisher`, then its quote indented."""
    lines = []
    for c in citations:
        source = f", {c['source']}" if c["source"] else ""
        lines.append(f"[{c['n']}] {c['title']} ({_date(c['date'], lang)}){source}")
        lines.append(f'    "{c["quote"]}"')
    return lines
