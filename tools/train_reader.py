"""Train the reader's top layers and heads on the Indonesian QA train splits.

    python tools/train_reader.py --help
    nohup nice -n 10 .venv/bin/python tools/train_reader.py > build/reader/train.log 2>&1 &

Only train splits are read (IDK-MRC's unanswerable questions teach refusal; TyDi QA and
FacQA add answerable ones). Each question becomes one window of at most --max-tokens tokens
around its answer (a long passage also gives a window without the answer, labelled
unanswerable) and some questions are paired with another passage of their file (also
unanswerable). e5's lower layers are frozen: their output is computed once per batch and
cached on disk (fp16) during the first epoch, so later epochs only run the top layers.
The run resumes from its last checkpoint in --work-dir; at the end the trained part is
written to --out (fp16) with a JSON record of the run and its sha256.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from assistant.answer.readermodel import (
    WEIGHTS_DIR,
    Reader,
    ReaderConfig,
    pad_batch,
    passage_budget,
    passage_prefix,
    passage_tokens,
    question_ids,
    save_reader,
    window,
)

log = logging.getLogger("train_reader")
_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the repository (a worktree one level deeper sees it two levels up)
DATA = next((p / "shared" / "data" / "qa" for p in (_ROOT.parent, _ROOT.parent.parent)
             if (p / "shared" / "data" / "qa").is_dir()), _ROOT.parent / "shared" / "data" / "qa")
SOURCES = "idk_mrc_train:1800,tydiqa_id_train:800,facqa_train:500"


@dataclass(frozen=True)
class Example:
    """One training window with its labels (start = end = 0 when it holds no answer)."""

    id: str
    ids: tuple[int, ...]
    answerable: bool
    start: int
    end: int


def read_split(path: Path) -> list[dict[str, Any]]:
    """Rows of a SQuAD-style JSONL file."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def answer_span(row: dict[str, Any]) -> tuple[int, int] | None:
    """Character span of the first answer in the context (None when impossible or not found)."""
    if row.get("is_impossible") or not row.get("answers"):
        return None
    text, context = row["answers"][0], row["context"]
    starts = row.get("answer_starts") or []
    start = starts[0] if starts and context[starts[0]: starts[0] + len(text)] == text \
        else context.find(text)
    return (start, start + len(text)) if start >= 0 and text else None


def token_span(offsets: Sequence[tuple[int, int]], span: tuple[int, int]) -> tuple[int, int]:
    """First and last token index overlapping a character span (-1, -1 when none)."""
    inside = [i for i, (a, b) in enumerate(offsets) if b > span[0] and a < span[1]]
    return (inside[0], inside[-1]) if inside else (-1, -1)


def examples_of(row: dict[str, Any], other: str | None, tok: Tokenizer, prefix: list[int],
                config: ReaderConfig, rng: random.Random) -> list[Example]:
    """The windows of one question: its answer window (or a random one), maybe a negative."""
    q_ids = question_ids(tok, row["question"], config)
    tokens = passage_tokens(tok, row["context"])
    budget = passage_budget(q_ids, prefix, config.max_tokens)
    span = answer_span(row)
    first, last = token_span(tokens.offsets, span) if span else (-1, -1)
    out = []
    n = len(tokens.ids)
    if first >= 0 and last - first < budget:
        lo, hi = max(0, last - budget + 1), min(first, max(0, n - budget))
        start = rng.randint(lo, max(lo, hi))
        w = window(q_ids, prefix, tokens, start, budget)
        out.append(Example(row["id"], w.ids, True, w.passage_start + first - start,
                           w.passage_start + last - start))
        if n > budget and rng.random() < 0.5:  # a window of the same passage without it
            free = [s for s in (0, n - budget) if s + budget <= first or s > last]
            if free:
                out.append(_negative(row["id"] + "#neg", q_ids, prefix, tokens, free[0], budget))
    elif span is None and row.get("is_impossible"):
        out.append(_negative(row["id"], q_ids, prefix, tokens,
                             rng.randint(0, max(0, n - budget)), budget))
    if other is not None:
        out.append(_negative(row["id"] + "#other", q_ids, prefix,
                             passage_tokens(tok, other), 0, budget))
    return out


def _negative(eid: str, q_ids: list[int], prefix: list[int], tokens: Any, start: int,
              budget: int) -> Example:
    return Example(eid, window(q_ids, prefix, tokens, start, budget).ids, False, 0, 0)


