"""Benchmark the pipeline on real IndoSum news: ingest throughput, ask latency, cold start, RSS.

    python bench/bench_pipeline.py --releases 300 --questions 50

Figures are printed and written as JSON; nothing here asserts a threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_CORPUS = SHARED_DATA / "corpus" / "indosum_dev_news_gov.jsonl"
DEFAULT_QUERIES = SHARED_DATA / "qa" / "indosum_dev_summary2doc.jsonl"
QUESTION_WORDS = 25
# asked by the cold-start probe and as the warm-up, so that no timed question finds its
# candidate sentences already in the index's sentence-vector cache
WARM_UP_QUESTION = "Apa kebijakan pemerintah yang diumumkan dalam berita ini?"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Time ingest, warm ask latency, cold start to first answer and peak RSS "
                    "on the first N IndoSum news articles, with the real embedder.")
    parser.add_argument("--releases", type=int, default=300, metavar="N",
                        help="how many corpus articles to ingest (default 300)")
    parser.add_argument("--questions", type=int, default=50, metavar="M",
                        help="how many questions to time (default 50)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help="corpus JSONL "
                             "(default ../shared/data/corpus/indosum_dev_news_gov.jsonl)")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES,
                        help="known-item queries with gold_doc_id "
                             "(default ../shared/data/qa/indosum_dev_summary2doc.jsonl)")
    parser.add_argument("--embedder", default=None,
                        help="embedder spec (default: ASSISTANT_EMBEDDER or e5)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON results file (default bench/results/bench-<N>.json)")
    parser.add_argument("--cold-start-probe", type=Path, metavar="INDEX_DIR",
                        help=argparse.SUPPRESS)  # internal: run in a fresh subprocess
    parser.add_argument("--question", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.releases < 1 or args.questions < 1:
        parser.error("--releases and --questions must be at least 1")
    return args


# --- data ---------------------------------------------------------------------------------


def read_jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The first `limit` records of a JSONL file (all when limit is None)."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                records.append(json.loads(line))
                if limit is not None and len(records) >= limit:
                    break
    return records


def release_id(raw_id: str) -> str:
    """The id ingest gives a JSONL record (same sanitising as assistant.ingest)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", raw_id)


def as_question(summary: str) -> str:
    """A gold summary cut to its first sentence, at most ~25 words, so it reads like a query."""
    first = re.split(r"(?<=[.!?])\s+", summary.strip(), maxsplit=1)[0]
    words = first.split()
    return " ".join(words[:QUESTION_WORDS]).rstrip(".")


def pick_questions(queries: Path, gold_ids: list[str], limit: int) -> list[tuple[str, str]]:
    """(question, gold release id) for the ingested articles, in corpus order."""
    wanted = {release_id(g): i for i, g in enumerate(gold_ids)}
    found: dict[str, str] = {}
    for row in read_jsonl(queries):
        gold = release_id(str(row.get("gold_doc_id", "")))
        if gold in wanted and gold not in found and row.get("query"):
            found[gold] = as_question(str(row["query"]))
    ordered = sorted(found.items(), key=lambda item: wanted[item[0]])
    return [(question, gold) for gold, question in ordered][:limit]


# --- measurements ---------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def settings_for(index_dir: Path, embedder: str | None) -> Any:
    """Embedded Chroma under index_dir (a server URL in the environment is ignored)."""
    from assistant.config import Settings

    overrides: dict[str, Any] = {"index_dir": index_dir, "chroma_url": None}
    if embedder:
        overrides["embedder"] = embedder
    return Settings(**overrides)


def cold_start_probe(index_dir: Path, question: str, embedder: str | None) -> None:
    """Build on an existing index, answer once, print seconds since this process started."""
    import psutil

    started = psutil.Process().create_time()
    from assistant.pipeline import build

    mark = time.time()
    assistant = build(settings_for(index_dir, embedder))
    built = time.time()
    answer = assistant.ask(question)
    done = time.time()
    print(json.dumps({"to_first_answer_s": round(done - started, 2),
                      "imports_s": round(mark - started, 2), "build_s": round(built - mark, 2),
                      "first_ask_s": round(done - built, 2), "refused": answer.refused}))


