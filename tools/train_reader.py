"""Train the reader: all 12 layers of multilingual-e5-small, a span head and an answerability head.

    python tools/train_reader.py prepare     # windows of every train question + hard negatives
    nohup python tools/train_reader.py train --work-dir build/reader/full \
        > build/reader/full.log 2>&1 &       # resumable: run the same command again
    python tools/train_reader.py train --fraction 0.25 --work-dir build/reader/f25
    python tools/train_reader.py ship --work-dir build/reader/full   # -> assistant/models

Only train splits are read: every question of IDK-MRC (its unanswerable questions teach
refusal), TyDi QA-id and FacQA. A long passage is read in strided windows: the windows that
hold the answer are positives, one other window is a negative. Retrieval hard negatives: for
a share of the questions, the best passage that dense + BM25 retrieval over the same split
ranks above the rest without being the question's own passage or holding its answer; in the
product the reader sees retrieved passages, not gold ones. `--fraction` keeps the questions
whose id hashes below it (25% is inside 50%, inside 100%): the learning curve.

Length-bucketed batches (a token budget per batch), bf16 autocast (AMX on this CPU; --precision
fp32 for the comparison), AdamW with warm-up and linear decay, e5's word embeddings frozen.
Progress, throughput and ETA go to the log; checkpoints are written atomically every
--save-every steps and at the end of each epoch, and a run resumes from the last one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from assistant.answer.readermodel import (
    WEIGHTS_DIR,
    Reader,
    ReaderConfig,
    pad_batch,
    save_reader,
)
from assistant.answer.windows import (
    PassageTokens,
    Shape,
    passage_budget,
    passage_prefix,
    passage_tokens,
    question_ids,
    window,
    window_starts,
)

log = logging.getLogger("train_reader")
_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the repository (a worktree one level deeper sees it two levels up)
DATA = next((p / "shared" / "data" / "qa" for p in (_ROOT.parent, _ROOT.parent.parent)
             if (p / "shared" / "data" / "qa").is_dir()), _ROOT.parent / "shared" / "data" / "qa")
SPLITS = ("idk_mrc_train", "tydiqa_id_train", "facqa_train")
BUILD = _ROOT / "build" / "reader"


@dataclass(frozen=True)
class Example:
    """One training window with its labels (start = end = -1 when it holds no answer)."""

    qid: str
    kind: str  # "answer", "own" (own passage, no answer), "unanswerable", "hard"
    ids: tuple[int, ...]
    passage_start: int
    n_passage: int
    start: int = -1
    end: int = -1

    @property
    def answerable(self) -> bool:
        """Whether the window holds the answer."""
        return self.start >= 0


def read_split(path: Path) -> list[dict[str, Any]]:
    """Rows of a SQuAD-style JSONL file."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def in_fraction(qid: str, fraction: float) -> bool:
    """Whether a question belongs to the first `fraction` of the train data (fixed hash)."""
    digest = hashlib.sha256(qid.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


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


# ---------------------------------------------------------------- windows of a question


class Windower:
    """Cuts a question and a passage into labelled windows."""

    def __init__(self, tokenizer: Any, shape: Shape, rng: random.Random) -> None:
        self.tok, self.shape, self.rng = tokenizer, shape, rng
        self.prefix = passage_prefix(tokenizer)
        self._tokens: dict[str, PassageTokens] = {}

    def tokens(self, passage: str) -> PassageTokens:
        """The passage's tokens, memoised (passages repeat across questions)."""
        if passage not in self._tokens:
            self._tokens[passage] = passage_tokens(self.tok, passage)
        return self._tokens[passage]

    def own(self, row: dict[str, Any]) -> list[Example]:
        """The question's windows of its own passage: answer windows, and one other."""
        q_ids = question_ids(self.tok, row["question"], self.shape)
        tokens = self.tokens(row["context"])
        budget = passage_budget(q_ids, self.prefix, self.shape.max_tokens)
        span = answer_span(row)
        first, last = token_span(tokens.offsets, span) if span else (-1, -1)
        positive, negative = [], []
        for s in window_starts(len(tokens.ids), budget, self.shape.stride):
            w = window(q_ids, self.prefix, tokens, s, budget)
            if first >= 0 and s <= first and last < s + w.n_passage:
                positive.append(Example(row["id"], "answer", w.ids, w.passage_start,
                                        w.n_passage, w.passage_start + first - s,
                                        w.passage_start + last - s))
            elif first < 0 or last < s or first >= s + w.n_passage:  # not cut through
                kind = "own" if first >= 0 else "unanswerable"
                negative.append(Example(row["id"], kind, w.ids, w.passage_start, w.n_passage))
        if span is not None and not positive:
            return []  # the answer is not in the text as given: no label to learn from
        return positive + self.rng.sample(negative, min(1, len(negative)))

    def hard(self, row: dict[str, Any], passage: str) -> Example:
        """A retrieved passage that does not answer the question: its first window."""
        q_ids = question_ids(self.tok, row["question"], self.shape)
        tokens = self.tokens(passage)
        budget = passage_budget(q_ids, self.prefix, self.shape.max_tokens)
        w = window(q_ids, self.prefix, tokens, 0, budget)
        return Example(row["id"], "hard", w.ids, w.passage_start, w.n_passage)


# ---------------------------------------------------------------- retrieval hard negatives


def embed_texts(encoder: Any, tok: Any, texts: Sequence[str], prefix: str,
                batch: int = 64) -> torch.Tensor:
    """e5 vectors (unit length) of texts, in length order for little padding (bf16)."""
    from assistant.index.e5convert import mean_pool

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.zeros(len(texts), encoder.config.hidden)
    for n in range(0, len(order), batch):
        part = order[n: n + batch]
        enc = [tok.encode(f"{prefix}{texts[i]}").ids[:256] for i in part]
        ids, mask = pad_batch(enc)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            out[part] = mean_pool(encoder(ids, mask), mask).float()
        if n // batch % 20 == 0:
            log.info("  embedded %d/%d", n + len(part), len(texts))
    return out


def hard_negatives(rows: Sequence[dict[str, Any]], encoder: Any, tok: Any, depth: int = 4
                   ) -> dict[str, list[str]]:
    """Question id -> retrieved passages of the same split, best first, that are not its own
    passage and hold none of its answers (dense + BM25, as the product fuses them)."""
    from assistant.evaluation.metrics import contains
    from assistant.lexical import BM25, analyze

    passages = sorted({r["context"] for r in rows})
    log.info("hard negatives: %d questions over %d passages", len(rows), len(passages))
    bm25 = BM25([analyze(p) for p in passages])
    dense_p = embed_texts(encoder, tok, passages, "passage: ")
    dense_q = embed_texts(encoder, tok, [r["question"] for r in rows], "query: ")
    out = {}
    for i, row in enumerate(rows):
        dense = dense_q[i] @ dense_p.T
        pool = dense.topk(min(50, len(passages)))
        low, high = float(pool.values.min()), float(pool.values.max())
        lexical = torch.from_numpy(bm25.scores(analyze(row["question"]))).float()
        top = float(lexical.max()) or 1.0
        fused = (dense - low) / max(high - low, 1e-9) + 0.5 * lexical / top
        found = []
        for j in fused.topk(min(depth + 1, len(passages))).indices.tolist():
            text = passages[j]
            if text == row["context"] or any(contains(text, a) for a in row.get("answers", [])):
                continue
            found.append(text)
        out[row["id"]] = found[:depth]
    return out


def prepare(args: argparse.Namespace) -> None:
    """Every train question's windows, and its hard negatives, into --out (a .pt file)."""
    from assistant.index.e5convert import load_encoder
    from assistant.index.e5tokenizer import load_tokenizer

    tok = load_tokenizer(args.model_cache)
    tok.no_truncation()
    encoder = load_encoder(args.model_cache)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    cutter = Windower(tok, Shape(), rng)
    examples: list[Example] = []
    for split in SPLITS:
        rows = read_split(args.data / f"{split}.jsonl")[: args.limit]
        negatives = hard_negatives(rows, encoder, tok)
        before = len(examples)
        for row in rows:
            examples += cutter.own(row)
            if negatives.get(row["id"]) and rng.random() < args.hard_rate:
                examples.append(cutter.hard(row, negatives[row["id"]][0]))
        log.info("%s: %d questions -> %d windows", split, len(rows), len(examples) - before)
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"examples": [asdict(e) for e in examples], "counts": counts,
                "hard_rate": args.hard_rate, "seed": args.seed, "splits": SPLITS}, args.out)
    log.info("wrote %s: %d windows %s", args.out, len(examples), counts)


