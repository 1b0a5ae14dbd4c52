"""Fit the refusal model: collect evidence features on SQuAD-style sets with unanswerable
questions, fit logistic weights (cross-validated), print weights and precision/recall.

Usage: python eval/calibrate_refusal.py   (uses ../shared/data/qa; takes ~10 min)
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluation.testset import load_squad
from assistant.pipeline import build

QA = Path("../shared/data/qa")
SETS = [("idk_mrc_valid.jsonl", "question", "answers"),
        ("xling_en-question_id-passage_squad2dev_normans.jsonl", "question_en", "answers_en")]
CACHE = Path("eval/.cache")


def collect(name: str, qfield: str, afield: str) -> list[dict]:
    out = CACHE / f"features-{Path(name).stem}.jsonl"
    if out.exists():
        return [json.loads(line) for line in out.read_text().splitlines()]
    questions, passages = load_squad(QA / name, qfield, afield)
    assistant = build(Settings(index_dir=Path(tempfile.mkdtemp()), refusal_threshold=0.0),
                      embedding_cache=CACHE / "embeddings.sqlite")
    assistant.index.add_releases(passages)
    rows = []
    for q in tqdm(questions, desc=name):
        a = assistant.ask(q.question)
        rows.append({"id": q.id, "answerable": q.answerable, **a.evidence})
    out.write_text("\n".join(json.dumps(r) for r in rows))
    return rows


def constrained(prob: list[float], answerable: list[bool], max_wrong: float) -> object:
    """The best-F1 threshold among those refusing at most max_wrong of answerable questions."""
    from assistant.evaluation.metrics import refusal_curve

    ok = [p for p in refusal_curve(prob, answerable) if p.wrong_refusals <= max_wrong]
    return max(ok, key=lambda p: p.f1) if ok else None


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    rows = [r for spec in SETS for r in collect(*spec)]
    keys = ["score", "dense", "overlap", "passage_coverage", "unknown_terms", "type_ok", "lang_en"]
    x = np.array([[r.get(k, 0.0) for k in keys] for r in rows])
    y = np.array([r["answerable"] for r in rows], dtype=int)
    model = LogisticRegression(C=1.0, max_iter=1000)
    prob = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    model.fit(x, y)
    print("weights", dict(zip(keys, np.round(model.coef_[0], 4).tolist(), strict=True)),
          "bias", round(float(model.intercept_[0]), 4))
    from assistant.evaluation.metrics import best_threshold, refusal_point

    for lang in ("id", "en", "all"):
        mask = [(lang == "all") or ((r.get("lang_en", 0) == 1.0) == (lang == "en")) for r in rows]
        p = [float(v) for v, m in zip(prob, mask, strict=True) if m]
        a = [bool(v) for v, m in zip(y, mask, strict=True) if m]
        best = best_threshold(p, a)
        print(lang, len(p), "best-F1", best)
        for t in (0.3, 0.4, 0.5):
            print("   ", t, refusal_point(p, a, t))
        for limit in (0.1, 0.15, 0.2):
            print("    wrong<=", limit, constrained(p, a, limit))


if __name__ == "__main__":
    main()

