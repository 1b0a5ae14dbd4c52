"""Today's extractive answerer vs the trained reader, side by side on the same retrievals.

Each SQuAD-style file's passages are indexed (a temporary index, as `assistant eval --squad`
does); every question is retrieved once and both answerers answer the same request, so
retrieval is identical and the latencies are measured in the same run. The reader answers
with no refusal (threshold 0) and its answerability is kept, so that a threshold can be
chosen afterwards and applied without asking again (the reader's answer text does not
depend on the threshold).

    python eval/compare_answerers.py --limit 150          # writes eval/runs/compare-*/rows.jsonl
    python eval/compare_answerers.py --read eval/runs/compare-X   # the reader on those requests
    python eval/compare_answerers.py --summarize eval/runs/compare-X --threshold-from idk_mrc_valid

The set `sample` is `eval/sets/sample.jsonl` over the sample release plus the 1,438
government news articles of ../shared/data/corpus as distractors (so retrieval can fail);
its follow-ups are retrieved with their history, as `assistant eval` does.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from assistant.answer.base import AnswerRequest, ExtractiveAnswerer
from assistant.answer.reader import ReaderAnswerer, lead
from assistant.answer.readermodel import WEIGHTS_DIR, load_reader
from assistant.answer.refusal import DEFAULT_REFUSAL_THRESHOLD
from assistant.config import Settings
from assistant.evaluation import metrics
from assistant.evaluation.evaluate import (
    DEPTH,
    Judge,
    answer_metrics,
    history_of,
    temporary_assistant,
)
from assistant.evaluation.testset import (
    EvalQuestion,
    load_set,
    load_squad,
    passage_release_id,
    squad_passages,
)
from assistant.types import Chunk, Hit, Release
from tools.train_reader import DATA

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SET = ROOT / "eval" / "sets" / "sample.jsonl"
# the sample release and the government news articles as distractors
SAMPLE_CORPUS = (ROOT / "corpus", DATA.parent / "corpus" / "indosum_dev_news_gov.jsonl")
SETS = {  # name -> (file, question field, answers field); and "sample" (SAMPLE_SET)
    "idk_mrc_valid": ("idk_mrc_valid.jsonl", "question", "answers"),
    "tydiqa_id_valid": ("tydiqa_id_valid.jsonl", "question", "answers"),
    "facqa_valid": ("facqa_valid.jsonl", "question", "answers"),
    "xling_en": ("xling_en-question_id-passage_squad2dev_normans.jsonl", "question_en",
                 "answers_id"),
    "sample": ("", "question", "answers"),
}


def sample(questions: list[EvalQuestion], limit: int | None, seed: int) -> list[EvalQuestion]:
    """A seeded sample of the questions (all when limit is None)."""
    if not limit or limit >= len(questions):
        return questions
    return sorted(random.Random(seed).sample(questions, limit), key=lambda q: q.id)


def passages_to_index(file: Path, questions: Sequence[EvalQuestion], distractors: int,
                      seed: int) -> list[Release]:
    """The sampled questions' own passages and `distractors` other passages of the file."""
    wanted = {q.id for q in questions}
    rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]
    own = {passage_release_id(r.get("context") or r["context_id"]) for r in rows
           if str(r["id"]) in wanted}
    everything = {p.id: p for p in squad_passages(file)}
    others = sorted(set(everything) - own)
    picked = own | set(random.Random(seed).sample(others, min(distractors, len(others))))
    return [everything[i] for i in sorted(picked)]


def compare_set(name: str, args: argparse.Namespace, out: Any) -> None:
    """Index a set's passages, ask its sampled questions of both answerers, write rows."""
    settings = Settings(index_dir=Path(tempfile.mkdtemp(prefix="compare-")))
    assistant = temporary_assistant(settings, settings.index_dir, DEFAULT_REFUSAL_THRESHOLD,
                                    Path("eval/.cache/embeddings.sqlite"))
    if name == "sample":
        questions = load_set(SAMPLE_SET)
        assistant.index.ingest([p for p in SAMPLE_CORPUS if p.exists()])
        size = "sample release + news"
    else:
        file, qfield, afield = SETS[name]
        questions = sample(load_squad(DATA / file, qfield, afield)[0], args.limit, args.seed)
        passages = passages_to_index(DATA / file, questions, args.distractors, args.seed)
        assistant.index.add_releases(passages)
        size = f"{len(passages)} passages"
    extractive = assistant.answerer
    assert isinstance(extractive, ExtractiveAnswerer)
    judge = Judge(list(assistant.index.store.chunks()))
    by_id = {q.id: q for q in questions}
    for q in tqdm(questions, desc=f"{name} ({size})"):
        row = ask_extractive(assistant, judge, q, extractive, name, history_of(q, by_id))
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()


