"""The chat tab's event handlers, bound to one assistant; AssistantError becomes gr.Error.

ChatHandlers asks: a question streams into the chat as the answer stage yields it, then the
evidence panel shows the answer's sources; it also clears the conversation and re-renders
it in another language. ConversationHandlers keeps what was said: copy as plain text,
export as Markdown, thumbs up/down with a comment. Both work on the page's turns (see
render.py), the one record of the conversation: the chat's messages are rendered from it.
The Releases tab's handlers are in release_admin.py.
"""

# No `from __future__ import annotations`: gr.api reads the handlers' type hints at runtime.

import datetime as dt
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AssistantError
from assistant.evaluation import feedback
from assistant.pipeline import Assistant
from assistant.schema import to_json
from assistant.text import parse_iso_date
from assistant.types import Answer
from assistant.web.evidence import EVIDENCE_TURNS, evidence_html
from assistant.web.i18n import DEFAULT, t
from assistant.web.render import (
    answer_markdown,
    chat_messages,
    conversation_markdown,
    escape,
    plain_text,
    produced_by,
)

HISTORY_TURNS = 3  # earlier questions a follow-up is read with
Turns = list[dict[str, Any]]


class BadDate(ValueError):
    """A date filter that is not YYYY-MM-DD: which field, and what was typed."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: {value!r} is not a date; use YYYY-MM-DD")
        self.field, self.value = field, value


def _date(value: str | None, field: str) -> dt.date | None:
    try:
        return parse_iso_date((value or "").strip() or None)
    except ValueError:
        raise BadDate(field, str(value)) from None


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request else None


class ChatHandlers:
    """Asking: the chat's stream, the evidence panel, a new chat, another language; and the
    /ask and /chat endpoints of gradio_client."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.llm = "llm" in assistant.modes  # written answers can be offered

    def _has_releases(self) -> bool:
        try:
            return bool(self.assistant.index.releases())
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def _ask(self, question: str, since: str | None, until: str | None, mode: str) -> Answer:
        try:
            start, end = _date(since, "since"), _date(until, "until")
            return self.assistant.ask(question, since=start, until=end,
                                      answer_mode=mode or None)
        except BadDate as exc:
            raise gr.Error(str(exc)) from exc
        except AssistantError as exc:
            raise gr.Error(str(exc)) from exc

    def ask(self, question: str, since: str = "", until: str = "", mode: str = ""
            ) -> dict[str, Any]:
        """Answer a question (dates YYYY-MM-DD, optional; mode llm or extractive, default
        the server's); the `assistant ask --json` object."""
        if not self._has_releases():
            raise gr.Error(t(DEFAULT, "empty_index"))
        return to_json(self._ask(question, since, until, mode))

    def chat(self, question: str, since: str = "", until: str = "", mode: str = "") -> str:
        """Answer a question as the chat shows it: markdown with the sources list."""
        if not self._has_releases():
            return t(DEFAULT, "empty_index")
        answer = to_json(self._ask(question, since, until, mode))
        return f"{answer_markdown(answer)}\n\n_{produced_by(answer, DEFAULT)}_"

    def evidence(self, turns: Sequence[dict[str, Any]], lang: str) -> str:
        """The evidence panel for the conversation's answers (whole releases as stored)."""
        answers = [turn.get("answer") for turn in turns]
        cited = {c["release_id"] for a in answers[-EVIDENCE_TURNS:] if a for c in a["citations"]}
        stored = {rid: self.assistant.index.release(rid) for rid in cited}
        return evidence_html(answers, lang,
                             {rid: s.paragraphs for rid, s in stored.items() if s})

    def respond(self, question: str, turns: Turns, lang: str, since: str, until: str,
                sources: list[str] | None, mode: str | None = None
                ) -> Iterator[tuple[Any, ...]]:
        """Append the question, stream its answer (in the answer mode chosen, None: the
        default) into the chat, then show the evidence."""
        if not question or not question.strip():
            yield gr.skip(), question, gr.skip(), turns
            return
        question = question.strip()
        before = chat_messages(turns, lang, self.llm)
        asked = {"role": "user", "content": question}
        yield [*before, asked, {"role": "assistant", "content": t(lang, "thinking")}], "", \
            gr.skip(), turns
        turn: dict[str, Any] = {
            "id": uuid.uuid4().hex[:12], "question": question, "answer": None,
            "history": [turn["question"] for turn in turns][-HISTORY_TURNS:],
            "filters": {"since": since or "", "until": until or "", "sources": sources or []},
            "mode": mode or None}
        for partial in self._answer(turn):
            yield [*before, asked, {"role": "assistant", "content": escape(partial) + " …"}], \
                "", gr.skip(), turns
        turns = [*turns, turn]
        yield chat_messages(turns, lang, self.llm), "", self.evidence(turns, lang), turns

    def _answer(self, turn: dict[str, Any]) -> Iterator[str]:
        """Fill in the turn's answer (or problem, or error); yields the text so far."""
        filters = turn["filters"]
        try:
            since, until = _date(filters["since"], "since"), _date(filters["until"], "until")
        except BadDate as exc:
            turn["problem"] = {"key": "bad_date", "field": exc.field, "value": exc.value}
            return
        text = ""
        try:
            if not self.assistant.index.releases():
                turn["problem"] = {"key": "empty_index"}
                return
            for event in self.assistant.ask_stream(
                    turn["question"], since=since, until=until, history=turn["history"],
                    sources=filters["sources"] or None, answer_mode=turn.get("mode")):
                if isinstance(event, Answer):
                    turn["answer"] = to_json(event)
                    return
                text += event
                yield text
        except AssistantError as exc:
            turn["error"] = str(exc)

    def new_chat(self, lang: str) -> tuple[Any, ...]:
        """An empty conversation: no messages, turns, sources, copied text, file or rating."""
        return [], [], evidence_html([], lang, {}), gr.update(value="", visible=False), \
            gr.update(value=None, visible=False), gr.update(visible=False), None, ""

    def relabel(self, turns: Turns, lang: str) -> tuple[Any, ...]:
        """The conversation and its evidence rendered again in lang."""
        return chat_messages(turns, lang, self.llm), self.evidence(turns, lang)


