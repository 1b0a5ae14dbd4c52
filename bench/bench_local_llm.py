"""Extractive vs the local LLM (1.5B, 0.5B): answer quality and latency on the same questions.

    python bench/bench_local_llm.py --n 100 --answerers extractive,local:1.5b,local:0.5b
    python bench/bench_local_llm.py --sets sample \
        --answerers local:1.5b,local:1.5b@llama-cpp-python,local:0.5b,local:0.5b@llama-cpp-python

An answerer `MODE@BINDING` runs the local model through that llama.cpp binding
(ASSISTANT_LLM_BACKEND; default xllamacpp). The summary also reports the sample set's three
acceptance questions alone (set `sample:acceptance`: tests/test_local_llm.py asks them), and
for every two answerers of the same model through different bindings the share of questions
whose greedy answers are identical.

Each set gets one temporary index (the evaluation harness's, evaluate.open_target); every
answerer then answers the same questions over the same retrieval, through the `Answerer`
seam and `Assistant.ask_stream`, exactly as `assistant ask` streams. Per question it records
contains-answer, citation precision/recall, refusal, whether the answer is in the
question's language, time to the first text and total latency. Rows go to a JSONL file as
they are made and a re-run skips the rows already there (the run can be stopped and
resumed). The summary compares answerers on the questions all of them answered; it is
printed as a table and written as JSON, with the shares of answer sentences the verifier
(verify.py) marked unsupported and re-cited, and how many answers fell back to extractive.
Nothing here asserts a threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QA = ROOT.parent / "shared" / "data" / "qa"
ACCEPTANCE = {"s14", "s07", "u01"}  # the sample set's questions of tests/test_local_llm.py


def sets(qa: Path) -> dict[str, dict[str, Any]]:
    """The evaluation sets: name -> evaluate.Source fields."""
    return {
        "sample": {"test_set": ROOT / "eval/sets/sample.jsonl", "corpus": ROOT / "corpus"},
        "tydiqa_id_valid": {"squad": qa / "tydiqa_id_valid.jsonl"},
        "idk_mrc_valid": {"squad": qa / "idk_mrc_valid.jsonl"},
        "xling_en": {"squad": qa / "xling_en-question_id-passage_squad2dev_normans.jsonl",
                     "question_field": "question_en", "answers_field": "answers_en"},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(sets(QA)), help="comma-separated, of: "
                        + ", ".join(sets(QA)))
    parser.add_argument("--qa-dir", type=Path, default=QA,
                        help="the shared QA files (default ../shared/data/qa)")
    parser.add_argument("--answerers", default="extractive,local:1.5b,local:0.5b",
                        help="extractive and/or ASSISTANT_LLM values (local, local:0.5b), "
                             "each optionally @BINDING (xllamacpp, llama-cpp-python)")
    parser.add_argument("--n", type=int, default=100,
                        help="questions sampled per SQuAD-style set (seed 0; all passages "
                             "are indexed); the sample set is always asked whole")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="assembled models (default: ASSISTANT_LLM_MODELS_DIR or "
                             "the shared cache, ~/.cache/kemenko-assistant/llm)")
    parser.add_argument("--ids", default=None,
                        help="comma-separated question ids: ask only these (a partial re-run)")
    parser.add_argument("--report-only", action="store_true",
                        help="only summarise the rows already in OUT/rows.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/local_llm",
                        help="folder for rows.jsonl and summary.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run every set with every answerer; print and write the summary."""
    args = parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args.out.mkdir(parents=True, exist_ok=True)
    rows_path = args.out / "rows.jsonl"
    done = {(r["set"], r["answerer"], r["id"]) for r in _read(rows_path)}
    modes = args.answerers.split(",")
    if args.report_only:
        report(summarize(list(_read(rows_path)), {}))
        return
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as work, \
            rows_path.open("a", encoding="utf-8") as sink:
        answerers: dict[str, Any] = {}
        loads: dict[str, float] = {}
        for name in args.sets.split(","):
            for row in run_set(name, modes, args, Path(work) / name, answerers, loads, done):
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                sink.flush()
    summary = summarize(list(_read(rows_path)), loads)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    report(summary)


