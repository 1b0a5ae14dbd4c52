"""Chunking: coverage, overlap, limits, exact offsets, long paragraphs cut at sentences."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assistant.ingest.chunk import chunk_release
from assistant.ingest.releases import load_file
from assistant.text import sentences
from assistant.types import Chunk, Release

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SAMPLE = CORPUS / "2023-09-29_kemenko-pmk-guangxi-zhuang.txt"


def release(*paragraphs: str) -> Release:
    return Release(
        id="r1",
        title="Judul",
        paragraphs=paragraphs,
        source="corpus/r1.txt",
        content_hash="h",
        date=dt.date(2023, 9, 29),
    )


def words(n: int, tag: str = "kata") -> str:
    return " ".join(f"{tag}{i}" for i in range(n - 1)) + " akhir."


def check_invariants(rel: Release, chunks: list[Chunk]) -> None:
    body = "\n\n".join(rel.paragraphs)
    assert [c.id for c in chunks] == [f"{rel.id}#{n}" for n in range(len(chunks))]
    for chunk in chunks:
        assert body[chunk.char_start : chunk.char_end] == chunk.text
        assert (chunk.release_id, chunk.title, chunk.date, chunk.source) == (
            rel.id,
            rel.title,
            rel.date,
            rel.source,
        )
    covered = {i for c in chunks for i in range(c.para_start, c.para_end)}
    assert covered == set(range(len(rel.paragraphs)))
    assert chunks[0].char_start == 0 and chunks[-1].char_end == len(body)


@pytest.mark.parametrize("max_paragraphs", [1, 2, 3])
@pytest.mark.parametrize("max_words", [5, 40, 120, 1000])
def test_sample_invariants(max_words: int, max_paragraphs: int) -> None:
    rel = load_file(SAMPLE)[0]
    chunks = chunk_release(rel, max_words=max_words, max_paragraphs=max_paragraphs)
    check_invariants(rel, chunks)
    assert all(c.para_end - c.para_start <= max_paragraphs for c in chunks)


def test_sample_default_chunks_overlap_by_one_paragraph() -> None:
    rel = load_file(SAMPLE)[0]
    chunks = chunk_release(rel)
    assert all(c.para_end - c.para_start == 2 for c in chunks)
    for previous, following in zip(chunks, chunks[1:], strict=False):
        assert following.para_start == previous.para_end - 1
    assert chunks[0].embed_text.startswith(rel.title + "\n\n")


def test_short_release_is_one_chunk() -> None:
    rel = release("Satu.", "Dua.")
    (chunk,) = chunk_release(rel)
    assert (chunk.text, chunk.para_start, chunk.para_end) == ("Satu.\n\nDua.", 0, 2)


def test_word_limit_packs_fewer_paragraphs() -> None:
    rel = release(words(50), words(50), words(50), words(10))
    chunks = chunk_release(rel, max_words=60, max_paragraphs=3)
    assert [(c.para_start, c.para_end) for c in chunks] == [(0, 1), (1, 2), (2, 4)]
    check_invariants(rel, chunks)


def test_overlap_that_fills_a_chunk_is_not_repeated() -> None:
    rel = release(words(30), words(30), words(100))
    chunks = chunk_release(rel, max_words=80, max_paragraphs=2)
    assert [(c.para_start, c.para_end) for c in chunks] == [(0, 2), (2, 3)]


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_overlap_parameter(overlap: int) -> None:
    rel = release(*(f"Paragraf {i}." for i in range(7)))
    chunks = chunk_release(rel, max_paragraphs=3, overlap=overlap)
    check_invariants(rel, chunks)
    for previous, following in zip(chunks, chunks[1:], strict=False):
        assert following.para_start == previous.para_end - overlap


def test_long_paragraph_splits_at_sentence_boundaries() -> None:
    long = " ".join(f"Kalimat nomor {i} berisi beberapa kata tambahan saja." for i in range(40))
    rel = release("Pembuka singkat.", long, "Penutup singkat.")
    chunks = chunk_release(rel, max_words=30, max_paragraphs=2)
    check_invariants(rel, chunks)
    whole = set(sentences(long))
    middle = [c for c in chunks if c.para_start == 1 and c.para_end == 2]
    assert len(middle) > 3
    for chunk in middle:
        assert len(chunk.text.split()) <= 30
        assert set(sentences(chunk.text)) <= whole  # no sentence is cut


def test_moderately_long_paragraph_stays_whole() -> None:
    paragraph = words(200)
    chunks = chunk_release(release(paragraph), max_words=100)
    assert [c.text for c in chunks] == [paragraph]


def test_empty_release_has_no_chunks() -> None:
    assert chunk_release(release()) == []


@pytest.mark.parametrize("max_words", [30, 120])
def test_paragraph_without_punctuation_is_cut_between_words(max_words: int) -> None:
    """A 5 MB line without sentence punctuation was one chunk of ~25,000 words per sentence."""
    line = " ".join(f"kata{i}" for i in range(50_000))
    rel = release("Pembuka singkat.", line, "Penutup singkat.")
    chunks = chunk_release(rel, max_words=max_words, max_paragraphs=2)
    check_invariants(rel, chunks)
    assert all(len(c.text.split()) <= max_words for c in chunks)
    middle = [c for c in chunks if (c.para_start, c.para_end) == (1, 2)]
    assert len(middle) >= 50_000 // max_words - 1
    assert all(len(c.text.split()) == max_words for c in middle)
    # runs of words do not overlap: each word is in one chunk
    assert sum(len(c.text.split()) for c in chunks) == 50_000 + 4


def test_only_the_overlong_sentence_is_cut() -> None:
    sentences_before = " ".join(f"Kalimat nomor {i} cukup pendek." for i in range(20))
    rant = " ".join(["tanpa titik"] * 100)  # 200 words, no sentence end
    rel = release(f"{sentences_before} {rant}. Kalimat penutup yang pendek.")
    chunks = chunk_release(rel, max_words=30)
    check_invariants(rel, chunks)
    assert all(len(c.text.split()) <= 30 for c in chunks)
    whole = set(sentences(rel.paragraphs[0]))
    cut = [c for c in chunks if not set(sentences(c.text)) <= whole]
    assert cut and all("tanpa titik" in c.text for c in cut)