class ConversationHandlers:
    """What was said, kept: the latest answer as plain text, the conversation as a Markdown
    file, and thumbs up/down with a comment appended to index/feedback.jsonl."""

    def __init__(self, assistant: Assistant) -> None:
        self.llm = "llm" in assistant.modes
        self.feedback_file = feedback.feedback_path(Path(assistant.settings.index_dir))

    def copy_text(self, turns: Turns, lang: str) -> dict[str, Any]:
        """The latest answer with its sources as plain text."""
        answers = [turn["answer"] for turn in turns if turn.get("answer")]
        if not answers:
            raise gr.Error(t(lang, "no_answer"))
        return gr.update(value=plain_text(answers[-1], lang), visible=True)

    def export(self, turns: Turns, lang: str) -> dict[str, Any]:
        """The conversation as a Markdown file to download."""
        if not turns:
            raise gr.Error(t(lang, "no_answer"))
        folder = Path(tempfile.mkdtemp(prefix="percakapan-"))
        path = folder / f"percakapan-{dt.datetime.now():%Y%m%d-%H%M}.md"
        path.write_text(conversation_markdown(turns, lang, self.llm), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    def like(self, turns: Turns, lang: str, data: gr.LikeData,
             request: gr.Request) -> tuple[Any, ...]:
        """Record a thumbs up/down on an answer and offer a comment box."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = turns[index // 2] if 0 <= index // 2 < len(turns) else None
        if turn is None or turn.get("answer") is None or data.liked not in (True, False):
            return None, gr.update(visible=False), ""
        rating: feedback.Rating = "up" if data.liked else "down"
        feedback.record(self.feedback_file, turn["id"], rating, turn["answer"],
                        user=_user(request), history=turn["history"])
        return {"turn": index // 2, "id": turn["id"], "rating": rating}, \
            gr.update(visible=True), t(lang, "thanks")

    def comment(self, text: str, pending: dict[str, Any] | None, turns: Turns,
                lang: str, request: gr.Request) -> tuple[Any, ...]:
        """Record the comment on the answer just rated (if it is still in the chat)."""
        turn = next((turn for turn in turns if turn["id"] == (pending or {}).get("id")), None)
        if pending is None or turn is None or not text.strip():
            return pending, gr.update(visible=turn is not None), text, ""
        feedback.record(self.feedback_file, turn["id"], pending["rating"], turn["answer"],
                        comment=text, user=_user(request), history=turn["history"])
        return None, gr.update(visible=False), "", t(lang, "thanks_comment")


def example_text(evt: gr.SelectData) -> str:
    """The text of the clicked example question."""
    value = evt.value if isinstance(evt.value, dict) else {}
    return str(value.get("text", ""))
