"""A GGUF model run in-process by llama.cpp, as a LangChain chat model.

`LocalChatModel` is a `BaseChatModel` (the LLM seam): llm.make_chat_model builds it for
ASSISTANT_LLM=gguf:/path and local, and llm.LLMAnswerer answers and verifies with it.
Decoding is greedy (at temperature 0) with a token cap: answers are reproducible and short.
The weights are loaded by a `LlamaLoader`, which the composition root builds once and
shares, so a model is loaded once per process and stays warm; the loader also serialises
generation, because one llama.cpp context cannot serve two requests at once.

Two engines run the model (ASSISTANT_LLM_BACKEND), each imported only when a model first
loads. `xllamacpp` (the default) is a prebuilt wheel: no compiler, runs on every x86-64 CPU
with AVX2 (its build uses no AVX-512 or AMX code, whose AMX path crashed a source build),
and runs llama.cpp's own server code in-process, whose prompt cache keeps the prompt's
fixed head evaluated between questions, follow-ups included (SLOTS). `llama-cpp-python`
is built from source for this CPU by pip.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import queue
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.errors import ConfigError

ROLES = {"system": "system", "human": "user", "ai": "assistant"}
DEFAULT_BACKEND = "xllamacpp"
# backend -> (module, how to install it)
BACKENDS = {
    "xllamacpp": ("xllamacpp", "pip install -e '.[local-llm]' (a prebuilt wheel, no compiler)"),
    "llama-cpp-python": ("llama_cpp", "pip install -e '.[llama-cpp-python]' (builds llama.cpp "
                         "from source: needs a C++ compiler, 10-50 minutes on 2 cores)"),
}
# what the prebuilt xllamacpp wheel's code uses (x86-64-v3: Intel 2013+, AMD 2015+)
PREBUILT_CPU_FLAGS = ("avx2", "fma", "f16c", "bmi2")
# xllamacpp's slots, each with its own context and cached prompt: llama.cpp gives a request
# the slot whose prompt it shares most with, so answers keep the fixed head in one and
# follow-up condensation (another prompt) takes the other; with one slot every follow-up
# evicted the head (measured: 130 of 133 prompt tokens evaluated again, 7 with two slots)
SLOTS = 2
Message = dict[str, str]


def require_backend(backend: str = DEFAULT_BACKEND, install: str | None = None) -> None:
    """Fail now, saying what to install or set, when the backend is missing or cannot run."""
    if backend not in BACKENDS:
        raise ConfigError(f"ASSISTANT_LLM_BACKEND={backend!r} is not a llama.cpp binding: "
                          f"use {' or '.join(BACKENDS)}")
    module, hint = BACKENDS[backend]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"the local LLM needs {backend}: {install or hint}")
    missing = missing_cpu_flags() if backend == "xllamacpp" else []
    if missing:
        raise ConfigError(f"this CPU lacks {', '.join(missing)}, which the prebuilt xllamacpp "
                          "needs: set ASSISTANT_LLM_BACKEND=llama-cpp-python and "
                          f"{BACKENDS['llama-cpp-python'][1]}")


def missing_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The x86-64 features the prebuilt engine needs that this CPU lacks ([] when unknown)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not cpuinfo.is_file():
        return []
    line = next((line for line in cpuinfo.read_text().splitlines()
                 if line.startswith("flags")), "")
    flags = set(line.partition(":")[2].split())
    return [flag for flag in PREBUILT_CPU_FLAGS if flag not in flags] if flags else []


class Engine(Protocol):
    """A loaded model that streams a greedy (or sampled) chat reply as text pieces."""

    def stream(self, messages: list[Message], max_tokens: int, temperature: float,
               stop: list[str]) -> Iterator[str]: ...


class XllamacppEngine:
    """llama.cpp's server code in-process (xllamacpp): slots whose prompts stay cached."""

    def __init__(self, model_path: str, n_ctx: int, threads: int) -> None:
        try:
            import xllamacpp
        except ImportError as exc:  # the module is there (require_backend) but cannot load
            gomp = " (apt-get install libgomp1)" if "libgomp" in str(exc) else ""
            raise ConfigError(f"xllamacpp cannot load: {exc}{gomp}") from exc
        params = xllamacpp.CommonParams()
        params.model.path = model_path
        params.n_ctx = n_ctx * SLOTS  # shared out: n_ctx per slot (~56 MB each for 1.5B)
        params.n_parallel = SLOTS
        params.cache_ram_mib = 0  # no extra host-RAM prompt store (default: up to 8 GiB)
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = -1
        # the engine always listens too: on a socket in a private folder, behind a random key
        self._folder = tempfile.TemporaryDirectory(prefix="assistant-llm-")
        params.hostnames = [str(Path(self._folder.name) / "llm.sock")]
        params.api_keys = [secrets.token_hex(16)]
        try:
            self.server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise ConfigError(f"llama.cpp could not load {model_path} (not a GGUF model, or "
                              "truncated?)") from exc

    def stream(self, messages: list[Message], max_tokens: int, temperature: float,
               stop: list[str]) -> Iterator[str]:
        """The reply's text pieces; the engine calls back from a worker thread."""
        request = {"messages": messages, "stream": True, "max_tokens": max_tokens,
                   "temperature": temperature, "top_k": 1 if temperature == 0 else 40,
                   "repeat_penalty": 1.0, "stop": stop, "cache_prompt": True}
        pieces: queue.Queue[Any] = queue.Queue()
        done, closed = object(), threading.Event()

        def on_chunk(chunk: Any) -> bool:
            pieces.put(chunk)
            return closed.is_set()  # True stops generation once the reader has gone

        def run() -> None:
            try:
                self.server.handle_chat_completions(request, on_chunk)
            except Exception as exc:  # noqa: BLE001 - re-raised in the reading thread
                pieces.put(exc)
            pieces.put(done)

        threading.Thread(target=run, name="xllamacpp-request", daemon=True).start()
        try:
            while (chunk := pieces.get()) is not done:
                yield from _chunk_text(chunk)
        finally:
            closed.set()


