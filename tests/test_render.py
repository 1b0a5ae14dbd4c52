"""What the chat, the exported document, the briefing note and the terminal show (render.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assistant.web import render


def _answer(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "question": "Berapa anggaran stunting?", "answer": "Anggaran Rp 3,5 triliun. [1]",
        "refused": False, "mode": "extractive", "notice": None,
        "sentences": [{"text": "Anggaran Rp 3,5 triliun.", "citations": [1], "supported": True,
                       "recited": False}],
        "citations": [
            {"n": 1, "release_id": "r1", "title": "Rapat *Stunting*", "date": "2023-10-02",
             "source": "Kemenko PMK", "quote": "Anggaran Rp 3,5 triliun.", "url": None},
            {"n": 2, "release_id": "r1", "title": "Rapat *Stunting*", "date": "2023-10-02",
             "source": "Kemenko PMK", "quote": "Di 12 provinsi.", "url": None},
            {"n": 3, "release_id": "r2", "title": "Tanpa Tanggal", "date": None, "source": "",
             "quote": "<b>x</b>", "url": None}],
    }
    return {**answer, **changes}


UNSUPPORTED = [{"text": "Anggaran naik.", "citations": [1], "supported": True, "recited": False},
               {"text": "Semua provinsi setuju.", "citations": [2], "supported": False,
                "recited": False}]


@pytest.mark.parametrize(("text", "expected"), [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("**tebal** dan [tautan](x)", "\\*\\*tebal\\*\\* dan \\[tautan\\](x)"),
    ("# Judul", "\\# Judul"),
    ("2023. Tahun baik", "2023\\. Tahun baik"),
    ("baris\n\nbaru", "baris baru"),
])
def test_release_text_is_inert_in_the_chat(text: str, expected: str) -> None:
    assert render.escape(text) == expected


def test_a_document_escapes_tags_without_html_entities() -> None:
    assert render.escape_document("<b>A & B</b> &amp;") == "\\<b\\>A & B\\</b\\> \\&amp;"


def test_sources_are_grouped_by_release_in_order_of_first_citation() -> None:
    groups = render.by_release(_answer()["citations"])
    assert [[c["n"] for c in g] for g in groups] == [[1, 2], [3]]
    markdown = render.answer_markdown(_answer(), "en")
    assert "- [1] [2] **Rapat \\*Stunting\\*** · 2023-10-02 · Kemenko PMK" in markdown
    assert "- [3] **Tanpa Tanggal** · no date" in markdown  # no publisher: no dangling dot
    assert "> [3] &lt;b&gt;x&lt;/b&gt;" in markdown
    assert "> [" not in render.answer_markdown(_answer(), "en", quotes=False)


def test_unsupported_sentences_are_marked_in_every_output() -> None:
    answer = _answer(sentences=UNSUPPORTED)
    chat = render.answer_text(answer, "en")
    assert "<span class='unsupported'" in chat and chat.count("unsupported-mark") == 1
    assert "Semua provinsi setuju. [2] (⚠ not supported by the sources)" in \
        render.answer_text(answer, "en", document=True)
    assert render.marked_plain(answer, "id") == (
        "Anggaran naik. [1] Semua provinsi setuju. [2] (⚠ tidak didukung sumber)")


def test_a_notice_comes_first() -> None:
    text = render.answer_text(_answer(notice="LLM gagal; jawaban kutipan."), "id")
    assert text.startswith("_ℹ️ LLM gagal; jawaban kutipan._\n\n")


def test_plain_text_and_terminal_share_the_source_lines() -> None:
    answer = _answer(notice="catatan")
    lines = render.sources_plain(answer["citations"], "en")
    assert lines[:2] == ["[1] Rapat *Stunting* (2023-10-02), Kemenko PMK",
                         '    "Anggaran Rp 3,5 triliun."']
    assert lines[4] == "[3] Tanpa Tanggal (no date)"
    plain = render.plain_text(answer, "en")
    assert plain.startswith("Question: Berapa anggaran stunting?\nAnswer: Anggaran Rp 3,5")
    assert "(catatan)" in plain and plain.endswith("\n".join(lines) + "\n")
    assert render.terminal_text(answer, "en") == "\n".join(
        ["Anggaran Rp 3,5 triliun. [1]", "", *lines])
    refused = _answer(citations=[], answer="Tidak ditemukan.", refused=True)
    assert render.terminal_text(refused, "id") == "Tidak ditemukan."


def test_an_english_quoted_answer_says_the_quotes_are_indonesian() -> None:
    english = _answer(question="How large is the stunting budget?")
    assert "Indonesian" in render.language_note(english, "en", llm=False)
    assert render.language_note(_answer(), "en", llm=False) == ""  # an Indonesian question
    assert render.language_note({**english, "mode": "llm"}, "en", llm=True) == ""


def test_a_refusal_under_filters_names_them() -> None:
    note = render.filter_note({"since": "2024-01-01", "sources": ["Kemensos"]}, "en")
    assert "since 2024-01-01" in note and "Kemensos" in note
    assert render.filter_note({}, "en") == ""


def test_a_conversation_exports_each_question_and_reply() -> None:
    turns = [{"question": "Berapa *anggaran*?", "answer": _answer(), "filters": None},
             {"question": "Lalu?", "answer": None, "problem": {"key": "bad_date",
                                                               "field": "since", "value": "x"}}]
    doc = render.conversation_markdown(turns, "en", now=dt.datetime(2024, 1, 2, 3, 4))
    assert "2024-01-02 03:04" in doc and "## 1. Berapa \\*anggaran\\*?" in doc
    assert "## 2. Lalu?" in doc and "> [1] Anggaran Rp 3,5 triliun." in doc
    messages = render.chat_messages(turns, "en")
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[3]["content"].startswith("⚠️ ")
