"""An ingest killed with SIGKILL mid-way resumes: nothing stored is re-embedded, nothing is
missing, nothing is duplicated. Real Chroma on tmp_path, in child processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import write_release

N_RELEASES = 30

# The child builds the assistant as the CLI does; its embedder writes every text it embeds
# to a log (one JSON line each) and is slowed down so that the kill lands mid-ingest.
CHILD = """
import json, sys, time
from pathlib import Path
from assistant.config import Settings
from assistant.index.embed import FakeEmbeddings
from assistant.pipeline import build

mode, index_dir, corpus, log = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]

class Logged(FakeEmbeddings):
    def embed_documents(self, texts):
        time.sleep(0.15)
        with open(log, "a", encoding="utf-8") as out:
            out.write("".join(json.dumps(t) + "\\n" for t in texts))
        return super().embed_documents(texts)

assistant = build(Settings(index_dir=index_dir, embedder="fake"))
if mode == "ingest":
    assistant.index.use_embedder(Logged())
    report = assistant.index.ingest([corpus])
    print(json.dumps({"added": len(report.added), "unchanged": len(report.unchanged)}))
else:
    store = assistant.index.store
    catalog = store.releases()
    chunks = list(store.chunks())
    vectors = store.sentence_vectors([c.id for c in chunks])
    print(json.dumps({
        "releases": {rid: r.n_chunks for rid, r in catalog.items()},
        "chunks": [[c.id, c.release_id, c.embed_text] for c in chunks],
        "count": store.count(),
        "with_sentences": sorted(vectors),
        "lexical": sorted(assistant.index.lexical.releases()),
        "lexical_docs": len(assistant.index.lexical),
    }))
"""


def _child(mode: str, index: Path, corpus: Path, log: Path) -> list[str]:
    return [sys.executable, "-c", CHILD, mode, str(index), str(corpus), str(log)]


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": root, "ANONYMIZED_TELEMETRY": "False"}


def _logged(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _inspect(index: Path, corpus: Path, tmp: Path) -> dict[str, Any]:
    done = subprocess.run(_child("inspect", index, corpus, tmp / "unused.log"), env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _corpus(folder: Path) -> None:
    for n in range(N_RELEASES):
        write_release(folder, f"rilis-{n:02d}.txt",
                      f"Kemenko PMK Rilis Nomor {n} tentang Program Daerah {n}\n\n"
                      f"Menteri meninjau program daerah nomor {n} pada hari ini bersama "
                      f"pejabat daerah setempat.\n\nBantuan sebanyak {n} paket diserahkan "
                      f"kepada warga desa nomor {n} yang membutuhkan.\n\nKegiatan lanjutan "
                      f"nomor {n} dijadwalkan bulan depan oleh tim koordinasi.\n")


def _kill_mid_ingest(index: Path, corpus: Path, log: Path) -> None:
    child = subprocess.Popen(_child("ingest", index, corpus, log), env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    # each release embeds twice (chunks, then sentences): kill after ~a third of them
    while len(_logged(log)) < N_RELEASES and child.poll() is None:
        assert time.monotonic() < deadline, "the ingest did not progress"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the ingest finished before it was killed"


def test_a_killed_ingest_resumes_without_re_embedding(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _corpus(corpus)
    _kill_mid_ingest(index, corpus, tmp_path / "first.log")

    killed = _inspect(index, corpus, tmp_path)
    stored = set(killed["releases"])
    assert 0 < len(stored) < N_RELEASES
    stored_texts = {text for _, rid, text in killed["chunks"] if rid in stored}

    resume = subprocess.run(_child("ingest", index, corpus, tmp_path / "second.log"),
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert resume.returncode == 0, resume.stderr[-2000:]
    assert json.loads(resume.stdout.strip().splitlines()[-1]) == {
        "added": N_RELEASES - len(stored), "unchanged": len(stored)}
    re_embedded = set(_logged(tmp_path / "second.log"))
    assert re_embedded and not re_embedded & stored_texts  # nothing stored is embedded again

    final = _inspect(index, corpus, tmp_path)
    assert len(final["releases"]) == N_RELEASES  # nothing missing
    ids = [cid for cid, _, _ in final["chunks"]]
    assert len(ids) == len(set(ids)) == final["count"] == sum(final["releases"].values())
    assert {rid for _, rid, _ in final["chunks"]} == set(final["releases"])  # no leftovers
    assert sorted(final["with_sentences"]) == sorted(ids)  # every chunk has its sentences
    assert final["lexical"] == sorted(final["releases"])
    assert final["lexical_docs"] == len(ids)
