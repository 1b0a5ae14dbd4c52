"""The reader's answer rules on their own, with a scripted engine (no trained model): span
scores, sentence scores, the leading reading, the sentences quoted, the decision."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer.base import AnswerRequest, IndexEvidence
from assistant.answer.decision import Decision, sigmoid
from assistant.answer.extractive import ExtractiveAnswerer, fixed
from assistant.answer.question import Question
from assistant.answer.reader import Reader, span_scores, whole_words
from assistant.answer.readeranswer import Policy, Quoting, ReaderAnswerer, choose, lead_of
from assistant.index.embed import FakeEmbeddings
from assistant.types import Answer, Chunk, Hit
from tests.readerfakes import ScriptedEngine

EXPO = "Guangxi menggelar CAEXPO ke-20 di Nanning pada September. Pameran itu dibuka Presiden."
FUNDS = "Pemerintah Guangxi menyiapkan dana Rp 5 miliar untuk pameran tersebut."
AGAIN = "Delegasi Indonesia berkunjung ke Nanning untuk pameran itu."
WRONG = "Delegasi bertemu di Jakarta sebelum berangkat ke Tiongkok."


def hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"r{n}#0", f"r{n}", t, 0, 1, 0, len(t), f"Rilis {n}"), 1.0 - n / 10, 0.85)
            for n, t in enumerate(texts)]


def read(script: dict[str, float], question: str, *texts: str) -> list:
    return Reader(lambda: ScriptedEngine(script)).read(question, hits(*texts))


def test_span_scores_allow_only_forward_spans_up_to_the_limit() -> None:
    scores = span_scores(np.array([1.0, 5.0, 0.0]), np.array([9.0, 0.0, 2.0]), max_len=2)
    assert scores[1, 0] == -np.inf and scores[0, 2] == -np.inf  # backwards; too long
    assert scores[1, 2] == 7.0 and np.unravel_index(np.argmax(scores), scores.shape) == (0, 0)


def test_a_span_is_widened_to_whole_words() -> None:
    text = "Batik adalah sebuah warisan budaya."
    assert text[slice(*whole_words(text, (14, 22)))] == "sebuah warisan"
    assert text[slice(*whole_words(text, (13, 19)))] == "sebuah"
    assert text[slice(*whole_words(text, (28, 35)))] == "budaya."


def test_each_sentence_gets_the_best_span_inside_it() -> None:
    [reading] = read({"Nanning": 3.0}, "Di mana CAEXPO digelar?", EXPO)
    assert reading.short == "Nanning" and reading.answerable == 3.0
    first, second = reading.sentences
    assert EXPO[first.start: first.end].startswith("Guangxi") and first.score == 14.0
    assert EXPO[slice(*first.span)] == "Nanning" and second.score < first.score


def test_a_figure_question_leads_with_a_span_holding_a_figure() -> None:
    question = Question("Berapa dana yang disiapkan Guangxi untuk pameran?")
    readings = read({"Nanning": 4.0, "5 miliar": 1.0}, question.text, EXPO, FUNDS)
    lead = lead_of(question, readings)
    assert lead is not None and "5 miliar" in lead.short  # not the more answerable place
    assert lead_of(Question("How much did Guangxi spend?"),
                   read({"Nanning": 4.0}, "x", EXPO)) is None


def test_other_sentences_join_within_the_margin_once_each() -> None:
    question = Question("Di kota mana CAEXPO ke-20 digelar?")
    readings = read({"Nanning": 4.0, "Jakarta": 1.0}, question.text, EXPO, WRONG, AGAIN, EXPO)
    choice = choose(question, readings, Quoting(margin=2.0, max_sentences=3))
    assert choice is not None
    quoted = [q.text for q in choice.quotes]
    assert quoted[0].startswith("Guangxi menggelar") and AGAIN in quoted
    assert len(quoted) == len(set(quoted)) == 2  # the repeated passage is quoted once
    assert [q.text for q in choose(question, readings, Quoting(margin=2.0, max_sentences=1)).quotes] == quoted[:1]


def _answerer(script: dict[str, float], decision: Decision, override: float | None = None
              ) -> ReaderAnswerer:
    engine = ScriptedEngine(script, {"decision": decision.to_record(),
                                     "answer": {"margin": 2.0, "max_sentences": 2}})
    gate = ExtractiveAnswerer(FakeEmbeddings(), threshold=fixed(0.0))
    return ReaderAnswerer(Reader(lambda: engine), gate, threshold=lambda: override)


def _ask(answerer: ReaderAnswerer, question: str, *texts: str) -> Answer:
    evidence = IndexEvidence(FakeEmbeddings().embed_query(question), lambda _t: 1.0)
    return answerer.answer(AnswerRequest(Question(question), hits(*texts), evidence=evidence))


def test_the_answer_quotes_cited_sentences_and_gives_the_short_answer() -> None:
    answer = _ask(_answerer({"Nanning": 3.0}, Decision({"answerable": 1.0}, 0.0,
                                                       {"id": 0.5, "en": 0.5})),
                  "Di kota mana CAEXPO digelar?", EXPO, AGAIN)
    assert not answer.refused and answer.mode == "reader" and answer.short_answer == "Nanning"
    assert answer.confidence == pytest.approx(sigmoid(3.0))
    assert answer.text == " ".join(f"{c.quote} [{c.n}]" for c in answer.citations)
    assert all(c.quote in c.passage for c in answer.citations)
    assert {"answerable", "span", "rank", "retrieval", "extractive", "agree"} <= set(
        answer.evidence)


def test_each_language_is_refused_below_its_own_threshold_and_an_override_wins() -> None:
    decision = Decision({"answerable": 1.0}, 0.0, {"id": 0.9, "en": 0.5})
    answerer = _answerer({"Nanning": 1.0}, decision)  # confidence sigmoid(1) = 0.73
    assert _ask(answerer, "Di mana CAEXPO digelar?", EXPO).refused
    assert not _ask(answerer, "Where was CAEXPO held?", EXPO).refused
    calibrated = _answerer({"Nanning": 1.0}, decision, override=0.7)  # `assistant calibrate`
    assert not _ask(calibrated, "Di mana CAEXPO digelar?", EXPO).refused


def test_the_decision_weighs_retrieval_and_extractive_evidence() -> None:
    decision = Decision({"answerable": 1.0, "extractive": 1.0, "english_dense": -10.0}, 0.0,
                        {"id": 0.5, "en": 0.5})
    low = _ask(_answerer({"Nanning": 1.0}, decision), "Where was CAEXPO held?", EXPO)
    assert low.refused and low.evidence["english_dense"] == pytest.approx(0.85)
    assert set(low.evidence) >= {"answerable", "span", "retrieval", "agree", "extractive"}


def test_policy_reads_the_record_and_falls_back_to_answerability() -> None:
    stored = {"decision": {"weights": {"span": 0.5}, "bias": -1.0,
                           "thresholds": {"id": 0.4, "en": 0.3}},
              "answer": {"id": {"margin": 1.5, "max_sentences": 1},
                         "en": {"lead_retrieval": 8.0, "max_sentences": 3}}}
    policy = Policy.from_record(stored)
    assert policy.quoting_for("id") == Quoting(margin=1.5, max_sentences=1)
    assert policy.quoting_for("en") == Quoting(lead_retrieval=8.0, max_sentences=3)
    assert policy.quoting_for("xx") == policy.quoting_for("id")  # unknown: the Indonesian one
    flat = Policy.from_record({"answer": {"margin": 2.0, "max_sentences": 2}})  # older record
    assert flat.quoting_for("en") == Quoting(margin=2.0, max_sentences=2)
    assert policy.threshold_for("en") == 0.3 and policy.threshold_for("xx") == 0.4
    assert Policy.from_record({}).decision.weights == {"answerable": 1.0}
