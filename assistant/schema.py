"""The JSON we emit, one pydantic model per shape: `assistant ask --json`, the REST API, the
web chat's state, feedback and evaluation all serialise answers and releases through these."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from assistant.types import Answer, AnswerSentence, Citation, IndexedRelease


class CitationOut(BaseModel):
    """A numbered source: the quoted sentence and the passage it came from."""

    n: int
    release_id: str
    title: str
    date: str | None
    source: str
    url: str | None = Field(None, description="the release's url; null when unknown")
    quote: str
    passage: str
    score: float


class SentenceOut(BaseModel):
    """One sentence of the answer with its citation numbers, checked against the sources."""

    text: str
    citations: list[int]
    supported: bool = Field(description="whether the cited passages support the sentence "
                                        "(false: shown marked as not supported)")
    recited: bool = Field(False, description="its citation was corrected to another source")


class AnswerOut(BaseModel):
    """The `assistant ask --json` object (also what POST /api/ask returns)."""

    question: str
    answer: str
    refused: bool
    short_answer: str | None = Field(
        None, description="the answer alone (a name, date, place, figure); null when none")
    citations: list[CitationOut]
    timings_ms: dict[str, float]
    mode: str = Field("extractive", description="what produced the answer: extractive or "
                                                "reader (quoted sentences), llm (written by "
                                                "`model`)")
    model: str | None = Field(None, description="the LLM that wrote the answer (null: quoted)")
    sentences: list[SentenceOut] = Field(default_factory=list)
    notice: str | None = Field(None, description="why the answer falls back (LLM failed)")


class ReleaseOut(BaseModel):
    """An indexed release, as listed."""

    id: str
    title: str
    date: str | None
    chunks: int
    source: str
    file: str


class ReleaseDetail(BaseModel):
    """One release as stored: its metadata and exact paragraphs."""

    id: str
    title: str
    subtitle: str
    date: str | None
    url: str | None
    source: str
    paragraphs: list[str]


class FileResult(BaseModel):
    """What happened to one uploaded file."""

    file: str
    status: str = Field(description="added, updated, unchanged or failed")
    reason: str = ""


class UploadOut(BaseModel):
    """The result of an upload: one row per file and the index's one-line summary."""

    files: list[FileResult]
    summary: str


class HealthOut(BaseModel):
    """What the serving process holds: index size, embedder, threshold and index version."""

    status: str
    releases: int
    chunks: int
    embedder: str
    index_embedder: str | None
    refusal_threshold: float | None  # None: the reader's own decision thresholds
    refusal_threshold_source: str
    generation: str = Field(description="the index version this process serves")
    store: str
    llm: str | None = Field(None, description="the LLM that writes answers (null: extractive)")
    modes: list[str] = Field(default_factory=list,
                             description="the answer modes a question may ask for (the `mode` "
                                         "of /api/ask), the default first")


class CheckOut(BaseModel):
    """One consistency check of `assistant doctor`."""

    name: str
    ok: bool
    detail: str
    repair: str = Field("", description="how to repair a failed check; empty when it passed")


class DoctorOut(BaseModel):
    """The `assistant doctor --json` object."""

    ok: bool
    index: str
    checks: list[CheckOut]


def citation_out(citation: Citation) -> CitationOut:
    """The JSON model of a citation."""
    return CitationOut(n=citation.n, release_id=citation.release_id, title=citation.title,
                       date=citation.date.isoformat() if citation.date else None,
                       source=citation.source, url=citation.url or None, quote=citation.quote,
                       passage=citation.passage, score=citation.score)


def sentence_out(sentence: AnswerSentence) -> SentenceOut:
    """The JSON model of an answer sentence."""
    return SentenceOut(text=sentence.text, citations=list(sentence.citations),
                       supported=sentence.supported, recited=sentence.recited)


def answer_out(answer: Answer) -> AnswerOut:
    """The JSON model of an answer."""
    return AnswerOut(question=answer.question, answer=answer.text, refused=answer.refused,
                     short_answer=answer.short_answer,
                     citations=[citation_out(c) for c in answer.citations],
                     timings_ms=dict(answer.timings_ms), mode=answer.mode,
                     model=answer.model or None,
                     sentences=[sentence_out(s) for s in answer.sentences],
                     notice=answer.notice or None)


def to_json(answer: Answer) -> dict[str, Any]:
    """The `assistant ask --json` object as plain JSON data."""
    return answer_out(answer).model_dump(mode="json")


def release_out(record: IndexedRelease) -> ReleaseOut:
    """The JSON model of a listed release."""
    return ReleaseOut(id=record.id, title=record.title,
                      date=record.date.isoformat() if record.date else None,
                      chunks=record.n_chunks, source=record.source, file=record.file)


def release_detail(record: IndexedRelease, paragraphs: tuple[str, ...]) -> ReleaseDetail:
    """The JSON model of one stored release."""
    return ReleaseDetail(id=record.id, title=record.title, subtitle=record.subtitle,
                         date=record.date.isoformat() if record.date else None,
                         url=record.url or None, source=record.source,
                         paragraphs=list(paragraphs))
