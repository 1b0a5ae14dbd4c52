"""What the web chat shows and exports, built from answers: escaped markdown, the evidence
panel's HTML, plain text for a briefing note and the conversation as Markdown.

Release text is never trusted: it reaches the page only through `escape` (markdown) or
`html.escape` (the evidence panel), so a release containing `<script>` shows as text.
Answers are handled as the `assistant ask --json` objects (schema.to_json), the same shape
the REST API returns. Sources are grouped by release: one title, its quotes beneath.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.web.i18n import t

AnswerJSON = Mapping[str, Any]

# markdown syntax anywhere in a line, and at its start; `<` `>` `&` are left to html.escape
_INLINE = re.compile(r"([\\`*_\[\]|~$])")
_BLOCK_MARK = re.compile(r"^([#+-])")  # heading or bullet
_ORDERED_MARK = re.compile(r"^(\d+)([.)])")  # "2023. ..." would start a numbered list
_MARKER = re.compile(r"\\\[(\d+)\\\](?!:)")  # an escaped [n] marker, not a link definition
EVIDENCE_TURNS = 5  # the evidence panel keeps the sources of this many recent answers


def escape(text: str) -> str:
    """Release text made inert for the chat's markdown: no HTML, no markup, one line."""
    text = _INLINE.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))
    return _ORDERED_MARK.sub(r"\1\\\2", _BLOCK_MARK.sub(r"\\\1", text))


