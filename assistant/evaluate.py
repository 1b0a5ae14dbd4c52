"""Evaluation library: SQuAD-style sets as temporary indexes, retrieval and refusal metrics."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.text import normalize, split_paragraphs
from assistant.types import Release


@dataclass(frozen=True)
class SquadQuestion:
    """A question of a SQuAD-style set; its gold passage is its own context."""

    id: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    passage_id: str


def passage_release_id(passage: str) -> str:
    """Deterministic release id of a passage (its content hash)."""
    return "p" + hashlib.sha1(normalize(passage).encode()).hexdigest()[:15]


def passage_release(passage: str, source: str) -> Release:
    """A passage of a QA set as a one-passage release."""
    rid = passage_release_id(passage)
    paragraphs = tuple(split_paragraphs(passage)) or (normalize(passage),)
    return Release(id=rid, title="", paragraphs=paragraphs, source=source,
                   content_hash=hashlib.sha256("\n\n".join(paragraphs).encode()).hexdigest())


def load_squad(path: Path, question_field: str = "question", answers_field: str = "answers",
               context_field: str | None = None) -> tuple[list[SquadQuestion], list[Release]]:
    """Questions and the unique passages of a SQuAD-style JSONL file."""
    questions: list[SquadQuestion] = []
    passages: dict[str, Release] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            context = row[context_field or ("context" if "context" in row else "context_id")]
            question = row[question_field]
        except (json.JSONDecodeError, KeyError) as exc:
            raise AssistantError(
                f"{path.name} line {number}: not a SQuAD-style record ({exc})") from exc
        release = passage_release(context, f"{path.name}#L{number}")
        passages.setdefault(release.id, release)
        questions.append(SquadQuestion(
            id=str(row.get("id", number)), question=question,
            answers=tuple(row.get(answers_field) or ()),
            answerable=not row.get("is_impossible", False), passage_id=release.id,
        ))
    return questions, list(passages.values())


def rank_of(gold: str, ranked: Sequence[str]) -> int | None:
    """1-based rank of the gold id in a ranking (first occurrence), or None."""
    for rank, rid in enumerate(dict.fromkeys(ranked), start=1):
        if rid == gold:
            return rank
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose gold is in the top k."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float:
    """Mean reciprocal rank, counting only ranks within k."""
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


@dataclass(frozen=True)
class RefusalPoint:
    """Refusal quality at one threshold (the positive class is 'should refuse')."""

    threshold: float
    precision: float
    recall: float
    f1: float
    wrong_refusals: float  # share of answerable questions refused


def refusal_point(confidences: Sequence[float], answerable: Sequence[bool],
                  threshold: float) -> RefusalPoint:
    """Precision/recall/F1 of refusing every question whose confidence is below threshold."""
    refused = [c < threshold for c in confidences]
    tp = sum(r and not a for r, a in zip(refused, answerable, strict=True))
    fp = sum(r and a for r, a in zip(refused, answerable, strict=True))
    fn = sum(not r and not a for r, a in zip(refused, answerable, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n_answerable = sum(answerable)
    wrong = fp / n_answerable if n_answerable else 0.0
    return RefusalPoint(threshold, precision, recall, f1, wrong)


def refusal_curve(confidences: Sequence[float], answerable: Sequence[bool]) -> list[RefusalPoint]:
    """Refusal quality at every distinct confidence (as threshold just above it)."""
    thresholds = sorted({round(c, 6) + 1e-6 for c in confidences})
    return [refusal_point(confidences, answerable, t) for t in thresholds]


def best_threshold(confidences: Sequence[float], answerable: Sequence[bool]) -> RefusalPoint:
    """The threshold with the highest refusal F1 (ties: the lower threshold)."""
    curve = refusal_curve(confidences, answerable)
    if not curve:
        raise AssistantError("no questions to calibrate on")
    return max(curve, key=lambda p: (p.f1, -p.threshold))


def squad_index(assistant: Any, releases: Sequence[Release],
                progress: Callable[[int, int], Any] | None = None) -> None:
    """Index a QA set's passages into the (temporary) assistant index."""
    assistant.add_releases(releases, progress=progress)
