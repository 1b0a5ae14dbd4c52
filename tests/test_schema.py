"""The JSON shapes (schema.py): what ask --json, the API and the page share."""

from __future__ import annotations

import datetime as dt
import json

from assistant.schema import (
    AnswerOut,
    answer_out,
    release_detail,
    release_out,
    to_json,
)
from assistant.types import Answer, AnswerSentence, Citation, IndexedRelease

CITATION = Citation(1, "r1", "Rapat Stunting", dt.date(2023, 10, 2), "Kemenko PMK",
                    "Anggaran Rp 3,5 triliun.", "Rapat membahas anggaran Rp 3,5 triliun.", 0.91,
                    chunk_id="r1#0")
ANSWER = Answer("berapa anggarannya?", "Anggaran Rp 3,5 triliun. [1]", False, (CITATION,),
                confidence=0.8, timings_ms={"retrieve": 12.5}, evidence={"score": 1.0},
                sentences=(AnswerSentence("Anggaran Rp 3,5 triliun.", (1,)),))


def test_an_answer_serialises_to_the_documented_fields_only() -> None:
    data = to_json(ANSWER)
    assert set(data) == {"question", "answer", "refused", "short_answer", "citations",
                         "timings_ms", "mode", "model", "sentences", "notice"}
    assert data["citations"][0] == {
        "n": 1, "release_id": "r1", "title": "Rapat Stunting", "date": "2023-10-02",
        "source": "Kemenko PMK", "url": None, "quote": "Anggaran Rp 3,5 triliun.",
        "passage": "Rapat membahas anggaran Rp 3,5 triliun.", "score": 0.91}
    assert data["sentences"] == [{"text": "Anggaran Rp 3,5 triliun.", "citations": [1],
                                  "supported": True, "recited": False}]
    json.dumps(data)  # plain JSON: no dates or tuples left


def test_empty_strings_become_null_and_internal_fields_stay_out() -> None:
    data = to_json(ANSWER)
    assert data["model"] is None and data["notice"] is None and data["short_answer"] is None
    assert "confidence" not in data and "evidence" not in data and "hits" not in data


def test_a_refusal_without_a_date_or_url_is_still_valid() -> None:
    undated = Citation(1, "r2", "T", None, "", "q", "p", 0.5, url="https://x.go.id/r2")
    refused = Answer("?", "Tidak ditemukan.", True, (undated,), mode="llm", model="qwen",
                     notice="LLM gagal")
    data = to_json(refused)
    assert data["refused"] and data["citations"][0]["date"] is None
    assert data["citations"][0]["url"] == "https://x.go.id/r2"
    assert (data["mode"], data["model"], data["notice"]) == ("llm", "qwen", "LLM gagal")


def test_the_json_reads_back_as_the_same_model() -> None:
    model = answer_out(ANSWER)
    assert AnswerOut.model_validate(json.loads(model.model_dump_json())) == model


def test_release_shapes_use_iso_dates_and_null_urls() -> None:
    record = IndexedRelease("r1", "h", "Kemenko PMK", "Judul", dt.date(2023, 9, 29), 3,
                            file="corpus/a.txt", subtitle="Sub")
    assert release_out(record).model_dump() == {
        "id": "r1", "title": "Judul", "date": "2023-09-29", "chunks": 3,
        "source": "Kemenko PMK", "file": "corpus/a.txt"}
    detail = release_detail(record, ("P1", "P2"))
    assert (detail.url, detail.subtitle, detail.paragraphs) == (None, "Sub", ["P1", "P2"])
    assert release_out(IndexedRelease("r2", "h", "", "T", None, 0)).date is None
