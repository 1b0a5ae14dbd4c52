"""Composition root: build(settings) picks the concrete parts; Assistant.ask composes them.

A question flows: follow-up rewrite (followup.py, or an LLM's condensation) -> retrieval
(retrieve.py) -> the answer stage (any `Answerer`: extractive or the reader, or llm.py's LLM
answerer when ASSISTANT_LLM is set). A release flows through the indexer (index.py).

With ASSISTANT_LLM the assistant offers two answer modes, built once here: the written
answer (the LLM answerer and its condensing rewriter, the default) and the quoted sentences
(its gate, extractive or reader, with the rule rewriter); each question may ask for either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.answer.base import Answerer, AnswerEvent, AnswerRequest, IndexEvidence
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.followup import Rewriter, RuleRewriter
from assistant.answer.question import Question
from assistant.answer.refusal import DEFAULT_REFUSAL_THRESHOLD
from assistant.config import Settings
from assistant.errors import AnswerModeError, ConfigError, QuestionError, StoreError
from assistant.index.doctor import Evidence, gather
from assistant.index.embed import CachedEmbeddings, Embedder, make_embedder
from assistant.index.indexer import MANIFEST_NAME, Indexer
from assistant.index.lexindex import LexicalIndex
from assistant.index.store import ChromaStore
from assistant.retrieve import Filters, LangChainRetriever, Mode, Retriever
from assistant.types import Answer, Hit

Thresholds = Callable[[str], float | None]  # answerer name -> its refusal threshold override


@dataclass(frozen=True)
class Stage:
    """One answer mode: its answerer and the follow-up rewriter that goes with it."""

    answerer: Answerer
    rewriter: Rewriter

    @property
    def mode(self) -> str:
        """What its answers report as Answer.mode ("extractive", "reader", "llm")."""
        return self.answerer.mode


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found for one question: the query it searched with and the ranking."""

    question: str
    query: str  # the question, or a follow-up rewritten with the conversation
    query_vector: list[float]
    ranking: tuple[Hit, ...]
    timings_ms: dict[str, float]
    standalone: bool = False  # query is a whole question to answer (an LLM's condensation)