def ask_extractive(assistant: Any, judge: Judge, q: EvalQuestion,
                   extractive: ExtractiveAnswerer, name: str,
                   history: Sequence[str] = ()) -> dict[str, Any]:
    """One retrieval and the extractive answer, scored; the request's passages are kept."""
    start = time.perf_counter()
    retrieval = assistant.retrieve(q.question, DEPTH, history=history)
    request = assistant.request(retrieval)
    retrieve_ms = (time.perf_counter() - start) * 1000
    row: dict[str, Any] = {"set": name, "id": q.id, "lang": q.lang, "answerable": q.answerable,
                           "question": q.question, "answers": list(q.answers),
                           "gold_release_ids": list(q.gold_release_ids),
                           "evidence": list(q.evidence), "history": list(history),
                           "retrieve_ms": round(retrieve_ms, 1),
                           "hits": [_hit_row(h) for h in request.hits]}
    row["extractive"] = scored_answer(extractive, request, q, judge)
    return row


def scored_answer(answerer: Any, request: AnswerRequest, q: EvalQuestion,
                  judge: Judge) -> dict[str, Any]:
    """Answer one request, timed, and score it."""
    began = time.perf_counter()
    answer = answerer.answer(request)
    return answer_row(answer, q, judge, round((time.perf_counter() - began) * 1000, 1))


def answer_row(answer: Any, q: EvalQuestion, judge: Judge, ms: float) -> dict[str, Any]:
    """An answer's row: what it said, how long it took and its scores."""
    scored = answer_metrics(q, answer, judge)
    return {"ms": ms, "refused": answer.refused, "confidence": round(answer.confidence, 4),
            "text": answer.text, "short": answer.short_answer,
            "cited_gold": [c["gold"] for c in scored.pop("citations")], **scored}


