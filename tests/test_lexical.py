"""Indonesian analysis, BM25 scoring and the language guess."""

from __future__ import annotations

import pytest

from assistant.lexical import BM25, analyze, detect_language


def test_analyze_stems_drops_stopwords_and_maps_numbers() -> None:
    assert analyze("Pemerintah menyampaikan tiga prioritas pendidikan") == [
        "perintah", "3", "prioritas", "didik"]
    assert analyze("what did the deputies propose") == ["deputies", "propose"]


@pytest.mark.parametrize("question,lang", [
    ("Apa tiga prioritas yang disampaikan Joko Kusnanto?", "id"),
    ("Berapa anggaran yang disiapkan untuk kerja sama ini?", "id"),
    ("what did the deputies propose to Guangxi?", "en"),
    ("Who leads the delegation?", "en"),
    ("Siapa Warsito?", "id"),
])
def test_detect_language(question: str, lang: str) -> None:
    assert detect_language(question) == lang


def test_bm25_ranks_matching_document_first_and_idf() -> None:
    docs = [analyze(t) for t in ["rapat stunting di Jakarta", "pendidikan vokasi Guangxi",
                                 "rapat kerja pendidikan"]]
    bm25 = BM25(docs)
    scores = bm25.scores(analyze("pendidikan vokasi"))
    assert scores.argmax() == 1
    assert bm25.idf("vokasi") > bm25.idf("didik") > 0
    assert bm25.idf("tidakada") == 0.0
    assert list(BM25([]).scores(["x"])) == []


def test_coverage_is_low_for_english_over_indonesian() -> None:
    bm25 = BM25([analyze(t) for t in ["rapat stunting di Jakarta", "pendidikan vokasi Guangxi"]])
    assert bm25.coverage(analyze("pendidikan vokasi")) == pytest.approx(1.0)
    assert bm25.coverage(analyze("vocational education policy")) == 0.0
