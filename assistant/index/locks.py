"""The store's lock: many readers or one writer in this process, one writer across processes.

A server's upload threads and, beside it, an `assistant ingest` in another process write to
one Chroma folder. A write holds the lock exclusively in this process and an exclusive
`flock` on the folder's `write.lock`, so a repair in one writer never mistakes another
writer's release, chunks stored and catalogue record not yet, for an interrupted one. The
thread holding the write lock may read under it (a repair reads the catalogue it fixes).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ReadWriteLock:
    """Many readers or one writer; a waiting writer blocks new readers."""

    def __init__(self, file: Path | None = None) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._waiting = 0  # writers waiting
        self._writer: int | None = None  # the thread writing
        self._file = file  # flocked by every write, against other processes

    def _mine(self) -> bool:
        return self._writer == threading.get_ident()

    @contextmanager
    def read(self) -> Iterator[None]:
        """Hold the lock shared (the writing thread already holds it)."""
        if self._mine():
            yield
            return
        with self._cond:
            self._cond.wait_for(lambda: self._writer is None and not self._waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the lock exclusively, here and (with a file) across processes."""
        if self._mine():
            yield
            return
        # the other processes' writers first, holding nothing here: while another process
        # writes, this process's readers (questions, health) go on
        with _flocked(self._file):
            with self._cond:
                self._waiting += 1
                self._cond.wait_for(lambda: self._writer is None and not self._readers)
                self._waiting -= 1
                self._writer = threading.get_ident()
            try:
                yield
            finally:
                with self._cond:
                    self._writer = None
                    self._cond.notify_all()


@contextmanager
def _flocked(file: Path | None) -> Iterator[None]:
    if file is None:
        yield
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
