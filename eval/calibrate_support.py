"""Choose verify.SUPPORT_THRESHOLD: the e5 similarity above which a passage supports a sentence.

Pairs (no gold labels exist for support, so they are built):
- IndoSum (Indonesian): each sentence of an article's gold summary against its own article
  (supported) and against another article of the same category (not supported). Summaries
  0-49 fit the threshold; summaries 50-99 report it.
- Cross-lingual (hand-written, reported only): English sentences a model could write from the
  bundled Guangxi release (supported) and English sentences on the same ministry's other
  business or misreading the release (not supported), against the release.

The threshold maximises balanced accuracy on the fit half. Facts (numbers, names, amounts)
are checked separately by verify.py, so this threshold only has to separate on-topic
sentences from sentences the passage does not speak to.

Usage: python eval/calibrate_support.py   (uses ../shared/data, or $SHARED_DATA; ~5 min)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from assistant.embed import CachedEmbeddings, make_embedder
from assistant.text import sentences
from assistant.verify import Passage, Verifier

DATA = Path(os.environ.get("SHARED_DATA", "../shared/data"))
CACHE = Path("eval/.cache/support-embeddings.sqlite")
GUANGXI = Path("corpus/2023-09-29_kemenko-pmk-guangxi-zhuang.txt")
N_FIT, N_REPORT = 50, 50

EN_SUPPORTED = [
    "Kemenko PMK received a delegation from the Guangxi Zhuang Autonomous Region of China.",
    "The meeting took place at the Kemenko PMK office in Jakarta on Friday, 29 September 2023.",
    "The delegation was led by the Director General of the Guangxi Department of Human "
    "Resources and Social Security.",
    "Joko Kusnanto Anggoro received the delegates on behalf of Coordinating Minister "
    "Muhadjir Effendy.",
    "CAHRSE will be held in Nanning, Guangxi, on 3-4 November 2023.",
    "Guangxi invited the Coordinating Minister to attend and give the opening speech.",
    "Joko Kusnanto named three priorities: social security, vocational education and "
    "training, and cultural exchange.",
    "Deputy Nunung Nuryanto said Indonesia aims for zero extreme poverty by 2024.",
    "Nunung hoped Indonesia and Guangxi would exchange good practice on adaptive social "
    "protection at the CAHRSE forum.",
    "Deputy Warsito hoped Indonesia and China would explore cooperation in vocational "
    "education and training (TVET).",
    "Both countries have large populations, which makes the cooperation relevant.",
    "Social protection helps reduce the spending burden on households.",
]
EN_UNSUPPORTED = [
    "The ministry distributed food parcels to flood victims in Kudus.",
    "The delegation signed a memorandum on maritime security with the navy.",
    "Warsito announced a new national curriculum for primary schools.",
    "The meeting discussed stunting reduction programmes in twelve provinces.",
    "Indonesia's football team will play a friendly match in Nanning.",
    "The minister inaugurated a new hospital in Surabaya.",
    "Vaccination coverage for children reached its target this year.",
    "The government raised fuel prices to cut the budget deficit.",
    "A volcanic eruption forced thousands of residents to evacuate.",
    "The deputies proposed building a high-speed railway between the two countries.",
    "The central bank kept its benchmark interest rate unchanged.",
    "Religious leaders met to discuss the dates of the fasting month.",
]


def indosum_pairs(lo: int, hi: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(summary sentence, article) pairs: own article, and another of the same category."""
    docs = {}
    with (DATA / "corpus" / "indosum_dev_all.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs[d["id"]] = d
    queries = []
    with (DATA / "qa" / "indosum_dev_summary2doc.jsonl").open(encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q["gold_doc_id"] in docs:
                queries.append(q)
    queries = queries[lo:hi]
    positives, negatives = [], []
    for i, q in enumerate(queries):
        own = docs[q["gold_doc_id"]]
        rest = [docs[p["gold_doc_id"]] for p in queries[i + 1:] + queries[:i]
                if p["gold_doc_id"] != own["id"]]
        other = next((d for d in rest if d["category"] == own["category"]), rest[0])
        for s in sentences(q["query"]):
            positives.append((s, own["text"]))
            negatives.append((s, other["text"]))
    return positives, negatives


def best_similarity(verifier: Verifier, pairs: list[tuple[str, str]]) -> np.ndarray:
    """The best similarity of each sentence to its passage's sentences."""
    out = []
    for sentence, passage in pairs:
        scores, _ = verifier._similarities([sentence], [Passage(1, passage)])
        out.append(float(scores[0, 0]))
    return np.array(out)


def rates(pos: np.ndarray, neg: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """Share of supported pairs kept, of unsupported pairs rejected, and their mean."""
    kept, rejected = float((pos >= threshold).mean()), float((neg < threshold).mean())
    return kept, rejected, (kept + rejected) / 2


def main() -> None:
    embedder = CachedEmbeddings(make_embedder("e5"), CACHE)
    verifier = Verifier(embedder)
    fit_pos, fit_neg = (best_similarity(verifier, p) for p in indosum_pairs(0, N_FIT))
    grid = np.round(np.arange(0.75, 0.95, 0.005), 3)
    best = max(grid, key=lambda t: (rates(fit_pos, fit_neg, t)[2], -t))
    rep_pos, rep_neg = (best_similarity(verifier, p) for p in indosum_pairs(N_FIT,
                                                                             N_FIT + N_REPORT))
    release = GUANGXI.read_text(encoding="utf-8")
    en_pos = best_similarity(verifier, [(s, release) for s in EN_SUPPORTED])
    en_neg = best_similarity(verifier, [(s, release) for s in EN_UNSUPPORTED])
    print(f"threshold {best:.3f} (best balanced accuracy on IndoSum articles 0-{N_FIT - 1})")
    print("| pairs | n supported / unsupported | supported kept | unsupported rejected |")
    print("| --- | --- | --- | --- |")
    for name, pos, neg in [(f"IndoSum fit (0-{N_FIT - 1})", fit_pos, fit_neg),
                           (f"IndoSum report ({N_FIT}-{N_FIT + N_REPORT - 1})", rep_pos, rep_neg),
                           ("English vs Guangxi release (report)", en_pos, en_neg)]:
        kept, rejected, _ = rates(pos, neg, best)
        print(f"| {name} | {len(pos)} / {len(neg)} | {kept:.3f} | {rejected:.3f} |")
    print("English similarities, supported:", np.round(np.sort(en_pos), 3).tolist())
    print("English similarities, unsupported:", np.round(np.sort(en_neg), 3).tolist())


if __name__ == "__main__":
    main()
