"""The evidence panel beside the chat: the numbered sources of recent answers as HTML, each
quoted sentence highlighted inside its passage, the whole release behind a disclosure.

Release text is never trusted: it reaches the panel only through `html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.web.i18n import t

AnswerJSON = Mapping[str, Any]
EVIDENCE_TURNS = 5  # the evidence panel keeps the sources of this many recent answers


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
    """One numbered source: title, date, publisher, the passage with the quote highlighted
    and the whole release behind a disclosure."""
    n = int(citation["n"])
    release = ""
    if paragraphs:
        whole = highlight("\n\n".join(paragraphs), citation["quote"])
        release = (f"<details class='ev-release'><summary>{t(lang, 'open_release')}</summary>"
                   f"<h4>{html.escape(citation['title'])}</h4>{whole}</details>")
    meta = [html.escape(citation["date"] or t(lang, "no_date"))]
    if citation["source"]:
        meta.append(f"<span class='ev-source'>{html.escape(citation['source'])}</span>")
    return (
        f"<article class='ev-card' id='ev-{turn}-{n}' data-n='{n}'>"
        f"<div class='ev-head'><span class='ev-n'>[{n}]</span> "
        f"<strong class='ev-title'>{html.escape(citation['title'])}</strong></div>"
        f"<div class='ev-meta'>{' · '.join(meta)}</div>"
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
