"""index/manifest.json: a copy of the provenance and catalogue for people, written safely.

Several writers share one index folder: the upload threads of a server and, beside it, an
`assistant ingest` in another process. Each rewrite goes to a temporary file of its own and
is renamed over the manifest, and the whole "read what the store holds now, then write it"
step holds a lock (a thread lock and an exclusive `flock` on `manifest.lock`), so the last
writer always writes the newest catalogue and no writer's releases are lost.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
LOCK_NAME = "manifest.lock"
_THREADS = threading.Lock()  # flock is per open file, so threads of one process take this too


@contextmanager
def manifest_lock(index_dir: Path) -> Iterator[None]:
    """Hold the manifest exclusively (against threads here and other processes)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with _THREADS, (index_dir / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_json_atomically(path: Path, payload: Any) -> None:
    """Write JSON to a temporary file of this call's own beside path, then rename it over."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=1, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
