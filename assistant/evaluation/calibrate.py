"""Calibration: choose the configured answerer's refusal threshold on a set of answerable and
unanswerable questions, write the curve it was chosen on, and store it in the index under
that answerer's name (what `assistant calibrate` does)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.evaluation import metrics, report
from assistant.evaluation.evaluate import Source, confidences, open_target
from assistant.index.indexer import THRESHOLD_SETTINGS
from assistant.pipeline import Assistant


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold, the curve it was chosen on, and what the curve was drawn from."""

    best: metrics.RefusalPoint
    curve: list[metrics.RefusalPoint]
    confidences: list[float]
    answerable: list[bool]
    meta: dict[str, Any]

    def summary(self) -> str:
        """One line: the threshold and its refusal scores on how many questions."""
        best = self.best
        return (f"best threshold {best.threshold:.4f}: refusal precision {best.precision:.3f}, "
                f"recall {best.recall:.3f}, F1 {best.f1:.3f}, wrong refusals "
                f"{best.wrong_refusals:.3f} ({len(self.confidences)} questions, "
                f"{len(self.confidences) - sum(self.answerable)} unanswerable)")


def calibrate(settings: Settings, source: Source, embedding_cache: Path | None,
              max_wrong_refusals: float | None = None,
              indexing: Callable[[int, int], Any] | None = None,
              asking: Callable[[int], Callable[[], Any]] | None = None) -> Calibration:
    """The threshold with the best refusal F1 (refusing at most max_wrong_refusals of the
    answerable questions) for the confidences `ask` gives the source's questions.
    indexing(done, total) follows a temporary index; asking(n) returns one step per question."""
    with tempfile.TemporaryDirectory(prefix="assistant-calibrate-") as workdir:
        target = open_target(settings, source, Path(workdir), embedding_cache, indexing)
        answerable = [q.answerable for q in target.questions]
        step = asking(len(target.questions)) if asking else None
        values = confidences(target.assistant, target.questions, step)
    best = metrics.best_threshold(values, answerable, max_wrong_refusals)
    return Calibration(best, metrics.refusal_curve(values, answerable), values, answerable,
                       target.meta)


def write(out: Path, calibration: Calibration) -> Path:
    """Write calibration.json and the refusal curve's plot into out; the plot's path."""
    out.mkdir(parents=True, exist_ok=True)
    plot = out / "refusal_curve.png"
    report.plot_calibration(plot, calibration.curve, calibration.best)
    (out / "calibration.json").write_text(json.dumps(
        {**calibration.meta, "best": vars(calibration.best),
         "curve": [vars(p) for p in calibration.curve],
         "confidences": calibration.confidences, "answerable": calibration.answerable},
        indent=1) + "\n", encoding="utf-8")
    return plot


def store(assistant: Assistant, threshold: float) -> str | None:
    """Store the threshold in the index for the configured answerer; the environment
    variable that overrides it, when one is set (None: ask uses the stored value)."""
    settings = assistant.settings
    assistant.index.set_refusal_threshold(threshold, settings.answerer)
    setting = THRESHOLD_SETTINGS[settings.answerer]
    return f"ASSISTANT_{setting.upper()}" if getattr(settings, setting) is not None else None