def _hit_row(hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {"id": c.id, "release_id": c.release_id, "text": c.text, "para_start": c.para_start,
            "para_end": c.para_end, "char_start": c.char_start, "char_end": c.char_end,
            "title": c.title, "source": c.source, "score": hit.score, "dense": hit.dense}


def read_run(run: Path, model_cache: Path, weights: Path, max_passages: int,
             fit_on: Sequence[str], en_fit_on: str) -> None:
    """The reader on every stored request of a run (same passages as the extractive one).

    Each request is read once; the weight of retrieval evidence in the reader's confidence
    is then chosen on the fitting rows (`fit_on` sets and the calibration half of
    `en_fit_on`) as the one whose leading spans score the best token F1, and every row is
    answered with it (no refusal: thresholds are chosen by --summarize).
    """
    reader = ReaderAnswerer(lambda: load_reader(model_cache, weights), max_passages,
                            threshold=0.0)
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    requests = [_request(row) for row in rows]
    readings, read_ms = [], []
    for request in tqdm(requests, desc="reader"):
        began = time.perf_counter()
        readings.append(reader.read(request.question, request.hits[:max_passages]))
        read_ms.append(round((time.perf_counter() - began) * 1000, 1))
    fit = [i for i, r in enumerate(rows) if r["set"] in fit_on
           or (r["set"] == en_fit_on and calibration_half(r))]
    weight = choose_retrieval_weight([rows[i] for i in fit], [readings[i] for i in fit],
                                     [requests[i] for i in fit])
    (run / "reader-weight.json").write_text(json.dumps(weight, indent=1) + "\n")
    print(f"retrieval weight {weight['retrieval_weight']}: {weight}")
    answerer = ReaderAnswerer(lambda: reader.model, max_passages, threshold=0.0,
                              retrieval_weight=weight["retrieval_weight"])
    with open(run / "rows-reader.jsonl", "w", encoding="utf-8") as out:
        for row, request, found, ms in zip(rows, requests, readings, read_ms, strict=True):
            answer = answerer.answer_from(request, found)
            row["reader"] = answer_row(answer, _question(row),
                                       Judge([h.chunk for h in request.hits]), ms)
            row["reader"]["passage_tokens"] = [len(reader.model[1].encode(h.chunk.text).ids)
                                               for h in request.hits[:max_passages]]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def choose_retrieval_weight(rows: Sequence[dict[str, Any]], readings: Sequence[Sequence[Any]],
                            requests: Sequence[AnswerRequest]) -> dict[str, Any]:
    """The weight (of a fixed grid) whose leading spans have the best mean token F1 on the
    answerable rows (ties: the smaller weight)."""
    grid = [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0]
    f1 = {}
    for w in grid:
        got = []
        for row, found, request in zip(rows, readings, requests, strict=True):
            if not (row["answerable"] and row["answers"]):
                continue
            _typed, best = lead(request.question, found, w)
            got.append(metrics.token_f1(best.short, row["answers"]) if best else 0.0)
        f1[w] = round(sum(got) / max(1, len(got)), 4)
    best_w = max(grid, key=lambda w: (f1[w], -w))
    return {"retrieval_weight": best_w, "span_f1_by_weight": f1, "fitted_on_rows": len(rows)}


def _request(row: dict[str, Any]) -> AnswerRequest:
    hits = [Hit(Chunk(h["id"], h["release_id"], h["text"], h["para_start"], h["para_end"],
                      h["char_start"], h["char_end"], h["title"], None, h["source"]),
                h["score"], h["dense"]) for h in row["hits"]]
    return AnswerRequest(row["question"], hits, [], lambda _t: 0.0)


def _question(row: dict[str, Any]) -> EvalQuestion:
    return EvalQuestion(row["id"], row["question"], row["lang"], row["answerable"],
                        tuple(row["answers"]), tuple(row["gold_release_ids"]),
                        tuple(row.get("evidence", ())))


# ---------------------------------------------------------------- summaries


Thresholds = float | dict[str, float] | None  # one, or per question language


def scores(rows: Sequence[dict[str, Any]], label: str, threshold: Thresholds) -> dict:
    """Aggregate metrics of one answerer; the reader refuses below `threshold` (one for all
    questions, or one per question language)."""
    def refused(r: dict[str, Any]) -> bool:
        a = r[label]
        if threshold is None:
            return bool(a["refused"])
        t = threshold[r["lang"]] if isinstance(threshold, dict) else threshold
        return a["confidence"] < t or a["refused"]

    answerable = [r["answerable"] for r in rows]
    ref = [refused(r) for r in rows]
    has_unans = not all(answerable)
    point = metrics.refusal_scores(ref, answerable)
    p, rc, f1 = (point.precision, point.recall, point.f1) if has_unans else (None,) * 3
    kept = [(r, x) for r, x in zip(rows, ref, strict=True) if r["answerable"] and r["answers"]]
    short = [(r[label]["short"] or "", r["answers"]) for r, x in kept if not x]
    em = [not x and bool(r[label]["short"]) and any(
        metrics.normalize_answer(r[label]["short"]) == metrics.normalize_answer(a)
        for a in r["answers"]) for r, x in kept]
    f1s = [0.0 if x or not r[label]["short"] else metrics.token_f1(r[label]["short"], r["answers"])
           for r, x in kept]
    cited = [r[label]["citation_precision"] for r, x in zip(rows, ref, strict=True)
             if r["answerable"] and not x and r[label]["citation_precision"] is not None]
    del short
    ms = [r["retrieve_ms"] + r[label]["ms"] for r in rows]
    return {
        "questions": len(rows), "unanswerable": answerable.count(False),
        "short_em": metrics.mean(em) if label == "reader" else None,
        "short_f1": metrics.mean(f1s) if label == "reader" else None,
        "contains_answer": metrics.mean([bool(r[label]["contains_answer"]) and not x
                                         for r, x in kept]),
        "citation_precision": metrics.mean(cited),
        "refusal_precision": p, "refusal_recall": rc, "refusal_f1": f1,
        "wrong_refusal_rate": metrics.mean([x for r, x in zip(rows, ref, strict=True)
                                            if r["answerable"]]),
        "answer_p50_ms": metrics.percentile([r[label]["ms"] for r in rows], 50),
        "ask_p95_ms": metrics.percentile(ms, 95),
    }


def choose_threshold(rows: Sequence[dict[str, Any]], max_wrong: float) -> float:
    """The reader threshold with the best refusal F1 refusing at most max_wrong answerable."""
    best = (-1.0, 0.0)
    for t in [i / 100 for i in range(1, 100)]:
        s = scores(rows, "reader", t)
        if s["wrong_refusal_rate"] is not None and s["wrong_refusal_rate"] <= max_wrong \
                and (s["refusal_f1"] or 0) > best[0]:
            best = (s["refusal_f1"] or 0, t)
    return best[1]


def calibration_half(row: dict[str, Any]) -> bool:
    """Half of a set's questions (a fixed hash of the id): thresholds chosen on one half are
    reported on the other."""
    import hashlib

    return hashlib.sha1(row["id"].encode()).digest()[0] % 2 == 0


def summarize(run: Path, fit_on: Sequence[str], en_fit_on: str,
              max_wrong: float | None) -> None:
    """Print the side-by-side table. The reader's Indonesian threshold is chosen on `fit_on`
    sets; its English one on the calibration half of `en_fit_on` (English questions),
    reported on the other half."""
    rows = [json.loads(line) for line in (run / "rows-reader.jsonl").read_text().splitlines()]
    fit = [r for r in rows if r["set"] in fit_on]
    en_rows = [r for r in rows if r["set"] == en_fit_on]
    en_fit = [r for r in en_rows if calibration_half(r)]
    chosen: dict[str, float] = {}
    wrongs: dict[str, float] = {}
    for lang, part in (("id", fit), ("en", en_fit)):
        wrongs[lang] = max_wrong if max_wrong is not None else \
            scores(part, "extractive", None)["wrong_refusal_rate"] or 0.0
        chosen[lang] = choose_threshold(part, wrongs[lang])
        print(f"reader threshold ({lang}) {chosen[lang]:.2f}: best refusal F1 on "
              f"{'+'.join(fit_on) if lang == 'id' else en_fit_on + ' (calibration half)'} "
              f"with wrong refusals <= {wrongs[lang]:.3f} (the extractive answerer's there)")
    keys = ["questions", "unanswerable", "short_em", "short_f1", "contains_answer",
            "citation_precision", "refusal_precision", "refusal_recall", "refusal_f1",
            "wrong_refusal_rate", "answer_p50_ms", "ask_p95_ms"]
    print("\n| set | answerer | " + " | ".join(keys) + " |")
    print("|" + " --- |" * (len(keys) + 2))
    parts = {name: [r for r in rows if r["set"] == name] for name in
             dict.fromkeys(r["set"] for r in rows) if name != en_fit_on}
    for name in list(parts):  # a set of both languages (5+ questions each), by language
        counts = Counter(r["lang"] for r in parts[name])
        for lang in sorted(counts) if min(counts.values()) >= 5 and len(counts) > 1 else ():
            parts[f"{name} ({lang})"] = [r for r in parts[name] if r["lang"] == lang]
    parts["valid (all Indonesian)"] = [r for r in rows if r["set"].endswith("_valid")]
    if en_rows:
        parts[f"{en_fit_on} calibration half"] = en_fit
        parts[f"{en_fit_on} report half"] = [r for r in en_rows if not calibration_half(r)]
    summary = {}
    for name, part in parts.items():
        for label, th in (("extractive", None), ("reader", chosen)):
            s = scores(part, label, th)
            summary[f"{name}/{label}"] = s
            print(f"| {name} | {label} | " + " | ".join(_fmt(s[k]) for k in keys) + " |")
    (run / "summary.json").write_text(json.dumps(
        {"thresholds": chosen, "fitted_on": {"id": list(fit_on), "en": f"{en_fit_on} "
         "(calibration half)"}, "max_wrong": wrongs, "scores": summary}, indent=1))


def record_threshold(run: Path, weights: Path, model_cache: Path, sample_size: int) -> None:
    """Store the threshold chosen by --summarize in the reader's record, with the scores of a
    fixed sample of IDK-MRC valid questions on their own passages (what the test reproduces)."""
    from assistant.answer.reader import gold_passage_scores
    from assistant.answer.readermodel import WEIGHTS_NAME

    summary = json.loads((run / "summary.json").read_text())
    path = weights / f"{WEIGHTS_NAME}.json"
    record = json.loads(path.read_text())
    fitted, wrong = summary["fitted_on"], summary["max_wrong"]
    weight = json.loads((run / "reader-weight.json").read_text())
    record.update(retrieval_weight=weight["retrieval_weight"],
                  retrieval_weight_fitted_on=f"id: {'+'.join(fitted['id'])}; en: {fitted['en']} "
                  f"(best span token F1 of {weight['fitted_on_rows']} valid rows: "
                  f"{weight['span_f1_by_weight']})")
    record.update(
        refusal_threshold=summary["thresholds"]["id"],
        refusal_thresholds=summary["thresholds"],
        threshold_fitted_on=f"id: {'+'.join(fitted['id'])} (seeded valid samples, best refusal "
        f"F1 with wrong refusals <= {wrong['id']:.3f}); en: {fitted['en']} (wrong refusals "
        f"<= {wrong['en']:.3f})")
    rows = [json.loads(line) for line in (DATA / "idk_mrc_valid.jsonl").read_text().splitlines()]
    picked = sorted(random.Random(11).sample(rows, sample_size), key=lambda r: r["id"])
    reader = ReaderAnswerer(lambda: load_reader(model_cache, weights),
                            threshold=summary["thresholds"]["id"])
    record["valid_sample"] = {"ids": [r["id"] for r in picked],
                              **gold_passage_scores(reader, picked)}
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record["valid_sample"]))


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) and v < 10 else \
        f"{v:.0f}" if isinstance(v, float) else str(v)


