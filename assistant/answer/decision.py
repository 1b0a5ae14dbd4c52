"""The answer decision: one calibrated model of "answer or refuse" for the reader's answers.

It weighs the reader's answerability and span score with the retrieval evidence (where
the answering passage ranked, how close the best passage is to the question, which is on
another scale for English questions over Indonesian text) and the extractive answerer's
evidence (its confidence, and whether it quotes the sentence the reader chose). A logistic
model over these features gives the confidence; the question is refused below the
threshold of its language. Weights and thresholds are fitted on one half of the valid
splits (eval/reader_eval.py) and live in the reader's record (readerfiles.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.types import Answer, Hit


def logit(p: float) -> float:
    """log(p / (1 - p)), p kept inside (0, 1)."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z), without overflow."""
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True)
class Signals:
    """What the decision reads about one question (the reader's lead and everything else)."""

    answerable: float  # the leading window's answerability logit
    span: float  # its span score
    answerable_max: float  # the best answerability logit of any window read
    rank: int  # the leading passage's rank
    hits: Sequence[Hit]
    gate: Answer  # the extractive answer to the same request
    agree: bool  # the extractive answer quotes the reader's sentence or span
    english: bool


def features(s: Signals) -> dict[str, float]:
    """The decision's features, by name."""
    top = s.hits[0] if s.hits else None
    lead_hit = s.hits[s.rank] if s.rank < len(s.hits) else None
    retrieval = (lead_hit.score / top.score) if top and lead_hit and top.score > 0 else 0.0
    dense = float(top.dense) if top and top.dense is not None else 0.0
    en = float(s.english)
    return {
        "answerable": s.answerable, "span": s.span, "answerable_max": s.answerable_max,
        "rank": float(s.rank), "retrieval": retrieval, "dense_top": dense,
        "extractive": logit(s.gate.confidence), "agree": float(s.agree),
        "english": en, "english_answerable": en * s.answerable, "english_dense": en * dense,
        "english_extractive": en * logit(s.gate.confidence),
    }


@dataclass(frozen=True)
class Decision:
    """A logistic model over the features, and a refusal threshold per language."""

    weights: Mapping[str, float]
    bias: float
    thresholds: Mapping[str, float]

    def confidence(self, values: Mapping[str, float]) -> float:
        """Probability-like confidence that the answer should be given."""
        return sigmoid(self.bias + sum(w * values.get(k, 0.0) for k, w in self.weights.items()))

    def threshold(self, language: str) -> float:
        """Refuse below this (the question's language, else the Indonesian one)."""
        return float(self.thresholds.get(language, self.thresholds.get("id", 0.5)))

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Decision:
        """The decision stored in the reader's record (answerability alone when none is)."""
        stored = record.get("decision")
        if not stored:
            return cls({"answerable": 1.0}, 0.0, {"id": 0.5, "en": 0.5})
        return cls(dict(stored["weights"]), float(stored["bias"]), dict(stored["thresholds"]))

    def to_record(self) -> dict[str, Any]:
        """The decision as stored in the record."""
        return {"weights": {k: round(v, 6) for k, v in self.weights.items()},
                "bias": round(self.bias, 6),
                "thresholds": {k: round(v, 6) for k, v in self.thresholds.items()}}
