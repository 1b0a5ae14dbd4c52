"""Composition root: build(settings) picks the concrete parts; Assistant ingests and answers."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from assistant import answer as answering
from assistant import followup
from assistant.chunk import chunk_release
from assistant.config import Settings
from assistant.embed import CachedEmbeddings, make_embedder
from assistant.errors import IndexMismatchError, IngestError
from assistant.ingest import discover, load_file_partial, source_for
from assistant.lexical import analyze
from assistant.retrieve import Mode, Retriever
from assistant.store import ChromaStore
from assistant.types import Answer, Chunk, IndexedRelease, Release

SCHEMA_VERSION = 1
Progress = Callable[[int], None]


@dataclass
class IngestReport:
    """What one ingest run did, per release and per failed file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one-line reasons
    files: dict[str, str] = field(default_factory=dict)  # file -> added/updated/unchanged/failed

    def summary(self) -> str:
        """One line: the counts."""
        return (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
                f"{len(self.failed)} failed")


class Assistant:
    """Ingest releases into the index and answer questions from it."""

    def __init__(self, settings: Settings, store: ChromaStore, embedder: Embeddings,
                 sentence_embedder: Embeddings) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.sentence_embedder = sentence_embedder
        self.retriever = Retriever(store, embedder, lexical_weight=settings.lexical_weight)
        self._catalog: dict[str, IndexedRelease] | None = None

    def catalog(self) -> dict[str, IndexedRelease]:
        """The indexed releases by id (cached until the index changes)."""
        if self._catalog is None:
            self._catalog = self.store.releases()
        return self._catalog

    def _changed(self) -> None:
        self._catalog = None
        self.retriever.refresh()
        if not self.settings.chroma_url:
            self._write_manifest()

    def _write_manifest(self) -> None:
        """Mirror the provenance and catalog into index/manifest.json (for people; the
        authoritative copy lives in Chroma so a shared server carries it too)."""
        manifest = {
            "provenance": self.store.provenance(),
            "releases": {r.id: {"content_hash": r.content_hash, "source": r.source,
                                "file": r.file, "n_chunks": r.n_chunks}
                         for r in self.catalog().values()},
        }
        path = Path(self.settings.index_dir) / "manifest.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    # provenance ---------------------------------------------------------------------------

    @property
    def embedder_name(self) -> str:
        """The configured embedder's recorded name."""
        return str(getattr(self.embedder, "name", type(self.embedder).__name__))

    def check_embedder(self) -> None:
        """Refuse to mix vectors of another embedder into (or query them from) this index."""
        recorded = self.store.provenance().get("embedder")
        if recorded and recorded != self.embedder_name:
            raise IndexMismatchError(
                f"the index in {self._where()} was built with embedder {recorded!r}, but "
                f"{self.embedder_name!r} is configured; rebuild it with "
                f"`assistant ingest --rebuild corpus/` or set ASSISTANT_EMBEDDER back"
            )

    def _where(self) -> str:
        return self.settings.chroma_url or str(self.settings.index_dir)

    def _record_provenance(self) -> None:
        provenance = self.store.provenance()
        provenance.update({
            "embedder": self.embedder_name, "dim": getattr(self.embedder, "dim", None),
            "schema": SCHEMA_VERSION, "chunk_words": self.settings.chunk_words,
            "chunk_max_paragraphs": self.settings.chunk_max_paragraphs,
        })
        self.store.set_provenance(provenance)

    @property
    def refusal_threshold(self) -> float:
        """Configured threshold, else the one calibrated into the index, else the default."""
        if self.settings.refusal_threshold is not None:
            return self.settings.refusal_threshold
        stored = self.store.provenance().get("refusal_threshold")
        return float(stored) if stored is not None else answering.DEFAULT_REFUSAL_THRESHOLD

    def set_refusal_threshold(self, threshold: float) -> None:
        """Store a calibrated refusal threshold in the index."""
        provenance = self.store.provenance()
        provenance["refusal_threshold"] = threshold
        self.store.set_provenance(provenance)

    # ingest -------------------------------------------------------------------------------

    def ingest(self, paths: Sequence[Path], sync: bool = False, rebuild: bool = False,
               progress: Callable[[int, int], Any] | None = None) -> IngestReport:
        """Index the release files under paths; with sync, drop releases whose files are gone."""
        if rebuild:
            self.store.reset()
        self.check_embedder()
        self.store.repair()
        self._record_provenance()
        report = IngestReport()
        indexed = self.store.releases()
        seen_files: set[str] = set()
        seen_ids: set[str] = set()
        todo: list[tuple[Release, str]] = []
        for path in discover(paths):
            file = source_for(path)
            seen_files.add(file)
            try:
                releases, problems = load_file_partial(path)
            except IngestError as exc:
                report.failed.append(str(exc))
                report.files[file] = "failed"
                continue
            report.failed.extend(problems)
            report.files[file] = "failed" if problems else "unchanged"
            for release in releases:
                seen_ids.add(release.id)
                known = indexed.get(release.id)
                if known and known.content_hash == release.content_hash:
                    report.unchanged.append(release.id)
                else:
                    todo.append((release, file))
        self._index(todo, indexed, report, progress)
        if sync:
            self._remove_missing(paths, indexed, seen_files, seen_ids, report)
        self._changed()
        return report

    def add_releases(self, releases: Sequence[Release],
                     progress: Callable[[int, int], Any] | None = None) -> IngestReport:
        """Index releases built in code (evaluation sets, tests); unchanged ones are skipped."""
        self.check_embedder()
        self._record_provenance()
        report = IngestReport()
        indexed = self.store.releases()
        todo = []
        for release in releases:
            known = indexed.get(release.id)
            if known and known.content_hash == release.content_hash:
                report.unchanged.append(release.id)
            else:
                todo.append((release, release.source))
        self._index(todo, indexed, report, progress)
        self._changed()
        return report

    def _index(self, todo: Sequence[tuple[Release, str]], indexed: dict[str, IndexedRelease],
               report: IngestReport, progress: Callable[[int, int], Any] | None) -> None:
        plans = [(r, f, self._chunks(r)) for r, f in todo]
        total = sum(len(chunks) for _, _, chunks in plans)
        done = 0
        if progress and total:
            progress(0, total)  # show the bar before the first (slow) release is embedded
        for release, file, chunks in plans:
            # embed everything first: a crash while embedding leaves the index untouched
            vectors = self.embedder.embed_documents([c.embed_text for c in chunks])
            lexical = [" ".join(analyze(c.embed_text)) for c in chunks]
            record = IndexedRelease(release.id, release.content_hash, release.source,
                                    release.title, release.date, len(chunks), release.people, file)
            self.store.put_release(record, chunks, vectors, lexical)
            status = "updated" if release.id in indexed else "added"
            getattr(report, status).append(release.id)
            if report.files.get(file) != "failed":
                report.files[file] = status
            done += len(chunks)
            if progress:
                progress(done, total)

    def _chunks(self, release: Release) -> list[Chunk]:
        return chunk_release(release, max_words=self.settings.chunk_words,
                             max_paragraphs=self.settings.chunk_max_paragraphs)

    def _remove_missing(self, paths: Iterable[Path], indexed: dict[str, IndexedRelease],
                        seen_files: set[str], seen_ids: set[str], report: IngestReport) -> None:
        roots = [source_for(Path(p)) for p in paths]
        for rid, record in indexed.items():
            under = any(record.file == r or record.file.startswith(r.rstrip("/") + "/")
                        for r in roots)
            if not under or rid in seen_ids:
                continue
            # a failed file keeps its releases: it is broken, not gone
            if record.file in seen_files and report.files.get(record.file) == "failed":
                continue
            self.store.delete_release(rid)
            report.removed.append(rid)

    # reading ------------------------------------------------------------------------------

    def releases(self) -> list[IndexedRelease]:
        """Indexed releases, newest first."""
        return sorted(self.catalog().values(),
                      key=lambda r: (r.date or dt.date.min, r.title), reverse=True)

    def release_paragraphs(self, release_id: str) -> list[str]:
        """The body paragraphs of an indexed release, rebuilt from its chunks."""
        paragraphs: dict[int, str] = {}
        for chunk in self.store.release_chunks(release_id):
            for n, text in enumerate(chunk.text.split("\n\n"), start=chunk.para_start):
                paragraphs.setdefault(n, text)
        return [paragraphs[n] for n in sorted(paragraphs)]

    def delete_release(self, release_id: str) -> None:
        """Remove one release from the index."""
        self.store.delete_release(release_id)
        self._changed()

    def ask(self, question: str, k: int | None = None, since: dt.date | None = None,
            until: dt.date | None = None, mode: Mode = "hybrid", history: Sequence[str] = (),
            sources: Collection[str] | None = None) -> Answer:
        """Answer a question from the indexed releases, with citations, or refuse.

        history: the conversation's earlier questions, oldest first; a follow-up question is
        retrieved with their context. sources: only releases from these sources.
        """
        self.check_embedder()
        timings: dict[str, float] = {}
        start = time.perf_counter()
        query = followup.rewrite(question, history)
        query_vector = self.embedder.embed_query(query)
        timings["embed"] = _ms(start)
        mark = time.perf_counter()
        hits = self.retriever.search(query, k or self.settings.top_k, since, until, mode,
                                     query_vector=query_vector, sources=sources)
        evidence_hits = hits
        if query != question and hits:
            # a follow-up is answered from the conversation's release (the best hit of the
            # question read with its context), scored against the question as asked
            query_vector = self.embedder.embed_query(question)
            evidence_hits = [h for h in hits if h.chunk.release_id == hits[0].chunk.release_id]
        timings["retrieve"] = _ms(mark)
        mark = time.perf_counter()
        idf = self.retriever.lexical().bm25.idf
        catalog = self.catalog()
        people = {h.chunk.release_id: catalog[h.chunk.release_id].people
                  for h in hits if h.chunk.release_id in catalog}
        scored = answering.score_sentences(question, query_vector,
                                           answering.candidates(evidence_hits),
                                           self.sentence_embedder, idf, people)
        selected = answering.select(scored, self.settings.max_answer_sentences)
        features = answering.evidence(question, scored, idf)
        result = answering.compose(question, selected, answering.confidence(features),
                                   self.refusal_threshold)
        timings["answer"] = _ms(mark)
        timings["total"] = _ms(start)
        return Answer(result.question, result.text, result.refused, result.citations,
                      result.confidence, timings, features)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def build(settings: Settings | None = None, embedding_cache: Path | None = None) -> Assistant:
    """Wire the configured embedder and store into an Assistant.

    embedding_cache: a SQLite file that keeps passage vectors across runs (evaluation).
    """
    settings = settings or Settings()
    index_dir = Path(settings.index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    embedder = make_embedder(settings.embedder)
    if embedding_cache:
        embedder = CachedEmbeddings(embedder, embedding_cache)
    sentence_embedder = CachedEmbeddings(embedder, index_dir / "sentence-cache.sqlite")
    store = ChromaStore.open(str(index_dir), settings.chroma_url, settings.collection)
    return Assistant(settings, store, embedder, sentence_embedder)
