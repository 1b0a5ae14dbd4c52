"""The reader and the answer decision on the valid splits: collect, fit on one half, report on
the other.

    python eval/reader_eval.py collect --out eval/runs/reader      # retrieval, extractive, reads
    python eval/reader_eval.py read --run eval/runs/reader --checkpoint build/reader/f25 --name f25
    python eval/reader_eval.py fit --run eval/runs/reader --name full
    python eval/reader_eval.py report --run eval/runs/reader       # tables: report halves
    python eval/reader_eval.py ship --run eval/runs/reader --name full   # decision -> record

`collect` indexes each set's passages (the whole valid file, as `assistant eval --squad`
does; the sample set over the sample release plus 1,438 government news articles), asks
every question once through the product's retrieval (top 10 kept) and answers it with the
extractive answerer on the top 5 (timed), then reads the top 10 passages with the reader
(the top 3 timed as the answer stage reads them). `read` reads the same retrievals with
another model (a training checkpoint: the learning curve, bf16 vs fp32). Every question
belongs to the fit or the report half of its set by a fixed hash of its id
(testset.valid_half). `fit` chooses, on the fit halves only: the quoting margin and number
of sentences, the logistic answer decision, and the refusal thresholds per language (and
the reader-alone thresholds). `report` scores every answerer on the report halves only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.base import AnswerRequest  # noqa: E402
from assistant.answer.decision import Decision, features  # noqa: E402
from assistant.answer.question import Question  # noqa: E402
from assistant.answer.reader import Reader, Reading, SentenceScore  # noqa: E402
from assistant.answer.readeranswer import Policy, Quoting, choose, decide, signals  # noqa: E402
from assistant.evaluation import metrics  # noqa: E402
from assistant.evaluation.evaluate import Judge, answer_metrics, history_of  # noqa: E402
from assistant.evaluation.testset import (  # noqa: E402
    EvalQuestion,
    load_set,
    load_squad,
    valid_half,
)
from assistant.types import Answer, Chunk, Citation, Hit  # noqa: E402

DATA = next((p / "shared" / "data" for p in (ROOT.parent, ROOT.parent.parent)
             if (p / "shared" / "data").is_dir()), ROOT.parent / "shared" / "data")
SETS = {  # name -> (file, question field, answers field)
    "idk_mrc_valid": ("qa/idk_mrc_valid.jsonl", "question", "answers"),
    "tydiqa_id_valid": ("qa/tydiqa_id_valid.jsonl", "question", "answers"),
    "facqa_valid": ("qa/facqa_valid.jsonl", "question", "answers"),
    "xling_en": ("qa/xling_en-question_id-passage_squad2dev_normans.jsonl", "question_en",
                 "answers_id"),
    "sample": ("", "question", "answers"),
}
DEPTH, TOP_K, READ = 10, 5, 3  # kept for rerank, answered from, read by the reader
# wrong-refusal bound when choosing thresholds: below the 0.12 on IDK-MRC, leaving
# room for the report half to differ from the fit half; and never above the extractive
# answerer's own share on the same fit questions ("without more wrong refusals")
MAX_WRONG = {"id": 0.08, "en": 0.20}


# ---------------------------------------------------------------- collect


def questions_of(name: str, limit: int | None) -> tuple[list[EvalQuestion], Any]:
    """A set's questions and what to index for it."""
    if name == "sample":
        corpus = [ROOT / "corpus", DATA / "corpus" / "indosum_dev_news_gov.jsonl"]
        return load_set(ROOT / "eval" / "sets" / "sample.jsonl"), corpus
    file, qf, af = SETS[name]
    questions, passages = load_squad(DATA / file, qf, af)
    if limit:
        questions = sorted(random.Random(0).sample(questions, min(limit, len(questions))),
                           key=lambda q: q.id)
    return questions, passages


