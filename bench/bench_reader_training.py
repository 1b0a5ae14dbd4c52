"""Training throughput of the reader: the new loop against the one it replaced, same batches.

    python bench/bench_reader_training.py --steps 12        # prints a table, writes JSON

Both loops train on the same prepared windows (tools/train_reader.py prepare), on this
machine, in one run:
- `old, first epoch`: the replaced loop (4e96955): 9 of 12 layers frozen, their output
  computed without gradients, then 3 layers and the heads trained, fp32.
- `old, cached epochs`: the same loop once the frozen layers' output is cached: only the
  top 3 layers run (the frozen part costs nothing then).
- `new, fp32` and `new, bf16`: all 12 layers trained (word embeddings frozen), in fp32 and
  under bf16 autocast (AMX where the CPU has it).
Windows per second counts windows of the batches timed; the first step of each is a warm-up
and not counted. Run it alone: other jobs on the 2 cores slow torch 4-6x.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.readermodel import Reader, ReaderConfig, pad_batch  # noqa: E402
from assistant.index.e5convert import load_encoder  # noqa: E402
from tools.train_reader import (  # noqa: E402
    BUILD,
    load_examples,
    loss_of,
    optimizer_of,
    plan_batches,
)

OLD_FROZEN = 9


def old_step(reader: Reader, optimizer: torch.optim.Optimizer, batch: list, cached: bool
             ) -> None:
    """One step of the replaced loop: frozen layers without gradients, top 3 trained."""
    ids, mask = pad_batch([e.ids for e in batch])
    enc = reader.encoder
    if cached:  # later epochs read the frozen output from disk: not timed
        with torch.no_grad():
            states = _frozen(enc, ids, mask)
        start = time.perf_counter()
    else:
        start = time.perf_counter()
        with torch.no_grad():
            states = _frozen(enc, ids, mask)
    bias = (1.0 - mask[:, None, None, :].float()) * -1e4
    x = states
    for layer in enc.layers[OLD_FROZEN:]:
        x = layer(x, bias)
    s, e, a = reader.heads(x, mask)
    loss = s.logsumexp(-1).mean() + e.logsumexp(-1).mean() + a.mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    old_step.seconds = time.perf_counter() - start  # type: ignore[attr-defined]


def _frozen(enc: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    positions = torch.arange(ids.shape[1])
    x = enc.embed_norm(enc.word(ids) + enc.position(positions)[None] + enc.token_type.weight[0])
    bias = (1.0 - mask[:, None, None, :].float()) * -1e4
    for layer in enc.layers[:OLD_FROZEN]:
        x = layer(x, bias)
    return x


def new_step(reader: Reader, optimizer: torch.optim.Optimizer, batch: list, bf16: bool
             ) -> float:
    """One step of the new loop (the training script's own loss); its seconds."""
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = loss_of(reader, batch)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(reader.parameters(), 1.0)
    optimizer.step()
    return time.perf_counter() - start


def measure(name: str, batches: list[list], step) -> dict:  # type: ignore[no-untyped-def]
    """Windows per second over the batches (the first one is a warm-up)."""
    seconds, windows = 0.0, 0
    for n, batch in enumerate(batches):
        took = step(batch)
        if n:
            seconds += took
            windows += len(batch)
    row = {"loop": name, "windows": windows, "seconds": round(seconds, 2),
           "windows_per_s": round(windows / seconds, 2),
           "s_per_window": round(seconds / windows, 4)}
    print(f"{name:22s} {row['windows_per_s']:7.2f} windows/s  {row['s_per_window']:.4f} s/window")
    return row


def main() -> None:
    """Time each loop on the same batches; print and write the figures."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--windows", type=Path, default=BUILD / "windows.pt")
    p.add_argument("--model-cache", type=Path, default=ROOT / "tests" / "artifacts" / "e5-models")
    p.add_argument("--steps", type=int, default=12, help="batches per loop (+1 warm-up)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reader_training.json")
    args = p.parse_args()
    torch.set_num_threads(2)
    examples = load_examples(args.windows, 1.0)
    planned = plan_batches(examples, 4096, 13)
    picked = [planned[i] for i in range(0, len(planned), max(1, len(planned) // (args.steps + 1)))]
    batches = [[examples[i] for i in b] for b in picked[: args.steps + 1]]
    rows = []
    reader = Reader(load_encoder(args.model_cache), ReaderConfig())
    optimizer = optimizer_of(reader, 1e-5, 1e-5)
    rows.append(measure("new, bf16", batches, lambda b: new_step(reader, optimizer, b, True)))
    rows.append(measure("new, fp32", batches, lambda b: new_step(reader, optimizer, b, False)))
    old = Reader(load_encoder(args.model_cache), ReaderConfig())
    for name, param in old.named_parameters():
        layer = name.split(".")[2] if name.startswith("encoder.layers.") else None
        param.requires_grad = name.startswith("heads.") or (layer is not None
                                                            and int(layer) >= OLD_FROZEN)
    old_opt = torch.optim.AdamW([p for p in old.parameters() if p.requires_grad], lr=1e-5)

    def run_old(cached: bool):  # type: ignore[no-untyped-def]
        def step(b: list) -> float:
            old_step(old, old_opt, b, cached)
            return float(old_step.seconds)  # type: ignore[attr-defined]
        return step

    rows.append(measure("old, first epoch", batches, run_old(False)))
    rows.append(measure("old, cached epochs", batches, run_old(True)))
    mean_tokens = sum(len(e.ids) for b in batches[1:] for e in b) / sum(map(len, batches[1:]))
    result = {"rows": rows, "batches": len(batches) - 1, "mean_window_tokens": round(mean_tokens),
              "load_average": os.getloadavg(), "cpu": platform.processor() or platform.machine(),
              "torch": torch.__version__}
    print(f"mean window: {mean_tokens:.0f} tokens; load average {os.getloadavg()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
