"""Plain data passed between pipeline stages: frozen dataclasses, no behaviour beyond views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Person:
    """Someone named in a release, with the role the release gives them (may be empty)."""

    name: str
    role: str = ""


@dataclass(frozen=True)
class Release:
    """One press release: metadata and its body as normalised paragraphs."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    source: str
    content_hash: str
    subtitle: str = ""
    date: dt.date | None = None
    people: tuple[Person, ...] = ()
    url: str = ""


@dataclass(frozen=True)
class Chunk:
    """A run of consecutive paragraphs of one release; the unit that is embedded and retrieved."""

    id: str  # "<release_id>#<n>"
    release_id: str
    text: str  # the paragraphs joined by blank lines, exactly as shown to users
    para_start: int  # first paragraph index (inclusive)
    para_end: int  # last paragraph index (exclusive)
    char_start: int  # offsets into "\n\n".join(release.paragraphs)
    char_end: int
    title: str = ""
    date: dt.date | None = None
    source: str = ""

    @property
    def embed_text(self) -> str:
        """The text given to the embedder: the release title carries context into every chunk."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the scores it came from."""

    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the quoted sentence and the chunk it came from."""

    n: int
    release_id: str
    title: str
    date: dt.date | None
    source: str
    quote: str
    passage: str
    score: float
    url: str = ""  # the release's url ("" when unknown)
    chunk_id: str = ""


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, the citation numbers it carries and whether the cited
    passages support it (verify.py); recited: its citation was corrected to another source."""

    text: str
    citations: tuple[int, ...] = ()
    supported: bool = True
    recited: bool = False


@dataclass(frozen=True)
class Answer:
    """A cited answer, or a refusal, to one question, with the passages it was built from.

    hits: the passages the answer stage read; ranking: everything retrieval returned (at
    least hits, deeper when evaluation asked for depth), so nobody has to spy on retrieval.
    """

    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    confidence: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, float] = field(default_factory=dict)  # features behind confidence
    hits: tuple[Hit, ...] = ()
    ranking: tuple[Hit, ...] = ()
    query: str = ""  # what retrieval searched with (a follow-up is rewritten)
    mode: str = "extractive"  # "extractive" (quoted sentences) or "llm" (generated, verified)
    model: str = ""  # the LLM that wrote it ("" for extractive)
    sentences: tuple[AnswerSentence, ...] = ()  # the text sentence by sentence, verified
    notice: str = ""  # why the answer is not what was asked for (LLM failed: extractive)
    dropped: int = 0  # unsupported sentences removed (ASSISTANT_UNSUPPORTED=drop)
    short_answer: str | None = None  # the answer span alone (the reader); None when none


@dataclass(frozen=True)
class IndexedRelease:
    """What the index remembers about a release: enough to list it and to skip re-indexing."""

    id: str
    content_hash: str
    source: str
    title: str
    date: dt.date | None
    n_chunks: int
    people: tuple[Person, ...] = ()
    file: str = ""  # the file it was read from (a .jsonl file holds many releases)
    subtitle: str = ""
    url: str = ""


@dataclass(frozen=True)
class StoredRelease:
    """A release as the catalogue keeps it: its record and its exact paragraphs."""

    record: IndexedRelease
    paragraphs: tuple[str, ...]
