"""LocalChatModel, LlamaLoader and the two llama.cpp engines with stand-ins (the real model:
test_local_llm.py, `make test-llm`)."""

from __future__ import annotations

import importlib.machinery
import os
import stat
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant.answer import localllm
from assistant.answer.localllm import LlamaLoader, LocalChatModel, XllamacppEngine
from assistant.errors import ConfigError


class FakeEngine:
    """Records each request and streams a scripted reply."""

    def __init__(self, reply: list[str]) -> None:
        self.reply = reply
        self.calls: list[dict[str, Any]] = []

    def stream(self, messages: list[dict[str, str]], max_tokens: int, temperature: float,
               stop: list[str]) -> Iterator[str]:
        self.calls.append({"messages": messages, "max_tokens": max_tokens,
                           "temperature": temperature, "stop": stop})
        yield from self.reply


class CountingLoader(LlamaLoader):
    def __init__(self, engine: FakeEngine) -> None:
        super().__init__()
        self.engine = engine
        self.loads = 0

    def _load(self, model_path: str) -> Any:
        self.loads += 1
        return self.engine


def test_streams_token_by_token_with_greedy_capped_decoding() -> None:
    engine = FakeEngine(["Deputi", " Nunung", " [1]."])
    chat = LocalChatModel(model_path="/m.gguf", max_tokens=64, loader=CountingLoader(engine))
    chunks = chat.stream([SystemMessage("sys"), HumanMessage("q"), AIMessage("a"),
                          HumanMessage("q2")])
    pieces = [c.content for c in chunks if c.content]  # LangChain adds an empty last chunk
    assert pieces == ["Deputi", " Nunung", " [1]."]
    call = engine.calls[0]
    assert [m["role"] for m in call["messages"]] == ["system", "user", "assistant", "user"]
    assert (call["temperature"], call["max_tokens"]) == (0.0, 64)


def test_invoke_joins_the_stream_and_the_model_loads_once() -> None:
    loader = CountingLoader(FakeEngine(["Ya", "."]))
    chat = LocalChatModel(model_path="/m.gguf", loader=loader)
    assert chat.invoke("halo").content == "Ya."
    assert chat.invoke("lagi", max_tokens=1).content == "Ya."
    assert loader.loads == 1 and "/m.gguf" in loader.load_seconds
    assert loader.engine.calls[1]["max_tokens"] == 1  # the warm-up's one token


# which binding, and whether it can run here ----------------------------------------------


def test_without_xllamacpp_the_error_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # find_spec: not installed
    chat = LocalChatModel(model_path="/m.gguf")
    with pytest.raises(ConfigError, match=r"needs xllamacpp: pip install -e '\.\[local-llm\]'"):
        chat.invoke("halo")


def test_the_source_built_binding_says_it_needs_a_compiler(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ConfigError, match=r"'\.\[llama-cpp-python\]' \(builds llama\.cpp from "
                       "source: needs a C\\+\\+ compiler"):
        localllm.require_backend("llama-cpp-python")


def test_an_unknown_backend_lists_the_bindings() -> None:
    with pytest.raises(ConfigError, match="'ollama' is not a llama.cpp binding: use xllamacpp "
                       "or llama-cpp-python"):
        localllm.require_backend("ollama")


