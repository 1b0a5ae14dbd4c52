"""Fusion logic on hand-made score lists (no model needed)."""

from __future__ import annotations

from assistant.retrieve import fuse, rrf, to_document
from assistant.types import Chunk, Hit


def chunk(cid: str) -> Chunk:
    return Chunk(id=cid, release_id=cid.split("#")[0], text=cid, para_start=0, para_end=1,
                 char_start=0, char_end=len(cid))


def test_zero_lexical_weight_keeps_dense_order() -> None:
    dense = [(chunk("a#0"), 0.85), (chunk("b#0"), 0.80), (chunk("c#0"), 0.78)]
    lexical = [(chunk("c#0"), 12.0), (chunk("d#0"), 9.0)]
    ranked = [h.chunk.id for h in fuse(dense, lexical, weight=0.0)]
    assert ranked[:3] == ["a#0", "b#0", "c#0"]


def test_lexical_evidence_can_lift_a_close_dense_candidate() -> None:
    dense = [(chunk("a#0"), 0.85), (chunk("b#0"), 0.84), (chunk("c#0"), 0.70)]
    lexical = [(chunk("b#0"), 10.0)]
    hits = fuse(dense, lexical, weight=0.5)
    assert hits[0].chunk.id == "b#0"
    assert hits[0].dense == 0.84 and hits[0].lexical == 10.0


def test_lexical_only_candidate_gets_no_dense_credit() -> None:
    hits = fuse([(chunk("a#0"), 0.9), (chunk("b#0"), 0.8)], [(chunk("z#0"), 5.0)], weight=0.3)
    z = next(h for h in hits if h.chunk.id == "z#0")
    assert z.score == 0.3 and z.dense is None


def test_rrf_rewards_agreement() -> None:
    dense = [(chunk("a#0"), 0.9), (chunk("b#0"), 0.8)]
    lexical = [(chunk("b#0"), 3.0), (chunk("c#0"), 2.0)]
    assert [h.chunk.id for h in rrf(dense, lexical)][0] == "b#0"


def test_langchain_document_carries_provenance() -> None:
    doc = to_document(Hit(chunk("r1#2"), 0.5, dense=0.8))
    assert doc.page_content == "r1#2" and doc.metadata["release_id"] == "r1"
    assert doc.metadata["chunk_id"] == "r1#2"


def test_langchain_retriever_invoke_honours_k_dates_and_sources(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The BaseRetriever contract: .invoke(query) -> Documents, within the filters."""
    import datetime as dt

    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    from assistant.config import Settings
    from assistant.pipeline import build
    from assistant.retrieve import Filters
    from tests.conftest import SAMPLE_RELEASE, write_release

    assistant = build(Settings(index_dir=tmp_path / "index", embedder="fake"))
    corpus = tmp_path / "corpus"
    write_release(corpus, "old.txt", SAMPLE_RELEASE.replace("(2/10/2023)", "(2/10/2021)"))
    write_release(corpus, "new.txt", SAMPLE_RELEASE)
    (corpus / "old.txt.meta.json").write_text('{"source": "Arsip"}', encoding="utf-8")
    assistant.index.ingest([corpus])
    retriever = assistant.as_retriever(k=1)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("rapat koordinasi stunting")
    assert len(docs) == 1 and isinstance(docs[0], Document) and docs[0].metadata["release_id"]
    recent = assistant.as_retriever(k=5, filters=Filters(since=dt.date(2023, 1, 1)))
    assert {d.metadata["date"][:4] for d in recent.invoke("rapat stunting")} == {"2023"}
    old_source = next(r.source for r in assistant.index.releases() if r.date.year == 2021)
    assert old_source == "Arsip"
    only_old = assistant.as_retriever(k=5, filters=Filters.of(sources=[old_source]),
                                      mode="bm25")
    assert {d.metadata["source"] for d in only_old.invoke("rapat stunting")} == {old_source}
