"""LocalChatModel and LlamaLoader with a stand-in llama.cpp (the real one: test_local_llm.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant.answer.localllm import LlamaLoader, LocalChatModel
from assistant.errors import ConfigError


class FakeLlama:
    """Records the chat-completion call and streams a scripted reply in OpenAI-style deltas."""

    def __init__(self, reply: list[str]) -> None:
        self.reply = reply
        self.calls: list[dict[str, Any]] = []

    def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        yield {"choices": [{"delta": {"role": "assistant"}}]}
        for piece in self.reply:
            yield {"choices": [{"delta": {"content": piece}}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


class CountingLoader(LlamaLoader):
    def __init__(self, llama: FakeLlama) -> None:
        super().__init__()
        self.llama = llama
        self.loads = 0

    def _load(self, model_path: str) -> Any:
        self.loads += 1
        return self.llama


def test_streams_token_by_token_with_greedy_capped_decoding() -> None:
    llama = FakeLlama(["Deputi", " Nunung", " [1]."])
    chat = LocalChatModel(model_path="/m.gguf", max_tokens=64, loader=CountingLoader(llama))
    chunks = chat.stream([SystemMessage("sys"), HumanMessage("q"), AIMessage("a"),
                          HumanMessage("q2")])
    pieces = [c.content for c in chunks if c.content]  # LangChain adds an empty last chunk
    assert pieces == ["Deputi", " Nunung", " [1]."]
    call = llama.calls[0]
    assert [m["role"] for m in call["messages"]] == ["system", "user", "assistant", "user"]
    assert (call["temperature"], call["top_k"], call["max_tokens"], call["stream"]) == (
        0.0, 1, 64, True)


def test_invoke_joins_the_stream_and_the_model_loads_once() -> None:
    loader = CountingLoader(FakeLlama(["Ya", "."]))
    chat = LocalChatModel(model_path="/m.gguf", loader=loader)
    assert chat.invoke("halo").content == "Ya."
    assert chat.invoke("lagi").content == "Ya."
    assert loader.loads == 1 and "/m.gguf" in loader.load_seconds


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None,
                    reason="llama-cpp-python is installed here")
def test_without_llama_cpp_the_error_says_what_to_install() -> None:
    chat = LocalChatModel(model_path="/m.gguf")
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[local-llm\]'"):
        chat.invoke("halo")


def _settings(tmp_path: Any, llm: str | None, **extra: Any) -> Any:
    from assistant.config import Settings
    return Settings(index_dir=tmp_path / "index", embedder="fake", llm=llm,
                    llm_models_dir=tmp_path / "models", **extra)


def test_answer_stage_wires_the_local_model_into_the_verified_llm_answerer(
        tmp_path: Any) -> None:
    from assistant.answer.compact import CompactPrompt
    from assistant.answer.extractive import ExtractiveAnswerer
    from assistant.answer.llm import LLMAnswerer
    from assistant.answer.llmsetup import MODELS
    from assistant.answer.prompt import FullPrompt
    from assistant.index.embed import FakeEmbeddings
    from assistant.pipeline import answer_stage

    assert isinstance(answer_stage(_settings(tmp_path, None), FakeEmbeddings())[0],
                      ExtractiveAnswerer)
    with pytest.raises(ConfigError, match=r"run `assistant llm setup --model 0\.5b`"):
        answer_stage(_settings(tmp_path, "local:0.5b"), FakeEmbeddings())
    with pytest.raises(ConfigError, match="ASSISTANT_LLM='ollama' is not a backend"):
        answer_stage(_settings(tmp_path, "ollama"), FakeEmbeddings())
    (tmp_path / "models").mkdir()
    with open(tmp_path / "models" / MODELS["0.5b"].filename, "wb") as sparse:
        sparse.truncate(MODELS["0.5b"].size)  # the right size: taken as set up
    if importlib.util.find_spec("llama_cpp") is None:
        with pytest.raises(ConfigError, match="needs llama-cpp-python"):
            answer_stage(_settings(tmp_path, "local:0.5b"), FakeEmbeddings())
        return
    answerer = answer_stage(_settings(tmp_path, "local:0.5b"), FakeEmbeddings())[0]
    assert isinstance(answerer, LLMAnswerer) and isinstance(answerer.style, CompactPrompt)
    chat = answerer.chat_model
    assert isinstance(chat, LocalChatModel)  # not loaded until asked
    assert (chat.max_tokens, chat.loader.n_ctx) == (200, 2048)  # the local defaults
    assert answerer.model_name == MODELS["0.5b"].filename
    full = answer_stage(_settings(tmp_path, "local:0.5b", llm_prompt="full",
                                  llm_max_tokens=64), FakeEmbeddings())[0]
    assert isinstance(full, LLMAnswerer) and isinstance(full.style, FullPrompt)
    assert isinstance(full.chat_model, LocalChatModel) and full.chat_model.max_tokens == 64
