"""A GGUF model run in-process by llama-cpp-python, as a LangChain chat model.

`LocalChatModel` is a `BaseChatModel` (the LLM seam): generate.make_chat_model builds it for
ASSISTANT_LLM=gguf:/path and local, and generate.LLMAnswerer answers and verifies with it.
Decoding is greedy (at temperature 0) with a token cap: answers are reproducible and short.
The weights are loaded by a `LlamaLoader`, which the composition root builds once and
shares, so a model is loaded once per process and stays warm; the loader also serialises
generation, because one llama.cpp context cannot serve two requests at once.
llama-cpp-python is an optional extra and is imported only when a model is first loaded.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.errors import ConfigError

LLAMA_HINT = "pip install -e '.[local-llm]'"
ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def require_llama_cpp(install: str = LLAMA_HINT) -> None:
    """Fail now, with what to install, when llama-cpp-python is missing (not at a question)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(f"the local LLM needs llama-cpp-python: {install} (builds "
                          "llama-cpp-python==0.3.36 from source)")


class LlamaLoader:
    """Loads each GGUF file once and keeps it; one lock per model for generation."""

    def __init__(self, n_ctx: int = 2048, n_threads: int | None = None) -> None:
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.load_seconds: dict[str, float] = {}  # what loading each model cost (bench)
        self._models: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, model_path: str) -> tuple[Any, threading.Lock]:
        """The loaded llama_cpp.Llama for model_path and the lock to hold while generating."""
        with self._guard:
            if model_path not in self._models:
                start = time.perf_counter()
                self._models[model_path] = self._load(model_path)
                self.load_seconds[model_path] = time.perf_counter() - start
                self._locks[model_path] = threading.Lock()
            return self._models[model_path], self._locks[model_path]

    def _load(self, model_path: str) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ConfigError(f"the local LLM needs llama-cpp-python: {LLAMA_HINT} (builds "
                              "llama-cpp-python==0.3.36 from source)") from None
        # llama-cpp-python defaults to half the cores for generation; use them all
        threads = self.n_threads or os.cpu_count() or 1
        return Llama(model_path=model_path, n_ctx=self.n_ctx, n_threads=threads,
                     n_threads_batch=threads, n_batch=512, verbose=False)


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
                "max_tokens": self.max_tokens}

    def warm(self) -> float:
        """Load the model now (not on the first question); seconds loading took."""
        self.loader.get(self.model_path)
        return self.loader.load_seconds[self.model_path]

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llama, lock = self.loader.get(self.model_path)
        with lock:
            pieces = llama.create_chat_completion(
                messages=[_message(m) for m in messages], stream=True,
                temperature=self.temperature, top_k=1 if self.temperature == 0 else 40,
                repeat_penalty=1.0, max_tokens=kwargs.get("max_tokens", self.max_tokens),
                stop=stop or [])
            for piece in pieces:
                text = piece["choices"][0]["delta"].get("content")
                if not text:
                    continue
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


def _message(message: BaseMessage) -> dict[str, str]:
    return {"role": ROLES.get(message.type, "user"), "content": str(message.content)}
