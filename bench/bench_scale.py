"""How serving costs grow with the archive: 1k, 10k, 100k chunks, embedded Chroma and server.

The index is filled with real text: IndoSum news articles, then the passages of the TyDi
QA-id, FacQA and IDK-MRC train sets from ../shared/data (BENCH_SHARED_DATA), then the same
passages again under new release ids once they run out (about 30k unique chunks). Chunk
vectors: the first `--base` IndoSum government-news articles are embedded for real (the
questions are their gold summaries, so the top-5 hit rate stays meaningful); every other
chunk and every sentence gets a SYNTHETIC VECTOR, a normalised mix of two real chunk
vectors plus Gaussian noise: embedding 100k chunks for real takes hours on 2 cores. Query
vectors are always real (e5 at question time, as served).

Each size is measured by a fresh probe process that builds the assistant on the index as
`assistant serve` does and asks: cold start to first answer, retrieval-only and full-ask
latency p50/p95/p99, peak RSS; the server deployment copies the embedded index into the
`--path` of a real `chroma run` and probes through it (its RSS is reported beside).
The fill itself gives ingest chunks/s without embedding (chunking, BM25 terms, Chroma and
log writes). Resumable: the work folder keeps the index and each size's result; rerun
the same command after a kill. Prints a table and writes JSON.

    BENCH_SHARED_DATA=../shared/data .venv/bin/python bench/bench_scale.py --sizes 1000,10000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pipeline as bp  # noqa: E402

from assistant.index.embed import CachedEmbeddings, Embedder  # noqa: E402

SHARED_DATA = Path(os.environ.get("BENCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
NEWS = SHARED_DATA / "corpus" / "indosum_dev_news_gov.jsonl"
QUERIES = SHARED_DATA / "qa" / "indosum_dev_summary2doc.jsonl"
NOISE = 0.02  # per dimension: synthetic vectors sit ~0.6-0.9 cosine from their parents


class SyntheticE5(Embedder):
    """Real e5 vectors for the base chunks, synthetic ones (named in the docstring) else."""

    def __init__(self, real: Embedder, base_texts: list[str]) -> None:
        self.real, self.name, self.dim = real, real.name, real.dim
        self.base = set(base_texts)
        self.matrix = np.asarray(real.embed_documents(base_texts), dtype=np.float32)

    def _synthetic(self, text: str) -> list[float]:
        seed = int(hashlib.sha1(text.encode()).hexdigest()[:12], 16)
        rng = np.random.default_rng(seed)
        i, j = rng.integers(len(self.matrix), size=2)
        vector = self.matrix[i] + 0.5 * self.matrix[j] + rng.normal(0, NOISE, self.dim)
        return (vector / np.linalg.norm(vector)).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Real vectors for base chunks, synthetic for everything else."""
        real = [t for t in texts if t in self.base]
        known = dict(zip(real, self.real.embed_documents(real), strict=True)) if real else {}
        return [known[t] if t in known else self._synthetic(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """The real query vector."""
        return self.real.embed_query(text)


def releases(base: int) -> Iterator[Any]:
    """The base articles first, then every other real passage, then repeats under new ids."""
    import dataclasses

    from assistant.evaluation.testset import squad_passages
    from assistant.ingest.releases import load_file_partial

    files = [NEWS, SHARED_DATA / "corpus" / "indosum_dev_all.jsonl"]
    qa = [SHARED_DATA / "qa" / n for n in ("tydiqa_id_train.jsonl", "facqa_train.jsonl",
                                            "idk_mrc_train.jsonl")]
    seen: set[str] = set()
    for copy in range(100):
        for path in files + qa:
            loaded = load_file_partial(path)[0] if path in files else squad_passages(path)
            for release in loaded:
                if copy == 0 and release.id in seen:
                    continue
                seen.add(release.id)
                yield release if copy == 0 else dataclasses.replace(
                    release, id=f"{release.id}-copy{copy}")


def open_index(work: Path, base: int) -> Any:
    """The embedded bench index with the synthetic embedder for writes."""
    from assistant.ingest.chunk import chunk_release
    from assistant.pipeline import build

    assistant = build(bp.settings_for(work / "embedded", "e5"))
    news = [r for r, _ in zip(releases(base), range(base), strict=False)]
    texts = [c.embed_text for r in news for c in chunk_release(
        r, assistant.settings.chunk_words, assistant.settings.chunk_max_paragraphs)]
    real = CachedEmbeddings(assistant.embedder, work / "vectors.sqlite")
    assistant.index.use_embedder(SyntheticE5(real, texts))
    return assistant


def fill(assistant: Any, target: int, source: Iterator[Any], bulk: bool) -> dict[str, Any]:
    """Add releases until the index holds target chunks; chunks/s of what this run added.

    Not bulk: through `Indexer.add_releases`, a release at a time as `assistant ingest`
    writes. Bulk: `add_releases(bulk=True)`, 500 releases in a few Chroma calls (each call
    costs ~0.1 s on a busy disk, so release-at-a-time writes would take hours for 100k
    chunks); same records, same log.
    """
    start, before = time.perf_counter(), assistant.index.store.count()
    count = before
    while count < target:
        batch = [next(source) for _ in range(500 if bulk else 100)]
        if bulk:
            bulk_add(assistant, batch)
        else:
            assistant.index.add_releases(batch)
        count = assistant.index.store.count()
        print(f"  {count} chunks, {time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    return {"chunks": count, "added": count - before, "seconds": round(seconds, 1),
            "bulk": bulk,
            "chunks_per_s": round((count - before) / seconds, 1) if count > before else None}


def bulk_add(assistant: Any, batch: list[Any]) -> None:
    """Write a batch of releases in a few Chroma calls (`Indexer.add_releases(bulk=True)`:
    releases already indexed are skipped, so a killed run resumes)."""
    assistant.index.add_releases(batch, bulk=True)


def pct(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 in ms."""
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}


def probe(index_dir: Path, chroma_url: str | None, questions: list[tuple[str, str]]) -> None:
    """(In a fresh process) start like `assistant serve`, then time questions; print JSON."""
    import psutil

    started = psutil.Process().create_time()
    from assistant.config import Settings
    from assistant.pipeline import build

    mark = time.time()
    assistant = build(Settings(index_dir=index_dir, chroma_url=chroma_url, embedder="e5"))
    built = time.time()
    assistant.ask(questions[0][0])
    first = time.time()
    retrieve_ms, ask_ms, hits = [], [], 0
    parts: dict[str, list[float]] = {}
    for question, gold in questions:
        t = time.perf_counter()
        ranking = assistant.retrieve(question).ranking
        retrieve_ms.append((time.perf_counter() - t) * 1000)
        hits += gold in {h.chunk.release_id for h in ranking[:5]}
        answer = assistant.ask(question)
        ask_ms.append(answer.timings_ms["total"])
        for name, value in answer.timings_ms.items():
            parts.setdefault(name, []).append(value)
    print(json.dumps({
        "load_average": os.getloadavg(),
        "cold_start_s": round(first - started, 2), "imports_s": round(mark - started, 2),
        "build_s": round(built - mark, 2), "first_ask_s": round(first - built, 2),
        "retrieve_ms": pct(retrieve_ms), "ask_ms": pct(ask_ms),
        "ask_parts_p50_ms": {k: round(statistics.median(v), 1) for k, v in parts.items()},
        "ask_parts_ms": {k: pct(v) for k, v in parts.items()},
        "top5_hit_rate": round(hits / len(questions), 3), "peak_rss_mb": bp.peak_rss_mb(),
    }))


def normal_priority() -> None:
    """Probes (and the server they ask) run at normal priority while the fill stays niced:
    the latency of a served question is measured, not that of a background job."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except PermissionError:
        pass


def run_probe(index_dir: Path, chroma_url: str | None, questions: int) -> dict[str, Any]:
    """Spawn the probe; what it printed."""
    command = [sys.executable, __file__, "--probe", str(index_dir), "--questions", str(questions)]
    if chroma_url:
        command += ["--chroma-url", chroma_url]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                            preexec_fn=normal_priority)
    if result.returncode != 0:
        sys.exit(f"probe failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def folder_mb(path: Path) -> float:
    """Size of the files under path, in MB."""
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def disk(index: Path) -> dict[str, float]:
    """The index's size on disk, split into Chroma's parts and the lexical log."""
    sqlite = index / "chroma.sqlite3"
    log = index / "lexical.jsonl"
    segments = sum(folder_mb(p) for p in index.iterdir() if p.is_dir() and p.name != "models")
    return {"total_mb": round((sqlite.stat().st_size + log.stat().st_size) / 1e6 + segments, 1),
            "chroma_sqlite_mb": round(sqlite.stat().st_size / 1e6, 1),
            "vector_segments_mb": round(segments, 1),
            "lexical_log_mb": round(log.stat().st_size / 1e6, 1)}


def server_probe(work: Path, size: int, questions: int) -> dict[str, Any]:
    """Copy the embedded index into a `chroma run --path`, probe through it, stop it."""
    import psutil

    from assistant.config import Settings
    from assistant.pipeline import _lexical_folder

    data = work / "server-data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(work / "embedded", data, ignore=shutil.ignore_patterns(
        "lexical.jsonl", "manifest.json", "models", "*.sqlite", "sentence-cache*"))
    port = bp_free_port()
    url = f"http://127.0.0.1:{port}"
    local = work / "server-local"
    folder = local / _lexical_folder(Settings(chroma_url=url))
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "embedded" / "lexical.jsonl", folder / "lexical.jsonl")
    log = (work / "chroma-server.log").open("wb")
    server = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path",
                               str(data), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, preexec_fn=normal_priority,
                              env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        wait_heartbeat(url, server)
        result = run_probe(local, url, questions)
        rss = psutil.Process(server.pid).memory_info().rss
        result["chroma_server_rss_mb"] = round(rss / 1e6, 1)
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def bp_free_port() -> int:
    """A free loopback port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_heartbeat(url: str, server: subprocess.Popen[bytes]) -> None:
    """Wait until the server answers (or fail with its exit)."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(f"chroma run exited with {server.returncode}")
        try:
            with opener.open(f"{url}/api/v2/heartbeat", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    sys.exit("chroma run gave no heartbeat")


def main() -> None:
    """Fill to each size, probe both deployments, write the JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--deployments", default="embedded,server")
    parser.add_argument("--base", type=int, default=200, help="articles embedded for real")
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--work", type=Path, default=ROOT / "bench/results/scale-work")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/scale.json")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--chroma-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    news = bp.read_jsonl(NEWS, args.base)
    questions = bp.pick_questions(QUERIES, [str(r["id"]) for r in news], args.questions)
    if args.probe:
        probe(args.probe, args.chroma_url, questions)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    assistant = open_index(args.work, args.base)
    source = releases(args.base)
    for size in [int(s) for s in args.sizes.split(",")]:
        key = str(size)
        row = results.setdefault(key, {})
        if "fill" not in row:
            row["fill"] = fill(assistant, size, source, bulk=size > 1000)
            row["disk"] = disk(args.work / "embedded")
        for deployment in args.deployments.split(","):
            if deployment not in row:
                print(f"probing {deployment} at {row['fill']['chunks']} chunks", flush=True)
                row[deployment] = (run_probe(args.work / "embedded", None, args.questions)
                                   if deployment == "embedded"
                                   else server_probe(args.work, size, args.questions))
            args.out.write_text(json.dumps(results, indent=1))
    results["_note"] = ("chunk vectors of all but the first base articles and all sentence "
                        "vectors are SYNTHETIC (mixes of real e5 vectors plus noise); query "
                        "vectors are real e5")
    results["_machine"] = bp.machine()
    args.out.write_text(json.dumps(results, indent=1))
    show(results)


def show(results: dict[str, Any]) -> None:
    """The table: latency, memory, disk and start-up against size, per deployment."""
    print("| chunks | deployment | retrieve p50/p95/p99 ms | ask p50/p95/p99 ms | "
          "cold start s | peak RSS MB | disk MB | fill chunks/s (no embedding) |")
    print("|---|---|---|---|---|---|---|---|")
    for key, row in results.items():
        if key.startswith("_"):
            continue
        for deployment in ("embedded", "server"):
            if deployment not in row:
                continue
            p = row[deployment]
            r, a = p["retrieve_ms"], p["ask_ms"]
            rss = f"{p['peak_rss_mb']}" + (f" + server {p['chroma_server_rss_mb']}"
                                           if "chroma_server_rss_mb" in p else "")
            print(f"| {row['fill']['chunks']} | {deployment} | {r['p50']}/{r['p95']}/{r['p99']} "
                  f"| {a['p50']}/{a['p95']}/{a['p99']} | {p['cold_start_s']} | {rss} | "
                  f"{row['disk']['total_mb']} | {row['fill']['chunks_per_s']}"
                  f"{' bulk' if row['fill'].get('bulk') else ''} |")


if __name__ == "__main__":
    main()
