"""Evaluation metrics (evaluation/metrics.py) on cases small enough to check by hand."""

from __future__ import annotations

import math

import pytest

from assistant.errors import AssistantError
from assistant.evaluation import metrics


@pytest.mark.parametrize(("text", "tokens"), [
    ("Rp 3,5 Juta [2]", ["rp", "3.5", "juta"]),
    ("1.234,50 ton", ["1234.5", "ton"]),
    ("1,000,000 orang", ["1000000", "orang"]),
    ("naik 12%", ["naik", "12", "persen"]),
    ("The Minister", ["minister"]),
    ("versi 2.5.1", ["versi", "2", "5", "1"]),
    ("ｆｕｌｌ　ｗｉｄｔｈ", ["full", "width"]),
])
def test_answer_tokens_give_one_spelling_per_number_and_word(text: str, tokens: list[str]
                                                             ) -> None:
    assert metrics.answer_tokens(text) == tokens
    assert metrics.normalize_answer(text) == " ".join(tokens)


def test_refusal_curve_has_one_point_per_distinct_threshold() -> None:
    curve = metrics.refusal_curve([0.1, 0.2, 0.2, 0.9], [False, True, False, True])
    thresholds = [p.threshold for p in curve]
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == len(thresholds)
    assert all(0 <= p.precision <= 1 and 0 <= p.recall <= 1 for p in curve)
    assert max(p.recall for p in curve) == 1.0  # some threshold refuses every unanswerable


@pytest.mark.parametrize(("response", "answer", "expected"), [
    ("Anggaran Rp 3,5 juta disiapkan.", "3.5 juta", True),  # decimal comma vs point
    ("Dana Rp3.500.000 cair", "3,500,000", True),  # grouping dots vs commas
    ("sebanyak 1.234,5 ton", "1,234.5 ton", True),  # Indonesian vs English, mixed
    ("naik 3,50 persen", "3.5%", True),  # trailing zero, % as persen
    ("target nol persen pada tahun 2024.", "Nol Persen pada Tahun 2024", True),  # case
    ("di 15 provinsi", "5 provinsi", False),  # whole tokens only
    ("The answer [1] is Nanning, Guangxi.", "answer is Nanning", True),  # markers, articles
    ("versi 2.5.1 dirilis", "2 5 1", True),  # not a number: digits kept apart
    ("apa saja", "", False),  # an empty gold answer never matches
    ("", "Nanning", False),
])
def test_contains(response: str, answer: str, expected: bool) -> None:
    assert metrics.contains(response, answer) is expected


def test_contains_answer_accepts_any_gold_answer() -> None:
    assert metrics.contains_answer("Diadakan di Nanning.", ["Jakarta", "Nanning"])
    assert not metrics.contains_answer("Diadakan di Nanning.", [])


@pytest.mark.parametrize(("response", "answers", "expected"), [
    ("Nanning Guangxi", ["Nanning"], 2 / 3),  # P 1/2, R 1
    ("Nanning Guangxi", ["Jakarta", "Nanning, Guangxi, pada"], 0.8),  # best: P 1, R 2/3
    ("Nanning [1]", ["nanning"], 1.0),  # citation markers are not tokens
    ("Rp 3,5 juta", ["3.5 juta"], 0.8),  # numbers match; "rp" costs precision
    ("", ["Nanning"], 0.0),
    ("Nanning", [], 0.0),
])
def test_token_f1(response: str, answers: list[str], expected: float) -> None:
    assert metrics.token_f1(response, answers) == pytest.approx(expected)


def test_ranks_recall_and_mrr() -> None:
    assert metrics.first_gold_rank([False, True, True]) == 2
    assert metrics.first_gold_rank([False, False]) is None
    assert metrics.rank_of("b", ["a", "a", "b"]) == 2  # repeated releases count once
    ranks = [1, 3, None, 10]
    assert metrics.recall_at(ranks, 1) == 0.25
    assert metrics.recall_at(ranks, 5) == 0.5
    assert metrics.recall_at(ranks, 10) == 0.75
    assert metrics.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 10) / 4)
    assert metrics.mrr_at(ranks, 5) == pytest.approx((1 + 1 / 3) / 4)
    assert metrics.recall_at([], 5) == 0.0 and metrics.mrr_at([]) == 0.0


def test_ndcg_single_and_several_gold() -> None:
    # gold at ranks 2 and 4 of 2 gold chunks
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert metrics.ndcg_at([False, True, False, True], 2) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    # two of three gold chunks found, at the top
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg_at([True, True, False], 3) == pytest.approx((1 + 1 / math.log2(3)) / ideal)
    assert metrics.ndcg_at([True], 1) == 1.0
    assert metrics.ndcg_at([False, False], 0) == 0.0  # no gold in the index
    assert metrics.ndcg_at([False] * 10 + [True], 1, k=10) == 0.0  # beyond k


def test_citation_precision_with_and_without_citations() -> None:
    assert metrics.citation_precision([True, False, False]) == pytest.approx(1 / 3)
    assert metrics.citation_precision([]) is None  # a refusal cites nothing: not counted


def test_refusal_scores() -> None:
    # refused:     T  T  F  F  T ; answerable: F  T  F  T  T
    point = metrics.refusal_scores([True, True, False, False, True],
                                   [False, True, False, True, True])
    assert (point.precision, point.recall) == pytest.approx((1 / 3, 1 / 2))
    assert point.f1 == pytest.approx(0.4)
    assert point.wrong_refusals == pytest.approx(2 / 3)
    none = metrics.refusal_scores([False, False], [True, False])
    assert (none.precision, none.recall, none.f1, none.wrong_refusals) == (0, 0, 0, 0)


def test_refusal_point_with_tied_confidences() -> None:
    point = metrics.refusal_point([0.4, 0.4, 0.6], [False, True, True], 0.5)
    assert (point.precision, point.recall, point.wrong_refusals) == pytest.approx((0.5, 1, 0.5))


def test_best_threshold_takes_the_lower_of_tied_thresholds() -> None:
    # refusing only the 0.1 question and refusing everything both give F1 2/3
    best = metrics.best_threshold([0.1, 0.2, 0.3, 0.4], [False, True, True, False])
    assert best.f1 == pytest.approx(2 / 3)
    assert best.threshold == pytest.approx(0.1, abs=1e-5)
    # at most a third of the answerable refused: only "refuse the 0.1 question" qualifies
    capped = metrics.best_threshold([0.1, 0.2, 0.3, 0.4], [False, True, True, False], 0.3)
    assert capped.threshold == pytest.approx(0.1, abs=1e-5) and capped.wrong_refusals == 0
    with pytest.raises(AssistantError, match="no threshold"):
        metrics.best_threshold([0.1, 0.2], [True, False], -1)
    with pytest.raises(AssistantError, match="answerable and unanswerable"):
        metrics.best_threshold([0.5, 0.6], [True, True])


def test_percentile_and_mean() -> None:
    assert metrics.percentile([40, 10, 30, 20], 50) == 25
    assert metrics.percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert metrics.percentile([7], 95) == 7
    assert metrics.percentile([], 50) is None
    assert metrics.mean([None, True, False]) == 0.5 and metrics.mean([None]) is None
