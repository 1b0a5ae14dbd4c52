"""Settings read once from the environment (prefix ASSISTANT_) and passed down explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable about the assistant; see README for each variable."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    index_dir: Path = Path("index")
    # "e5" (bundled multilingual-e5-small), "sentence-transformers:<dir or name>", or "fake" (tests)
    embedder: str = "e5"
    chroma_url: str | None = None  # http://host:port switches to a Chroma server
    collection: str = "releases"
    # chunking: paragraphs are packed until this many words, with one paragraph of overlap
    chunk_words: int = 120
    # 3 at most: news paragraphs are short (halves the chunks of IndoSum articles, same
    # known-item recall); release paragraphs of ~50 words still pack two to a chunk
    chunk_max_paragraphs: int = 3
    top_k: int = 5
    # weight of BM25 in the fusion, scaled by the question's term coverage (measured best
    # at 0.5 on TyDi QA-id and cross-lingual English questions; see eval/README.md)
    lexical_weight: float = 0.5
    # None: use the calibrated threshold stored in the index (or the built-in default)
    refusal_threshold: float | None = None
    max_answer_sentences: int = 5
    # web app: a users file turns login on (`assistant users add NAME`); uploads land here
    users: str | None = None
    upload_dir: Path = Path("corpus/uploads")
    upload_max_mb: float = 20.0
    upload_max_files: int = 20
