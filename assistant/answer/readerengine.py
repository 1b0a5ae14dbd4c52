"""The reader's network in onnxruntime: windows of token ids in, span and answerability
logits out. No PyTorch at question time.

The graph is exported from the shipped weights once per machine into the model cache
(readermodel.export_reader, the only step that needs PyTorch) and checked against its
recorded sha256 on every load; its name carries the weights' sha256, so new weights get a
new graph. It runs in float32: the same answer on every x86-64 CPU, whatever its kernels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.windows import PAD, Shape, Tokenizer
from assistant.errors import ConfigError
from assistant.index.modelcache import cached, model_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Logits:
    """The network's output for a batch of windows (rows padded to the longest)."""

    start: np.ndarray  # [windows, tokens]
    end: np.ndarray  # [windows, tokens]
    answer: np.ndarray  # [windows]: answerability logits


class ReaderEngine:
    """The loaded reader: its tokenizer, window shape and onnxruntime session."""

    def __init__(self, session: Any, tokenizer: Tokenizer, shape: Shape,
                 record: dict[str, Any]) -> None:
        self.session, self.tokenizer, self.shape, self.record = session, tokenizer, shape, record

    def run(self, windows: Sequence[Sequence[int]]) -> Logits:
        """Logits of each window (token ids with special tokens)."""
        width = max(len(w) for w in windows)
        ids = np.full((len(windows), width), PAD, dtype=np.int64)
        mask = np.zeros((len(windows), width), dtype=np.int64)
        for i, row in enumerate(windows):
            ids[i, : len(row)], mask[i, : len(row)] = row, 1
        start, end, answer = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return Logits(start, end, answer)


def reader_onnx(model_cache: Path, folder: Path, sha256: str) -> Path:
    """The reader's ONNX graph in the model cache, exported on first use."""
    def build(tmp: Path) -> None:
        from assistant.answer.readermodel import export_reader  # PyTorch: only to convert

        log.info("converting the reader for onnxruntime (once per machine)")
        export_reader(model_cache, folder, tmp)

    return cached(model_dir(model_cache) / f"reader-{sha256[:16]}-fp32.onnx", build)


def load_engine(model_cache: Path, folder: Path | None = None, threads: int = 0
                ) -> ReaderEngine:
    """The shipped reader, checked and converted on first use; threads 0: all cores."""
    import onnxruntime as ort

    from assistant.answer.readerfiles import WEIGHTS_DIR, checked_weights, reader_record
    from assistant.index.e5tokenizer import load_tokenizer

    folder = folder or WEIGHTS_DIR
    began = time.perf_counter()
    record = reader_record(folder)
    checked_weights(folder)
    path = reader_onnx(model_cache, folder, record["sha256"])
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        raise ConfigError(f"cannot load the reader graph {path}: {exc}; delete it to "
                          "convert it again") from exc
    tokenizer = load_tokenizer(model_cache)
    tokenizer.no_truncation()
    fields = {k: v for k, v in record["config"].items() if k in Shape.__dataclass_fields__}
    log.info("reader loaded in %.1f s", time.perf_counter() - began)
    return ReaderEngine(session, tokenizer, Shape(**fields), record)