# ---------------------------------------------------------------- training


def load_examples(path: Path, fraction: float) -> list[Example]:
    """The prepared windows of the questions in the fraction."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: run `python tools/train_reader.py prepare` first")
    data = torch.load(path)
    return [Example(**{**e, "ids": tuple(e["ids"])}) for e in data["examples"]
            if in_fraction(e["qid"], fraction)]


def plan_batches(examples: Sequence[Example], tokens: int, seed: int) -> list[list[int]]:
    """Batches of similar length holding at most `tokens` padded tokens, in a seeded order."""
    rng = random.Random(seed)
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].ids), rng.random()))
    batches: list[list[int]] = [[]]
    for i in order:
        width = len(examples[i].ids)
        if batches[-1] and width * (len(batches[-1]) + 1) > tokens:
            batches.append([])
        batches[-1].append(i)
    return batches


def epoch_order(n_batches: int, epoch: int, seed: int) -> list[int]:
    """The batches of one epoch in a seeded order."""
    order = list(range(n_batches))
    random.Random(seed * 1000 + epoch).shuffle(order)
    return order


def steps(n_batches: int, epochs: int, seed: int) -> Iterator[tuple[int, int, int]]:
    """(step, epoch, batch number) over all epochs."""
    step = 0
    for epoch in range(epochs):
        for n in epoch_order(n_batches, epoch, seed):
            yield step, epoch, n
            step += 1


def loss_of(reader: Reader, batch: Sequence[Example]) -> torch.Tensor:
    """Answerability binary cross-entropy + span cross-entropy on the answer windows, the
    span restricted to the passage's tokens."""
    ids, mask = pad_batch([e.ids for e in batch])
    start, end, answer = reader(ids, mask)
    target = torch.tensor([float(e.answerable) for e in batch])
    loss = F.binary_cross_entropy_with_logits(answer, target)
    rows = [i for i, e in enumerate(batch) if e.answerable]
    if rows:
        allowed = torch.zeros_like(start, dtype=torch.bool)
        for i, e in enumerate(batch):
            allowed[i, e.passage_start: e.passage_start + e.n_passage] = True
        s = start.masked_fill(~allowed, -1e4)[rows]
        t = end.masked_fill(~allowed, -1e4)[rows]
        gold_s = torch.tensor([batch[i].start for i in rows])
        gold_e = torch.tensor([batch[i].end for i in rows])
        loss = loss + (F.cross_entropy(s, gold_s) + F.cross_entropy(t, gold_e)) / 2
    return loss


