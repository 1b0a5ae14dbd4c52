"""Evaluation reports: aggregate scored rows, write a run folder, compare two runs.

A run folder holds rows.jsonl (one scored row per question and retriever), report.json
(the aggregates), report.md (the same, readable) and PNG plots. Plots import matplotlib
lazily with the Agg backend, so nothing here needs a display.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.evaluation import metrics
from assistant.jsonl import records

# metric name -> True when higher is better; the order is the order of every table
METRICS: dict[str, bool] = {
    "recall@1": True, "recall@5": True, "recall@10": True, "mrr@10": True, "ndcg@10": True,
    "contains_answer": True, "token_f1": True,
    "citation_precision": True, "citation_recall": True,
    "refusal_precision": True, "refusal_recall": True, "refusal_f1": True,
    "wrong_refusal_rate": False, "latency_p50_ms": False, "latency_p95_ms": False,
    "ttft_p50_ms": False, "ttft_p95_ms": False,
    "unsupported_share": False, "recited_share": False, "fallback_rate": False,
    "pass_rate": True,
}
# retriever ("hybrid", or "hybrid+llm" for the LLM answerer) -> split ("all", "lang:id") -> metrics
Summary = dict[str, dict[str, dict[str, Any]]]


# aggregates -------------------------------------------------------------------------------


def split_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every metric over a group of rows (None where no row is applicable)."""
    judged = [r for r in rows if "n_gold_chunks" in r]
    ranks = [r["gold_rank"] for r in judged]
    answerable = [bool(r["answerable"]) for r in rows]
    n_answerable = sum(answerable)
    refusal = metrics.refusal_scores([bool(r["refused"]) for r in rows], answerable)
    answered = all(r["refused"] is not None for r in rows)  # not a retrieval-only run
    has_unanswerable = answered and n_answerable < len(rows)
    latencies = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    first = [r["first_token_ms"] for r in rows if r.get("first_token_ms") is not None]
    n_sentences = sum(r.get("n_sentences") or 0 for r in rows)
    out: dict[str, Any] = {
        "n": len(rows), "n_answerable": n_answerable, "n_retrieval": len(judged),
        "recall@1": metrics.recall_at(ranks, 1) if judged else None,
        "recall@5": metrics.recall_at(ranks, 5) if judged else None,
        "recall@10": metrics.recall_at(ranks, 10) if judged else None,
        "mrr@10": metrics.mrr_at(ranks, 10) if judged else None,
        "ndcg@10": metrics.mean(r["ndcg@10"] for r in judged),
        "contains_answer": metrics.mean(r["contains_answer"] for r in rows),
        "token_f1": metrics.mean(r["token_f1"] for r in rows),
        "citation_precision": metrics.mean(r["citation_precision"] for r in rows),
        "citation_recall": metrics.mean(r["citation_recall"] for r in rows),
        "refusal_precision": refusal.precision if has_unanswerable else None,
        "refusal_recall": refusal.recall if has_unanswerable else None,
        "refusal_f1": refusal.f1 if has_unanswerable else None,
        "wrong_refusal_rate": refusal.wrong_refusals if answered and n_answerable else None,
        "latency_p50_ms": metrics.percentile(latencies, 50),
        "latency_p95_ms": metrics.percentile(latencies, 95),
        "ttft_p50_ms": metrics.percentile(first, 50),
        "ttft_p95_ms": metrics.percentile(first, 95),
        "unsupported_share": sum(r.get("n_unsupported") or 0 for r in rows) / n_sentences
        if n_sentences else None,
        "recited_share": sum(r.get("n_recited") or 0 for r in rows) / n_sentences
        if n_sentences else None,
        "fallback_rate": metrics.mean(r.get("fallback") for r in rows),
        "pass_rate": metrics.mean(bool(r["pass"]) for r in rows),
    }
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def summarize(rows: Sequence[dict[str, Any]]) -> Summary:
    """Metrics per retriever: over all rows, per language and per tag."""
    summary: Summary = {}
    for retriever in dict.fromkeys(r["retriever"] for r in rows):
        mine = [r for r in rows if r["retriever"] == retriever]
        groups = {"all": mine}
        for lang in sorted({r["lang"] for r in mine}):
            groups[f"lang:{lang}"] = [r for r in mine if r["lang"] == lang]
        for tag in sorted({t for r in mine for t in r.get("tags", [])}):
            groups[f"tag:{tag}"] = [r for r in mine if tag in r.get("tags", [])]
        summary[retriever] = {name: split_metrics(group) for name, group in groups.items()}
    return summary