def collect(args: argparse.Namespace) -> None:
    """Retrieve, answer extractively and read every question of every set."""
    from assistant.config import Settings
    from assistant.pipeline import build

    args.run.mkdir(parents=True, exist_ok=True)
    reader = warm(reader_of(args))
    with open(args.run / "rows.jsonl", "w", encoding="utf-8") as rows, \
            open(args.run / f"readings-{args.name}.jsonl", "w", encoding="utf-8") as reads:
        for name in args.sets:
            questions, corpus = questions_of(name, args.limit)
            index_dir = Path(tempfile.mkdtemp(prefix="reader-eval-"))
            (index_dir / "models").symlink_to(args.model_cache.resolve())  # converted once
            settings = Settings(index_dir=index_dir, embedder=args.embedder)
            assistant = build(settings)
            if name == "sample":
                assistant.index.ingest([p for p in corpus if p.exists()])
            else:
                assistant.index.add_releases(corpus)
            judge = Judge(list(assistant.index.store.chunks()))
            by_id = {q.id: q for q in questions}
            for q in _progress(questions, name):
                row, request = retrieve_row(assistant, judge, q, name, history_of(q, by_id))
                rows.write(json.dumps(row, ensure_ascii=False) + "\n")
                reads.write(json.dumps(read_row(reader, row, request)) + "\n")


def retrieve_row(assistant: Any, judge: Judge, q: EvalQuestion, name: str,
                 history: Sequence[str]) -> tuple[dict[str, Any], AnswerRequest]:
    """One retrieval (top DEPTH) and the extractive answer on the top TOP_K, scored."""
    retrieval = assistant.retrieve(q.question, DEPTH, history=history)
    request = assistant.request(retrieval, TOP_K)
    began = time.perf_counter()
    gate = getattr(assistant.answerer, "gate", assistant.answerer).answer(request)
    ms = (time.perf_counter() - began) * 1000
    hits = retrieval.ranking[:DEPTH]
    row = {"set": name, "id": q.id, "lang": q.lang, "half": valid_half(q.id),
           "answerable": q.answerable, "question": q.question, "answers": list(q.answers),
           "gold_release_ids": list(q.gold_release_ids), "evidence": list(q.evidence),
           "history": list(history), "hits": [hit_row(h) for h in hits],
           "gold": judge.gold(q, hits), "answered_from": [h.chunk.id for h in request.hits],
           "extractive": answer_row(gate, q, judge, ms)}
    return row, request


def read_row(reader: Reader, row: dict[str, Any], request: AnswerRequest, rest: bool = True
             ) -> dict[str, Any]:
    """The reader's readings of the answered passages (timed) and, for the rerank, of the
    rest of the top 10."""
    question, hits = row["question"], [hit_of(h) for h in row["hits"]]
    answered = request.hits[:READ]
    began = time.perf_counter()
    first = reader.read(question, answered)
    ms = (time.perf_counter() - began) * 1000
    ids = {h.chunk.id for h in answered}
    others = reader.read(question, [h for h in hits if h.chunk.id not in ids]) if rest else []
    return {"id": row["id"], "set": row["set"], "read_ms": round(ms, 1),
            "answered": [reading_row(r) for r in first],
            "rest": [reading_row(r) for r in others]}


def reader_of(args: argparse.Namespace) -> Reader:
    """The shipped reader (onnxruntime), or a training checkpoint (PyTorch, fp32)."""
    if args.checkpoint:
        import torch

        from assistant.answer.readermodel import load_torch_reader
        from assistant.index.e5tokenizer import load_tokenizer
        from tools.train_reader import TorchEngine

        saved = torch.load(Path(args.checkpoint) / "checkpoint.pt")
        tok = load_tokenizer(args.model_cache)
        tok.no_truncation()
        torch.set_num_threads(2)
        engine = TorchEngine(load_torch_reader(args.model_cache, state=saved["state"]), tok)
        return Reader(lambda: engine)  # type: ignore[arg-type, return-value]
    from assistant.answer.readerengine import load_engine

    return Reader(lambda: load_engine(args.model_cache))


def warm(reader: Reader) -> Reader:
    """The reader loaded and run once, so no timed read pays for loading."""
    text = "Audiensi berlangsung di Jakarta pada Jumat."
    reader.read("Kapan audiensi berlangsung?", [Hit(Chunk("w#0", "w", text, 0, 1, 0, len(text)),
                                                     1.0)])
    return reader