def _chunk_text(chunk: Any) -> Iterator[str]:
    """The text of one streamed chunk; an error chunk or exception raises."""
    if isinstance(chunk, Exception):
        raise chunk
    if "error" in chunk:
        raise RuntimeError(f"llama.cpp: {chunk['error'].get('message', chunk['error'])}")
    for choice in chunk.get("choices") or ():
        text = (choice.get("delta") or {}).get("content")
        if text:
            yield text


class LlamaCppPythonEngine:
    """llama-cpp-python's Llama (built from source), chat template from the GGUF file."""

    def __init__(self, model_path: str, n_ctx: int, threads: int) -> None:
        from llama_cpp import Llama

        self.llama = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=threads,
                           n_threads_batch=threads, n_batch=512, verbose=False)

    def stream(self, messages: list[Message], max_tokens: int, temperature: float,
               stop: list[str]) -> Iterator[str]:
        """The reply's text pieces (llama-cpp-python reuses the prompt prefix it last saw)."""
        pieces = self.llama.create_chat_completion(
            messages=messages, stream=True, temperature=temperature,
            top_k=1 if temperature == 0 else 40, repeat_penalty=1.0, max_tokens=max_tokens,
            stop=stop)
        for piece in pieces:
            text = piece["choices"][0]["delta"].get("content")
            if text:
                yield text


ENGINES: dict[str, type[XllamacppEngine] | type[LlamaCppPythonEngine]] = {
    "xllamacpp": XllamacppEngine, "llama-cpp-python": LlamaCppPythonEngine}


class LlamaLoader:
    """Loads each GGUF file once and keeps it; one lock per model for generation."""

    def __init__(self, n_ctx: int = 2048, n_threads: int | None = None,
                 backend: str = DEFAULT_BACKEND) -> None:
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.backend = backend
        self.load_seconds: dict[str, float] = {}  # what loading each model cost (bench)
        self._models: dict[str, Engine] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, model_path: str) -> tuple[Engine, threading.Lock]:
        """The loaded engine for model_path and the lock to hold while generating."""
        with self._guard:
            if model_path not in self._models:
                start = time.perf_counter()
                self._models[model_path] = self._load(model_path)
                self.load_seconds[model_path] = time.perf_counter() - start
                self._locks[model_path] = threading.Lock()
            return self._models[model_path], self._locks[model_path]

    def _load(self, model_path: str) -> Engine:
        require_backend(self.backend)
        # llama.cpp defaults to fewer threads than cores for generation; use them all
        threads = self.n_threads or os.cpu_count() or 1
        return ENGINES[self.backend](model_path, self.n_ctx, threads)


class LocalChatModel(BaseChatModel):
    """A local GGUF chat model: greedy, capped, streaming token by token."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    model_name: str = "local"  # what answers report as their model
    max_tokens: int = 200
    temperature: float = 0.0  # 0: greedy
    loader: LlamaLoader = Field(default_factory=LlamaLoader, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model_path": self.model_path,
                "max_tokens": self.max_tokens, "backend": self.loader.backend}

    def warm(self) -> float:
        """Load the model now (not on the first question); seconds loading took."""
        self.loader.get(self.model_path)
        return self.loader.load_seconds[self.model_path]

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        engine, lock = self.loader.get(self.model_path)
        with lock:
            for text in engine.stream([_message(m) for m in messages],
                                      kwargs.get("max_tokens", self.max_tokens),
                                      self.temperature, stop or []):
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        text = "".join(str(c.message.content)
                       for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def _message(message: BaseMessage) -> Message:
    return {"role": ROLES.get(message.type, "user"), "content": str(message.content)}
