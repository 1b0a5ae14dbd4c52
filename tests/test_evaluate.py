"""Evaluation: the judge, verdicts, test-set loading, reports, --compare (the metrics
themselves: test_metrics.py). The CLI tests use the fake embedder (wiring, not quality; the
real model runs in test_eval_e2e.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.errors import AssistantError
from assistant.evaluation import metrics, report
from assistant.evaluation.evaluate import Judge, verdict
from assistant.evaluation.testset import EvalQuestion, load_set, load_squad, passage_release_id
from assistant.types import Chunk

ROOT = Path(__file__).resolve().parent.parent


def gold_question(**kw: object) -> EvalQuestion:
    fields: dict = {"id": "q", "question": "?", "lang": "id", "answerable": True}
    fields.update(kw)
    return EvalQuestion(**fields)


def chunk(cid: str, text: str) -> Chunk:
    return Chunk(id=cid, release_id=cid.split("#")[0], text=text, para_start=0, para_end=1,
                 char_start=0, char_end=len(text))


def test_judge_gold_release_or_evidence_and_several_gold_passages() -> None:
    chunks = [chunk("a#0", "Rapat membahas anggaran Rp 3,5 triliun."),
              chunk("a#1", "Deputi Budi memimpin rapat."),
              chunk("b#0", "Pemerintah menyiapkan anggaran Rp 3.5 triliun untuk gizi."),
              chunk("c#0", "Tidak ada hubungannya.")]
    judge = Judge(chunks)
    by_release = gold_question(gold_release_ids=("a",))
    assert [judge.is_gold(by_release, c.release_id, c.id, c.text) for c in chunks] == \
        [True, True, False, False]
    # evidence matches after normalisation, in any release: two gold passages
    by_evidence = gold_question(evidence=("anggaran Rp 3,5 triliun",))
    assert judge.n_gold(by_evidence) == 2
    both = gold_question(gold_release_ids=("c",), evidence=("Deputi Budi",))
    assert judge.n_gold(both) == 2
    assert not gold_question(answerable=False).has_gold


# citations, refusal, aggregates -----------------------------------------------------------


def row(qid: str, lang: str = "id", **kw: object) -> dict:
    base = {"id": qid, "retriever": "hybrid", "lang": lang, "tags": [], "answerable": True,
            "refused": False, "gold_rank": 1, "n_gold_chunks": 1, "ndcg@10": 1.0,
            "contains_answer": True, "token_f1": 0.5, "citation_precision": 1.0,
            "citation_recall": True, "latency_ms": 100.0, "pass": True, "reason": "ok"}
    base.update(kw)
    return base


def test_summary_splits_by_language_and_skips_what_does_not_apply() -> None:
    rows = [row("a"), row("b", gold_rank=None, contains_answer=False, latency_ms=300.0,
                          **{"pass": False, "ndcg@10": 0.0}),
            row("c", "en", gold_rank=7, latency_ms=200.0),
            row("d", "en", answerable=False, refused=True, gold_rank=None, contains_answer=None,
                token_f1=None, citation_precision=None, citation_recall=None)]
    del rows[3]["n_gold_chunks"]
    summary = report.summarize(rows)["hybrid"]
    everything = {k: pytest.approx(v, abs=1e-4) if isinstance(v, float) else v
                  for k, v in summary["all"].items()}  # the report rounds to 4 places
    assert everything["n"] == 4 and everything["n_retrieval"] == 3
    assert everything["recall@1"] == 1 / 3
    assert everything["recall@10"] == 2 / 3
    assert everything["mrr@10"] == (1 + 1 / 7) / 3
    assert everything["contains_answer"] == 2 / 3
    assert (everything["refusal_precision"], everything["refusal_recall"]) == (1.0, 1.0)
    assert everything["wrong_refusal_rate"] == 0.0
    assert everything["latency_p50_ms"] == 150.0
    assert everything["pass_rate"] == 0.75
    assert summary["lang:id"]["refusal_f1"] is None  # no unanswerable question in Indonesian
    assert summary["lang:en"]["n"] == 2 and summary["lang:en"]["recall@5"] == 0.0


def test_verdict_reasons() -> None:
    unanswerable = gold_question(answerable=False)
    assert verdict(unanswerable, {"refused": True}) == (True, "refused as it should")
    assert not verdict(unanswerable, {"refused": False})[0]
    answerable = gold_question(answers=("x",), evidence=("y",))
    assert verdict(answerable, {"refused": True}) == (False, "refused an answerable question")
    ok, reason = verdict(answerable, {"refused": False, "contains_answer": False,
                                      "citation_recall": False})
    assert not ok and "no gold answer" in reason and "no gold evidence cited" in reason


# test sets --------------------------------------------------------------------------------

GOOD = {"id": "q1", "question": "Kapan?", "lang": "id", "answerable": True,
        "answers": ["Jumat"], "evidence": ["pada Jumat"]}


def set_file(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("bad", "message"), [
    ("{not json", "line 2: not valid JSON"),
    ({k: v for k, v in GOOD.items() if k != "lang"} | {"id": "q2"}, "missing field(s) lang"),
    (GOOD | {"id": "q2", "lang": "ind"}, "'lang' must be \"id\" or \"en\""),
    (GOOD | {"id": "q2", "answerable": "yes"}, "'answerable' must be a bool"),
    (GOOD | {"id": "q2", "answer": "x"}, "unknown field(s) answer"),
    (GOOD | {"id": "q2", "answers": [], "evidence": []}, "needs 'answers', 'evidence'"),
    (GOOD | {"id": "q2", "answerable": False}, "cannot have answers"),
    (GOOD, "line 2: duplicate id 'q1'"),
    (GOOD | {"id": "q2", "follows": "q9"}, "'follows' names 'q9'"),
    (GOOD | {"id": "q2", "evidence": [""]}, "'evidence' must be a list of non-empty strings"),
    ([1, 2], "expected a JSON object"),
])
def test_malformed_set_names_the_line_and_the_problem(tmp_path: Path, bad: object,
                                                      message: str) -> None:
    with pytest.raises(AssistantError) as error:
        load_set(set_file(tmp_path, GOOD, bad))
    assert "line 2" in str(error.value) and message in str(error.value)


def test_every_bad_line_is_reported_and_blank_lines_count(tmp_path: Path) -> None:
    path = set_file(tmp_path, GOOD, "", "{", GOOD | {"id": "q3", "lang": "fr"})
    with pytest.raises(AssistantError) as error:
        load_set(path)
    assert "line 3:" in str(error.value) and "line 4:" in str(error.value)


def test_good_set_loads(tmp_path: Path) -> None:
    follow = {"id": "q2", "question": "Di mana?", "lang": "id", "answerable": False,
              "answers": [], "follows": "q1", "tags": ["follow-up"]}
    q1, q2 = load_set(set_file(tmp_path, GOOD, follow))
    assert q1.answers == ("Jumat",) and q1.evidence == ("pada Jumat",) and q1.has_gold
    assert q2.follows == "q1" and q2.tags == ("follow-up",) and not q2.has_gold


def test_sample_set_meets_the_issue() -> None:
    questions = load_set(ROOT / "eval" / "sets" / "sample.jsonl")
    assert len(questions) >= 25
    assert sum(not q.answerable for q in questions) >= 6
    assert {q.lang for q in questions} == {"id", "en"}
    assert any(q.follows for q in questions)


def test_load_squad_with_cross_lingual_fields(tmp_path: Path) -> None:
    records = [
        {"id": "a", "question_en": "Where is Normandy?", "answers_en": ["France"],
         "is_impossible": False, "context_id": "Normandia di Prancis."},
        {"id": "b", "question_en": "Who is the king?", "answers_en": [],
         "is_impossible": True, "context_id": "Normandia di Prancis."},
    ]
    path = set_file(tmp_path, *records)
    questions, passages = load_squad(path, "question_en", "answers_en")
    assert len(passages) == 1 and passages[0].id == passage_release_id("Normandia di Prancis.")
    assert questions[0].gold_release_ids == (passages[0].id,) and questions[0].lang == "en"
    assert not questions[1].answerable and questions[1].gold_release_ids == ()
    with pytest.raises(AssistantError, match="line 1: no field 'question'.*question_en"):
        load_squad(path)


# the commands (fake embedder) -------------------------------------------------------------


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "fake")
    return tmp_path


def run_eval(tmp_path: Path, out: str, *extra: str) -> object:
    args = ["eval", str(ROOT / "eval" / "sets" / "sample.jsonl"), "--corpus",
            str(ROOT / "corpus"), "--cache", str(tmp_path / "cache.sqlite"), "-q",
            "--out", str(tmp_path / out), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result


def test_eval_writes_the_run_folder(fake_env: Path) -> None:
    result = run_eval(fake_env, "run", "--retrievers", "hybrid,bm25")
    out = fake_env / "run"
    assert {p.name for p in out.iterdir()} == {"rows.jsonl", "report.json", "report.md",
                                              "recall_at_k.png", "latency.png"}
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    saved = json.loads((out / "report.json").read_text())
    assert len(rows) == 2 * saved["n_questions"] and saved["retrievers"] == ["hybrid", "bm25"]
    assert set(saved["summary"]["hybrid"]) >= {"all", "lang:id", "lang:en", "tag:follow-up"}
    assert saved["warnings"] == []  # every evidence substring is in the corpus
    assert "recall@5" in result.output and "bm25" in result.output  # type: ignore[attr-defined]
    assert "| recall@5 |" in (out / "report.md").read_text()


def test_compare_detects_a_planted_regression(fake_env: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_REFUSAL_THRESHOLD", "0")
    run_eval(fake_env, "good", "--retrievers", "hybrid")
    # the planted regression: a threshold that refuses every question
    monkeypatch.setenv("ASSISTANT_REFUSAL_THRESHOLD", "99")
    run_eval(fake_env, "bad", "--retrievers", "hybrid")
    runner = CliRunner()
    compare = ["eval", "--compare", str(fake_env / "good"), str(fake_env / "bad")]
    result = runner.invoke(main, compare)
    assert result.exit_code == 1
    assert "REGRESSION hybrid pass_rate" in result.output
    assert "pass -> fail" in result.output and "hybrid s01: refused an answerable" in result.output
    wide = runner.invoke(main, [*compare, "--metric", "recall@5", "--fail-under", "0.01"])
    assert wide.exit_code == 0, wide.output  # retrieval did not change
    worse = runner.invoke(main, [*compare, "--metric", "wrong_refusal_rate"])
    assert worse.exit_code == 1  # lower is better: a rise is the regression
    back = runner.invoke(main, ["eval", "--compare", str(fake_env / "bad"), str(fake_env / "good")])
    assert back.exit_code == 0 and "fail -> pass" in back.output
    unknown = runner.invoke(main, [*compare, "--metric", "accuracy"])
    assert unknown.exit_code == 1 and "unknown metric" in unknown.output


def test_calibrate_stores_the_threshold_that_ask_then_uses(fake_env: Path) -> None:
    from assistant.config import Settings
    from assistant.pipeline import build

    args = ["calibrate", str(ROOT / "eval" / "sets" / "sample.jsonl"), "--corpus",
            str(ROOT / "corpus"), "--cache", str(fake_env / "cache.sqlite"), "-q",
            "--out", str(fake_env / "calibration")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((fake_env / "calibration" / "calibration.json").read_text())
    best = metrics.best_threshold(saved["confidences"], saved["answerable"])
    assert saved["best"]["threshold"] == best.threshold
    assert (fake_env / "calibration" / "refusal_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert build(Settings()).index.refusal_threshold()[0] == best.threshold
    assert f"best threshold {best.threshold:.4f}" in result.output


def test_eval_without_a_set_is_a_usage_error(fake_env: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "-q"])
    assert result.exit_code == 1 and "either a test set" in result.output
