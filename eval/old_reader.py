"""The replaced reader (commit 4e96955: 3 of 12 layers trained on a fifth of the data) on
the requests of a reader_eval run, so the new reader's table can show it on the same
retrievals. Run it from a checkout of 4e96955 (its code is gone from this one):

    git worktree add /tmp/old 4e96955
    cd /tmp/old && PYTHONPATH=/tmp/old python <this repo>/eval/old_reader.py RUN MODEL_CACHE

It writes RUN/answers-old-reader.jsonl (answers, not scores: reader_eval.py report scores
them like every other answerer). Its thresholds are the ones shipped in its record.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from assistant.reader import ReaderAnswerer  # type: ignore[import-not-found]
from assistant.readermodel import load_reader  # type: ignore[import-not-found]

from assistant.answer import AnswerRequest  # type: ignore[attr-defined]  # 4e96955's layout
from assistant.types import Chunk, Hit


def main() -> None:
    """Answer every collected request with the old reader."""
    run, cache = Path(sys.argv[1]), Path(sys.argv[2])
    reader = ReaderAnswerer(lambda: load_reader(cache), 3)
    path = run / "answers-old-reader.jsonl"
    done = {(r["set"], r["id"]) for r in map(json.loads, path.read_text().splitlines()
                                             if path.is_file() else []) if r}
    # the report table shows report halves only; answers already written are kept (resume)
    rows = [r for r in map(json.loads, (run / "rows.jsonl").read_text().splitlines())
            if r["half"] == "report" and (r["set"], r["id"]) not in done]
    with open(path, "a", encoding="utf-8") as out:
        for n, row in enumerate(rows):
            hits = {h["id"]: Hit(Chunk(h["id"], h["release_id"], h["text"], h["para_start"],
                                       h["para_end"], h["char_start"], h["char_end"],
                                       h["title"], None, h["source"]), h["score"], h["dense"])
                    for h in row["hits"]}
            request = AnswerRequest(row["question"], [hits[c] for c in row["answered_from"]],
                                    [], lambda _t: 0.0)
            began = time.perf_counter()
            answer = reader.answer(request)
            ms = (time.perf_counter() - began) * 1000
            out.write(json.dumps({
                "set": row["set"], "id": row["id"], "ms": round(ms, 1),
                "refused": answer.refused, "confidence": answer.confidence,
                "text": answer.text, "short": answer.short_answer,
                "citations": [{"release_id": c.release_id, "chunk_id": c.chunk_id,
                               "quote": c.quote, "passage": c.passage}
                              for c in answer.citations]}, ensure_ascii=False) + "\n")
            if n % 100 == 0:
                print(f"{n}/{len(rows)}", file=sys.stderr)


if __name__ == "__main__":
    main()
