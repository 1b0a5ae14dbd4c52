"""Embedding and storing releases: chunk, embed (chunks and their sentences), then write to
Chroma (catalogue last) and the lexical index. The indexer decides what to write; this
module writes it, pipelined (release n+1 embedded while release n is written) or in bulk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from assistant.answer.sentences import embed_sentences
from assistant.config import Settings
from assistant.index.embed import Embedder
from assistant.index.lexindex import LexicalDoc, LexicalIndex
from assistant.index.store import ChromaStore, ReleaseWrite, SentenceRows
from assistant.ingest.chunk import chunk_release
from assistant.lexical import analyze
from assistant.types import Chunk, IndexedRelease, Release

if TYPE_CHECKING:
    from assistant.index.indexer import IngestReport

Progress = Callable[[int, int], Any]
Plan = Sequence[tuple[Release, str]]  # each release with the file it came from


class ReleaseWriter:
    """Chunks, embeds and stores releases in the store and the lexical index."""

    def __init__(self, settings: Settings, store: ChromaStore, embedder: Embedder,
                 lexical: LexicalIndex) -> None:
        self.settings, self.store, self.embedder, self.lexical = \
            settings, store, embedder, lexical

    def write(self, todo: Plan, indexed: dict[str, IndexedRelease], report: IngestReport,
              progress: Progress | None, bulk: bool = False) -> None:
        """Store every planned release and count it in the report."""
        (self._bulk if bulk else self._pipelined)(todo, indexed, report, progress)

    def _pipelined(self, todo: Plan, indexed: dict[str, IndexedRelease],
                   report: IngestReport, progress: Progress | None) -> None:
        """Embed release n+1 while release n is written; each release is stored whole
        (catalogue last), so a killed ingest resumes by skipping what the catalogue holds."""
        plans = [(r, f, self.chunks(r)) for r, f in todo]
        total = sum(len(chunks) for _, _, chunks in plans)
        done = 0
        if progress and total:
            progress(0, total)  # show the bar before the first (slow) release is embedded
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-writer") as writer:
            pending: Future[None] | None = None
            previous: tuple[Release, str, int] | None = None
            for release, file, chunks in plans:
                embedded = self.embed(chunks)
                if pending and previous:
                    pending.result()  # a failed write stops the ingest with its error
                    done += stored(*previous, indexed, report)
                    if progress:
                        progress(done, total)
                pending = writer.submit(self._write, release, file, chunks, embedded)
                previous = (release, file, len(chunks))
            if pending and previous:
                pending.result()
                done += stored(*previous, indexed, report)
                if progress:
                    progress(done, total)

    def _bulk(self, todo: Plan, indexed: dict[str, IndexedRelease], report: IngestReport,
              progress: Progress | None) -> None:
        """Embed every release, then store them together (catalogue last): an interrupted
        batch leaves chunks that the next write's repair drops, and writes them again."""
        planned = []
        for n, (release, file) in enumerate(todo, start=1):
            chunks = self.chunks(release)
            planned.append((release, file, *self.release_write(release, file, chunks,
                                                                 self.embed(chunks))))
            if progress:
                progress(n, len(todo) + 1)
        self.store.put_releases([write for _, _, write, _ in planned])
        for release, file, write, docs in planned:
            self.lexical.put(release.id, release.content_hash, docs)
            stored(release, file, len(write.chunks), indexed, report)
        if progress:
            progress(len(todo) + 1, len(todo) + 1)

    def embed(self, chunks: Sequence[Chunk]) -> tuple[list[list[float]], SentenceRows]:
        # embed everything first: a crash while embedding leaves the index untouched
        vectors = self.embedder.embed_documents([c.embed_text for c in chunks])
        return vectors, embed_sentences(chunks, self.embedder)

    def _write(self, release: Release, file: str, chunks: Sequence[Chunk],
               embedded: tuple[list[list[float]], SentenceRows]) -> None:
        write, docs = self.release_write(release, file, chunks, embedded)
        self.store.put_release(write.record, write.paragraphs, write.chunks, write.vectors,
                               write.lexical, write.sentences)
        self.lexical.put(release.id, release.content_hash, docs)

    def release_write(self, release: Release, file: str, chunks: Sequence[Chunk],
                       embedded: tuple[list[list[float]], SentenceRows]
                       ) -> tuple[ReleaseWrite, list[LexicalDoc]]:
        """What the store and the lexical index keep of one embedded release."""
        vectors, sentences = embedded
        terms = [analyze(c.embed_text) for c in chunks]
        record = IndexedRelease(release.id, release.content_hash, release.source,
                                release.title, release.date, len(chunks), release.people, file,
                                release.subtitle, release.url)
        date = release.date.toordinal() if release.date else 0
        docs = [LexicalDoc(c.id, release.id, date, c.source, tuple(t))
                for c, t in zip(chunks, terms, strict=True)]
        return ReleaseWrite(record, release.paragraphs, chunks, vectors,
                            [" ".join(t) for t in terms], sentences), docs

    def chunks(self, release: Release) -> list[Chunk]:
        """The release's chunks under the index's chunking settings."""
        return chunk_release(release, max_words=self.settings.chunk_words,
                             max_paragraphs=self.settings.chunk_max_paragraphs)


def stored(release: Release, file: str, n_chunks: int,
           indexed: dict[str, IndexedRelease], report: IngestReport) -> int:
    """Count a stored release in the report (added or updated); returns its chunks."""
    status = "updated" if release.id in indexed else "added"
    getattr(report, status).append(release.id)
    if report.files.get(file) != "failed":
        report.files[file] = status
    return n_chunks
