"""Whether to refuse: features of how well the best sentence answers, and their logistic
confidence, compared to the refusal threshold by the answer stage."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from assistant.answer.sentences import DENSE_FLOOR, Sentence
from assistant.lexical import analyze, detect_language

# Refusal-F1 is highest when nearly everything is refused (IDK-MRC is 59% unanswerable), which
# would fail staff on most real questions; this threshold keeps wrong refusals of answerable
# questions at ~15% (CV on IDK-MRC + cross-lingual: refusal precision 0.80, recall 0.40).
DEFAULT_REFUSAL_THRESHOLD = 0.32

_EXPECTS_NUMBER = re.compile(r"^(berapa|berapakah|seberapa|how (many|much|large|big|high|far|old)|"
                             r"what (number|percentage|amount|share))\b")
_EXPECTS_TIME = re.compile(r"^(kapan|kapankah|tahun berapa|pada tahun|when|what year)\b")
_HAS_NUMBER = re.compile(r"\d|\b(satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|"
                         r"puluh|ratus|ribu|juta|miliar|triliun|setengah)\b", re.IGNORECASE)
_HAS_TIME = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b|\b(januari|februari|maret|april|mei|juni|"
                       r"juli|agustus|september|oktober|november|desember|abad|tahun|hari|"
                       r"minggu|bulan|senin|selasa|rabu|kamis|jumat|sabtu)\b", re.IGNORECASE)


# dates and years: in a short answer to "how many/how much" they are not the quantity asked
_DATE = re.compile(r"\b\d{1,2}\s*(?:[-–]\s*\d{1,2}\s*)?(?:januari|februari|maret|april|mei|juni|"
                   r"juli|agustus|september|oktober|november|desember|january|february|march|"
                   r"may|june|july|august|october|december)\b(?:\s+\d{4})?|"
                   r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:1[5-9]|20)\d{2}\b", re.IGNORECASE)


def span_type_ok(question: str, span: str) -> bool:
    """answer_type_ok for a short answer: a question that wants a number (not a time) is not
    answered by a span whose only numbers are a date or a year."""
    q = question.strip().lower()
    if _EXPECTS_NUMBER.search(q) and not _EXPECTS_TIME.search(q):
        return bool(_HAS_NUMBER.search(_DATE.sub(" ", span)))
    return answer_type_ok(question, span)


def answer_type_ok(question: str, sentence: str) -> bool:
    """False when the question wants a number or a time and the sentence has none."""
    q = question.strip().lower()
    if _EXPECTS_TIME.search(q):
        return bool(_HAS_TIME.search(sentence))
    if _EXPECTS_NUMBER.search(q):
        return bool(_HAS_NUMBER.search(sentence))
    return True


# Words that frame what kind of answer is wanted ("di kota mana", "tahun berapa"): the answer
# rarely repeats them, so they do not count as terms the passage must contain.
QUESTION_FRAME = frozenset(analyze(
    "kota negara provinsi tahun tanggal nama jumlah tempat lokasi hari bulan orang julukan "
    "city country province year date name number place location day month people"))


def content_terms(question: str) -> set[str]:
    """The terms a passage could answer on: stopwords and question frames removed.

    None at all ("a", "the the the", "???", an emoji, control characters): there is nothing
    to look for, and the answer stage refuses without reading the passages.
    """
    return set(analyze(question)) - QUESTION_FRAME


def evidence(question: str, scored: Sequence[Sentence], idf: Callable[[str], float]
             ) -> dict[str, float]:
    """Features of how well the best sentence and its passage answer the question.

    They do not depend on the size of the corpus (counts, not idf), so weights fitted on
    an evaluation set carry over to the ministry's index. English questions get no lexical
    features: their words are not expected in Indonesian text.
    """
    if not scored:
        return {}
    best = scored[0]
    lang_en = detect_language(question) == "en"
    terms = content_terms(question)
    passage_terms = set(analyze(best.hit.chunk.embed_text))
    covered = len(terms & passage_terms) / len(terms) if terms else 1.0
    unknown = sum(idf(t) == 0.0 for t in terms) / len(terms) if terms else 0.0
    return {
        "score": best.score,
        "dense": (best.dense - DENSE_FLOOR) / (1.0 - DENSE_FLOOR),
        "overlap": best.overlap,
        "passage_coverage": 0.0 if lang_en else covered,
        "unknown_terms": 0.0 if lang_en else unknown,
        "type_ok": float(answer_type_ok(question, best.text)),
        "lang_en": float(lang_en),
    }


# Logistic weights over evidence(); fitted by `eval/calibrate_refusal.py` on IDK-MRC valid
# (Indonesian) and the English questions of the cross-lingual set (844 questions, 5-fold CV).
CONFIDENCE_WEIGHTS: dict[str, float] = {
    "score": 1.829, "dense": 1.7799, "overlap": -0.0683, "passage_coverage": 1.3641,
    "unknown_terms": -0.515, "type_ok": 0.5935, "lang_en": 2.0054,
}
CONFIDENCE_BIAS = -4.4021


def confidence(features: Mapping[str, float]) -> float:
    """Probability-like evidence strength (what the refusal threshold is compared to)."""
    if not features:
        return 0.0
    z = CONFIDENCE_BIAS + sum(w * features.get(k, 0.0) for k, w in CONFIDENCE_WEIGHTS.items())
    return float(1.0 / (1.0 + np.exp(-z)))
