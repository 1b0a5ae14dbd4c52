"""Collect answer confidences on a SQuAD-style set with unanswerable questions; pick the
refusal threshold that maximises refusal F1. Usage: python eval/calibrate_refusal.py FILE"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluate import best_threshold, load_squad, refusal_point
from assistant.pipeline import build


def main() -> None:
    path = Path(sys.argv[1])
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    questions, passages = load_squad(path)
    questions = questions[:limit]
    assistant = build(Settings(index_dir=Path(tempfile.mkdtemp())),
                      embedding_cache=Path("eval/.cache/embeddings.sqlite"))
    assistant.add_releases(passages)
    rows = []
    for q in tqdm(questions, desc="asking"):
        a = assistant.ask(q.question)
        rows.append({"id": q.id, "answerable": q.answerable, "confidence": a.confidence,
                     "gold_cited": any(c.release_id == q.passage_id for c in a.citations)})
    conf = [r["confidence"] for r in rows]
    ans = [r["answerable"] for r in rows]
    best = best_threshold(conf, ans)
    print("best", best)
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        print(t, refusal_point(conf, ans, t))
    Path("eval/.cache").mkdir(exist_ok=True)
    Path(f"eval/.cache/calib-{path.stem}.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows))


if __name__ == "__main__":
    main()