def build_examples(sources: str, data: Path, tok: Tokenizer, config: ReaderConfig,
                   seed: int, other_rate: float, limit: int | None) -> list[Example]:
    """Sample questions from each train split (seeded) and turn them into windows."""
    rng = random.Random(seed)
    out: list[Example] = []
    prefix = passage_prefix(tok)
    for part in sources.split(","):
        name, _, count = part.partition(":")
        if not name.endswith("_train"):
            raise SystemExit(f"{name}: only train splits may be used for training")
        rows = read_split(data / f"{name}.jsonl")
        rng.shuffle(rows)
        rows = rows[: int(count)] if count else rows
        rows = rows[: limit] if limit else rows
        contexts = sorted({r["context"] for r in rows})
        for row in rows:
            other = rng.choice(contexts) if rng.random() < other_rate else None
            other = None if other == row["context"] else other
            out.extend(examples_of(row, other, tok, prefix, config, rng))
    return out


def plan_batches(examples: Sequence[Example], size: int, seed: int) -> list[list[int]]:
    """Batches of similar length (little padding), in a seeded order."""
    rng = random.Random(seed)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].ids))
    batches = [order[i: i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


# ---------------------------------------------------------------- training


def frozen_batch(reader: Reader, examples: Sequence[Example], batch: list[int], cache: Path,
                 n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The frozen layers' output for a batch: from the disk cache, or computed and cached."""
    path = cache / f"b{n:05d}.pt"
    if path.is_file():
        states, mask = torch.load(path)
        return states.float(), mask
    ids, mask = pad_batch([examples[i].ids for i in batch])
    with torch.no_grad():
        states = reader.frozen_states(ids, mask)
    tmp = path.with_suffix(".tmp")
    torch.save((states.half(), mask), tmp)
    tmp.replace(path)
    return states.half().float(), mask


def loss_of(reader: Reader, states: torch.Tensor, mask: torch.Tensor,
            labels: Sequence[Example]) -> torch.Tensor:
    """Span cross-entropy on answerable windows + answerability binary cross-entropy."""
    start, end, answer = reader.top(states, mask)
    answerable = torch.tensor([e.answerable for e in labels])
    target = answerable.float()
    loss = F.binary_cross_entropy_with_logits(answer, target)
    if answerable.any():
        s = torch.tensor([e.start for e in labels])[answerable]
        e = torch.tensor([e.end for e in labels])[answerable]
        span = F.cross_entropy(start[answerable], s) + F.cross_entropy(end[answerable], e)
        loss = loss + span / 2
    return loss


def optimizer_of(reader: Reader, lr: float, head_lr: float) -> torch.optim.Optimizer:
    """AdamW over the trainable part only; everything else is frozen."""
    trained = set(reader.trained_state())
    for name, p in reader.named_parameters():
        p.requires_grad = name in trained
    heads = [p for n, p in reader.named_parameters() if n.startswith("heads.")]
    layers = [p for n, p in reader.named_parameters() if p.requires_grad
              and not n.startswith("heads.")]
    return torch.optim.AdamW([{"params": layers, "lr": lr}, {"params": heads, "lr": head_lr}],
                             weight_decay=0.01)


def lr_scale(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then linear decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.1, 1.0 - 0.9 * (step - warmup) / max(1, total - warmup))


def steps(batches: list[list[int]], epochs: int, seed: int) -> Iterator[tuple[int, int]]:
    """(step, batch number) over all epochs; each epoch visits the batches in a new order."""
    step = 0
    for epoch in range(epochs):
        order = list(range(len(batches)))
        random.Random(seed + epoch).shuffle(order)
        for n in order:
            yield step, n
            step += 1


def train(args: argparse.Namespace) -> Path:
    """Train (resuming from --work-dir), then write the trained part to --out."""
    from assistant.index.e5convert import load_encoder, load_tokenizer

    torch.manual_seed(args.seed)
    work, cache = args.work_dir, args.work_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    config = ReaderConfig(frozen_layers=args.frozen_layers, max_tokens=args.max_tokens)
    tok = load_tokenizer(args.model_cache)
    tok.no_truncation()
    examples = build_examples(args.sources, args.data, tok, config, args.seed, args.other_rate,
                              args.limit)
    batches = plan_batches(examples, args.batch_size, args.seed)
    _check_plan(work, examples, batches)
    reader = Reader(load_encoder(args.model_cache), config)
    optimizer = optimizer_of(reader, args.lr, args.head_lr)
    total = len(batches) * args.epochs
    done, seconds = _resume(work, reader, optimizer)
    log.info("%d windows (%d answerable) in %d batches; %d steps, %d done",
             len(examples), sum(e.answerable for e in examples), len(batches), total, done)
    reader.train()
    began, losses = time.time(), []
    for step, n in steps(batches, args.epochs, args.seed):
        if step < done:
            continue
        if args.max_minutes and (time.time() - began) / 60 > args.max_minutes:
            log.info("stopping at step %d: --max-minutes %s reached", step, args.max_minutes)
            break
        states, mask = frozen_batch(reader, examples, batches[n], cache, n)
        for group, base in zip(optimizer.param_groups, (args.lr, args.head_lr), strict=True):
            group["lr"] = base * lr_scale(step, total, max(1, total // 20))
        loss = loss_of(reader, states, mask, [examples[i] for i in batches[n]])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reader.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        done = step + 1
        if done % args.log_every == 0 or done == total:
            _progress(done, total, losses, time.time() - began, seconds)
        if done % args.save_every == 0:
            _checkpoint(work, reader, optimizer, done, seconds + time.time() - began)
    seconds += time.time() - began
    _checkpoint(work, reader, optimizer, done, seconds)
    meta = {"sources": args.sources, "seed": args.seed, "windows": len(examples),
            "answerable_windows": sum(e.answerable for e in examples), "steps": done,
            "planned_steps": total, "batch_size": args.batch_size, "epochs": args.epochs,
            "lr": args.lr, "head_lr": args.head_lr, "train_seconds": round(seconds),
            "refusal_threshold": 0.5, "threshold_fitted_on": "none (default 0.5)"}
    weights = save_reader(reader.eval(), args.out, meta)
    (args.out / "reader-train-ids.txt").write_text(
        "".join(f"{e.id}\n" for e in examples), encoding="utf-8")
    log.info("wrote %s after %d steps (%.0f s)", weights, done, seconds)
    return weights


def _progress(done: int, total: int, losses: list[float], elapsed: float, before: float) -> None:
    recent = losses[-50:]
    per_step = elapsed / max(1, len(losses))
    log.info("step %d/%d  loss %.3f  %.1f s/step  eta %.0f min  (%.0f min so far)", done, total,
             sum(recent) / len(recent), per_step, (total - done) * per_step / 60,
             (before + elapsed) / 60)


def _check_plan(work: Path, examples: Sequence[Example], batches: list[list[int]]) -> None:
    """The cached batches belong to this exact plan; a different plan must not reuse them."""
    digest = str(hash((tuple(e.ids for e in examples), tuple(map(tuple, batches)))))
    plan = work / "plan.txt"
    key = f"{len(examples)} {len(batches)} {sum(len(e.ids) for e in examples)}"
    if plan.is_file() and plan.read_text().strip() != key:
        raise SystemExit(f"{work} holds another run's cache (plan {plan.read_text().strip()}, "
                         f"now {key}): delete it or pass another --work-dir")
    plan.write_text(key + "\n")
    del digest


def _checkpoint(work: Path, reader: Reader, optimizer: torch.optim.Optimizer, step: int,
                seconds: float) -> None:
    tmp = work / "checkpoint.tmp"
    torch.save({"state": reader.trained_state(), "optimizer": optimizer.state_dict(),
                "step": step, "seconds": seconds}, tmp)
    tmp.replace(work / "checkpoint.pt")


def _resume(work: Path, reader: Reader, optimizer: torch.optim.Optimizer) -> tuple[int, float]:
    path = work / "checkpoint.pt"
    if not path.is_file():
        return 0, 0.0
    saved = torch.load(path)
    reader.load_state_dict(saved["state"], strict=False)
    optimizer.load_state_dict(saved["optimizer"])
    log.info("resuming from %s at step %d", path, saved["step"])
    return int(saved["step"]), float(saved["seconds"])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python tools/train_reader.py",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=Path, default=DATA, help="folder of the QA splits")
    p.add_argument("--sources", default=SOURCES,
                   help="train splits and how many questions of each (seeded sample)")
    p.add_argument("--limit", type=int, help="at most this many questions per split (smoke run)")
    p.add_argument("--epochs", type=int, default=6,
                   help="passes over the windows (later ones read the cached frozen layers)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate of the top layers")
    p.add_argument("--head-lr", type=float, default=1e-3, help="learning rate of the heads")
    p.add_argument("--frozen-layers", type=int, default=ReaderConfig.frozen_layers)
    p.add_argument("--max-tokens", type=int, default=192, help="window length in training")
    p.add_argument("--other-rate", type=float, default=0.15,
                   help="share of questions also paired with another passage (unanswerable)")
    p.add_argument("--max-minutes", type=float, help="stop (and save) after this long")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--work-dir", type=Path, default=Path("build/reader"),
                   help="cache of frozen-layer outputs and checkpoints (resumes from here)")
    p.add_argument("--model-cache", type=Path, default=Path("index/models"),
                   help="where the converted e5 model is kept")
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where the weights go")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--save-every", type=int, default=25)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    log.info("options: %s", json.dumps({k: str(v) for k, v in vars(args).items()}))
    train(args)


if __name__ == "__main__":
    main()
