"""The extractive answerer's refusal: features of how well the best sentence answers, and
their logistic confidence, compared to its refusal threshold."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from assistant.answer.question import Question
from assistant.answer.sentences import DENSE_FLOOR, Sentence
from assistant.lexical import analyze

# Refusal-F1 is highest when nearly everything is refused (IDK-MRC is 59% unanswerable), which
# would fail staff on most real questions; this threshold keeps wrong refusals of answerable
# questions at ~15% (CV on IDK-MRC + cross-lingual: refusal precision 0.80, recall 0.40).
DEFAULT_REFUSAL_THRESHOLD = 0.32


def evidence(question: Question, scored: Sequence[Sentence], idf: Callable[[str], float]
             ) -> dict[str, float]:
    """Features of how well the best sentence and its passage answer the question.

    They do not depend on the size of the corpus (counts, not idf), so weights fitted on
    an evaluation set carry over to the ministry's index. English questions get no lexical
    features: their words are not expected in Indonesian text.
    """
    if not scored:
        return {}
    best = scored[0]
    lang_en = question.language == "en"
    terms = question.content
    passage_terms = set(analyze(best.hit.chunk.embed_text))
    covered = len(terms & passage_terms) / len(terms) if terms else 1.0
    unknown = sum(idf(t) == 0.0 for t in terms) / len(terms) if terms else 0.0
    return {
        "score": best.score,
        "dense": (best.dense - DENSE_FLOOR) / (1.0 - DENSE_FLOOR),
        "overlap": best.overlap,
        "passage_coverage": 0.0 if lang_en else covered,
        "unknown_terms": 0.0 if lang_en else unknown,
        "type_ok": float(question.type_ok(best.text)),
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