def report(summary: dict[str, Any]) -> None:
    """Print the table, then how often two bindings of one model answered alike."""
    print(table(summary["results"]))
    for pair in summary["same_answers"]:
        print(f"{pair['set']}: {' vs '.join(pair['answerers'])}: identical answers "
              f"{pair['identical']} of {pair['n']}")


def run_set(name: str, modes: list[str], args: argparse.Namespace, workdir: Path,
            answerers: dict[str, Any], loads: dict[str, float],
            done: set[tuple[str, str, str]]) -> Iterator[dict[str, Any]]:
    """Rows of one set: every sampled question with every answerer."""
    from assistant.config import Settings
    from assistant.evaluation.evaluate import DEPTH, Judge, Source, history_of, open_target
    from assistant.pipeline import Assistant

    settings = Settings(**({"llm_models_dir": args.models_dir} if args.models_dir else {}))
    source = Source(**sets(args.qa_dir)[name])
    target = open_target(settings, source, workdir, ROOT / "eval/.cache/embeddings.sqlite")
    questions = target.questions
    if name != "sample":  # a fixed shuffle: a smaller --n asks a prefix of a larger one
        questions = list(questions)
        random.Random(0).shuffle(questions)
        questions = questions[: args.n]
    if args.ids:
        questions = [q for q in questions if q.id in args.ids.split(",")]
    judge = Judge(list(target.assistant.index.store.chunks()))
    base = target.assistant
    by_id = {q.id: q for q in target.questions}
    print(f"{name}: {len(questions)} questions, {target.meta['n_chunks']} chunks, threshold "
          f"{target.meta.get('refusal_threshold')}", file=sys.stderr)
    for mode in modes:
        answerer = answerers.get(mode) or _answerer(mode, settings, base, loads)
        answerers[mode] = answerer
        assistant = Assistant(base.settings, base.index, base.retriever, answerer, base.embedder)
        for i, q in enumerate(questions):
            if (name, mode, q.id) in done:
                continue
            row = ask(assistant, judge, q, history_of(q, by_id), DEPTH)
            print(f"  {name} {mode} {i + 1}/{len(questions)} {row['total_ms']:.0f} ms",
                  file=sys.stderr)
            yield {"set": name, "answerer": mode, **row}


def _answerer(mode: str, settings: Any, base: Any, loads: dict[str, float]) -> Any:
    """The answer stage for a mode, built once and shared by every set (stays warm)."""
    from assistant.pipeline import answer_stage

    llm, _, binding = mode.partition("@")
    update: dict[str, Any] = {"llm": None if llm == "extractive" else llm}
    if binding:
        update["llm_backend"] = binding
    answerer, _ = answer_stage(settings.model_copy(update=update),
                               base.answerer.sentence_embedder)
    if update["llm"]:
        loads[mode] = round(answerer.chat_model.warm(), 2)
        loads[f"{mode} prompt head"] = round(answerer.warm(), 2)
    return answerer


def ask(assistant: Any, judge: Any, q: Any, history: list[str], depth: int) -> dict[str, Any]:
    """One question through ask_stream, timed to its first text and to the end; scored."""
    from assistant.evaluation.evaluate import answer_metrics
    from assistant.lexical import detect_language
    from assistant.types import Answer

    start = time.perf_counter()
    first: float | None = None
    answer: Answer | None = None
    for event in assistant.ask_stream(q.question, history=history, depth=depth):
        if isinstance(event, Answer):
            answer = event
        elif first is None and event.strip():
            first = time.perf_counter()
    end = time.perf_counter()
    assert answer is not None
    scored = answer_metrics(q, answer, judge)
    return {
        "id": q.id, "lang": q.lang, "question": q.question, "answerable": q.answerable,
        "answer": answer.text, "refused": answer.refused,
        "contains_answer": scored["contains_answer"],
        "citation_precision": scored["citation_precision"],
        "citation_recall": scored["citation_recall"],
        "n_citations": len(answer.citations),
        "n_sentences": len(answer.sentences),
        "n_unsupported": sum(not s.supported for s in answer.sentences),
        "n_recited": sum(s.recited for s in answer.sentences),
        "fallback": bool(answer.notice),
        "language_ok": None if answer.refused else detect_language(answer.text) == q.lang,
        "ttft_ms": round(((first or end) - start) * 1000, 1),
        "total_ms": round((end - start) * 1000, 1),
        "confidence": round(answer.confidence, 4),
    }