def _date(value: str | dt.date | None, lang: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value or t(lang, "no_date")


# markdown (chat messages, export) -------------------------------------------------------------


def by_release(citations: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Citations grouped by release, in order of each release's first citation."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for c in citations:
        groups.setdefault(c["release_id"], []).append(c)
    return list(groups.values())


def release_markdown(group: Sequence[Mapping[str, Any]], lang: str, quotes: bool) -> str:
    """One cited release: its numbers, bold title, date and source, then each quote."""
    first = group[0]
    numbers = " ".join(f"[{c['n']}]" for c in group)
    head = (f"- {numbers} **{escape(first['title'])}** · {_date(first['date'], lang)} · "
            f"{escape(first['source'])}")
    if not quotes:
        return head
    return head + "".join(f"\n\n   > [{c['n']}] {escape(c['quote'])}" for c in group)


def answer_markdown(answer: AnswerJSON, lang: str = "id", quotes: bool = True) -> str:
    """The answer text with its [n] markers, then its sources grouped by release (each
    quote beneath its release, unless quotes is False: the chat page shows them in its
    evidence panel)."""
    text = answer_text(answer, lang)
    if not answer["citations"]:
        return text
    items = [release_markdown(g, lang, quotes) for g in by_release(answer["citations"])]
    sources = ("\n\n" if quotes else "\n").join(items)
    return f"{text}\n\n**{t(lang, 'sources_head')}**\n\n{sources}"


def answer_text(answer: AnswerJSON, lang: str = "id") -> str:
    """The answer's escaped markdown: a notice first when there is one, and each sentence
    the sources do not support inside a visible mark (class `unsupported`, ⚠ and words)."""
    sentences = answer.get("sentences") or []
    if all(s["supported"] for s in sentences):
        text = _MARKER.sub(r"[\1]", escape(answer["answer"]))
    else:
        text = " ".join(_sentence(s, lang) for s in sentences)
    notice = answer.get("notice")
    return f"_ℹ️ {escape(notice)}_\n\n{text}" if notice else text


def _sentence(sentence: Mapping[str, Any], lang: str) -> str:
    body = escape(sentence["text"]) + "".join(f" [{n}]" for n in sentence["citations"])
    if sentence["supported"]:
        return body
    label = html.escape(t(lang, "unsupported"))
    return (f"<span class='unsupported' title='{label}'>{body} "
            f"<span class='unsupported-mark'>⚠ {label}</span></span>")


def marked_plain(answer: AnswerJSON, lang: str = "id") -> str:
    """The answer as plain text, each unsupported sentence followed by the ⚠ mark."""
    sentences = answer.get("sentences") or []
    if all(s["supported"] for s in sentences):
        return str(answer["answer"])
    mark = t(lang, "unsupported")
    return " ".join(s["text"] + "".join(f" [{n}]" for n in s["citations"])
                    + ("" if s["supported"] else f" (⚠ {mark})") for s in sentences)


def conversation_markdown(turns: Sequence[tuple[str, AnswerJSON | str]], lang: str = "id",
                          now: dt.datetime | None = None) -> str:
    """The conversation as a Markdown document: each question, its answer and sources."""
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = [f"# {t(lang, 'title')}\n\n_{t(lang, 'chat')} · {stamp}_"]
    for number, (question, answer) in enumerate(turns, start=1):
        body = answer if isinstance(answer, str) else answer_markdown(answer, lang)
        parts.append(f"## {number}. {escape(question)}\n\n{body}")
    return "\n\n".join(parts) + "\n"


# plain text (briefing note) -------------------------------------------------------------------


def plain_text(answer: AnswerJSON, lang: str = "id") -> str:
    """The answer with its numbered sources as plain text, to paste into a briefing note."""
    lines = [f"{t(lang, 'question')}: {answer['question']}",
             f"{t(lang, 'answer')}: {marked_plain(answer, lang)}"]
    if answer.get("notice"):
        lines.append(f"({answer['notice']})")
    if answer["citations"]:
        lines += ["", f"{t(lang, 'sources_head')}:"]
    for c in answer["citations"]:
        lines.append(f"[{c['n']}] {c['title']} ({_date(c['date'], lang)}), {c['source']}")
        lines.append(f'    "{c["quote"]}"')
    return "\n".join(lines) + "\n"


# the evidence panel (HTML) --------------------------------------------------------------------


def highlight(text: str, quote: str) -> str:
    """text as escaped HTML paragraphs, with the quoted sentence inside <mark>."""
    out = []
    for paragraph in text.split("\n\n"):
        start = paragraph.find(quote) if quote else -1
        if start < 0:
            out.append(f"<p>{html.escape(paragraph)}</p>")
            continue
        end = start + len(quote)
        out.append(f"<p>{html.escape(paragraph[:start])}<mark>{html.escape(quote)}</mark>"
                   f"{html.escape(paragraph[end:])}</p>")
    return "".join(out)


def evidence_card(turn: int, citation: Mapping[str, Any], paragraphs: Sequence[str],
                  lang: str) -> str:
    """One numbered source: title, date, source, the passage with the quote highlighted and
    the whole release behind a disclosure."""
    n = int(citation["n"])
    release = ""
    if paragraphs:
        whole = highlight("\n\n".join(paragraphs), citation["quote"])
        release = (f"<details class='ev-release'><summary>{t(lang, 'open_release')}</summary>"
                   f"<h4>{html.escape(citation['title'])}</h4>{whole}</details>")
    return (
        f"<article class='ev-card' id='ev-{turn}-{n}' data-n='{n}'>"
        f"<div class='ev-head'><span class='ev-n'>[{n}]</span> "
        f"<strong class='ev-title'>{html.escape(citation['title'])}</strong></div>"
        f"<div class='ev-meta'>{html.escape(_date(citation['date'], lang))} · "
        f"<span class='ev-source'>{html.escape(citation['source'])}</span></div>"
        f"<div class='ev-passage'>{highlight(citation['passage'], citation['quote'])}</div>"
        f"{release}</article>"
    )


def evidence_html(turns: Sequence[AnswerJSON | None], lang: str,
                  paragraphs: Mapping[str, Sequence[str]]) -> str:
    """The evidence panel: the sources of recent answers, the latest one shown.

    turns[i] is the answer of the i-th assistant message (None for a message that is not an
    answer); the page's script shows turn i when a [n] of message i is clicked.
    paragraphs: the full text of each cited release, by release id.
    """
    sections = []
    first = max(0, len(turns) - EVIDENCE_TURNS)
    for turn in range(first, len(turns)):
        answer = turns[turn]
        if answer is None:
            continue
        hidden = "" if turn == len(turns) - 1 else " hidden"
        cards = "".join(evidence_card(turn, c, paragraphs.get(c["release_id"], ()), lang)
                        for c in answer["citations"])
        sections.append(
            f"<section class='ev-turn' data-turn='{turn}'{hidden}>"
            f"<div class='ev-question'>{html.escape(answer['question'])}</div>"
            f"{cards or '<p class=ev-none>' + html.escape(answer['answer']) + '</p>'}</section>")
    body = "".join(sections) or f"<p class='ev-empty'>{t(lang, 'evidence_empty')}</p>"
    return f"<div class='evidence' data-lang='{lang}'>{body}</div>"
