"""Measure dense, BM25, RRF and hybrid retrieval on SQuAD-style sets (passages as releases).

Usage: python eval/measure_retrieval.py QA.jsonl [--distractors QA2.jsonl] [--question-field F]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

from tqdm import tqdm

from assistant.embed import CachedEmbeddings, make_embedder
from assistant.lexical import analyze
from assistant.retrieve import MODES, Retriever
from assistant.store import ChromaStore
from assistant.types import Chunk, IndexedRelease


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def passage_id(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("qa")
    ap.add_argument("--distractors")
    ap.add_argument("--question-field", default="question")
    ap.add_argument("--context-field", default="context")
    ap.add_argument("--weights", default="0.1,0.2,0.3,0.5,1.0")
    ap.add_argument("--only-answerable", action="store_true")
    args = ap.parse_args()
    rows = load(Path(args.qa))
    if args.only_answerable:
        rows = [r for r in rows if not r.get("is_impossible")]
    passages = {r[args.context_field] for r in rows}
    if args.distractors:
        passages |= {r["context"] for r in load(Path(args.distractors))}
    embedder = CachedEmbeddings(make_embedder("e5"), Path("eval/.cache/embeddings.sqlite"))
    store = ChromaStore.open(tempfile.mkdtemp(), None)
    ordered = sorted(passages)
    for start in tqdm(range(0, len(ordered), 64), desc="embedding passages"):
        batch = ordered[start : start + 64]
        vectors = embedder.embed_documents(batch)
        for text, vec in zip(batch, vectors, strict=True):
            pid = passage_id(text)
            chunk = Chunk(id=f"{pid}#0", release_id=pid, text=text, para_start=0, para_end=1,
                          char_start=0, char_end=len(text))
            store.put_release(IndexedRelease(pid, pid, pid, "", None, 1), [chunk], [vec],
                              [" ".join(analyze(text))])
    retriever = Retriever(store, embedder)
    configs = [(m, None) for m in MODES if m != "hybrid"]
    configs += [("hybrid", float(w)) for w in args.weights.split(",")]
    results = {}
    qvecs = {}
    for mode, weight in configs:
        if weight is not None:
            retriever.lexical_weight = weight
        ranks = []
        for r in rows:
            q = r[args.question_field]
            if q not in qvecs and mode != "bm25":
                qvecs[q] = embedder.embed_query(q)
            hits = retriever.search(q, k=10, mode=mode, query_vector=qvecs.get(q))
            gold = passage_id(r[args.context_field])
            ids = [h.chunk.release_id for h in hits]
            ranks.append(ids.index(gold) + 1 if gold in ids else None)
        n = len(ranks)
        r5 = sum(1 for x in ranks if x and x <= 5) / n
        mrr = sum(1 / x for x in ranks if x) / n
        name = mode if weight is None else f"hybrid(w={weight})"
        results[name] = {"recall@5": round(r5, 4), "mrr@10": round(mrr, 4), "n": n}
        print(f"{name:18s} R@5={r5:.3f} MRR@10={mrr:.3f} (n={n}, pool={len(passages)})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