def run_cold_start(index_dir: Path, question: str, embedder: str | None) -> dict[str, Any]:
    """Spawn a fresh interpreter that runs the probe; return what it printed."""
    command = [sys.executable, str(Path(__file__).resolve()),
               "--cold-start-probe", str(index_dir), "--question", question]
    if embedder:
        command += ["--embedder", embedder]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    if result.returncode != 0:
        sys.exit(f"cold-start probe failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def ingest(assistant: Any, corpus_file: Path) -> tuple[float, Any]:
    """Ingest corpus_file with a tqdm bar over chunks; return seconds and the report."""
    from tqdm import tqdm

    with tqdm(unit="chunk", desc="embedding", dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        start = time.perf_counter()
        report = assistant.index.ingest([corpus_file], progress=progress)
        seconds = time.perf_counter() - start
    return seconds, report


def time_asks(assistant: Any, questions: list[tuple[str, str]]) -> dict[str, Any]:
    """Warm ask latency (after one warm-up ask) and top-5 hit rate of the gold article."""
    assistant.ask(WARM_UP_QUESTION)  # warm-up: BM25 index, lazy model parts
    latencies, hits, refused = [], 0, 0
    for question, gold in questions:
        start = time.perf_counter()
        answer = assistant.ask(question)
        latencies.append((time.perf_counter() - start) * 1000)
        refused += answer.refused
        top5 = {h.chunk.release_id for h in assistant.retriever.search(question, k=5)}
        hits += gold in top5
    from assistant.evaluation.metrics import percentile

    return {"ask_p50_ms": round(percentile(latencies, 50) or 0.0, 1),
            "ask_p95_ms": round(percentile(latencies, 95) or 0.0, 1),
            "ask_mean_ms": round(statistics.fmean(latencies), 1),
            "top5_hit_rate": round(hits / len(questions), 3),
            "refused": refused}


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    import psutil
    import torch

    return {"cpu_count": os.cpu_count(), "cpu_count_physical": psutil.cpu_count(logical=False),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "platform": platform.platform(), "processor": platform.processor()}


# --- the run --------------------------------------------------------------------------------


def check_data(*paths: Path) -> None:
    """Exit with a message naming the missing data file."""
    for path in paths:
        if not path.is_file():
            sys.exit(f"{path} not found: the benchmark needs the shared IndoSum data "
                     "(../shared/data); pass --corpus/--queries to point at it")


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest N articles, probe cold start, time M warm asks; return the figures."""
    from assistant.pipeline import build

    check_data(args.corpus, args.queries)
    records = read_jsonl(args.corpus, args.releases)
    questions = pick_questions(args.queries, [str(r["id"]) for r in records], args.questions)
    if not questions:
        sys.exit(f"no query in {args.queries} has a gold_doc_id among the first "
                 f"{len(records)} articles of {args.corpus}")
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        corpus_file = Path(tmp) / "bench-corpus.jsonl"
        corpus_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                               encoding="utf-8")
        index_dir = Path(tmp) / "index"
        start = time.perf_counter()
        assistant = build(settings_for(index_dir, args.embedder))
        build_seconds = time.perf_counter() - start
        ingest_seconds, report = ingest(assistant, corpus_file)
        if report.failed:
            print(f"warning: {len(report.failed)} records failed, e.g. {report.failed[0]}",
                  file=sys.stderr)
        rss_after_ingest = peak_rss_mb()
        chunks = sum(r.n_chunks for r in assistant.index.releases())
        print("cold start: a fresh process answering one question ...", file=sys.stderr)
        cold = run_cold_start(index_dir, WARM_UP_QUESTION, args.embedder)
        print(f"asking {len(questions)} questions ...", file=sys.stderr)
        asks = time_asks(assistant, questions)
    return {
        "releases": len(report.added) + len(report.updated) + len(report.unchanged),
        "chunks": chunks, "questions": len(questions),
        "ingest_seconds": round(ingest_seconds, 2),
        "chunks_per_second": round(chunks / ingest_seconds, 2) if ingest_seconds else None,
        "build_seconds": round(build_seconds, 2),
        "ask_p50_ms": asks["ask_p50_ms"], "ask_p95_ms": asks["ask_p95_ms"],
        "ask_mean_ms": asks["ask_mean_ms"],
        "cold_start_to_first_answer_s": cold["to_first_answer_s"], "cold_start": cold,
        "peak_rss_mb": peak_rss_mb(), "peak_rss_after_ingest_mb": rss_after_ingest,
        "top5_hit_rate": asks["top5_hit_rate"], "refused_answers": asks["refused"],
        "failed_records": len(report.failed),
        "embedder": assistant.embedder_name, "machine": machine(),
        "corpus": str(args.corpus), "queries": str(args.queries),
    }


def table(results: dict[str, Any]) -> str:
    """The headline figures as an aligned two-column table."""
    cold = results["cold_start"]
    rows = [
        ("embedder", results["embedder"]),
        ("releases / chunks", f"{results['releases']} / {results['chunks']}"),
        ("ingest", f"{results['ingest_seconds']:.1f} s "
                   f"({results['chunks_per_second']} chunks/s)"),
        ("ask p50 / p95 (warm)", f"{results['ask_p50_ms']:.0f} / {results['ask_p95_ms']:.0f} ms"
                                 f"  over {results['questions']} questions"),
        ("cold start to 1st answer", f"{cold['to_first_answer_s']:.1f} s (imports "
                                     f"{cold['imports_s']:.1f}, build {cold['build_s']:.1f}, "
                                     f"ask {cold['first_ask_s']:.1f})"),
        ("peak RSS after ingest", f"{results['peak_rss_after_ingest_mb']:.0f} MB"),
        ("peak RSS after asking", f"{results['peak_rss_mb']:.0f} MB"),
        ("top-5 hit rate (gold)", f"{results['top5_hit_rate']:.1%}"),
        ("machine", f"{results['machine']['cpu_count']} CPUs, "
                    f"Python {results['machine']['python']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, internally, the cold-start probe)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = parse_args(argv)
    if args.cold_start_probe:
        cold_start_probe(args.cold_start_probe, args.question, args.embedder)
        return
    out = args.out or ROOT / "bench" / "results" / f"bench-{args.releases}.json"
    results = bench(args)
    print(table(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
