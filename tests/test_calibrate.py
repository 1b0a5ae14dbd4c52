"""Calibration (evaluation/calibrate.py): choosing, writing and storing a refusal threshold."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.config import Settings
from assistant.evaluation import calibrate, metrics
from assistant.evaluation.evaluate import Source
from assistant.pipeline import build
from tests.conftest import write_release

ROOT = Path(__file__).resolve().parents[1]


def _calibration() -> calibrate.Calibration:
    values, answerable = [0.9, 0.8, 0.3, 0.2, 0.6], [True, True, False, False, True]
    return calibrate.Calibration(metrics.best_threshold(values, answerable),
                                 metrics.refusal_curve(values, answerable), values, answerable,
                                 {"set": "toy"})


def test_the_best_threshold_separates_answerable_from_unanswerable() -> None:
    chosen = _calibration()
    assert 0.3 < chosen.best.threshold <= 0.6 and chosen.best.f1 == 1.0
    assert chosen.summary().startswith(f"best threshold {chosen.best.threshold:.4f}: ")
    assert "(5 questions, 2 unanswerable)" in chosen.summary()


def test_write_saves_the_curve_and_what_it_was_drawn_from(tmp_path: Path) -> None:
    chosen = _calibration()
    plot = calibrate.write(tmp_path / "out", chosen)
    saved = json.loads((tmp_path / "out" / "calibration.json").read_text(encoding="utf-8"))
    assert saved["set"] == "toy" and saved["best"]["threshold"] == chosen.best.threshold
    assert saved["confidences"] == chosen.confidences and len(saved["curve"]) == len(chosen.curve)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_store_keeps_the_threshold_per_answerer_and_names_an_override(
        fake_settings: Settings) -> None:
    assert calibrate.store(build(fake_settings), 0.41) is None
    assert build(fake_settings).index.refusal_threshold("extractive")[0] == 0.41
    assert build(fake_settings).index.refusal_threshold("reader")[0] != 0.41
    overridden = fake_settings.model_copy(update={"refusal_threshold": 0.2})
    assert calibrate.store(build(overridden), 0.5) == "ASSISTANT_REFUSAL_THRESHOLD"


def test_calibrate_asks_every_question_of_the_set(fake_settings: Settings, tmp_path: Path
                                                  ) -> None:
    corpus = tmp_path / "corpus"
    write_release(corpus, "rapat.txt")
    lines = [{"id": "a", "question": "Berapa anggaran intervensi gizi stunting?", "lang": "id",
              "answerable": True, "answers": ["Rp 3,5 triliun"]},
             {"id": "b", "question": "Siapa juara piala dunia sepak bola?", "lang": "id",
              "answerable": False, "answers": []}]
    test_set = tmp_path / "set.jsonl"
    test_set.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    steps: list[int] = []
    chosen = calibrate.calibrate(fake_settings, Source(test_set=test_set, corpus=corpus), None,
                                 asking=lambda n: lambda: steps.append(n))
    assert steps == [2, 2] and chosen.answerable == [True, False]
    assert chosen.best.threshold in {p.threshold for p in chosen.curve}
