"""Release -> Chunks: consecutive paragraphs packed by size, overlapping by a paragraph."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.text import split_sentences
from assistant.types import Chunk, Release

SEPARATOR = "\n\n"
LONG_PARAGRAPH_FACTOR = 2.5  # a paragraph this many times max_words is cut at sentences
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Piece:
    """A paragraph, or a run of its sentences, as a span of the joined body."""

    paragraph: int
    start: int
    end: int
    words: int


def chunk_release(
    release: Release, max_words: int = 120, max_paragraphs: int = 2, overlap: int = 1
) -> list[Chunk]:
    """Pack the release's paragraphs into overlapping chunks that cover every paragraph."""
    body = SEPARATOR.join(release.paragraphs)
    pieces = _pieces(release.paragraphs, max_words)
    chunks: list[Chunk] = []
    start, covered = 0, 0
    while covered < len(pieces):
        end = _pack(pieces, start, max_words, max_paragraphs)
        if end <= covered:  # the overlap alone would fill the chunk: repeat nothing
            start = covered
            end = _pack(pieces, start, max_words, max_paragraphs)
        chunks.append(_chunk(release, body, pieces[start:end], len(chunks)))
        covered = end
        start = max(end - overlap, start + 1)
    return chunks


def _pack(pieces: list[_Piece], start: int, max_words: int, max_paragraphs: int) -> int:
    """End (exclusive) of the longest run from start within both limits; at least one piece."""
    end, words = start + 1, pieces[start].words
    while end < len(pieces) and end - start < max_paragraphs:
        if words + pieces[end].words > max_words:
            break
        words += pieces[end].words
        end += 1
    return end


def _pieces(paragraphs: tuple[str, ...], max_words: int) -> list[_Piece]:
    pieces, offset = [], 0
    for index, paragraph in enumerate(paragraphs):
        words = len(paragraph.split())
        if words > LONG_PARAGRAPH_FACTOR * max_words:
            pieces.extend(_sentence_groups(index, paragraph, offset, max_words))
        else:
            pieces.append(_Piece(index, offset, offset + len(paragraph), words))
        offset += len(paragraph) + len(SEPARATOR)
    return pieces


def _sentence_groups(index: int, paragraph: str, offset: int, max_words: int) -> list[_Piece]:
    """Consecutive sentences of one long paragraph, grouped up to max_words; only a sentence
    longer than that (text without sentence punctuation) is cut, between words."""
    groups: list[_Piece] = []
    for start, end, words in _sentence_spans(paragraph, max_words):
        last = groups[-1] if groups else None
        if last and last.words + words <= max_words:
            groups[-1] = _Piece(index, last.start, offset + end, last.words + words)
        else:
            groups.append(_Piece(index, offset + start, offset + end, words))
    return groups


def _sentence_spans(paragraph: str, max_words: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, words) of each sentence, or of each max_words run of a longer one."""
    for start, end in split_sentences(paragraph):
        words = len(paragraph[start:end].split())
        if words <= max_words:
            yield start, end, words
            continue
        run: list[tuple[int, int]] = []
        for word in _WORD.finditer(paragraph, start, end):
            run.append(word.span())
            if len(run) == max_words:
                yield run[0][0], run[-1][1], len(run)
                run = []
        if run:
            yield run[0][0], run[-1][1], len(run)


def _chunk(release: Release, body: str, pieces: list[_Piece], n: int) -> Chunk:
    start, end = pieces[0].start, pieces[-1].end
    return Chunk(
        id=f"{release.id}#{n}",
        release_id=release.id,
        text=body[start:end],
        para_start=pieces[0].paragraph,
        para_end=pieces[-1].paragraph + 1,
        char_start=start,
        char_end=end,
        title=release.title,
        date=release.date,
        source=release.source,
    )
