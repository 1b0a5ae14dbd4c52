"""Composition root: build(settings) picks the concrete parts; Assistant.ask composes them.

A question flows: follow-up rewrite (followup.py) -> retrieval (retrieve.py) -> the answer
stage (answer.py, any `Answerer`). A release flows through the indexer (index.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant import followup, llmsetup
from assistant.answer import Answerer, AnswerEvent, AnswerRequest, ExtractiveAnswerer
from assistant.config import Settings
from assistant.embed import CachedEmbeddings, Embedder, make_embedder
from assistant.errors import ConfigError, QuestionError
from assistant.index import Indexer
from assistant.lexindex import LexicalIndex
from assistant.retrieve import Filters, LangChainRetriever, Mode, Retriever
from assistant.store import ChromaStore
from assistant.types import Answer, Hit


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found for one question: the query it searched with and the ranking."""

    question: str
    query: str  # the question, or a follow-up rewritten with the conversation
    query_vector: list[float]
    ranking: tuple[Hit, ...]
    timings_ms: dict[str, float]


class Assistant:
    """Answers questions from the index: rewrite a follow-up, retrieve, answer."""

    def __init__(self, settings: Settings, index: Indexer, retriever: Retriever,
                 answerer: Answerer, embedder: Embedder) -> None:
        self.settings = settings
        self.index = index
        self.retriever = retriever
        self.answerer = answerer
        self.embedder = embedder

    def retrieve(self, question: str, k: int | None = None, filters: Filters = Filters(),  # noqa: B008
                 mode: Mode = "hybrid", history: Sequence[str] = ()) -> Retrieval:
        """The k best passages for the question (a follow-up is read with its history)."""
        check_question(question, history, self.settings)
        self.index.refresh()
        self.index.check_embedder()
        start = time.perf_counter()
        query = followup.rewrite(question, history)
        vector = self.embedder.embed_query(query)
        embedded = time.perf_counter()
        hits = self.retriever.search(query, k or self.settings.top_k, filters, mode,
                                     query_vector=vector)
        return Retrieval(question, query, vector, tuple(hits),
                         {"embed": _ms(start, embedded), "retrieve": _ms(embedded)})

    def request(self, retrieval: Retrieval, k: int | None = None) -> AnswerRequest:
        """What the answer stage gets for a retrieval (its top k passages)."""
        hits = retrieval.ranking[: k or self.settings.top_k]
        vector = retrieval.query_vector
        if retrieval.query != retrieval.question and hits:
            # a follow-up is answered from the conversation's release (the best hit of the
            # question read with its context), scored against the question as asked
            vector = self.embedder.embed_query(retrieval.question)
            hits = tuple(h for h in hits if h.chunk.release_id == hits[0].chunk.release_id)
        catalog = self.index.state.catalog
        releases = {h.chunk.release_id: catalog[h.chunk.release_id]
                    for h in hits if h.chunk.release_id in catalog}
        return AnswerRequest(retrieval.question, hits, vector, self.index.lexical.idf,
                             releases, self.index.refusal_threshold()[0])

    def ask_stream(self, question: str, k: int | None = None, since: dt.date | None = None,
                   until: dt.date | None = None, mode: Mode = "hybrid",
                   history: Sequence[str] = (), sources: Collection[str] | None = None,
                   depth: int | None = None) -> Iterator[AnswerEvent]:
        """ask() as it is produced: answer text as the answer stage yields it, then the Answer.

        depth: retrieve this many passages (for evaluation) and answer from the top k.
        """
        start = time.perf_counter()
        retrieval = self.retrieve(question, max(k or self.settings.top_k, depth or 0),
                                  Filters.of(since, until, sources), mode, history)
        request = self.request(retrieval, k)
        mark = time.perf_counter()
        for event in self.answerer.stream(request):
            if isinstance(event, Answer):
                timings = {**retrieval.timings_ms, "answer": _ms(mark), "total": _ms(start)}
                yield dataclasses.replace(event, timings_ms=timings, query=retrieval.query,
                                          ranking=retrieval.ranking)
                return
            yield event

    def ask(self, question: str, k: int | None = None, since: dt.date | None = None,
            until: dt.date | None = None, mode: Mode = "hybrid", history: Sequence[str] = (),
            sources: Collection[str] | None = None, depth: int | None = None) -> Answer:
        """Answer a question from the indexed releases, with citations, or refuse.

        history: the conversation's earlier questions, oldest first; a follow-up question is
        retrieved with their context. sources: only releases from these sources.
        """
        events = self.ask_stream(question, k, since, until, mode, history, sources, depth)
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
    embedder: Embedder = make_embedder(settings.embedder, model_dir=index_dir / "models")
    if embedding_cache:
        embedder = CachedEmbeddings(embedder, embedding_cache)
    sentence_embedder = CachedEmbeddings(embedder, index_dir / "sentence-cache.sqlite")
    store = ChromaStore.open(str(index_dir), settings.chroma_url, settings.collection)
    # with a Chroma server, several processes may use the same folder: the log is shared
    # (flock) and checked against the server's catalogue, so it is never silently stale
    lexical = LexicalIndex(index_dir / _lexical_folder(settings))
    index = Indexer(settings, store, embedder, lexical)
    retriever = Retriever(store, lexical, embedder, lexical_weight=settings.lexical_weight)
    answerer = make_answerer(settings, sentence_embedder)
    return Assistant(settings, index, retriever, answerer, embedder)


def make_answerer(settings: Settings, sentence_embedder: Embeddings) -> Answerer:
    """The configured answer stage: extractive (default), or the local LLM (ASSISTANT_LLM)."""
    if not settings.llm:
        return ExtractiveAnswerer(sentence_embedder, settings.max_answer_sentences)
    model = llmsetup.parse_local(settings.llm)
    if model is None:
        raise ConfigError(f"ASSISTANT_LLM={settings.llm!r} is not a backend this build has; "
                          "use local or local:0.5b (or unset it for extractive answers)")
    from assistant.compact import CompactAnswerer
    from assistant.localllm import LlamaLoader, LocalChatModel, require_llama_cpp

    path = llmsetup.assembled_file(model, settings.local_models_dir)
    require_llama_cpp()
    # one loader per Assistant: the model loads once per process and stays warm
    loader = LlamaLoader(settings.llm_context_tokens, settings.llm_threads)
    chat = LocalChatModel(model_path=str(path), model_name=f"local:{model.name}",
                          max_tokens=settings.llm_max_tokens, loader=loader)
    return CompactAnswerer(chat, sentence_embedder, settings.max_answer_sentences)


def _lexical_folder(settings: Settings) -> str:
    """Where the lexical log lives under the index folder: one per store and collection."""
    if not settings.chroma_url:
        return "." if settings.collection == "releases" else f"lexical-{settings.collection}"
    host = settings.chroma_url.split("//")[-1].replace(":", "-").replace("/", "")
    return f"lexical-{host}-{settings.collection}"
