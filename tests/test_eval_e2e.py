"""`assistant eval` end to end with the real embedding model on real QA passages.

A dozen TyDi QA questions plus a few unanswerable IDK-MRC ones, their passages indexed into a
temporary index; checks the files written and that their numbers agree with each other and
with what the model is known to do on such a small pool.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.evaluation import metrics
from tests.conftest import shared_file

pytestmark = pytest.mark.slow
N_ANSWERABLE, N_UNANSWERABLE = 10, 4


@pytest.fixture(scope="module")
def small_squad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQuAD-style file: 10 answerable TyDi QA questions and 4 unanswerable IDK-MRC ones."""
    tydi = shared_file("qa", "tydiqa_id_valid.jsonl").read_text(encoding="utf-8").splitlines()
    idk = [json.loads(line) for line in
           shared_file("qa", "idk_mrc_valid.jsonl").read_text(encoding="utf-8").splitlines()]
    unanswerable = [r for r in idk if r["is_impossible"]][:N_UNANSWERABLE]
    path = tmp_path_factory.mktemp("qa") / "small.jsonl"
    lines = tydi[:N_ANSWERABLE] + [json.dumps(r, ensure_ascii=False) for r in unanswerable]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(small_squad: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real eval run of hybrid and BM25 over the small set; returns its folder."""
    work = tmp_path_factory.mktemp("eval")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSISTANT_INDEX_DIR", str(work / "index"))
        patch.setenv("ASSISTANT_EMBEDDER", "e5")
        patch.delenv("ASSISTANT_REFUSAL_THRESHOLD", raising=False)
        result = CliRunner().invoke(main, [
            "eval", "--squad", str(small_squad), "--retrievers", "hybrid,bm25", "-q",
            "--cache", str(work / "cache.sqlite"), "--out", str(work / "run")])
    assert result.exit_code == 0, result.output
    assert "recall@5" in result.output and "hybrid" in result.output
    return work / "run"


def test_files_written(run: Path) -> None:
    for name in ("rows.jsonl", "report.json", "report.md"):
        assert (run / name).stat().st_size > 0
    for name in ("recall_at_k.png", "latency.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![recall_at_k.png](recall_at_k.png)" in (run / "report.md").read_text()


def test_numbers_agree_with_the_rows_and_the_model(run: Path) -> None:
    saved = json.loads((run / "report.json").read_text())
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    assert saved["n_questions"] == N_ANSWERABLE + N_UNANSWERABLE
    assert len(rows) == 2 * saved["n_questions"]
    for retriever in ("hybrid", "bm25"):
        mine = [r for r in rows if r["retriever"] == retriever]
        judged = [r["gold_rank"] for r in mine if r["answerable"]]
        assert len(judged) == N_ANSWERABLE
        summary = saved["summary"][retriever]["all"]
        assert summary["recall@5"] == pytest.approx(metrics.recall_at(judged, 5), abs=1e-4)
        assert summary["mrr@10"] == pytest.approx(metrics.mrr_at(judged), abs=1e-4)
        refusal = metrics.refusal_scores([r["refused"] for r in mine],
                                         [r["answerable"] for r in mine])
        assert summary["refusal_f1"] == pytest.approx(refusal.f1, abs=1e-4)
        assert summary["pass_rate"] == pytest.approx(
            sum(r["pass"] for r in mine) / len(mine), abs=1e-4)
        assert saved["recall_curve"][retriever][4] == summary["recall@5"]
        for r in mine:  # the citations in a row are the ones its answer shows
            assert all(f"[{c['n']}]" in r["answer"] for c in r["citations"])
            assert r["refused"] or r["citations"]
    # around 14 passages, the real model finds the question's own passage in the top 5
    assert saved["summary"]["hybrid"]["all"]["recall@5"] >= 0.9
    assert saved["summary"]["hybrid"]["all"]["contains_answer"] >= 0.5


def test_second_run_reuses_cached_passage_vectors(run: Path, small_squad: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.index.embed import E5Embeddings

    embedded: list[int] = []
    real = E5Embeddings.embed_documents

    def counting(self: E5Embeddings, texts: list[str]) -> list[list[float]]:
        embedded.append(len(texts))
        return real(self, texts)

    monkeypatch.setattr(E5Embeddings, "embed_documents", counting)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(run.parent / "index2"))
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "e5")
    result = CliRunner().invoke(main, [
        "eval", "--squad", str(small_squad), "--retrievers", "bm25", "--retrieval-only", "-q",
        "--cache", str(run.parent / "cache.sqlite"), "--out", str(run.parent / "again")])
    assert result.exit_code == 0, result.output
    assert embedded == []  # every passage came from the cache
