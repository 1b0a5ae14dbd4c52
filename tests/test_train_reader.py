"""The reader's training script end to end on a few questions: prepare (windows and hard
negatives), train (resumable), ship, and the shipped files load and convert for onnxruntime
with the same logits as PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.index.modelcache import model_dir
from tools.train_reader import DATA, main

MODEL_DIR = Path(__file__).parent / "artifacts" / "e5-models"


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A model cache holding the converted e5 (linked), where a reader graph may be written."""
    source, target = model_dir(MODEL_DIR), model_dir(tmp_path / "cache")
    target.mkdir(parents=True)
    for name in ("encoder-f32.safetensors", "tokenizer.json"):
        for suffix in ("", ".sha256"):
            (target / f"{name}{suffix}").symlink_to(source / f"{name}{suffix}")
    return tmp_path / "cache"


@pytest.mark.slow
def test_training_script_prepares_trains_resumes_and_ships(tmp_path: Path, cache: Path) -> None:
    if not (DATA / "facqa_train.jsonl").is_file():
        pytest.skip(f"{DATA} not found: the training smoke run needs ../shared/data")
    import torch

    from assistant.answer.readerengine import load_engine
    from assistant.answer.readerfiles import reader_record
    from assistant.answer.readermodel import load_torch_reader, pad_batch

    windows, work, out = tmp_path / "windows.pt", tmp_path / "run", tmp_path / "shipped"
    common = ["--model-cache", str(cache), "--windows", str(windows)]
    main([*common, "prepare", "--limit", "4", "--hard-rate", "1.0"])
    counts = torch.load(windows)["counts"]
    assert counts["answer"] > 0 and counts["hard"] > 0 and counts["unanswerable"] > 0
    train = [*common, "train", "--work-dir", str(work), "--epochs", "2",
             "--batch-tokens", "1024", "--log-every", "1"]
    main(train)
    summary = json.loads((work / "summary.json").read_text())
    assert summary["steps"] == summary["planned_steps"] > 0 and summary["epochs_done"] == 2
    main(train)  # resuming a finished run trains nothing more
    assert json.loads((work / "summary.json").read_text())["steps"] == summary["steps"]
    with pytest.raises(SystemExit, match="other options"):
        main([*train[:-4], "--lr", "1e-3"])  # the same folder for another run is refused
    main([*common, "ship", "--work-dir", str(work), "--out", str(out)])
    record = reader_record(out)
    assert record["training"]["steps"] == summary["steps"] and len(record["sha256"]) == 64
    torch_reader = load_torch_reader(cache, out)
    engine = load_engine(cache, out)  # converted to ONNX on first use, in the cache
    ids = [engine.tokenizer.encode("query: Kapan audiensi?").ids,
           engine.tokenizer.encode("passage: Audiensi berlangsung pada Jumat 29/9/2023.").ids]
    got = engine.run(ids)
    with torch.inference_mode():
        start, end, answer = torch_reader(*pad_batch(ids))
    mask = np.array([[i < len(r) for i in range(got.start.shape[1])] for r in ids])
    assert np.allclose(got.start[mask], start.numpy()[mask], atol=1e-3)
    assert np.allclose(got.answer, answer.numpy(), atol=1e-3)