@pytest.mark.parametrize(("flags", "missing"), [
    ("fpu sse2 avx avx2 fma f16c bmi2 avx512f amx_tile amx_int8 amx_bf16", []),  # this kind
    ("fpu sse2 avx avx2 fma f16c bmi2", []),  # Haswell, Zen
    ("fpu sse2 sse4_2 avx", ["avx2", "fma", "f16c", "bmi2"]),  # Sandy Bridge
])
def test_cpu_flags_the_prebuilt_engine_needs(tmp_path: Path, flags: str,
                                             missing: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(localllm.platform, "machine", lambda: "x86_64")
    assert localllm.missing_cpu_flags(cpuinfo) == missing
    monkeypatch.setattr(localllm.platform, "machine", lambda: "aarch64")
    assert localllm.missing_cpu_flags(cpuinfo) == []  # not an x86 wheel question


def test_a_cpu_without_avx2_is_told_to_use_the_source_build(
        monkeypatch: pytest.MonkeyPatch, fake_xllamacpp: types.ModuleType) -> None:
    monkeypatch.setattr(localllm, "missing_cpu_flags", lambda: ["avx2", "fma"])
    with pytest.raises(ConfigError, match="this CPU lacks avx2, fma, which the prebuilt "
                       "xllamacpp needs: set ASSISTANT_LLM_BACKEND=llama-cpp-python"):
        localllm.require_backend("xllamacpp")


# the xllamacpp engine against a stand-in for its Server -----------------------------------


class FakeServer:
    """xllamacpp.Server: handle_chat_completions calls back once per chunk, in its thread."""

    instances: list[FakeServer] = []

    def __init__(self, params: Any) -> None:
        if params.model.path.endswith("broken.gguf"):
            raise RuntimeError("Failed to init server, please check the input params.")
        self.params = params
        self.requests: list[dict[str, Any]] = []
        self.sent = 0  # chunks handed to the callback
        self.reply: list[Any] = ["Halo", " dari", " Guangxi", " [1]", "."]
        self.delay = 0.0  # seconds per chunk, as a model takes
        FakeServer.instances.append(self)

    def handle_chat_completions(self, request: dict[str, Any], callback: Any) -> None:
        self.requests.append(request)
        chunks = [{"choices": [{"delta": {"role": "assistant", "content": None}}]}]
        chunks += [piece if isinstance(piece, dict) else
                   {"choices": [{"delta": {"content": piece}}]} for piece in self.reply]
        for chunk in chunks:
            time.sleep(self.delay)
            self.sent += 1
            if callback(chunk):  # the reader has gone: stop generating
                return


@pytest.fixture
def fake_xllamacpp(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A stand-in xllamacpp module with CommonParams and Server."""

    def params() -> Any:
        cpu = types.SimpleNamespace(n_threads=-1)
        return types.SimpleNamespace(model=types.SimpleNamespace(path=""), n_ctx=4096,
                                     n_parallel=4, cache_ram_mib=8192, cpuparams=cpu,
                                     cpuparams_batch=types.SimpleNamespace(n_threads=-1),
                                     verbosity=3, hostnames=["127.0.0.1"], api_keys=[])

    module = types.ModuleType("xllamacpp")
    module.__spec__ = importlib.machinery.ModuleSpec("xllamacpp", None)
    module.CommonParams = params  # type: ignore[attr-defined]
    module.Server = FakeServer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xllamacpp", module)
    monkeypatch.setattr(localllm, "missing_cpu_flags", lambda: [])
    FakeServer.instances.clear()
    return module


def test_xllamacpp_engine_keeps_cached_slots_behind_a_private_socket(
        fake_xllamacpp: types.ModuleType) -> None:
    engine = XllamacppEngine("/models/qwen.gguf", n_ctx=2048, threads=2)
    params = engine.server.params
    # two slots of 2048 tokens: answers keep the head in one, follow-up condensation the other
    assert (params.model.path, params.n_ctx, params.n_parallel) == ("/models/qwen.gguf", 4096, 2)
    assert params.cache_ram_mib == 0 and params.verbosity == -1
    assert params.cpuparams.n_threads == params.cpuparams_batch.n_threads == 2
    socket_path = Path(params.hostnames[0])
    assert params.hostnames == [str(socket_path)] and socket_path.name == "llm.sock"
    assert stat.S_IMODE(os.stat(socket_path.parent).st_mode) == 0o700  # this user only
    assert len(params.api_keys) == 1 and len(params.api_keys[0]) == 32
    assert XllamacppEngine("/m.gguf", 2048, 2).server.params.api_keys != params.api_keys


def test_xllamacpp_engine_streams_greedy_with_the_prompt_cache(
        fake_xllamacpp: types.ModuleType) -> None:
    engine = XllamacppEngine("/models/qwen.gguf", n_ctx=2048, threads=2)
    messages = [{"role": "system", "content": "rules"}, {"role": "user", "content": "q"}]
    assert list(engine.stream(messages, 64, 0.0, ["\n\n"])) == [
        "Halo", " dari", " Guangxi", " [1]", "."]
    request = engine.server.requests[0]
    assert request["messages"] == messages and request["stream"] is True
    assert (request["max_tokens"], request["temperature"], request["top_k"]) == (64, 0.0, 1)
    assert request["cache_prompt"] is True and request["stop"] == ["\n\n"]


def test_a_reader_that_stops_early_stops_the_generation(
        fake_xllamacpp: types.ModuleType) -> None:
    engine = XllamacppEngine("/models/qwen.gguf", n_ctx=2048, threads=2)
    engine.server.reply, engine.server.delay = ["Halo"] * 200, 0.005
    pieces = engine.stream([{"role": "user", "content": "q"}], 200, 0.0, [])
    assert next(pieces) == "Halo"
    pieces.close()
    for thread in threading.enumerate():
        if thread.name == "xllamacpp-request":
            thread.join(timeout=10)
    assert engine.server.sent < 100  # the callback said stop long before the reply's end


@pytest.mark.parametrize("reply", [
    [{"error": {"code": 400, "message": "request (2529 tokens) exceeds the available context "
                                        "size (2048 tokens), try increasing it"}}],
    ["Halo", {"error": {"code": 500, "message": "exceeds the available context size"}}],
])
def test_an_error_chunk_raises_with_llama_cpp_message(fake_xllamacpp: types.ModuleType,
                                                      reply: list[Any]) -> None:
    engine = XllamacppEngine("/models/qwen.gguf", n_ctx=2048, threads=2)
    engine.server.reply = reply
    with pytest.raises(RuntimeError, match="llama.cpp: .*exceeds the available context size"):
        list(engine.stream([{"role": "user", "content": "q"}], 64, 0.0, []))


def test_a_file_llama_cpp_cannot_load_is_a_config_error(
        fake_xllamacpp: types.ModuleType) -> None:
    with pytest.raises(ConfigError, match="llama.cpp could not load /m/broken.gguf"):
        XllamacppEngine("/m/broken.gguf", n_ctx=2048, threads=2)


def test_the_loader_builds_the_configured_engine_once(fake_xllamacpp: types.ModuleType) -> None:
    loader = LlamaLoader(n_ctx=1024, n_threads=3, backend="xllamacpp")
    chat = LocalChatModel(model_path="/models/qwen.gguf", max_tokens=8, loader=loader)
    assert chat.invoke("halo").content == "Halo dari Guangxi [1]."
    assert chat.invoke("lagi").content == "Halo dari Guangxi [1]."
    assert len(FakeServer.instances) == 1
    params = FakeServer.instances[0].params
    assert (params.n_ctx, params.cpuparams.n_threads) == (2048, 3)
    assert FakeServer.instances[0].requests[0]["max_tokens"] == 8


# the answer stage's wiring ----------------------------------------------------------------


def _settings(tmp_path: Any, llm: str | None, **extra: Any) -> Any:
    from assistant.config import Settings
    return Settings(index_dir=tmp_path / "index", embedder="fake", llm=llm,
                    llm_models_dir=tmp_path / "models", **extra)


def test_answer_stage_wires_the_local_model_into_the_verified_llm_answerer(
        tmp_path: Any, fake_xllamacpp: types.ModuleType,
        monkeypatch: pytest.MonkeyPatch) -> None:
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
    answerer = answer_stage(_settings(tmp_path, "local:0.5b"), FakeEmbeddings())[0]
    assert isinstance(answerer, LLMAnswerer) and isinstance(answerer.style, CompactPrompt)
    chat = answerer.chat_model
    assert isinstance(chat, LocalChatModel) and FakeServer.instances == []  # loaded when asked
    assert (chat.max_tokens, chat.loader.n_ctx, chat.loader.backend) == (200, 2048, "xllamacpp")
    assert answerer.model_name == MODELS["0.5b"].filename
    full = answer_stage(_settings(tmp_path, "local:0.5b", llm_prompt="full",
                                  llm_max_tokens=64), FakeEmbeddings())[0]
    assert isinstance(full, LLMAnswerer) and isinstance(full.style, FullPrompt)
    assert isinstance(full.chat_model, LocalChatModel) and full.chat_model.max_tokens == 64
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ConfigError, match=r"needs llama-cpp-python: pip install -e "
                       r"'\.\[llama-cpp-python\]'"):
        answer_stage(_settings(tmp_path, "local:0.5b", llm_backend="llama-cpp-python"),
                     FakeEmbeddings())
