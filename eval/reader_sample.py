"""Record what the shipped reader reads on a fixed sample of valid questions, for the
reproducibility test (tests/test_reader.py): each window's answerability logit, its best
span and how far that span leads the best span with other words (its margin).

Run again after the reader's weights change:

    .venv/bin/python eval/reader_sample.py tests/artifacts/e5-models

The sample is the first questions of each valid split in file order (both halves: this is
a record of the network's output, not a quality figure). Windows whose best span leads by
less than MIN_MARGIN are recorded but not held to their span: a tie that close may break
either way on another CPU's kernels.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.reader import Reader, span_scores, whole_words  # noqa: E402
from assistant.answer.readerengine import ReaderEngine, load_engine  # noqa: E402
from assistant.answer.windows import (  # noqa: E402
    passage_prefix,
    passage_tokens,
    question_ids,
    windows,
)
from assistant.types import Chunk, Hit  # noqa: E402

OUT = ROOT / "tests" / "data" / "reader_sample.json"
SHARED = ROOT.parent / "shared" / "data" / "qa"
SETS = {  # file -> (question field, passage field, how many)
    "idk_mrc_valid.jsonl": ("question", "context", 6),
    "tydiqa_id_valid.jsonl": ("question", "context", 4),
    "facqa_valid.jsonl": ("question", "context", 4),
    "xling_en-question_id-passage_squad2dev_normans.jsonl": ("question_en", "context_id", 4)}
MIN_MARGIN = 0.25  # span-score lead (start + end logits) below which a span is a near-tie


def passage_hit(item: dict) -> Hit:
    """The item's passage as the one retrieved hit the reader reads."""
    text = item["passage"]
    chunk = Chunk(id=f"{item['id']}#0", release_id=item["id"], text=text, para_start=0,
                  para_end=1, char_start=0, char_end=len(text), title="", source=item["set"])
    return Hit(chunk, 1.0)


def recorded(engine: ReaderEngine, item: dict) -> list[dict]:
    """Per window, as the product reads it: answerability logit, short answer, span score;
    and the margin of its best span over the best span with other words."""
    readings = Reader(lambda: engine).read(item["question"], [passage_hit(item)])
    margins = span_margins(engine, item["question"], item["passage"])
    return [{"answerable": r.answerable, "short": r.short, "span_score": r.span_score,
             "margin": m} for r, m in zip(readings, margins, strict=True)]


def span_margins(engine: ReaderEngine, question: str, passage: str) -> list[float]:
    """Per window: how far its best span's score leads the best span with other words."""
    tok, shape = engine.tokenizer, engine.shape
    tokens = passage_tokens(tok, passage)
    found = list(windows(question_ids(tok, question, shape), passage_prefix(tok), tokens, shape))
    logits = engine.run([w.ids for w in found])
    out = []
    for k, w in enumerate(found):
        lo, n = w.passage_start, w.n_passage
        scores = span_scores(logits.start[k][lo: lo + n], logits.end[k][lo: lo + n],
                             shape.max_answer_tokens)
        offsets = tokens.offsets[w.token_start: w.token_start + n]
        ranked = sorted(((float(scores[i, j]), i, j) for i, j in zip(*np.nonzero(
            np.isfinite(scores)), strict=True)), reverse=True)
        texts = [passage[slice(*whole_words(passage, (offsets[i][0], offsets[j][1])))].strip()
                 for _s, i, j in ranked[:50]]
        rival = next((s for (s, *_r), t in zip(ranked, texts, strict=False) if t != texts[0]),
                     -np.inf)
        out.append(round(min(ranked[0][0] - rival, 99.0), 4))
    return out


def sample() -> Iterator[dict]:
    """The fixed questions with their passages."""
    for name, (field, passage, count) in SETS.items():
        with (SHARED / name).open(encoding="utf-8") as f:
            for _i, line in zip(range(count), f, strict=False):
                row = json.loads(line)
                yield {"set": name, "id": row["id"], "question": row[field],
                       "passage": row[passage]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_cache", type=Path, help="the e5 model cache (converted files)")
    args = parser.parse_args()
    engine = load_engine(args.model_cache)
    rows = [dict(item, windows=recorded(engine, item)) for item in sample()]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    record = {"weights_sha256": engine.record["sha256"], "min_margin": MIN_MARGIN,
              "items": rows}
    OUT.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    held = sum(w["margin"] >= MIN_MARGIN for r in rows for w in r["windows"])
    print(f"{len(rows)} questions, {sum(len(r['windows']) for r in rows)} windows "
          f"({held} spans held) -> {OUT}")


if __name__ == "__main__":
    main()