def main() -> None:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default=",".join(SETS), help=f"of {', '.join(SETS)}")
    p.add_argument("--limit", type=int, help="seeded sample of this many questions per set")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--distractors", type=int, default=100,
                   help="passages of the same file indexed beside the sampled questions' own")
    p.add_argument("--out", type=Path, help="run folder (default eval/runs/compare-<time>)")
    p.add_argument("--model-cache", type=Path, default=Path("index/models"))
    p.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--read", type=Path, help="run the reader on a run's stored requests")
    p.add_argument("--passages", type=int, default=3, help="passages the reader reads")
    p.add_argument("--summarize", type=Path, help="print the table of a finished run")
    p.add_argument("--record", type=int, metavar="N",
                   help="with --summarize: store the threshold in the reader's record, with "
                   "the scores of N fixed IDK-MRC valid questions on their own passages")
    p.add_argument("--threshold-from", default="idk_mrc_valid,tydiqa_id_valid,facqa_valid",
                   help="sets the reader's threshold is chosen on")
    p.add_argument("--en-threshold-from", default="xling_en",
                   help="set of English questions whose calibration half chooses the reader's "
                   "English threshold (the other half reports it)")
    p.add_argument("--max-wrong-refusals", type=float,
                   help="default: the extractive answerer's wrong-refusal rate on those sets")
    args = p.parse_args()
    if args.read:
        read_run(args.read, args.model_cache, args.weights, args.passages,
                 args.threshold_from.split(","), args.en_threshold_from)
        return
    if args.summarize:
        summarize(args.summarize, args.threshold_from.split(","), args.en_threshold_from,
                  args.max_wrong_refusals)
        if args.record:
            record_threshold(args.summarize, args.weights, args.model_cache, args.record)
        return
    out = args.out or Path("eval/runs") / time.strftime("compare-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rows.jsonl", "a", encoding="utf-8") as handle:
        for name in args.sets.split(","):
            compare_set(name, args, handle)
    print(f"wrote {out / 'rows.jsonl'}")


if __name__ == "__main__":
    main()
