"""Settings read once from the environment (prefix ASSISTANT_) and passed down explicitly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
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
    # the answer stage: "extractive" (scored sentences) or "reader" (the trained reader:
    # short answer span + answerability, assistant/reader.py; see eval/README.md)
    answerer: str = "extractive"
    reader_passages: int = 3  # passages the reader reads per question (a pass each)
    # None: the reader's threshold calibrated on the valid splits (assistant/models/*.json)
    reader_threshold: float | None = None
    # questions: longer ones are refused with a message (422 from the API); embedding time
    # grows with length and one long question must not hold up everyone else's. The history
    # limit counts the earlier questions a follow-up is read with.
    max_question_chars: int = 1000
    max_history_chars: int = 3000
    # web app: a users file turns login on (`assistant users add NAME`); uploads land here
    users: str | None = None
    # password guessing: after this many failed logins of one name from one address within
    # the window (or 4x as many over all names), that client waits (429, Retry-After)
    login_max_failures: int = 5
    login_window_seconds: float = 300.0
    upload_dir: Path = Path("corpus/uploads")
    upload_max_mb: float = 20.0
    upload_max_files: int = 20
    # request bodies (web/limits.py): an upload request's total (a few releases with photos
    # are tens of MB), any other request's (a question with its history is a few KB)
    upload_max_request_mb: float = 100.0
    max_json_kb: float = 512.0
    # ingest limits: a file over one is reported in one line naming the variable and skipped,
    # so one runaway file cannot stall or exhaust an ingest. A release is ~10 chunks; the
    # largest real reports (~200 pages) make ~1,500, and at ~8 chunks/s on 2 cores 2,000
    # chunks already take ~4 minutes to embed. 20 MB matches upload_max_mb (a release PDF
    # with photos is 0.1-5 MB). Unpacked: the bytes inflated from one compressed part
    # (DOCX XML, a PDF stream); images inside a DOCX are never unpacked, so they do not count.
    # 2 M characters is ~300,000 words, past the chunk limit for ordinary prose.
    max_file_mb: float = 20.0
    max_unpacked_mb: float = 50.0
    max_text_chars: int = 2_000_000
    max_release_chunks: int = 2_000
    # LLM answers (generate.py): None keeps the extractive answer. "openai" is any
    # OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API) at
    # llm_base_url; "gguf:/path/model.gguf" runs a local model (pip install -e '.[llm]');
    # "local" / "local:0.5b" the Qwen2.5-Coder GGUF assembled by `assistant llm setup`
    llm: str | None = None
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:11434/v1 (Ollama)
    llm_model: str = ""  # the server's model name; a GGUF file's name by default
    llm_api_key: SecretStr | None = None  # never logged or shown; servers without one: unset
    llm_timeout_s: float = 60.0  # per request (a streamed answer: between two chunks)
    llm_max_retries: int = 2  # retries on connection errors, 408/429/5xx, with backoff
    # new tokens per answer; None: 200 for local (a small model on a CPU pays per token),
    # 512 for openai and gguf
    llm_max_tokens: int | None = None
    llm_temperature: float = 0.0
    # gguf/local: the context window (n_ctx); None: 2048 for local (compact sources), 4096
    llm_context_tokens: int | None = None
    llm_threads: int | None = None  # gguf/local: CPU threads (None: all cores)
    # gguf/local: the in-process llama.cpp binding. "xllamacpp": a prebuilt wheel (no
    # compiler; AVX2 CPUs) whose llama.cpp server code keeps the prompt's fixed head cached;
    # "llama-cpp-python": built from source for this CPU (pip install -e '.[llama-cpp-python]')
    llm_backend: Literal["xllamacpp", "llama-cpp-python"] = "xllamacpp"
    # the prompt: "full" (the retrieved passages whole) or "compact" (the extractive stage's
    # best sentences with the one before, and worked examples); None: compact for local
    llm_prompt: Literal["full", "compact"] | None = None
    # where `assistant llm setup` puts the assembled local models; None: one machine-wide
    # cache every index shares, $XDG_CACHE_HOME/kemenko-assistant/llm (~/.cache/...)
    llm_models_dir: Path | None = None
    # an answer sentence the sources do not support: "mark" it (shown flagged, JSON
    # supported=false) or "drop" it
    unsupported: Literal["mark", "drop"] = "mark"
    # None: the calibrated similarity above which a passage sentence supports an answer
    # sentence, per language (verify.SUPPORT_THRESHOLDS, see eval/README.md)
    support_threshold: float | None = None

    @property
    def local_models_dir(self) -> Path:
        """The folder the local LLM's assembled weights live in (shared by every index)."""
        return Path(self.llm_models_dir or user_cache_dir() / "llm")


def user_cache_dir() -> Path:
    """This user's cache folder for the assistant: $XDG_CACHE_HOME/kemenko-assistant."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG spec says a relative value is invalid and must be ignored
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "kemenko-assistant"