def lr_scale(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then linear decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def optimizer_of(reader: Reader, lr: float, head_lr: float) -> torch.optim.Optimizer:
    """AdamW over everything but the frozen word embeddings; the heads learn faster."""
    reader.freeze_word_embeddings()
    heads = [p for n, p in reader.named_parameters() if n.startswith("heads.")]
    body = [p for n, p in reader.named_parameters() if p.requires_grad
            and not n.startswith("heads.")]
    return torch.optim.AdamW([{"params": body, "lr": lr}, {"params": heads, "lr": head_lr}],
                             weight_decay=0.01)


class Run:
    """One training run's folder: options, checkpoint, log of losses."""

    def __init__(self, work: Path) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)

    def resume(self, reader: Reader, optimizer: torch.optim.Optimizer) -> tuple[int, float]:
        """(steps done, seconds trained) of the last checkpoint, loaded into the objects."""
        path = self.work / "checkpoint.pt"
        if not path.is_file():
            return 0, 0.0
        saved = torch.load(path)
        reader.load_state_dict(saved["state"], strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        log.info("resuming from %s at step %d", path, saved["step"])
        return int(saved["step"]), float(saved["seconds"])

    def save(self, reader: Reader, optimizer: torch.optim.Optimizer, step: int,
             seconds: float) -> None:
        """Write the checkpoint atomically."""
        tmp = self.work / "checkpoint.tmp"
        torch.save({"state": reader.trained_state(), "optimizer": optimizer.state_dict(),
                    "step": step, "seconds": seconds}, tmp)
        tmp.replace(self.work / "checkpoint.pt")

    def check_options(self, options: dict[str, Any]) -> None:
        """A resumed run must be the same run (same data and schedule)."""
        path = self.work / "options.json"
        if path.is_file():
            before = json.loads(path.read_text())
            changed = {k for k in options if before.get(k) != options[k]}
            if changed:
                raise SystemExit(f"{self.work} holds a run with other options "
                                 f"({sorted(changed)}): pass another --work-dir")
        path.write_text(json.dumps(options, indent=1) + "\n")


def train(args: argparse.Namespace) -> None:
    """Train (resuming from --work-dir); the trained state stays in its checkpoint."""
    from assistant.index.e5convert import load_encoder

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    examples = load_examples(args.windows, args.fraction)
    batches = plan_batches(examples, args.batch_tokens, args.seed)
    run = Run(args.work_dir)
    options = {k: str(v) for k, v in vars(args).items()
               if k not in ("work_dir", "max_minutes", "log_every", "save_every", "threads",
                            "command")}
    run.check_options(options)
    reader = Reader(load_encoder(args.model_cache), ReaderConfig())
    optimizer = optimizer_of(reader, args.lr, args.head_lr)
    total = len(batches) * args.epochs
    done, seconds = run.resume(reader, optimizer)
    log.info("%d windows (%d answer windows) of %d questions in %d batches; %d steps, %d done",
             len(examples), sum(e.answerable for e in examples), len({e.qid for e in examples}),
             len(batches), total, done)
    reader.train()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")
    began, losses, seen = time.time(), [], 0
    epoch = -1
    for step, epoch, n in steps(len(batches), args.epochs, args.seed):
        if step < done:
            continue
        if args.max_minutes and (time.time() - began) / 60 > args.max_minutes:
            log.info("stopping at step %d: --max-minutes %s reached", step, args.max_minutes)
            break
        for group, base in zip(optimizer.param_groups, (args.lr, args.head_lr), strict=True):
            group["lr"] = base * lr_scale(step, total, max(1, int(total * args.warmup)))
        with autocast:
            loss = loss_of(reader, [examples[i] for i in batches[n]])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reader.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        seen += len(batches[n])
        done = step + 1
        if done % args.log_every == 0 or done == total:
            _progress(done, total, epoch, losses, seen, time.time() - began, seconds)
        end_of_epoch = done % len(batches) == 0
        if done % args.save_every == 0 or end_of_epoch or done == total:
            run.save(reader, optimizer, done, seconds + time.time() - began)
    seconds += time.time() - began
    run.save(reader, optimizer, done, seconds)
    summary = {"steps": done, "planned_steps": total, "windows": len(examples),
               "answer_windows": sum(e.answerable for e in examples),
               "questions": len({e.qid for e in examples}), "train_seconds": round(seconds),
               "epochs_done": round(done / len(batches), 2)}
    (args.work_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    log.info("done: %s", summary)


def _progress(done: int, total: int, epoch: int, losses: list[float], seen: int,
              elapsed: float, before: float) -> None:
    recent = losses[-100:]
    per_step = elapsed / max(1, len(losses))
    log.info("step %d/%d (epoch %d)  loss %.3f  %.1f windows/s  eta %.0f min  (%.0f min so far)",
             done, total, epoch + 1, sum(recent) / len(recent), seen / max(elapsed, 1e-9),
             (total - done) * per_step / 60, (before + elapsed) / 60)


def ship(args: argparse.Namespace) -> None:
    """Write a run's trained state as the shipped fp16 weights with its record."""
    summary = json.loads((args.work_dir / "summary.json").read_text())
    options = json.loads((args.work_dir / "options.json").read_text())
    saved = torch.load(args.work_dir / "checkpoint.pt")
    from assistant.answer.readermodel import load_torch_reader

    reader = load_torch_reader(args.model_cache, state=saved["state"])
    prepared = torch.load(Path(options["windows"]))
    meta = {"training": {**summary, **{k: _value(options[k]) for k in (
        "fraction", "epochs", "lr", "head_lr", "batch_tokens", "precision", "seed")},
        "splits": list(SPLITS), "hard_rate": prepared["hard_rate"],
        "prepared_windows": prepared["counts"],
        "note": "questions counts unique ids: 4,835 IDK-MRC train questions are TyDi QA "
                "train questions with the same id, passage and answer"}}
    weights = save_reader(reader, args.out, meta)
    log.info("wrote %s", weights)


def _value(text: str) -> Any:
    """An option as recorded (a number where it reads as one)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python tools/train_reader.py",
                                description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model-cache", type=Path, default=_ROOT / "index" / "models",
                   help="where the converted e5 model is kept")
    p.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--windows", type=Path, default=BUILD / "windows.pt",
                   help="the prepared windows (written by prepare, read by train)")
    sub = p.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="windows of every train question + hard negatives")
    prep.add_argument("--data", type=Path, default=DATA, help="folder of the QA train splits")
    prep.add_argument("--limit", type=int, help="at most this many questions per split (smoke)")
    prep.add_argument("--hard-rate", type=float, default=0.5,
                      help="share of questions that also get a retrieval hard negative")
    t = sub.add_parser("train", help="train (or resume) a run")
    t.add_argument("--work-dir", type=Path, default=BUILD / "full")
    t.add_argument("--fraction", type=float, default=1.0,
                   help="train on the questions whose id hashes below this (learning curve)")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--batch-tokens", type=int, default=4096,
                   help="padded tokens per batch (16 windows of 256)")
    t.add_argument("--lr", type=float, default=8e-5, help="learning rate of the encoder")
    t.add_argument("--head-lr", type=float, default=5e-4, help="learning rate of the heads")
    t.add_argument("--warmup", type=float, default=0.05, help="share of steps warming up")
    t.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    t.add_argument("--max-minutes", type=float, help="stop (and save) after this long")
    t.add_argument("--log-every", type=int, default=20)
    t.add_argument("--save-every", type=int, default=200)
    c = sub.add_parser("check", help="gold-passage scores of a checkpoint (valid fit halves)")
    c.add_argument("--work-dir", type=Path, default=BUILD / "full")
    c.add_argument("--sample", type=int, default=150, help="questions per split")
    s = sub.add_parser("ship", help="write a run's weights into the package")
    s.add_argument("--work-dir", type=Path, default=BUILD / "full")
    s.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    args = p.parse_args(argv)
    if args.command == "prepare":
        args.out = args.windows
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    log.info("%s: %s", args.command, json.dumps({k: str(v) for k, v in vars(args).items()}))
    {"prepare": prepare, "train": train, "check": check, "ship": ship}[args.command](args)



# ---------------------------------------------------------------- checking a checkpoint


class TorchEngine:
    """A training checkpoint in PyTorch with the runtime engine's interface (no conversion)."""

    def __init__(self, reader: Reader, tokenizer: Any) -> None:
        from assistant.answer.windows import Shape

        self.reader, self.tokenizer, self.shape = reader, tokenizer, Shape()
        self.record: dict[str, Any] = {}

    def run(self, windows: Sequence[Sequence[int]]) -> Any:
        """Logits of each window, as numpy arrays."""
        from assistant.answer.readerengine import Logits

        ids, mask = pad_batch(windows)
        with torch.inference_mode():
            start, end, answer = self.reader(ids, mask)
        return Logits(start.numpy(), end.numpy(), answer.numpy())


def check(args: argparse.Namespace) -> None:
    """Gold-passage scores of a checkpoint on the fit halves of the valid splits (a sanity
    check while training: answerability AUC and accuracy, span EM / F1)."""
    from assistant.answer.reader import Reader as Reading
    from assistant.answer.readermodel import load_torch_reader
    from assistant.evaluation import metrics
    from assistant.evaluation.testset import valid_half
    from assistant.index.e5tokenizer import load_tokenizer
    from assistant.types import Chunk, Hit

    torch.set_num_threads(args.threads)
    saved = torch.load(args.work_dir / "checkpoint.pt")
    tok = load_tokenizer(args.model_cache)
    tok.no_truncation()
    engine = TorchEngine(load_torch_reader(args.model_cache, state=saved["state"]), tok)
    reader = Reading(lambda: engine)  # type: ignore[arg-type, return-value]
    files = {"idk_mrc_valid": ("question", "context", "answers"),
             "tydiqa_id_valid": ("question", "context", "answers"),
             "facqa_valid": ("question", "context", "answers"),
             "xling_en-question_id-passage_squad2dev_normans": ("question_en", "context_id",
                                                                "answers_id")}
    report = {"step": saved["step"]}
    for name, (qf, cf, af) in files.items():
        rows = [r for r in read_split(DATA / f"{name}.jsonl") if valid_half(r["id"]) == "fit"]
        rows = random.Random(0).sample(rows, min(args.sample, len(rows)))
        labels, logits, em, f1 = [], [], [], []
        for r in rows:
            hit = Hit(Chunk("c#0", "c", r[cf], 0, 1, 0, len(r[cf])), 1.0)
            found = max(reader.read(r[qf], [hit]), key=lambda x: (x.answerable, x.span_score))
            labels.append(not r["is_impossible"])
            logits.append(found.answerable)
            if not r["is_impossible"]:
                em.append(any(metrics.normalize_answer(found.short)
                              == metrics.normalize_answer(a) for a in r[af]))
                f1.append(metrics.token_f1(found.short, r[af]))
        report[name] = {"n": len(rows), "auc": _auc(labels, logits),
                        "accuracy@0": sum((g > 0) == y for g, y in zip(logits, labels,
                                                                        strict=True)) / len(rows),
                        "span_em": sum(em) / max(1, len(em)), "span_f1": sum(f1) / max(1, len(f1))}
        log.info("%s: %s", name, report[name])
    (args.work_dir / f"check-{saved['step']}.json").write_text(json.dumps(report, indent=1))


def _auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 4)


if __name__ == "__main__":
    main()
