"""The extractive answerer's refusal features and confidence (answer/refusal.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from assistant.answer import refusal
from assistant.answer.question import Question
from assistant.answer.sentences import DENSE_FLOOR, Sentence
from assistant.lexical import analyze
from assistant.types import Chunk, Hit

PASSAGE = "Rapat membahas anggaran gizi sebesar Rp 3,5 triliun di 12 provinsi."


def _best(text: str = PASSAGE, score: float = 1.2, dense: float = 0.9,
          overlap: float = 0.5) -> list[Sentence]:
    chunk = Chunk("r1#0", "r1", PASSAGE, 0, 1, 0, len(PASSAGE), "Rapat Gizi")
    return [Sentence(text, Hit(chunk, 1.0), 0, 0, score=score, dense=dense, overlap=overlap)]


def _idf(known: set[str]) -> Callable[[str], float]:
    return lambda term: 1.0 if term in known else 0.0


def test_no_sentence_means_no_evidence_and_zero_confidence() -> None:
    assert refusal.evidence(Question("berapa anggaran gizi?"), [], _idf(set())) == {}
    assert refusal.confidence({}) == 0.0


def test_indonesian_features_count_covered_and_unknown_terms() -> None:
    question = Question("berapa anggaran gizi untuk zyxwv?")
    terms = question.content
    known = set(analyze(PASSAGE))
    features = refusal.evidence(question, _best(), _idf(known))
    covered = len(terms & known) / len(terms)
    assert features["passage_coverage"] == pytest.approx(covered) and 0 < covered < 1
    assert features["unknown_terms"] == pytest.approx(1 / len(terms))  # only "zyxwv"
    assert features["dense"] == pytest.approx((0.9 - DENSE_FLOOR) / (1 - DENSE_FLOOR))
    assert (features["score"], features["overlap"], features["lang_en"]) == (1.2, 0.5, 0.0)
    assert features["type_ok"] == 1.0  # a number was asked and the sentence has one


def test_english_questions_get_no_lexical_features() -> None:
    features = refusal.evidence(Question("how large is the nutrition budget?"), _best(),
                                _idf(set()))
    assert features["lang_en"] == 1.0
    assert features["passage_coverage"] == features["unknown_terms"] == 0.0


def test_a_sentence_without_the_asked_type_is_flagged() -> None:
    features = refusal.evidence(Question("berapa anggaran gizi?"),
                                _best("Rapat membahas anggaran gizi."), _idf(set()))
    assert features["type_ok"] == 0.0


def test_confidence_is_the_logistic_of_the_weighted_features() -> None:
    features = {"score": 1.0, "dense": 0.5, "type_ok": 1.0}
    z = refusal.CONFIDENCE_BIAS + sum(refusal.CONFIDENCE_WEIGHTS[k] * v
                                      for k, v in features.items())
    assert refusal.confidence(features) == pytest.approx(1 / (1 + math.exp(-z)))
    stronger = {**features, "score": 2.0}
    assert refusal.confidence(stronger) > refusal.confidence(features)
    assert 0.0 < refusal.confidence(features) < 1.0


def test_better_evidence_crosses_the_default_threshold() -> None:
    question = Question("berapa anggaran gizi?")
    weak = refusal.evidence(question, _best(score=0.1, dense=0.76, overlap=0.0), _idf(set()))
    strong = refusal.evidence(question, _best(score=1.5, dense=0.93, overlap=1.0),
                              _idf(set(analyze(PASSAGE))))
    assert refusal.confidence(weak) < refusal.DEFAULT_REFUSAL_THRESHOLD
    assert refusal.confidence(strong) > refusal.DEFAULT_REFUSAL_THRESHOLD