def recall_curve(rows: Sequence[dict[str, Any]], depth: int = 10) -> dict[str, list[float]]:
    """Recall@1..depth per retriever."""
    curves = {}
    for retriever in dict.fromkeys(r["retriever"] for r in rows):
        ranks = [r["gold_rank"] for r in rows
                 if r["retriever"] == retriever and "n_gold_chunks" in r]
        if ranks:
            curves[retriever] = [round(metrics.recall_at(ranks, k), 4)
                                 for k in range(1, depth + 1)]
    return curves


# tables -----------------------------------------------------------------------------------


def _cell(metric: str, value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if metric.startswith(("latency", "ttft")) else f"{value:.3f}"


def table(summary: Summary, split: str = "all", markdown: bool = False) -> str:
    """Metrics as rows, retrievers as columns, for one split."""
    retrievers = [r for r in summary if split in summary[r]]
    header = ["metric", *retrievers]
    body = [["n (questions)", *[str(summary[r][split]["n"]) for r in retrievers]]]
    body += [[m, *[_cell(m, summary[r][split].get(m)) for r in retrievers]] for m in METRICS]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in body)])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True)))
                     for row in [header, *body])


# run folders ------------------------------------------------------------------------------


def write_run(out: Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """Write rows.jsonl, report.json, report.md and the plots into out; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "rows.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = summarize(rows)
    report = {**meta, "retrievers": list(summary), "summary": summary,
              "recall_curve": recall_curve(rows), "plots": plot_run(out, rows)}
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    (out / "report.md").write_text(markdown(report, rows), encoding="utf-8")
    return report


def markdown(report: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """report.md: settings, the tables, plots and the failed questions."""
    summary = report["summary"]
    lines = [f"# Evaluation: {report['set']}", ""]
    lines += [f"- {k}: {v}" for k, v in report.items()
              if k not in ("summary", "recall_curve", "plots", "retrievers", "set")]
    lines += ["", "Metric definitions: eval/README.md.", "", "## All questions", "",
              table(summary, markdown=True), ""]
    splits = dict.fromkeys(s for r in summary.values() for s in r if s != "all")
    for split in splits:
        lines += [f"## {split}", "", table(summary, split, markdown=True), ""]
    lines += [f"![{p}]({p})" for p in report["plots"]]
    failed = [r for r in rows if not r["pass"]]
    lines += ["", f"## Failed ({len(failed)} of {len(rows)} rows)", "",
              "| retriever | id | question | reason |", "| --- | --- | --- | --- |"]
    lines += [f"| {r['retriever']} | {r['id']} | {_escape(r['question'])} | {r['reason']} |"
              for r in failed]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(out: Path, rows: Sequence[dict[str, Any]]) -> list[str]:
    """recall_at_k.png (one curve per retriever) and latency.png; returns their names."""
    plt = _pyplot()
    names = []
    curves = recall_curve(rows)
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for retriever, values in curves.items():
            ax.plot(range(1, len(values) + 1), values, marker="o", label=retriever)
        ax.set(xlabel="k (chunks retrieved)", ylabel="Recall@k", ylim=(0, 1.02),
               title="Gold evidence in the top k")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "recall_at_k.png", dpi=100)
        plt.close(fig)
        names.append("recall_at_k.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    for retriever in dict.fromkeys(r["retriever"] for r in rows):
        latencies = [r["latency_ms"] for r in rows if r["retriever"] == retriever]
        ax.hist(latencies, bins=20, histtype="step", linewidth=1.5, label=retriever)
    ax.set(xlabel="latency per question (ms)", ylabel="questions", title="Answer latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)
    return [*names, "latency.png"]


def plot_calibration(path: Path, curve: Sequence[metrics.RefusalPoint],
                     best: metrics.RefusalPoint) -> None:
    """The refusal precision/recall curve and P/R/F1 against the threshold."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([p.recall for p in curve], [p.precision for p in curve], marker=".")
    left.scatter([best.recall], [best.precision], color="red", zorder=3,
                 label=f"chosen: {best.threshold:.3f}")
    left.set(xlabel="refusal recall", ylabel="refusal precision", xlim=(0, 1.02),
             ylim=(0, 1.02), title="Refusing unanswerable questions")
    left.legend()
    thresholds = [p.threshold for p in curve]
    for name in ("precision", "recall", "f1", "wrong_refusals"):
        right.plot(thresholds, [getattr(p, name) for p in curve], label=name)
    right.axvline(best.threshold, color="red", linestyle="--")
    right.set(xlabel="refusal threshold", title=f"best F1 {best.f1:.3f}")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# comparing runs ---------------------------------------------------------------------------


@dataclass
class Comparison:
    """What changed from run A to run B."""

    deltas: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # retriever, metric
    to_fail: list[str] = field(default_factory=list)  # "retriever id: reason"
    to_pass: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)


