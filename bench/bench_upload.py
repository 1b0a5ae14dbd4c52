"""The cost of one upload at 1k and 10k chunks: the old full BM25 reload against the new
incremental lexical index, measured side by side in one run on the same index.

The index is filled with real passages (IndoSum articles, then TyDi QA / FacQA contexts from
../shared/data) embedded by the fake embedder: what is measured is the index bookkeeping of
an upload (store write, lexical update, catalogue refresh), not the embedding model, whose
cost per chunk is the same before and after (bench_pipeline.py measures it).

    python bench/bench_upload.py --sizes 1000,10000 --uploads 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
UPLOAD = """Kemenko PMK Tinjau Posko Bencana Banjir nomor {n}

Jakarta (1/12/2023) - Kemenko PMK meninjau posko pengungsian banjir nomor {n} dan memastikan
logistik, layanan kesehatan serta sekolah darurat tersedia bagi warga terdampak.

Deputi Bidang Koordinasi Penanganan Bencana meminta pemerintah daerah memperbarui data
pengungsi setiap hari agar bantuan tepat sasaran.
"""


def releases() -> Iterator[Any]:
    """Real releases and passages from ../shared/data, in a fixed order."""
    from assistant.evaluation.testset import squad_passages
    from assistant.ingest.releases import load_file_partial

    for path in sorted((DATA / "corpus").glob("*.jsonl")):
        yield from load_file_partial(path)[0]
    for name in ("tydiqa_id_train.jsonl", "facqa_train.jsonl", "idk_mrc_train.jsonl"):
        if (DATA / "qa" / name).exists():
            yield from squad_passages(DATA / "qa" / name)


def fill(assistant: Any, target: int, source: Iterator[Any]) -> int:
    """Add releases until the index holds at least target chunks; returns the chunk count."""
    batch: list[Any] = []
    while assistant.index.store.count() < target:
        batch.append(next(source))
        if len(batch) == 200:
            assistant.index.add_releases(batch)
            batch = []
    if batch:
        assistant.index.add_releases(batch)
    return assistant.index.store.count()


def old_refresh_ms(assistant: Any) -> float:
    """What every upload used to add: page every chunk's terms out of Chroma, rebuild BM25."""
    from assistant.index.lexindex import LexicalIndex

    start = time.perf_counter()
    fresh = LexicalIndex()  # no log: everything comes from the store, as before
    catalog = assistant.index.store.release_hashes()
    fresh.sync(catalog, assistant.index.store.lexical_docs)
    return (time.perf_counter() - start) * 1000


def upload_ms(assistant: Any, folder: Path, n: int) -> float:
    """One upload as the page does it: a new file ingested (incremental lexical update)."""
    path = folder / f"upload-{n}.txt"
    path.write_text(UPLOAD.format(n=n), encoding="utf-8")
    start = time.perf_counter()
    report = assistant.index.ingest([path])
    elapsed = (time.perf_counter() - start) * 1000
    assert report.added, report.failed
    return elapsed


def measure(size: int, uploads: int, workdir: Path, source: Iterator[Any]) -> dict[str, Any]:
    """Upload cost before/after on an index of about size chunks."""
    from assistant.config import Settings
    from assistant.pipeline import build

    settings = Settings(index_dir=workdir / f"index-{size}", embedder="fake")
    assistant = build(settings)
    chunks = fill(assistant, size, source)
    after = [upload_ms(assistant, workdir, n) for n in range(uploads)]
    before = [a + old_refresh_ms(assistant) for a in after]  # the old path did both
    start = time.perf_counter()
    build(settings)
    return {"chunks": chunks, "uploads": uploads,
            "after_ms": round(statistics.median(after), 1),
            "before_ms": round(statistics.median(before), 1),
            "full_reload_ms": round(statistics.median(b - a for a, b in zip(after, before,
                                                                             strict=True)), 1),
            "restart_ms": round((time.perf_counter() - start) * 1000, 1)}


def main() -> None:
    """Parse options, measure each size, print a table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000",
                        help="index sizes in chunks, comma-separated (default 1000,10000)")
    parser.add_argument("--uploads", type=int, default=5,
                        help="uploads timed per size; the median is reported (default 5)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "upload.json")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} not found: this benchmark reads real passages from ../shared/data")
    sys.path.insert(0, str(ROOT))
    source = releases()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as workdir:
        for size in sorted(int(s) for s in args.sizes.split(",")):
            rows.append(measure(size, args.uploads, Path(workdir), source))
            print(f"measured {rows[-1]['chunks']} chunks", file=sys.stderr)
    print("| chunks | upload before (full BM25 reload) ms | upload after (incremental) ms "
          "| of which the old reload ms | restart (load log + check) ms |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['chunks']:,} | {r['before_ms']:,.0f} | {r['after_ms']:,.0f} "
              f"| {r['full_reload_ms']:,.0f} | {r['restart_ms']:,.0f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
