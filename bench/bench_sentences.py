"""Sentence vectors stored at ingest vs embedded per question: answers, latency, size.

Two indexes of the same releases (the sample release corpus and the TyDi QA-id valid
passages), made in one run with the same embedder:

- `stored`: this version (schema 3), sentence vectors made at ingest, stored as float16;
- `plain`: the same chunks without stored sentence vectors, so the answer stage embeds the
  candidate sentences of each question (the previous behaviour, and the fallback for an
  index of schema 2).

Answers to every question of eval/sets/sample.jsonl and tydiqa_id_valid are compared
(same refusal, same text, same cited chunks); `plain` answers there use the float32
vectors of the same texts from the run's embedding cache, so only float16 storage can make
them differ. Latency of the answer stage is then measured on the sample questions with
`plain` embedding its sentences for real. Prints a table, writes JSON.

    .venv/bin/python bench/bench_sentences.py                   # everything (~10 min)
    .venv/bin/python bench/bench_sentences.py --tydiqa 50       # a quicker subset
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.evaluation.testset import load_set, load_squad  # noqa: E402
from assistant.index import indexer as index_module  # noqa: E402
from assistant.pipeline import Assistant, build  # noqa: E402
from assistant.types import Answer  # noqa: E402

# ../shared/data beside the checkout, or wherever BENCH_SHARED_DATA points (a worktree)
SHARED_DATA = Path(os.environ.get("BENCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
TYDIQA = SHARED_DATA / "qa" / "tydiqa_id_valid.jsonl"
MODELS = ROOT / "index" / "models"


def folder_mb(path: Path) -> float:
    """Bytes of every file under path, in MB."""
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 2)


def make(work: Path, name: str, embedder: str, stored: bool) -> tuple[Assistant, dict[str, Any]]:
    """An index of the sample corpus and the TyDi QA passages, with or without sentences."""
    settings = Settings(index_dir=work / name, embedder=embedder)
    (work / name).mkdir(parents=True, exist_ok=True)
    if MODELS.exists():  # e5-fast's converted model, made once (by any earlier run)
        (work / name / "models").symlink_to(MODELS)
    assistant = build(settings, embedding_cache=work / "vectors.sqlite")
    timing = {"sentences_s": 0.0, "sentence_texts": 0}
    real = index_module.embed_sentences

    def timed(chunks: Any, model: Any) -> Any:
        start = time.perf_counter()
        rows = real(chunks, model) if stored else []
        timing["sentences_s"] += time.perf_counter() - start
        timing["sentence_texts"] += sum(len(starts) for starts, _ in rows)
        return rows

    index_module.embed_sentences = timed  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        assistant.index.ingest([ROOT / "corpus"])
        assistant.index.add_releases(load_squad(TYDIQA)[1])
        timing["ingest_s"] = time.perf_counter() - start
    finally:
        index_module.embed_sentences = real
    timing["chunks"] = assistant.index.store.count()
    timing["index_mb"] = folder_mb(work / name)
    return assistant, timing


def same(a: Answer, b: Answer) -> bool:
    """Same refusal, same text, same cited chunks."""
    return (a.refused == b.refused and a.text == b.text
            and [c.chunk_id for c in a.citations] == [c.chunk_id for c in b.citations])


def compare(stored: Assistant, plain: Assistant, questions: list[str]) -> dict[str, Any]:
    """How many answers differ, and by how much the confidence moves."""
    differ, moves = [], []
    for q in questions:
        a, b = stored.ask(q), plain.ask(q)
        moves.append(abs(a.confidence - b.confidence))
        if not same(a, b):
            differ.append({"question": q, "stored": a.text[:120], "plain": b.text[:120]})
    return {"questions": len(questions), "different_answers": len(differ),
            "max_confidence_change": round(max(moves, default=0.0), 5), "differences": differ}


def latency(assistant: Assistant, questions: list[str]) -> dict[str, float]:
    """p50/p95 of the answer stage and of the whole ask, in ms."""
    answer_ms, total_ms = [], []
    assistant.ask(questions[0])
    for q in questions:
        timings = assistant.ask(q).timings_ms
        answer_ms.append(timings["answer"])
        total_ms.append(timings["total"])
    def pct(xs: list[float], p: float) -> float:
        return round(statistics.quantiles(xs, n=100)[int(p) - 1], 1)
    return {"answer_p50_ms": pct(answer_ms, 50), "answer_p95_ms": pct(answer_ms, 95),
            "ask_p50_ms": pct(total_ms, 50), "ask_p95_ms": pct(total_ms, 95)}


def main() -> None:
    """Build both indexes, compare answers and time the answer stage."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedder", default="e5", help="e5, or e5-fast (faster here)")
    parser.add_argument("--tydiqa", type=int, default=0, help="questions (0: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/sentences.json")
    args = parser.parse_args()
    sample = [q.question for q in load_set(ROOT / "eval/sets/sample.jsonl")]
    tydiqa = [q.question for q in load_squad(TYDIQA)[0]]
    tydiqa = tydiqa[: args.tydiqa] if args.tydiqa else tydiqa
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stored, stored_cost = make(work, "stored", args.embedder, stored=True)
        plain, plain_cost = make(work, "plain", args.embedder, stored=False)
        # plain embeds its sentences through the run's cache: the exact float32 vectors
        plain.answerer.sentence_embedder = plain.index.embedder  # type: ignore[attr-defined]
        result: dict[str, Any] = {
            "embedder": stored.embedder.name, "cost": {"stored": stored_cost,
                                                       "plain": plain_cost},
            "sample": compare(stored, plain, sample), "tydiqa": compare(stored, plain, tydiqa),
        }
        # now the previous behaviour for real: sentences embedded per question, no cache
        plain.answerer.sentence_embedder = plain.index.embedder.inner  # type: ignore
        result["latency"] = {"stored": latency(stored, sample), "plain": latency(plain, sample)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    show(result)


def show(result: dict[str, Any]) -> None:
    """Print the tables."""
    s, p = result["cost"]["stored"], result["cost"]["plain"]
    print(f"embedder {result['embedder']}; chunks {s['chunks']}, sentence vectors "
          f"{s['sentence_texts']}")
    print(f"index size: {s['index_mb']} MB with sentence vectors, {p['index_mb']} MB without")
    print(f"ingest: {s['ingest_s']:.1f} s, of which sentence embedding {s['sentences_s']:.1f} s")
    for name in ("sample", "tydiqa"):
        r = result[name]
        print(f"{name}: {r['different_answers']} of {r['questions']} answers differ; "
              f"max confidence change {r['max_confidence_change']}")
    print("| index | answer p50 ms | answer p95 ms | ask p50 ms | ask p95 ms |")
    print("|---|---|---|---|---|")
    for name, row in result["latency"].items():
        print(f"| {name} | {row['answer_p50_ms']} | {row['answer_p95_ms']} | "
              f"{row['ask_p50_ms']} | {row['ask_p95_ms']} |")


if __name__ == "__main__":
    main()
