"""Evaluation metrics: retrieval ranks, answer matching, citations, refusal, latency.

Pure functions over plain values, each defined in eval/README.md; the runner in
evaluate.py decides what goes in.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.errors import AssistantError

# an Indonesian (1.234,5) or English (1,234.5) number; separators are decided below
_NUMBER = re.compile(r"\d+(?:[.,]\d+)+")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+|\d+")
_MARKER = re.compile(r"\[\d+\]")
_ARTICLES = frozenset({"a", "an", "the"})


# answers ----------------------------------------------------------------------------------


def _canonical_number(match: re.Match[str]) -> str:
    """One spelling per number: grouping dropped, decimal point as '.', no trailing zeros."""
    text = match.group(0)
    seps = [c for c in text if c in ".,"]
    groups = re.split(r"[.,]", text)
    if len(set(seps)) == 2:  # 1.234,5 or 1,234.5: the last separator is the decimal one
        integer, fraction = "".join(groups[:-1]), groups[-1]
    elif all(len(g) == 3 for g in groups[1:]):  # 3.500 / 1,000 / 1.000.000: grouping
        integer, fraction = "".join(groups), ""
    elif len(seps) == 1:  # 3,5 or 3.5: decimal
        integer, fraction = groups
    else:  # not a number we can read (a list of digits, a version): keep its digits apart
        return " ".join(groups)
    fraction = fraction.rstrip("0")
    return f"{int(integer)}.{fraction}" if fraction else str(int(integer))


def answer_tokens(text: str) -> list[str]:
    """Tokens for matching: lower case, no punctuation or [n] markers, numbers in one form."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _MARKER.sub(" ", text).replace("%", " persen ")
    text = _NUMBER.sub(_canonical_number, text)
    return [t for t in _TOKEN.findall(text) if t not in _ARTICLES]


def normalize_answer(text: str) -> str:
    """The matching form of a text: its answer tokens joined by single spaces."""
    return " ".join(answer_tokens(text))


def contains(haystack: str, needle: str) -> bool:
    """Whether needle's normalised tokens occur as a run in haystack's (whole tokens only)."""
    wanted = normalize_answer(needle)
    return bool(wanted) and f" {wanted} " in f" {normalize_answer(haystack)} "


def contains_answer(response: str, answers: Sequence[str]) -> bool:
    """Whether the response contains any gold answer (normalised)."""
    return any(contains(response, a) for a in answers)


def token_f1(response: str, answers: Sequence[str]) -> float:
    """SQuAD token F1 of the response against its best-matching gold answer."""
    predicted = answer_tokens(response)
    best = 0.0
    for answer in answers:
        gold = answer_tokens(answer)
        common = sum((Counter(predicted) & Counter(gold)).values())
        if common:
            precision, recall = common / len(predicted), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


# retrieval --------------------------------------------------------------------------------


def first_gold_rank(relevant: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant item of a ranking, or None."""
    return next((i for i, r in enumerate(relevant, start=1) if r), None)


def rank_of(gold: str, ranked: Sequence[str]) -> int | None:
    """1-based rank of the gold id in a ranking (first occurrence), or None."""
    return first_gold_rank([rid == gold for rid in dict.fromkeys(ranked)])


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first gold item is in the top k."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float:
    """Mean reciprocal rank, counting only ranks within k."""
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def ndcg_at(relevant: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    """Binary nDCG@k: DCG of the ranking over that of n_relevant gold items ranked first."""
    dcg = sum(1.0 / math.log2(i + 1) for i, r in enumerate(relevant[:k], start=1) if r)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_relevant, k) + 1))
    return dcg / ideal if ideal else 0.0


# citations --------------------------------------------------------------------------------


def citation_precision(cited_gold: Sequence[bool]) -> float | None:
    """Share of an answer's citations that hold gold evidence; None without citations."""
    return sum(cited_gold) / len(cited_gold) if cited_gold else None


# refusal ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefusalPoint:
    """Refusal quality at one threshold (the positive class is 'should refuse')."""

    threshold: float
    precision: float
    recall: float
    f1: float
    wrong_refusals: float  # share of answerable questions refused


def refusal_scores(refused: Sequence[bool], answerable: Sequence[bool],
                   threshold: float = math.nan) -> RefusalPoint:
    """Precision/recall/F1 of the refusals against the unanswerable questions."""
    tp = sum(r and not a for r, a in zip(refused, answerable, strict=True))
    fp = sum(r and a for r, a in zip(refused, answerable, strict=True))
    fn = sum(not r and not a for r, a in zip(refused, answerable, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n_answerable = sum(answerable)
    wrong = fp / n_answerable if n_answerable else 0.0
    return RefusalPoint(threshold, precision, recall, f1, wrong)


def refusal_point(confidences: Sequence[float], answerable: Sequence[bool],
                  threshold: float) -> RefusalPoint:
    """Refusal quality when every question with confidence below threshold is refused."""
    return refusal_scores([c < threshold for c in confidences], answerable, threshold)


def refusal_curve(confidences: Sequence[float], answerable: Sequence[bool]) -> list[RefusalPoint]:
    """Refusal quality at every distinct confidence (as threshold just above it)."""
    thresholds = sorted({round(c, 6) + 1e-6 for c in confidences})
    return [refusal_point(confidences, answerable, t) for t in thresholds]


def best_threshold(confidences: Sequence[float], answerable: Sequence[bool],
                   max_wrong_refusals: float | None = None) -> RefusalPoint:
    """The threshold with the highest refusal F1 (ties: the lower threshold).

    max_wrong_refusals: only thresholds that refuse at most this share of answerable ones.
    """
    if all(answerable) or not any(answerable):
        raise AssistantError("calibration needs both answerable and unanswerable questions "
                             f"(got {sum(answerable)} answerable of {len(answerable)})")
    curve = [p for p in refusal_curve(confidences, answerable)
             if max_wrong_refusals is None or p.wrong_refusals <= max_wrong_refusals]
    if not curve:
        raise AssistantError(f"no threshold refuses at most {max_wrong_refusals} of the "
                             "answerable questions")
    return max(curve, key=lambda p: (p.f1, -p.threshold))


# aggregates -------------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None
