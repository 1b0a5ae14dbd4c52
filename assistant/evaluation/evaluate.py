"""Evaluation runner: every question of a test set through `ask`, scored against its gold.

`open_target` gives the assistant to evaluate (the current index, or a temporary one built
from a corpus or from a SQuAD-style file's passages) and the questions; `run` asks each
question with each retriever through Assistant.ask, exactly as `assistant ask` does (asking
for a deeper ranking, which the Answer carries), and scores answer, citations and retrieval
with metrics.py. With an LLM configured, each question is also answered by the extractive
answerer on the same retrieval (the baseline, column `<retriever>`) next to the LLM (column
`<retriever>+llm`). report.py aggregates and writes.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from assistant.answer.llm import model_name
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.evaluation import metrics
from assistant.evaluation.testset import EvalQuestion, load_set, load_squad, squad_passages
from assistant.index.indexer import THRESHOLD_SETTINGS, threshold_of
from assistant.index.store import ChromaStore
from assistant.pipeline import Assistant, build
from assistant.retrieve import MODES, Filters, Mode
from assistant.schema import citation_out
from assistant.types import Answer, Chunk, Hit

DEPTH = 10  # retrieval metrics look at the top 10 chunks


# temporary indexes ------------------------------------------------------------------------


def current_threshold(settings: Settings) -> tuple[float | None, str]:
    """The configured answerer's refusal threshold `ask` would use now, and where it comes
    from (store only; None: the answerer's own default)."""
    provenance: dict[str, Any] = {}
    if settings.chroma_url or (Path(settings.index_dir) / "chroma.sqlite3").exists():
        provenance = ChromaStore.open(str(settings.index_dir), settings.chroma_url,
                                      settings.collection).provenance()
    return threshold_of(settings, provenance, settings.answerer)


def temporary_assistant(settings: Settings, index_dir: Path, threshold: float | None,
                        embedding_cache: Path | None) -> Assistant:
    """An assistant over a fresh local index whose answerer uses the given refusal
    threshold (None: its own default)."""
    update: dict[str, Any] = {"index_dir": index_dir, "chroma_url": None}
    if threshold is not None:
        update[THRESHOLD_SETTINGS[settings.answerer]] = threshold
    return build(settings.model_copy(update=update), embedding_cache=embedding_cache)


@dataclass
class Target:
    """The assistant to evaluate, the questions to ask it, and how it was set up."""

    assistant: Assistant
    questions: list[EvalQuestion]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """Where the questions and the releases of an evaluation come from (the CLI options)."""

    test_set: Path | None = None
    squad: Path | None = None
    distractors: tuple[Path, ...] = ()
    question_field: str = "question"
    answers_field: str = "answers"
    corpus: Path | None = None
    limit: int | None = None

    @property
    def name(self) -> str:
        """Short name of the set, for run folders."""
        path = self.squad or self.test_set
        return path.stem if path else "set"


def open_target(settings: Settings, source: Source, workdir: Path,
                embedding_cache: Path | None,
                progress: Callable[[int, int], Any] | None = None) -> Target:
    """Load the questions and the assistant: temporary index for --squad/--corpus."""
    if (source.squad is None) == (source.test_set is None):
        raise AssistantError("give either a test set (SET.jsonl) or --squad FILE")
    if source.squad is not None and source.corpus is not None:
        raise AssistantError("--corpus goes with a test set; --squad indexes its own passages")
    if source.squad is None and source.distractors:
        raise AssistantError("--distractors goes with --squad")
    meta: dict[str, Any] = {"set": source.name, "created": dt.datetime.now().isoformat(
        timespec="seconds"), "embedder": settings.embedder, "warnings": [],
        "llm": f"{settings.llm.split(':')[0]}:{model_name(settings)}" if settings.llm else None}
    if source.squad is not None:
        questions, passages = load_squad(source.squad, source.question_field,
                                         source.answers_field)
        for path in source.distractors:
            passages += squad_passages(path)
        assistant = _temporary(settings, workdir, embedding_cache, meta)
        assistant.index.add_releases(list({p.id: p for p in passages}.values()),
                                     progress=progress)
        meta["releases"] = f"passages of {source.squad.name}" + "".join(
            f" + {p.name}" for p in source.distractors)
    else:
        assert source.test_set is not None
        questions = load_set(source.test_set)
        if source.corpus is not None:
            assistant = _temporary(settings, workdir, embedding_cache, meta)
            report = assistant.index.ingest([source.corpus], progress=progress)
            meta["warnings"] += report.failed
            meta["releases"] = f"temporary index of {source.corpus}"
        else:
            assistant = build(settings)
            meta["releases"] = f"current index {settings.chroma_url or settings.index_dir}"
            meta["refusal_threshold"] = assistant.index.refusal_threshold(settings.answerer)[0]
    questions = questions[: source.limit] if source.limit else questions
    chunks = list(assistant.index.store.chunks())
    if not chunks:
        raise AssistantError(f"no releases indexed in {meta['releases']}: run "
                             "`assistant ingest corpus/` or pass --corpus")
    meta.update(n_questions=len(questions), n_releases=len(assistant.index.catalog),
                n_chunks=len(chunks), top_k=settings.top_k)
    meta["warnings"] += [f"{qid}: gold evidence found in no indexed chunk"
                         for qid in unmatched_evidence(questions, chunks)]
    return Target(assistant, questions, meta)


def _temporary(settings: Settings, workdir: Path, embedding_cache: Path | None,
               meta: dict[str, Any]) -> Assistant:
    threshold, origin = current_threshold(settings)
    meta.update(refusal_threshold=threshold, refusal_threshold_source=origin)
    return temporary_assistant(settings, workdir, threshold, embedding_cache)


# running ----------------------------------------------------------------------------------


class Judge:
    """Decides which indexed chunks hold a question's gold evidence."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self._normalized: dict[str, str] | None = None

    def gold(self, q: EvalQuestion, hits: Sequence[Hit]) -> list[bool]:
        """Whether each hit holds gold evidence."""
        return [self.is_gold(q, h.chunk.release_id, h.chunk.id, h.chunk.text) for h in hits]

    def _text(self, chunk_id: str, text: str) -> str:
        if self._normalized is None:
            self._normalized = {c.id: metrics.normalize_answer(c.text) for c in self.chunks}
        return self._normalized.get(chunk_id) or metrics.normalize_answer(text)

    def is_gold(self, q: EvalQuestion, release_id: str, chunk_id: str, text: str) -> bool:
        """From a gold release, or containing an evidence substring (normalised)."""
        if release_id in q.gold_release_ids:
            return True
        padded = f" {self._text(chunk_id, text)} "
        return any(f" {metrics.normalize_answer(e)} " in padded for e in q.evidence)

    def n_gold(self, q: EvalQuestion) -> int:
        """How many indexed chunks hold gold evidence (the ideal ranking for nDCG)."""
        return sum(self.is_gold(q, c.release_id, c.id, c.text) for c in self.chunks)


def ask_row(assistant: Assistant, judge: Judge, q: EvalQuestion, mode: Mode,
            history: Sequence[str] = ()) -> dict[str, Any]:
    """Ask one question with one retriever and score it: one row of rows.jsonl."""
    # a follow-up is asked as the chat asks it: with the questions before it
    answer = assistant.ask(q.question, mode=mode, history=history, depth=DEPTH)
    hits = answer.ranking[:DEPTH]
    relevant = judge.gold(q, hits)
    row = _row(q, mode, hits, relevant)
    row.update(answer=answer.text, refused=answer.refused,
               confidence=round(answer.confidence, 4))
    row.update(retrieval_metrics(q, relevant, judge))
    row.update(answer_metrics(q, answer, judge))
    row["latency_ms"] = answer.timings_ms.get("total")
    row["first_token_ms"] = answer.timings_ms.get("first_token")
    row["timings_ms"] = dict(answer.timings_ms)
    row.update(verification(answer))
    row["pass"], row["reason"] = verdict(q, row)
    return row


def verification(answer: Answer) -> dict[str, Any]:
    """How the answer's sentences fared in verification, and whether the LLM fell back."""
    return {"answerer": answer.mode, "model": answer.model, "notice": answer.notice,
            "fallback": bool(answer.notice),
            "n_sentences": len(answer.sentences) + answer.dropped,
            "n_unsupported": sum(not s.supported for s in answer.sentences) + answer.dropped,
            "n_recited": sum(s.recited for s in answer.sentences)}


def retrieval_metrics(q: EvalQuestion, relevant: Sequence[bool], judge: Judge) -> dict[str, Any]:
    """Rank of the first gold chunk and nDCG@10; None where the question has no gold."""
    if not q.has_gold:
        return {"gold_rank": None, "ndcg@10": None}
    n_gold = judge.n_gold(q)
    return {"gold_rank": metrics.first_gold_rank(relevant), "n_gold_chunks": n_gold,
            "ndcg@10": round(metrics.ndcg_at(relevant, n_gold, DEPTH), 4)}


def answer_metrics(q: EvalQuestion, answer: Answer, judge: Judge) -> dict[str, Any]:
    """Answer match, token F1 and citation quality; None where not applicable."""
    cited = [judge.is_gold(q, c.release_id, "", c.passage)
             or metrics.contains_answer(c.passage, q.answers) for c in answer.citations]
    scored = q.answerable and bool(q.answers)
    return {
        "citations": [{**citation_out(c).model_dump(mode="json", exclude={"passage"}),
                       "gold": g} for c, g in zip(answer.citations, cited, strict=True)],
        "contains_answer": metrics.contains_answer(answer.text, q.answers) and not answer.refused
        if scored else None,
        "token_f1": round(0.0 if answer.refused else metrics.token_f1(answer.text, q.answers), 4)
        if scored else None,
        "citation_precision": metrics.citation_precision(cited) if q.answerable else None,
        "citation_recall": any(cited) if q.has_gold else None,
    }


def verdict(q: EvalQuestion, row: dict[str, Any]) -> tuple[bool, str]:
    """Pass/fail of one row with the reason."""
    if not q.answerable:
        return (True, "refused as it should") if row["refused"] else (
            False, "answered a question the releases cannot answer")
    if row["refused"]:
        return False, "refused an answerable question"
    reasons = []
    if row["contains_answer"] is False:
        reasons.append("no gold answer in the response")
    if q.has_gold and not row["citation_recall"]:
        reasons.append("no gold evidence cited")
    return (not reasons, "; ".join(reasons) or "answered with gold evidence cited")


def run(assistant: Assistant, questions: Sequence[EvalQuestion], retrievers: Sequence[str],
        progress: Callable[[], Any] | None = None,
        retrieval_only: bool = False, answerers: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every question through `ask` with every retriever and answerer; one scored row each.

    retrieval_only: skip the answer stage (fast baselines on big sets); the question is
    embedded once and searched with each retriever exactly as `ask` searches.
    answerers: "extractive" and/or "llm" (default: every one configured).
    """
    modes = [cast(Mode, m) for m in dict.fromkeys(retrievers) if m in MODES]
    unknown = [m for m in retrievers if m not in MODES]
    if unknown or not modes:
        raise AssistantError(f"unknown retriever(s) {', '.join(unknown) or '(none)'}; "
                             f"choose from {', '.join(MODES)}")
    stages = answer_stages(assistant, answerers)
    judge = Judge(list(assistant.index.store.chunks()))
    by_id = {q.id: q for q in questions}
    rows = []
    for q in questions:
        history = history_of(q, by_id)
        for mode in modes:
            if retrieval_only:
                rows.append(search_row(assistant, judge, q, mode, history))
                if progress:
                    progress()
                continue
            for name, staged in stages.items():
                row = ask_row(staged, judge, q, mode, history)
                row["retriever"] = mode if name == "extractive" else f"{mode}+{name}"
                rows.append(row)
                if progress:
                    progress()
    return rows


def evaluate(settings: Settings, source: Source, embedding_cache: Path | None,
             retrievers: Sequence[str], retrieval_only: bool = False,
             answerers: Sequence[str] = (),
             indexing: Callable[[int, int], Any] | None = None,
             asking: Callable[[int], Callable[[], Any]] | None = None
             ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The scored rows of the source's questions (see `run`) and how the run was set up.
    indexing(done, total) follows a temporary index; asking(n) returns one step per ask."""
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as workdir:
        target = open_target(settings, source, Path(workdir), embedding_cache, indexing)
        n_stages = 1 if retrieval_only else len(answer_stages(target.assistant, answerers))
        total = len(target.questions) * len(dict.fromkeys(retrievers)) * n_stages
        rows = run(target.assistant, target.questions, retrievers,
                   asking(total) if asking else None, retrieval_only, answerers)
    target.meta["retrieval_only"] = retrieval_only
    return rows, target.meta


def answer_stages(assistant: Assistant, wanted: Sequence[str] = ()) -> dict[str, Assistant]:
    """The assistant with each answerer to compare, by name: the configured one, and with an
    LLM its gate (extractive or reader) too."""
    answerer = assistant.answerer
    gate = getattr(answerer, "gate", None)
    available = {gate.name: assistant.with_stage(gate)} if gate is not None else {}
    available[answerer.name] = assistant
    missing = [w for w in wanted if w not in available]
    if missing:
        raise AssistantError(f"answerer(s) {', '.join(missing)} not available: "
                             f"{', '.join(available)} configured (ASSISTANT_ANSWERER chooses "
                             "extractive or reader; ASSISTANT_LLM adds llm)")
    return {name: available[name] for name in (wanted or available)}


def _row(q: EvalQuestion, mode: Mode, hits: Sequence[Hit], relevant: Sequence[bool]
         ) -> dict[str, Any]:
    return {
        "id": q.id, "retriever": mode, "lang": q.lang, "tags": list(q.tags),
        "follows": q.follows, "question": q.question, "answerable": q.answerable,
        "answer": None, "refused": None, "confidence": None,
        "retrieved": [{"chunk_id": h.chunk.id, "score": round(h.score, 4), "gold": g}
                      for h, g in zip(hits, relevant, strict=True)],
    }


def search_row(assistant: Assistant, judge: Judge, q: EvalQuestion, mode: Mode,
               history: Sequence[str]) -> dict[str, Any]:
    """Retrieval-only row: `ask`'s own retrieval step, without the answer stage."""
    retrieval = assistant.retrieve(q.question, DEPTH, Filters(), mode, history)
    relevant = judge.gold(q, retrieval.ranking)
    row = _row(q, mode, retrieval.ranking, relevant)
    row.update(**retrieval_metrics(q, relevant, judge), contains_answer=None, token_f1=None,
               citation_precision=None, citation_recall=None,
               latency_ms=round(sum(retrieval.timings_ms.values()), 1))
    k = assistant.settings.top_k
    found = row["gold_rank"] is not None and row["gold_rank"] <= k
    row["pass"] = found or not q.has_gold
    row["reason"] = (f"gold evidence in the top {k}" if found else
                     f"no gold evidence in the top {k}" if q.has_gold else "no gold to find")
    return row


def history_of(q: EvalQuestion, by_id: dict[str, EvalQuestion]) -> list[str]:
    """The questions a follow-up follows, oldest first (its chain of `follows`)."""
    chain: list[str] = []
    current = by_id.get(q.follows or "")
    while current is not None and current.question not in chain:
        chain.insert(0, current.question)
        current = by_id.get(current.follows or "")
    return chain


def unmatched_evidence(questions: Sequence[EvalQuestion], judge_chunks: Sequence[Chunk]
                       ) -> list[str]:
    """Ids of questions whose gold evidence is in no indexed chunk (a typo, a wrong corpus)."""
    judge = Judge(judge_chunks)
    return [q.id for q in questions if q.has_gold and judge.n_gold(q) == 0]


def confidences(assistant: Assistant, questions: Sequence[EvalQuestion],
                progress: Callable[[], Any] | None = None) -> list[float]:
    """The evidence confidence `ask` gives each question (what refusal is decided on)."""
    values = []
    name = getattr(assistant.answerer, "gate", assistant.answerer).name
    assistant = answer_stages(assistant, [name])[name]  # the gate: no LLM calls
    for q in questions:
        values.append(assistant.ask(q.question).confidence)
        if progress:
            progress()
    return values