def read(args: argparse.Namespace) -> None:
    """Read the collected retrievals again with another model (a training checkpoint reads
    only the answered passages: the rerank is measured for the shipped model)."""
    reader = warm(reader_of(args))
    rows = load_rows(args.run)
    with open(args.run / f"readings-{args.name}.jsonl", "w", encoding="utf-8") as out:
        for row in _progress(rows, args.name):
            request = request_of(row)
            out.write(json.dumps(read_row(reader, row, request, not args.checkpoint)) + "\n")


# ---------------------------------------------------------------- rows <-> objects


def hit_row(h: Hit) -> dict[str, Any]:
    """A hit as stored."""
    c = h.chunk
    return {"id": c.id, "release_id": c.release_id, "text": c.text, "para_start": c.para_start,
            "para_end": c.para_end, "char_start": c.char_start, "char_end": c.char_end,
            "title": c.title, "source": c.source, "score": h.score, "dense": h.dense,
            "lexical": h.lexical}


def hit_of(row: dict[str, Any]) -> Hit:
    """A stored hit."""
    chunk = Chunk(row["id"], row["release_id"], row["text"], row["para_start"],
                  row["para_end"], row["char_start"], row["char_end"], row["title"], None,
                  row["source"])
    return Hit(chunk, row["score"], row["dense"], row.get("lexical"))


def reading_row(r: Reading) -> list[Any]:
    """A reading as stored (compact)."""
    return [r.hit.chunk.id, r.rank, round(r.answerable, 4), list(r.span),
            round(r.span_score, 4),
            [[s.start, s.end, round(s.score, 4), list(s.span)] for s in r.sentences]]


def reading_of(stored: list[Any], hits: dict[str, Hit]) -> Reading:
    """A stored reading."""
    cid, rank, answerable, span, score, sentences = stored
    return Reading(hits[cid], rank, answerable, tuple(span), score,
                   tuple(SentenceScore(a, b, s, tuple(sp)) for a, b, s, sp in sentences))


def answer_row(answer: Answer, q: EvalQuestion, judge: Judge, ms: float) -> dict[str, Any]:
    """An answer's row: what it said, how long it took and its scores."""
    scored = answer_metrics(q, answer, judge)
    return {"ms": round(ms, 1), "refused": answer.refused,
            "confidence": round(answer.confidence, 4), "text": answer.text,
            "short": answer.short_answer, "evidence": answer.evidence,
            "quotes": [c.quote for c in answer.citations],
            "cited_gold": [c["gold"] for c in scored.pop("citations")], **scored}


def gate_of(row: dict[str, Any]) -> Answer:
    """The extractive answer as the decision sees it (confidence and quotes)."""
    e = row["extractive"]
    citations = tuple(Citation(n, "", "", None, "", quote, "", 0.0)
                      for n, quote in enumerate(e["quotes"], start=1))
    return Answer(row["question"], e["text"], e["refused"], citations, e["confidence"],
                  evidence=e.get("evidence") or {})


def request_of(row: dict[str, Any]) -> AnswerRequest:
    """The answer stage's request as collected (the passages answered from)."""
    hits = {h["id"]: hit_of(h) for h in row["hits"]}
    return AnswerRequest(Question(row["question"]),
                         [hits[c] for c in row["answered_from"] if c in hits])


def question_of(row: dict[str, Any]) -> EvalQuestion:
    """The row's question as evaluation knows it."""
    return EvalQuestion(row["id"], row["question"], row["lang"], row["answerable"],
                        tuple(row["answers"]), tuple(row["gold_release_ids"]),
                        tuple(row.get("evidence", ())))