def _share(group: list[dict[str, Any]], field: str) -> float | None:
    """The share of all answer sentences of the group counted by field (None: no sentences)."""
    total = sum(r.get("n_sentences", 0) for r in group)
    return round(sum(r.get(field, 0) for r in group) / total, 4) if total else None


def summarize(rows: list[dict[str, Any]], loads: dict[str, float]) -> dict[str, Any]:
    """Per set and answerer: quality means, refusal P/R/F1, latency p50/p95."""
    from assistant.evaluation import metrics

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    common = _common(rows)
    for r in common:
        groups.setdefault((r["set"], r["answerer"]), []).append(r)
        if r["set"] == "sample" and r["id"] in ACCEPTANCE:
            groups.setdefault(("sample:acceptance", r["answerer"]), []).append(r)
    results = []
    for (name, mode), group in groups.items():
        refusal = metrics.refusal_scores([r["refused"] for r in group],
                                         [r["answerable"] for r in group])
        results.append({
            "set": name, "answerer": mode, "n": len(group),
            "contains_answer": _mean(r["contains_answer"] for r in group),
            "citation_precision": _mean(r["citation_precision"] for r in group),
            "refusal_f1": round(refusal.f1, 4) if not all(r["answerable"] for r in group)
            else None,
            "wrong_refusals": round(refusal.wrong_refusals, 4),
            "unsupported_share": _share(group, "n_unsupported"),
            "recited_share": _share(group, "n_recited"),
            "fallbacks": sum(bool(r.get("fallback")) for r in group),
            "answer_language": _mean(r["language_ok"] for r in group),
            "ttft_p50_ms": metrics.percentile([r["ttft_ms"] for r in group], 50),
            "ttft_p95_ms": metrics.percentile([r["ttft_ms"] for r in group], 95),
            "total_p50_ms": metrics.percentile([r["total_ms"] for r in group], 50),
            "total_p95_ms": metrics.percentile([r["total_ms"] for r in group], 95),
        })
    return {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "load_average": os.getloadavg()},
            "model_load_s": loads, "results": results, "same_answers": same_answers(common)}


def same_answers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per set, for two answerers of one model through different bindings: the share of
    questions both answered whose answers are the same text (greedy decoding)."""
    texts: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        texts.setdefault((r["set"], r["answerer"]), {})[r["id"]] = r["answer"]
    out = []
    for (name, first), answers in texts.items():
        for (other_set, second), others in texts.items():
            if other_set != name or first >= second or first.split("@")[0] != second.split(
                    "@")[0] or first.split("@")[0] == "extractive":
                continue
            ids = sorted(set(answers) & set(others))
            same = [i for i in ids if answers[i] == others[i]]
            out.append({"set": name, "answerers": [first, second], "n": len(ids),
                        "identical": round(len(same) / len(ids), 4) if ids else None,
                        "different_ids": [i for i in ids if i not in same][:20]})
    return out


def _common(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the questions of a set that every answerer of that set answered (same questions).

    A question asked twice (merged partial runs) counts once: its first row.
    """
    rows = list({(r["set"], r["answerer"], r["id"]): r for r in reversed(rows)}.values())
    answerers: dict[str, set[str]] = {}
    ids: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        answerers.setdefault(r["set"], set()).add(r["answerer"])
        ids.setdefault((r["set"], r["answerer"]), set()).add(r["id"])
    keep = {name: set.intersection(*(ids[(name, a)] for a in modes))
            for name, modes in answerers.items()}
    return [r for r in rows if r["id"] in keep[r["set"]]]


def table(results: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table."""
    cols = ["set", "answerer", "n", "contains_answer", "citation_precision", "refusal_f1",
            "wrong_refusals",
            "unsupported_share", "recited_share", "fallbacks", "answer_language",
            "ttft_p50_ms", "ttft_p95_ms", "total_p50_ms", "total_p95_ms"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in results:
        lines.append("| " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) and value < 10 else (
        f"{value:.0f}" if isinstance(value, float) else str(value))


def _mean(values: Any) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return round(sum(kept) / len(kept), 4) if kept else None


def _read(path: Path) -> Iterator[dict[str, Any]]:
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


if __name__ == "__main__":
    main()
