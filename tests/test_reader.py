"""The shipped reader: its files and record, a reproducibility check on a fixed sample of
valid questions, and its answers through the whole pipeline on the sample release among
real news (ASSISTANT_ANSWERER=reader, the real e5 model and a real Chroma)."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from assistant.answer.cite import REFUSALS
from assistant.answer.reader import Reader
from assistant.answer.readerengine import ReaderEngine, load_engine
from assistant.answer.readerfiles import WEIGHTS_DIR, WEIGHTS_NAME, checked_weights, reader_record
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.index.modelcache import file_sha256
from assistant.pipeline import Assistant, answer_stage, build
from assistant.types import Answer
from eval.reader_sample import OUT as SAMPLE
from eval.reader_sample import passage_hit
from tests.conftest import CORPUS, news_articles, write_news

MODEL_DIR = Path(__file__).parent / "artifacts" / "e5-models"


def test_the_record_names_its_weights_training_and_decision() -> None:
    record = reader_record()
    weights = WEIGHTS_DIR / f"{WEIGHTS_NAME}.safetensors"
    assert file_sha256(checked_weights()) == record["sha256"]
    assert weights.stat().st_size < 60_000_000  # small enough to commit
    header_len = struct.unpack("<Q", weights.read_bytes()[:8])[0]
    header = json.loads(weights.read_bytes()[8: 8 + header_len])
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert dtypes == {"F16"}
    training = record["training"]
    assert training["epochs_done"] >= 3 and training["fraction"] == 1.0
    assert set(record["decision"]["thresholds"]) == {"id", "en"}
    assert set(record["answer"]) == {"id", "en"}
    assert "fit halves" in record["decision_fitted_on"]


def test_damaged_or_missing_weights_say_how_to_restore_them(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    shutil.copytree(WEIGHTS_DIR, folder)
    weights = folder / f"{WEIGHTS_NAME}.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="sha256.*git checkout -- assistant/models"):
        checked_weights(folder)
    (folder / f"{WEIGHTS_NAME}.json").unlink()
    with pytest.raises(ConfigError, match="no trained reader.*ASSISTANT_ANSWERER=extractive"):
        checked_weights(folder)


@pytest.fixture(scope="module")
def engine() -> ReaderEngine:
    return load_engine(MODEL_DIR)


def test_the_shipped_reader_reads_the_fixed_valid_sample_as_recorded(
        engine: ReaderEngine) -> None:
    """Logits agree to float tolerance on every CPU; a span is held to its recorded words
    only where it led its nearest rival by min_margin (closer ties may break either way)."""
    record = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert record["weights_sha256"] == engine.record["sha256"], \
        "new weights: run eval/reader_sample.py to record the sample again"
    reader, held = Reader(lambda: engine), 0
    for item in record["items"]:
        readings = reader.read(item["question"], [passage_hit(item)])
        assert len(readings) == len(item["windows"]), item["id"]
        for got, want in zip(readings, item["windows"], strict=True):
            assert got.answerable == pytest.approx(want["answerable"], abs=0.05), item["id"]
            assert got.span_score == pytest.approx(want["span_score"], abs=0.05), item["id"]
            if want["margin"] >= record["min_margin"]:
                assert got.short == want["short"], item["id"]
                held += 1
    assert held >= 12  # most of the sample is held to its words


# through the pipeline: the sample release among 30 real news articles ---------------------


@pytest.fixture(scope="module")
def reader_assistant(tmp_path_factory: pytest.TempPathFactory, engine: ReaderEngine
                     ) -> Assistant:
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copy(next(CORPUS.glob("*.txt")), corpus)
    write_news(corpus, news_articles(30))
    settings = Settings(index_dir=tmp_path_factory.mktemp("index"))
    assistant = build(settings)
    report = assistant.index.ingest([corpus])
    assert len(report.added) == 31 and not report.failed
    reader_settings = settings.model_copy(update={"answerer": "reader"})
    answerer, rewriter = answer_stage(reader_settings, assistant.answerer.sentence_embedder,  # type: ignore[attr-defined]
                                      MODEL_DIR)
    return assistant.with_stage(answerer, rewriter)


def quotes(answer: Answer) -> str:
    return " ".join(c.quote for c in answer.citations)


def assert_cited(answer: Answer) -> None:
    assert not answer.refused and answer.mode == "reader"
    assert answer.citations and all(c.quote in c.passage for c in answer.citations)
    assert all(f"[{c.n}]" in answer.text for c in answer.citations)


@pytest.mark.parametrize(("question", "language"), [
    ("How much money will Guangxi give Indonesia for vocational schools in 2025?", "en"),
    ("Berapa dana yang akan diberikan Guangxi kepada Indonesia untuk sekolah vokasi "
     "pada tahun 2025?", "id"),
])
def test_a_question_the_releases_do_not_answer_is_refused_in_its_language(
        reader_assistant: Assistant, question: str, language: str) -> None:
    answer = reader_assistant.ask(question)
    assert answer.refused and answer.text == REFUSALS[language] and not answer.citations


@pytest.mark.parametrize(("question", "expected"), [
    ("Where will CAHRSE be held?", "Nanning"),
    ("Di kota mana CAHRSE akan diselenggarakan?", "Nanning"),
    ("When will CAHRSE take place?", "3-4 November 2023"),
    # a known miss, kept visible: the reader quotes Warsito's vocational sentence for the
    # sentence about Nunung's hope (in both languages; the extractive answerer quotes both)
    pytest.param("Which deputy spoke about adaptive social protection?", "Nunung",
                 marks=pytest.mark.xfail(strict=True, reason="reader picks the wrong deputy")),
    ("Siapa deputi yang berharap kerja sama di bidang pendidikan vokasi?", "Warsito"),
])
def test_answerable_questions_are_answered_and_cited_in_both_languages(
        reader_assistant: Assistant, question: str, expected: str) -> None:
    answer = reader_assistant.ask(question)
    assert_cited(answer)
    assert expected in quotes(answer)


def test_a_date_question_gets_the_date_as_its_short_answer(
        reader_assistant: Assistant) -> None:
    answer = reader_assistant.ask("Kapan Kemenko PMK menerima audiensi dari Guangxi Zhuang?")
    assert_cited(answer)
    assert answer.short_answer is not None and "29/9/2023" in answer.short_answer