def load_rows(run: Path) -> list[dict[str, Any]]:
    """The collected rows."""
    lines = (run / "rows.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]  # a run still writing


def load_readings(run: Path, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(set, id) -> the stored readings of one model."""
    path = run / f"readings-{name}.jsonl"
    lines = [line for line in path.read_text().splitlines() if line.endswith("}")]
    return {(r["set"], r["id"]): r for r in map(json.loads, lines)}


class Case:
    """One question with everything the decision needs, rebuilt from the run."""

    def __init__(self, row: dict[str, Any], read: dict[str, Any]) -> None:
        self.row, self.read_ms = row, read["read_ms"]
        hits = {h["id"]: hit_of(h) for h in row["hits"]}
        self.request = request_of(row)
        self.readings = [reading_of(r, hits) for r in read["answered"]]
        self.rest = [reading_of(r, hits) for r in read["rest"]]
        self.gate = gate_of(row)
        self.q = question_of(row)
        self.judge = Judge([h.chunk for h in self.request.hits])

    def answer(self, policy: Policy) -> Answer:
        """The reader's answer under a policy."""
        if not self.request.question.content:
            return Answer(self.q.question, "", True, ())
        return decide(self.request, self.readings, self.gate, policy)

    def scored(self, policy: Policy) -> dict[str, Any]:
        """The reader's answer under a policy, scored like the extractive one."""
        return answer_row(self.answer(policy), self.q, self.judge,
                          self.read_ms + self.row["extractive"]["ms"])


def cases(run: Path, name: str) -> list[Case]:
    """Every collected question with one model's readings."""
    reads = load_readings(run, name)
    rows = load_rows(run)
    missing = [r["id"] for r in rows if (r["set"], r["id"]) not in reads]
    if missing:
        print(f"{len(missing)} questions have no {name} readings yet: left out", file=sys.stderr)
    return [Case(row, reads[(row["set"], row["id"])]) for row in rows
            if (row["set"], row["id"]) in reads]


def _progress(items: Sequence[Any], desc: str) -> Iterator[Any]:
    from tqdm import tqdm

    yield from tqdm(items, desc=desc)


# ---------------------------------------------------------------- fit (fit halves only)


def fit(args: argparse.Namespace) -> None:
    """Choose the quoting, the decision and the thresholds on the fit halves."""
    chosen = [c for c in cases(args.run, args.name) if c.row["half"] == "fit"]
    quoting, grid = {}, {}
    for lang in ("id", "en"):
        quoting[lang], grid[lang] = choose_quoting([c for c in chosen if c.q.lang == lang])
    alone = with_thresholds(chosen, Policy(ANSWERABILITY, quoting))
    combined = with_thresholds(chosen, Policy(fit_decision(chosen, quoting), quoting))
    out = {"name": args.name, "fitted_on": "fit halves of " + ", ".join(sorted(
        {c.row["set"] for c in chosen})), "questions": len(chosen), "quoting_grid": grid,
        "reader_alone": alone.decision.to_record(), "combined": combined.decision.to_record(),
        "answer": {lang: dataclasses.asdict(q) for lang, q in quoting.items()},
        "max_wrong_refusals": MAX_WRONG}
    (args.run / f"decision-{args.name}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "quoting_grid"}, indent=1))


ANSWERABILITY = Decision({"answerable": 1.0}, 0.0, {"id": 0.5, "en": 0.5})
ANSWER_ALL = Decision({}, 10.0, {"id": 0.0, "en": 0.0})
QUOTING_GRID = [Quoting(lead, same, other, n) for lead in (0.0, 2.0, 4.0, 8.0)
                for same in (None, 2.0, 4.0, 8.0) for other in (None, 1.0, 2.0)
                for n in (1, 2, 3)
                if not (n == 1 and (same is not None or other is not None))]


def choose_quoting(chosen: Sequence[Case]) -> tuple[Quoting, dict[str, Any]]:
    """The quoting with the best contains-answer on the answerable fit questions (nothing
    refused), among those whose citation precision is no lower than the extractive
    answerer's there; ties go to fewer sentences."""
    answerable = [c for c in chosen if c.q.answerable and c.q.answers]
    floor = metrics.mean([c.row["extractive"]["citation_precision"] for c in answerable
                          if c.row["extractive"]["citation_precision"] is not None]) or 0.0
    grid = {}
    for quoting in QUOTING_GRID:
        rows = [c.scored(Policy(ANSWER_ALL, {c.q.lang: quoting})) for c in answerable]
        grid[json.dumps(dataclasses.asdict(quoting))] = {
            "contains_answer": metrics.mean([bool(r["contains_answer"]) for r in rows]),
            "citation_precision": metrics.mean([r["citation_precision"] for r in rows
                                                if r["citation_precision"] is not None])}
    ok = {k: v for k, v in grid.items() if (v["citation_precision"] or 0) >= floor} or grid
    best = max(ok, key=lambda k: (ok[k]["contains_answer"], -json.loads(k)["max_sentences"]))
    return Quoting(**json.loads(best)), {"grid": grid, "extractive_citation_precision": floor,
                                         "chosen": best}


def fit_decision(chosen: Sequence[Case], quoting: dict[str, Quoting]) -> Decision:
    """Logistic regression of 'answerable' on the decision features (fit halves)."""
    from sklearn.linear_model import LogisticRegression

    xs, ys, names = [], [], None
    for c in chosen:
        choice = choose(c.request.question, c.readings, quoting[c.q.lang])
        if choice is None or not c.request.question.content:
            continue
        values = features(signals(c.request.question, c.readings, choice, c.request, c.gate))
        names = names or sorted(values)
        xs.append([values[k] for k in names])
        ys.append(int(c.q.answerable))
    model = LogisticRegression(C=1.0, max_iter=5000).fit(xs, ys)
    weights = dict(zip(names or [], (float(w) for w in model.coef_[0]), strict=True))
    return Decision(weights, float(model.intercept_[0]), {"id": 0.5, "en": 0.5})


def with_thresholds(chosen: Sequence[Case], policy: Policy) -> Policy:
    """The policy with, per language, the threshold of best refusal F1 on the fit questions
    of that language whose wrong refusals stay within MAX_WRONG."""
    thresholds = {}
    for lang in ("id", "en"):
        mine = [c for c in chosen if c.q.lang == lang]
        confidences = [confidence(c, policy) for c in mine]
        answerable = [c for c in mine if c.q.answerable]
        extractive = sum(c.row["extractive"]["refused"] for c in answerable) / len(answerable)
        best = metrics.best_threshold(confidences, [c.q.answerable for c in mine],
                                      min(MAX_WRONG[lang], extractive))
        thresholds[lang] = best.threshold
    decision = Decision(policy.decision.weights, policy.decision.bias, thresholds)
    return Policy(decision, policy.quoting)


def confidence(c: Case, policy: Policy) -> float:
    """The decision's confidence for a case (0: nothing to answer with)."""
    return c.answer(dataclasses.replace(policy, threshold=0.0)).confidence


# ---------------------------------------------------------------- report (report halves only)


def report(args: argparse.Namespace) -> None:
    """Every answerer on the report halves, per set and language; learning curve; rerank."""
    table, curve = [], []
    names = [n for n in args.names if (args.run / f"decision-{n}.json").is_file()]
    for name in names:
        decision = json.loads((args.run / f"decision-{name}.json").read_text())
        policies = policies_of(decision)
        reported = [c for c in cases(args.run, name) if c.row["half"] == "report"]
        for group, members in groups(reported):
            if name == args.main:
                table.append(summary(group, "extractive", [c.row["extractive"]
                                                           for c in members], members))
                old = old_rows(args.run, members)
                if old:
                    table.append(summary(group, "old reader (4e96955)", old, members))
            for label, policy in policies.items():
                rows = [c.scored(policy) for c in members]
                entry = summary(group, f"{label} ({name})", rows, members)
                (table if name == args.main else curve).append(entry)
    rerank = rerank_mrr(cases(args.run, args.main))
    out = {"table": table, "curve": curve, "rerank": rerank}
    (args.run / "report.json").write_text(json.dumps(out, indent=1) + "\n")
    print(markdown(table))
    print(markdown(curve))
    print(json.dumps(rerank, indent=1))


def policies_of(decision: dict[str, Any]) -> dict[str, Policy]:
    """The reader alone and the combined decision, as fitted."""
    quoting = Policy.from_record({"answer": decision["answer"]}).quoting
    return {label: Policy(Decision.from_record({"decision": decision[key]}), quoting)
            for label, key in (("reader alone", "reader_alone"), ("combined", "combined"))}


def groups(members: Sequence[Case]) -> Iterator[tuple[str, list[Case]]]:
    """The report half split by set and question language."""
    keys = sorted({(c.row["set"], c.q.lang) for c in members})
    for s, lang in keys:
        yield f"{s} {lang}", [c for c in members if (c.row["set"], c.q.lang) == (s, lang)]


def summary(group: str, answerer: str, rows: Sequence[dict[str, Any]],
            members: Sequence[Case]) -> dict[str, Any]:
    """The metrics of one answerer on one group."""
    answerable = [c.q.answerable for c in members]
    refused = [bool(r["refused"]) for r in rows]
    point = metrics.refusal_scores(refused, answerable)
    has_unans = not all(answerable)
    kept = [(r, c) for r, c in zip(rows, members, strict=True) if c.q.answerable and c.q.answers]
    shorts = [(r.get("short") or "", c.q.answers) for r, c in kept if not r["refused"]]
    has_short = any(r.get("short") is not None for r in rows)
    return {
        "group": group, "answerer": answerer, **provenance(answerer), "questions": len(rows),
        "unanswerable": answerable.count(False),
        "short_em": _mean([float(bool(s) and metrics.normalize_answer(s) in
                                 {metrics.normalize_answer(a) for a in answers})
                           for s, answers in shorts]) if has_short else None,
        "short_f1": _mean([metrics.token_f1(s, answers) for s, answers in shorts])
        if has_short else None,
        "contains_answer": _mean([float(bool(r["contains_answer"])) for r, _c in kept]),
        "citation_precision": _mean([r["citation_precision"] for r, c in kept
                                     if not r["refused"] and r["citation_precision"] is not None]),
        "refusal_precision": point.precision if has_unans else None,
        "refusal_recall": point.recall if has_unans else None,
        "refusal_f1": point.f1 if has_unans else None,
        "wrong_refusals": point.wrong_refusals,
        "p50_ms": _pct([r["ms"] for r in rows], 50), "p95_ms": _pct([r["ms"] for r in rows], 95),
    }


def old_rows(run: Path, members: Sequence[Case]) -> list[dict[str, Any]]:
    """The replaced reader's answers to the same requests (eval/old_reader.py), scored like
    every other answerer's; none when that script has not been run."""
    path = run / "answers-old-reader.jsonl"
    if not path.is_file():
        return []
    lines = [line for line in path.read_text().splitlines() if line.endswith("}")]
    old = {(r["set"], r["id"]): r for r in map(json.loads, lines)}
    if any((c.row["set"], c.row["id"]) not in old for c in members):
        print("the old reader's answers are incomplete: left out", file=sys.stderr)
        return []
    out = []
    for c in members:
        a = old[(c.row["set"], c.row["id"])]
        citations = tuple(Citation(n, x["release_id"], "", None, "", x["quote"], x["passage"],
                                   0.0, chunk_id=x["chunk_id"])
                          for n, x in enumerate(a["citations"], start=1))
        answer = Answer(c.q.question, a["text"], a["refused"], citations, a["confidence"],
                        short_answer=a["short"])
        out.append(answer_row(answer, c.q, c.judge, a["ms"]))
    return out


def rerank_mrr(all_cases: Sequence[Case]) -> dict[str, Any]:
    """MRR@10 of the gold passage: hybrid retrieval's order against the reader's (passages by
    their best answerability), per set, on the report halves (nothing is chosen here)."""
    out = {}
    for s in sorted({c.row["set"] for c in all_cases}):
        mine = [c for c in all_cases if c.row["set"] == s and c.row["half"] == "report"
                and c.q.answerable]
        hybrid, reranked = [], []
        for c in mine:
            gold = dict(zip([h["id"] for h in c.row["hits"]], c.row["gold"], strict=True))
            best: dict[str, float] = {}
            for r in c.readings + c.rest:
                best[r.hit.chunk.id] = max(best.get(r.hit.chunk.id, -1e9), r.answerable)
            order = sorted(best, key=lambda cid: -best[cid])
            hybrid.append(metrics.first_gold_rank(c.row["gold"]))
            reranked.append(metrics.first_gold_rank([gold.get(cid, False) for cid in order]))
        out[s] = {"questions": len(mine), "hybrid_mrr@10": round(metrics.mrr_at(hybrid), 4),
                  "reader_mrr@10": round(metrics.mrr_at(reranked), 4)}
    return out


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _pct(values: Sequence[float], q: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 1)


COLUMNS = ("group", "answerer", "fitted on", "chosen on", "reported on", "questions",
           "unanswerable", "short_em", "short_f1", "contains_answer", "citation_precision",
           "refusal_precision", "refusal_recall", "refusal_f1", "wrong_refusals", "p50_ms",
           "p95_ms")
# what each answerer's parts were fitted and chosen on (every row is reported on report halves)
PROVENANCE = {
    "extractive": ("sample set (sentence weights); IDK-MRC valid + xling, both halves "
                   "(refusal model and its 0.32 threshold): training figures there",
                   "IDK-MRC valid + xling (threshold 0.32, cross-validated)"),
    "old reader": ("train splits, 1/5 of questions, 3 of 12 layers",
                   "valid samples, both halves (thresholds, retrieval weight)"),
    "reader alone": ("train splits (network)", "fit halves (quoting, thresholds)"),
    "combined": ("train splits (network); fit halves (decision weights)",
                 "fit halves (quoting, thresholds)"),
}


def provenance(answerer: str) -> dict[str, str]:
    """The fitted-on, chosen-on and reported-on cells of an answerer's rows."""
    fitted, chosen = next(v for k, v in PROVENANCE.items() if answerer.startswith(k))
    return {"fitted on": fitted, "chosen on": chosen, "reported on": "report halves"}


def markdown(table: Sequence[dict[str, Any]]) -> str:
    """The table as Markdown."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in table:
        cells = ["–" if row.get(k) is None else f"{row[k]:.3f}" if isinstance(row[k], float)
                 and k not in ("p50_ms", "p95_ms") else str(row[k]) for k in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- ship


def ship(args: argparse.Namespace) -> None:
    """Write the fitted answer decision into the shipped reader's record."""
    from assistant.answer.readerfiles import WEIGHTS_DIR, reader_record, write_record

    decision = json.loads((args.run / f"decision-{args.name}.json").read_text())
    record = reader_record(WEIGHTS_DIR)
    record["decision"] = decision["combined"]
    record["answer"] = decision["answer"]
    record["decision_fitted_on"] = decision["fitted_on"] + \
        " (testset.valid_half == 'fit'); reported on the other halves (eval/README.md)"
    write_record(WEIGHTS_DIR, record)
    print(f"wrote the decision into {WEIGHTS_DIR}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("command", choices=("collect", "read", "fit", "report", "ship"))
    p.add_argument("--run", type=Path, default=ROOT / "eval" / "runs" / "reader")
    p.add_argument("--name", default="full", help="which model's readings")
    p.add_argument("--names", nargs="+", default=["full", "f25", "f50", "f25-fp32"],
                   help="report: models to report (the learning curve)")
    p.add_argument("--main", default="full", help="report: the model of the main table")
    p.add_argument("--checkpoint", help="a training run's folder (else the shipped reader)")
    p.add_argument("--model-cache", type=Path, default=ROOT / "tests" / "artifacts" / "e5-models")
    p.add_argument("--embedder", default="e5-fast")
    p.add_argument("--sets", nargs="+", default=list(SETS))
    p.add_argument("--limit", type=int, help="questions per set (a smoke run)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    if args.command == "collect":
        args.run = args.run if args.run else ROOT / "eval" / "runs" / "reader"
    commands: dict[str, Callable[[argparse.Namespace], None]] = {
        "collect": collect, "read": read, "fit": fit, "report": report, "ship": ship}
    commands[args.command](args)


if __name__ == "__main__":
    main()
