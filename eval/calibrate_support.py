"""Choose verify.SUPPORT_THRESHOLDS: the e5 similarity above which a passage sentence supports
an answer sentence, one per answer language (an English sentence against an Indonesian
passage scores lower than an Indonesian paraphrase of it: ~0.82 against ~0.95).

Pairs (no gold labels exist for support, so they are built):
- Indonesian (IndoSum): each sentence of an article's gold summary against its own article
  (supported) and against another article of the same category (not supported), both cut
  to their first LEAD sentences. Summaries 0-29 fit the threshold; 30-59 report it.
- English (hand-written): English sentences a model could write from a release (supported)
  and English sentences it does not speak to (not supported). The Guangxi release's pairs
  fit the threshold; pairs over two other releases report it.

Each threshold maximises balanced accuracy on its fit pairs. Facts (numbers, names,
amounts) are checked separately by verify.py, so a threshold only has to separate sentences
a passage speaks to from sentences it does not.

Usage: python eval/calibrate_support.py   (uses ../shared/data, or $SHARED_DATA; ~5 min)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from assistant.answer.verify import Passage, Verifier
from assistant.index.embed import CachedEmbeddings, make_embedder
from assistant.text import sentences

DATA = Path(os.environ.get("SHARED_DATA", "../shared/data"))
CACHE = Path("eval/.cache/support-embeddings.sqlite")
GUANGXI = Path("corpus/2023-09-29_kemenko-pmk-guangxi-zhuang.txt")
N_FIT, N_REPORT = 30, 30
LEAD = 12  # sentences of each article compared (IndoSum summaries come from the lead)

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



VOCATIONAL = (
    "Kemenko PMK Dorong Revitalisasi Pendidikan Vokasi di Jawa Tengah. Semarang, Kamis "
    "(10/8/2023) - Kemenko PMK mendorong revitalisasi pendidikan vokasi di sekolah menengah "
    "kejuruan (SMK) Jawa Tengah agar lulusan siap bekerja. Asisten Deputi Pendidikan Vokasi "
    "menyampaikan bahwa pendidikan vokasi harus terhubung dengan dunia usaha dan dunia "
    "industri melalui program magang dan sertifikasi kompetensi. Pemerintah Provinsi Jawa "
    "Tengah menyiapkan 50 SMK percontohan untuk pendidikan vokasi berbasis industri pada "
    "tahun 2024.")
STUNTING = (
    "Kemenko PMK Gelar Rapat Koordinasi Stunting. Jakarta, Senin (2/10/2023) - Deputi Bidang "
    "Koordinasi Peningkatan Kualitas Kesehatan, Budi Santoso, memimpin rapat koordinasi "
    "percepatan penurunan stunting. Rapat membahas anggaran sebesar Rp 3,5 triliun untuk "
    "intervensi gizi di 12 provinsi.")
EN_REPORT_SUPPORTED = [
    ("Kemenko PMK is pushing to revitalise vocational education at vocational high schools in "
     "Central Java so that graduates are ready to work.", VOCATIONAL),
    ("The Assistant Deputy for Vocational Education said vocational education must be linked "
     "with business and industry through apprenticeships and competency certification.",
     VOCATIONAL),
    ("Central Java is preparing 50 pilot vocational schools for industry-based vocational "
     "education in 2024.", VOCATIONAL),
    ("Deputy Budi Santoso led a coordination meeting on accelerating stunting reduction.",
     STUNTING),
    ("The meeting discussed a budget of Rp 3.5 trillion for nutrition interventions in 12 "
     "provinces.", STUNTING),
    ("The stunting coordination meeting was held in Jakarta on Monday.", STUNTING),
]
EN_REPORT_UNSUPPORTED = [
    ("The President opened a new toll road in Sumatra.", VOCATIONAL),
    ("Teachers in Central Java went on strike over unpaid salaries.", VOCATIONAL),
    ("The ministry launched a campaign against online gambling.", VOCATIONAL),
    ("The meeting discussed the new school zoning policy.", STUNTING),
    ("Hospitals reported a rise in dengue fever cases.", STUNTING),
    ("The minister handed out scholarships to university students.", STUNTING),
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
        own_lead, other_lead = (" ".join(sentences(d["text"])[:LEAD]) for d in (own, other))
        for s in sentences(q["query"]):
            positives.append((s, own_lead))
            negatives.append((s, other_lead))
    return positives, negatives


def best_similarity(verifier: Verifier, pairs: list[tuple[str, str]]) -> np.ndarray:
    """The best similarity of each sentence to its passage's sentences."""
    out = []
    for sentence, passage in pairs:
        scores, _ = verifier.similarities([sentence], [Passage(1, passage)])
        out.append(float(scores[0, 0]))
    return np.array(out)


def rates(pos: np.ndarray, neg: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """Share of supported pairs kept, of unsupported pairs rejected, and their mean."""
    kept, rejected = float((pos >= threshold).mean()), float((neg < threshold).mean())
    return kept, rejected, (kept + rejected) / 2


def best_threshold(pos: np.ndarray, neg: np.ndarray) -> float:
    """The grid threshold with the best balanced accuracy (ties: the lower one)."""
    grid = np.round(np.arange(0.70, 0.95, 0.005), 3)
    return float(max(grid, key=lambda t: (rates(pos, neg, t)[2], -t)))


def main() -> None:
    embedder = CachedEmbeddings(make_embedder("e5"), CACHE)
    verifier = Verifier(embedder)
    release = GUANGXI.read_text(encoding="utf-8")
    sets = {
        "id fit": [best_similarity(verifier, p) for p in indosum_pairs(0, N_FIT)],
        "id report": [best_similarity(verifier, p)
                      for p in indosum_pairs(N_FIT, N_FIT + N_REPORT)],
        "en fit": [best_similarity(verifier, [(s, release) for s in EN_SUPPORTED]),
                   best_similarity(verifier, [(s, release) for s in EN_UNSUPPORTED])],
        "en report": [best_similarity(verifier, EN_REPORT_SUPPORTED),
                      best_similarity(verifier, EN_REPORT_UNSUPPORTED)],
    }
    chosen = {lang: best_threshold(*sets[f"{lang} fit"]) for lang in ("id", "en")}
    print(f"thresholds {chosen} (best balanced accuracy on each language's fit pairs)")
    print("| pairs | n supported / unsupported | threshold | supported kept | "
          "unsupported rejected |")
    print("| --- | --- | --- | --- | --- |")
    names = {"id fit": f"Indonesian, IndoSum summaries 0-{N_FIT - 1} (fit)",
             "id report": f"Indonesian, IndoSum summaries {N_FIT}-{N_FIT + N_REPORT - 1} "
                          "(report)",
             "en fit": "English vs the Guangxi release (fit)",
             "en report": "English vs two other releases (report)"}
    for key, (pos, neg) in sets.items():
        threshold = chosen[key[:2]]
        kept, rejected, _ = rates(pos, neg, threshold)
        print(f"| {names[key]} | {len(pos)} / {len(neg)} | {threshold:.3f} | {kept:.3f} | "
              f"{rejected:.3f} |")
    for key, (pos, neg) in sets.items():
        print(f"{key}: supported median {np.median(pos):.3f} (min {pos.min():.3f}), "
              f"unsupported median {np.median(neg):.3f} (max {neg.max():.3f})")


if __name__ == "__main__":
    main()
