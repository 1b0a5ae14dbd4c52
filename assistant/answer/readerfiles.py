"""The shipped reader's files: fp16 weights and the JSON record beside them (no PyTorch).

The record holds the weights' sha256, the training run, the window shape and the answer
decision fitted on the valid splits (decision.py reads it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.index.modelcache import file_sha256

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "models"
WEIGHTS_NAME = "reader-e5small"


def write_record(folder: Path, record: dict[str, Any]) -> None:
    """The reader's JSON record, written whole."""
    path = folder / f"{WEIGHTS_NAME}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def reader_record(folder: Path = WEIGHTS_DIR) -> dict[str, Any]:
    """The JSON record of the shipped reader (config, decision, training run, sha256)."""
    path = folder / f"{WEIGHTS_NAME}.json"
    if not path.is_file():
        raise ConfigError(f"no trained reader in {folder}: train one with "
                          "`python tools/train_reader.py` or set ASSISTANT_ANSWERER=extractive")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def checked_weights(folder: Path = WEIGHTS_DIR) -> Path:
    """The shipped weights file, after its sha256 matched the record's."""
    record = reader_record(folder)
    weights = folder / f"{WEIGHTS_NAME}.safetensors"
    if not weights.is_file() or file_sha256(weights) != record["sha256"]:
        raise ConfigError(f"{weights} is missing or fails its sha256 check: restore it from "
                          "git (`git checkout -- assistant/models`) or retrain the reader")
    return weights