def load_run(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """report.json and rows of a run folder."""
    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        rows = [row for _, row in records(folder / "rows.jsonl")]
    except (OSError, json.JSONDecodeError, AssistantError) as exc:
        raise AssistantError(f"{folder} is not an evaluation run folder ({exc})") from exc
    return report, rows


def compare(run_a: Path, run_b: Path, metric: str = "pass_rate",
            tolerance: float = 0.0) -> Comparison:
    """Metric deltas, flipped questions, and the retrievers where metric fell beyond tolerance."""
    if metric not in METRICS:
        raise AssistantError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    (report_a, rows_a), (report_b, rows_b) = load_run(run_a), load_run(run_b)
    result = Comparison()
    common = [r for r in report_a["summary"] if r in report_b["summary"]]
    if not common:
        raise AssistantError(f"{run_a} and {run_b} share no retriever")
    for retriever in common:
        a, b = report_a["summary"][retriever]["all"], report_b["summary"][retriever]["all"]
        result.deltas += [(retriever, m, a.get(m), b.get(m)) for m in METRICS]
        before, after = a.get(metric), b.get(metric)
        if before is not None and after is not None:
            drop = before - after if METRICS[metric] else after - before
            if drop > tolerance + 1e-9:
                result.regressions.append(f"{retriever} {metric}: {before} -> {after}")
    old = {(r["retriever"], r["id"]): r for r in rows_a}
    for row in rows_b:
        prior = old.get((row["retriever"], row["id"]))
        if prior is not None and prior["pass"] != row["pass"]:
            flipped = result.to_pass if row["pass"] else result.to_fail
            flipped.append(f"{row['retriever']} {row['id']}: {row['reason']}")
    return result


def comparison_text(result: Comparison) -> str:
    """The comparison as plain text: deltas, then flipped questions."""
    lines = [f"{'retriever':10} {'metric':20} {'A':>9} {'B':>9} {'delta':>9}"]
    for retriever, metric, a, b in result.deltas:
        delta = "-" if a is None or b is None else f"{b - a:+.3f}"
        lines.append(f"{retriever:10} {metric:20} {_cell(metric, a):>9} {_cell(metric, b):>9} "
                     f"{delta:>9}")
    lines += ["", f"pass -> fail ({len(result.to_fail)}):", *result.to_fail]
    lines += ["", f"fail -> pass ({len(result.to_pass)}):", *result.to_pass]
    return "\n".join(lines)
