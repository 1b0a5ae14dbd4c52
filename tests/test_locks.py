"""The store's lock: readers share it, a writer excludes them in this process, and a writer
waiting for another process's write holds nothing that stops this process's readers."""

from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

from assistant.index.locks import ReadWriteLock


def _in_thread(target: object) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_readers_go_on_while_another_process_writes(tmp_path: Path) -> None:
    lock = ReadWriteLock(tmp_path / "write.lock")
    other = (tmp_path / "write.lock").open("a")  # another process's `assistant ingest`
    fcntl.flock(other, fcntl.LOCK_EX)
    wrote = threading.Event()

    def write() -> None:
        with lock.write():
            wrote.set()

    writer = _in_thread(write)
    time.sleep(0.2)  # the upload thread now waits for the other process
    read = threading.Event()

    def reader() -> None:
        with lock.read():
            read.set()

    _in_thread(reader)
    # before: the waiting writer held this process's lock, so questions and health waited
    # for the other process's whole write
    assert read.wait(2) and not wrote.is_set()
    fcntl.flock(other, fcntl.LOCK_UN)
    other.close()
    writer.join(5)
    assert wrote.is_set()


def test_a_writer_here_excludes_readers_until_it_is_done(tmp_path: Path) -> None:
    lock = ReadWriteLock(tmp_path / "write.lock")
    read = threading.Event()

    def reader() -> None:
        with lock.read():
            read.set()

    with lock.write():
        _in_thread(reader)
        assert not read.wait(0.3)  # no reader sees a half-written release
        with lock.read():  # the writing thread may read what it writes
            pass
    assert read.wait(2)