class Assistant:
    """Answers questions from the index: rewrite a follow-up, retrieve, answer.

    answerer and rewriter make the default answer mode; others are the further modes a
    question may ask for by name (answer_mode), built once by `build`.
    """

    def __init__(self, settings: Settings, index: Indexer, retriever: Retriever,
                 answerer: Answerer, embedder: Embedder, rewriter: Rewriter | None = None,
                 others: Sequence[Stage] = ()) -> None:
        self.settings = settings
        self.index = index
        self.retriever = retriever
        self.answerer = answerer
        self.embedder = embedder
        self.rewriter = rewriter or RuleRewriter()
        default = Stage(self.answerer, self.rewriter)
        self.stages = {stage.mode: stage for stage in (default, *others)}

    @property
    def modes(self) -> list[str]:
        """The answer modes a question may ask for, the default first."""
        return list(self.stages)

    def stage(self, answer_mode: str | None = None) -> Stage:
        """The answer stage of a mode (None: the default); a mode not offered is an error
        that says which are."""
        if answer_mode is None:
            return next(iter(self.stages.values()))
        if answer_mode in self.stages:
            return self.stages[answer_mode]
        if answer_mode == "llm":
            raise AnswerModeError(
                "written answers (mode llm) need a language model, and none is configured: "
                "set ASSISTANT_LLM (e.g. ASSISTANT_LLM=local, see `assistant llm setup`) and "
                f"restart, or ask in mode {self.modes[0]}")
        raise AnswerModeError(f"this assistant does not answer in mode {answer_mode!r}: ask in "
                              f"mode {' or '.join(self.modes)}")

    def with_stage(self, answerer: Answerer, rewriter: Rewriter | None = None) -> Assistant:
        """The same index and retrieval with another answer stage (evaluation compares)."""
        return Assistant(self.settings, self.index, self.retriever, answerer, self.embedder,
                         rewriter)

    def retrieve(self, question: str, k: int | None = None, filters: Filters = Filters(),  # noqa: B008
                 mode: Mode = "hybrid", history: Sequence[str] = (),
                 answer_mode: str | None = None) -> Retrieval:
        """The k best passages for the question (a follow-up is read with its history, by
        the rewriter of the answer mode)."""
        check_question(question, history, self.settings)
        rewriter = self.stage(answer_mode).rewriter
        self.index.refresh()
        self.index.check_embedder()
        start = time.perf_counter()
        query = rewriter.rewrite(question, history)
        vector = self.embedder.embed_query(query)
        embedded = time.perf_counter()
        hits = self.retriever.search(query, k or self.settings.top_k, filters, mode,
                                     query_vector=vector)
        return Retrieval(question, query, vector, tuple(hits),
                         {"embed": _ms(start, embedded), "retrieve": _ms(embedded)},
                         rewriter.standalone)

    def request(self, retrieval: Retrieval, k: int | None = None) -> AnswerRequest:
        """What the answer stage gets for a retrieval (its top k passages)."""
        hits = retrieval.ranking[: k or self.settings.top_k]
        vector = retrieval.query_vector
        if retrieval.query != retrieval.question and hits and not retrieval.standalone:
            # a follow-up is answered from the conversation's release (the best hit of the
            # question read with its context), scored against the question as asked
            vector = self.embedder.embed_query(retrieval.question)
            hits = tuple(h for h in hits if h.chunk.release_id == hits[0].chunk.release_id)
        catalog = self.index.catalog
        releases = {h.chunk.release_id: catalog[h.chunk.release_id]
                    for h in hits if h.chunk.release_id in catalog}
        evidence = IndexEvidence(vector, self.index.idf,
                                 self.index.sentence_vectors([h.chunk.id for h in hits]))
        return AnswerRequest(Question(retrieval.question), hits, releases, evidence,
                             retrieval.query if retrieval.standalone else "")

    def ask_stream(self, question: str, k: int | None = None, since: dt.date | None = None,
                   until: dt.date | None = None, mode: Mode = "hybrid",
                   history: Sequence[str] = (), sources: Collection[str] | None = None,
                   depth: int | None = None, answer_mode: str | None = None
                   ) -> Iterator[AnswerEvent]:
        """ask() as it is produced: answer text as the answer stage yields it, then the Answer.

        depth: retrieve this many passages (for evaluation) and answer from the top k.
        """
        start = time.perf_counter()
        answerer = self.stage(answer_mode).answerer
        retrieval = self.retrieve(question, max(k or self.settings.top_k, depth or 0),
                                  Filters.of(since, until, sources), mode, history, answer_mode)
        request = self.request(retrieval, k)
        mark = time.perf_counter()
        first: float | None = None  # time to the first text (the whole answer, extractive)
        for event in answerer.stream(request):
            if isinstance(event, Answer):
                total = _ms(start)
                timings = {**event.timings_ms, **retrieval.timings_ms, "answer": _ms(mark),
                           "total": total,
                           "first_token": first if first is not None else total}
                yield dataclasses.replace(event, timings_ms=timings, query=retrieval.query,
                                          ranking=retrieval.ranking)
                return
            if first is None:
                first = _ms(start)
            yield event

    def ask(self, question: str, k: int | None = None, since: dt.date | None = None,
            until: dt.date | None = None, mode: Mode = "hybrid", history: Sequence[str] = (),
            sources: Collection[str] | None = None, depth: int | None = None,
            answer_mode: str | None = None) -> Answer:
        """Answer a question from the indexed releases, with citations, or refuse.

        history: the conversation's earlier questions, oldest first; a follow-up question is
        retrieved with their context. sources: only releases from these sources.
        answer_mode: one of `modes` ("extractive" quotes, "llm" writes); None: the default.
        """
        events = self.ask_stream(question, k, since, until, mode, history, sources, depth,
                                 answer_mode)
        final = [e for e in events if isinstance(e, Answer)]
        return final[-1]

    def as_retriever(self, k: int | None = None, filters: Filters = Filters(),  # noqa: B008
                     mode: Mode = "hybrid") -> LangChainRetriever:
        """This assistant's retrieval as a LangChain BaseRetriever."""
        return LangChainRetriever(retriever=self.retriever, k=k or self.settings.top_k,
                                  filters=filters, mode=mode)


