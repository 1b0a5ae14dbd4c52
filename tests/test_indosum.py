"""Known-item retrieval on 100 real news articles with the real e5 model and Chroma."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.pipeline import build
from tests.conftest import shared_file

N_ARTICLES = 100


@pytest.mark.slow
def test_summaries_find_their_article_in_top5(tmp_path: Path) -> None:
    corpus = shared_file("corpus", "indosum_dev_news_gov.jsonl")
    queries = shared_file("qa", "indosum_dev_summary2doc.jsonl")
    lines = corpus.read_text(encoding="utf-8").splitlines()[:N_ARTICLES]
    sample = tmp_path / "news.jsonl"
    sample.write_text("\n".join(lines), encoding="utf-8")
    ids = {json.loads(line)["id"] for line in lines}
    assistant = build(Settings(index_dir=tmp_path / "index"))
    report = assistant.index.ingest([sample])
    assert len(report.added) == N_ARTICLES and not report.failed
    rows = [json.loads(q) for q in queries.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["gold_doc_id"] in ids]
    assert len(rows) == N_ARTICLES
    found = 0
    for row in rows:
        hits = assistant.retriever.search(row["query"], k=5)
        found += row["gold_doc_id"] in {h.chunk.release_id for h in hits}
    assert found / len(rows) >= 0.9, f"only {found}/{len(rows)} summaries found their article"
