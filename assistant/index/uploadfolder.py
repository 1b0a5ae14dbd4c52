"""The upload folder as doctor sees it: files no release comes from, and leftover temp folders.

An upload is received into `<upload folder>/.incoming/<pid>-<random>/` (hidden, so ingesting
the folder skips it), then copied into the upload folder and indexed; a file that indexes
nothing is removed (web/uploads.py). A process killed during an upload leaves its incoming
folder behind, and maybe a copied file that was never indexed. `stale_incoming` finds the
folders of processes that are gone (a running server's own are in use), `clean_incoming`
removes them (at server start and by `assistant doctor --repair`), and `unindexed` names the
files no catalogued release comes from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

INCOMING = ".incoming"


@contextmanager
def incoming_folder(upload_dir: Path) -> Iterator[Path]:
    """A private folder for one upload's received files, removed afterwards."""
    folder = Path(upload_dir) / INCOMING / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _remove_if_empty(folder.parent)


def stale_incoming(upload_dir: Path) -> list[Path]:
    """Incoming folders whose process has ended (left by a kill during an upload)."""
    root = Path(upload_dir) / INCOMING
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not _alive(p.name.split("-", 1)[0]))


def clean_incoming(upload_dir: Path) -> int:
    """Remove the stale incoming folders; how many."""
    stale = stale_incoming(upload_dir)
    for folder in stale:
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.unlink(missing_ok=True)
    _remove_if_empty(Path(upload_dir) / INCOMING)
    return len(stale)


def _remove_if_empty(folder: Path) -> None:
    """The .incoming folder goes when its last upload has; another upload may be using it."""
    with contextlib.suppress(OSError):
        folder.rmdir()


def unindexed(upload_dir: Path, indexed_files: Collection[str]) -> list[str]:
    """Names of the files in the upload folder that no catalogued release comes from."""
    folder = Path(upload_dir)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file()
                  and not p.name.startswith(".") and p.resolve().as_posix() not in indexed_files)


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
