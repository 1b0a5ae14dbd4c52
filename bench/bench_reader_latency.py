"""The trained reader's answer-stage time on collected retrievals, per language, with the
extractive answer stage of the same questions as the baseline.

    python eval/reader_eval.py collect                      # once: retrievals + extractive
    python bench/bench_reader_latency.py --limit 200        # prints a table, writes JSON

The reader reads the passages each question was answered from (the top 3) in onnxruntime,
after one warm-up read: this is the reader's share of the answer stage. The rest of the
reader's answer stage is the extractive answer it weighs (timed when the run was collected)
and the decision (a dot product), so the stage's time is the sum of the two columns.
Run it with nothing else on the machine; the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from reader_eval import load_rows, request_of, warm  # type: ignore[import-not-found]  # noqa: E402

from assistant.answer.reader import Reader  # noqa: E402
from assistant.answer.readerengine import load_engine  # noqa: E402


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 in ms."""
    return {"p50_ms": round(float(np.percentile(values, 50)), 1),
            "p95_ms": round(float(np.percentile(values, 95)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=ROOT / "eval" / "runs" / "reader")
    parser.add_argument("--model-cache", type=Path,
                        default=ROOT / "tests" / "artifacts" / "e5-models")
    parser.add_argument("--limit", type=int, default=200, help="questions per language")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "reader_latency.json")
    args = parser.parse_args()
    reader = warm(Reader(lambda: load_engine(args.model_cache, threads=args.threads)))
    rows = [r for r in load_rows(args.run) if r["half"] == "report"]
    result: dict[str, object] = {"load_average_before": os.getloadavg()}
    for lang in ("id", "en"):
        mine = [r for r in rows if r["lang"] == lang][: args.limit]
        read_ms = []
        for row in mine:
            request = request_of(row)
            began = time.perf_counter()
            reader.read(row["question"], request.hits[:3])
            read_ms.append((time.perf_counter() - began) * 1000)
        extractive = [r["extractive"]["ms"] for r in mine]
        stage = [a + b for a, b in zip(read_ms, extractive, strict=True)]
        result[lang] = {"questions": len(mine), "reader_read": percentiles(read_ms),
                        "extractive (collected)": percentiles(extractive),
                        "reader answer stage": percentiles(stage)}
        print(f"{lang}: {len(mine)} questions  reader read {percentiles(read_ms)}  "
              f"extractive {percentiles(extractive)}  reader stage {percentiles(stage)}")
    result["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"load average before {result['load_average_before']}, after "
          f"{result['load_average_after']} -> {args.out}")


if __name__ == "__main__":
    main()