def check_question(question: str, history: Sequence[str], settings: Settings) -> None:
    """Refuse an empty question, or one (or a history) over its length limit."""
    if not question or not question.strip():
        raise QuestionError("the question is empty; type a question about the releases")
    if len(question) > settings.max_question_chars:
        raise QuestionError(
            f"the question has {len(question):,} characters; the limit is "
            f"{settings.max_question_chars:,} (ASSISTANT_MAX_QUESTION_CHARS): shorten it")
    if sum(len(h) for h in history) > settings.max_history_chars:
        raise QuestionError(
            f"the conversation history is over {settings.max_history_chars:,} characters "
            "(ASSISTANT_MAX_HISTORY_CHARS): start a new conversation")


def _ms(since: float, until: float | None = None) -> float:
    return round(((until or time.perf_counter()) - since) * 1000, 1)


def build(settings: Settings | None = None, embedding_cache: Path | None = None) -> Assistant:
    """Wire the configured embedder, store, lexical index and answerer into an Assistant.

    embedding_cache: a SQLite file that keeps passage vectors across runs (evaluation).
    """
    settings = settings or Settings()
    index_dir = Path(settings.index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    embedder = make_embedder(settings.embedder, model_dir=index_dir / "models")
    # indexing gets an engine of its own (same model): a 2,000-chunk upload holds an engine
    # for minutes, and questions asked meanwhile must not wait behind it
    index_embedder: Embedder = make_embedder(settings.embedder, model_dir=index_dir / "models")
    if embedding_cache:
        index_embedder = CachedEmbeddings(index_embedder, embedding_cache)
    sentence_embedder = CachedEmbeddings(embedder, index_dir / "sentence-cache.sqlite")
    store, lexical = open_index(settings)
    index = Indexer(settings, store, index_embedder, lexical)
    retriever = Retriever(store, lexical, embedder, lexical_weight=settings.lexical_weight)
    default, *others = answer_stages(settings, sentence_embedder, index_dir / "models",
                                     index.answerer_threshold)
    return Assistant(settings, index, retriever, default.answerer, embedder, default.rewriter,
                     others)


def answer_stage(settings: Settings, sentence_embedder: Embeddings,
                 model_cache: Path | None = None, thresholds: Thresholds | None = None
                 ) -> tuple[Answerer, Rewriter]:
    """The configured answerer and follow-up rewriter (the first of `answer_stages`)."""
    default = answer_stages(settings, sentence_embedder, model_cache, thresholds)[0]
    return default.answerer, default.rewriter


def answer_stages(settings: Settings, sentence_embedder: Embeddings,
                  model_cache: Path | None = None, thresholds: Thresholds | None = None
                  ) -> list[Stage]:
    """Every answer mode the settings offer, the default first: extractive or the trained
    reader (ASSISTANT_ANSWERER) with the rule rewriter; with ASSISTANT_LLM, first the LLM
    answerer with that answerer as its gate and fallback, and the LLM's condensation.

    thresholds: the refusal threshold override of an answerer by name (a setting, or
    calibrated into the index), None for its own default.
    """
    check_applicable(settings)
    thresholds = thresholds or (lambda _name: None)
    model_cache = model_cache or Path(settings.index_dir) / "models"
    gate = make_answerer(settings, sentence_embedder, model_cache, thresholds)
    quoted = Stage(gate, RuleRewriter())
    if not settings.llm:
        return [quoted]
    from assistant.answer import llm as generate
    from assistant.answer.verify import Verifier

    chat_model = generate.make_chat_model(settings)
    verifier = Verifier(sentence_embedder, settings.support_threshold)
    answerer = generate.LLMAnswerer(chat_model, gate, verifier,
                                    generate.model_name(settings), settings.unsupported,
                                    generate.where(settings), settings.llm_api_key,
                                    generate.prompt_style(settings, sentence_embedder))
    written = Stage(answerer, generate.LLMRewriter(chat_model, settings.max_question_chars))
    return [written, quoted]


def open_index(settings: Settings) -> tuple[ChromaStore, LexicalIndex]:
    """The configured store and lexical index, as they are (not yet synced with each other)."""
    index_dir = Path(settings.index_dir)
    store = ChromaStore.open(str(index_dir), settings.chroma_url, settings.collection)
    # with a Chroma server, several processes may use the same folder: the log is shared
    # (flock) and checked against the server's catalogue, so it is never silently stale
    return store, LexicalIndex(index_dir / _lexical_folder(settings))


def examine(settings: Settings) -> Evidence:
    """What each part of the configured index holds, for `assistant doctor` (loads no model
    and re-syncs nothing, unlike `build`)."""
    index_dir = Path(settings.index_dir)
    if not settings.chroma_url and not (index_dir / "chroma.sqlite3").exists():
        raise StoreError(f"no index in {index_dir}: run `assistant ingest DIR` first "
                                 "(or set ASSISTANT_INDEX_DIR)")
    store, lexical = open_index(settings)
    manifest = None if settings.chroma_url else index_dir / MANIFEST_NAME
    embedder = make_embedder(settings.embedder, model_dir=index_dir / "models")
    return gather(store, lexical, manifest, embedder.name, Path(settings.upload_dir))


def make_answerer(settings: Settings, sentence_embedder: Embeddings, model_cache: Path,
                  thresholds: Thresholds) -> Answerer:
    """The configured answerer without an LLM (ASSISTANT_ANSWERER)."""
    def extractive_threshold() -> float:
        found = thresholds("extractive")
        return DEFAULT_REFUSAL_THRESHOLD if found is None else found

    extractive = ExtractiveAnswerer(sentence_embedder, settings.max_answer_sentences,
                                    extractive_threshold)
    if settings.answerer == "extractive":
        return extractive
    if settings.answerer == "reader":
        from assistant.answer.reader import Reader
        from assistant.answer.readeranswer import ReaderAnswerer
        from assistant.answer.readerengine import load_engine
        from assistant.answer.readerfiles import checked_weights

        checked_weights()  # fail now, not at the first question, when the weights are bad
        return ReaderAnswerer(Reader(lambda: load_engine(model_cache)), extractive,
                              passages=settings.reader_passages,
                              threshold=lambda: thresholds("reader"))
    raise ConfigError(f"unknown answerer {settings.answerer!r} (ASSISTANT_ANSWERER): "
                      "use extractive or reader")


# settings that only one answerer reads: naming them for another one is a mistake to report
_ANSWERER_SETTINGS = {"refusal_threshold": "extractive", "reader_passages": "reader",
                      "reader_threshold": "reader"}


def check_applicable(settings: Settings) -> None:
    """A setting that cannot apply to the configured answer stage is an error, not ignored."""
    for name, answerer in _ANSWERER_SETTINGS.items():
        if name in settings.model_fields_set and settings.answerer != answerer:
            raise ConfigError(f"ASSISTANT_{name.upper()} applies to "
                              f"ASSISTANT_ANSWERER={answerer}, not {settings.answerer}: unset "
                              "it or choose that answerer")
    llm_only = sorted(n for n in settings.model_fields_set
                      if n.startswith("llm_") and n != "llm_models_dir")
    if llm_only and not settings.llm:
        raise ConfigError(f"{', '.join('ASSISTANT_' + n.upper() for n in llm_only)} "
                          "configure LLM answers, but ASSISTANT_LLM is not set: set it "
                          "(e.g. ASSISTANT_LLM=local) or unset them")


def _lexical_folder(settings: Settings) -> str:
    """Where the lexical log lives under the index folder: one per store and collection."""
    if not settings.chroma_url:
        return "." if settings.collection == "releases" else f"lexical-{settings.collection}"
    host = settings.chroma_url.split("//")[-1].replace(":", "-").replace("/", "")
    return f"lexical-{host}-{settings.collection}"
