"""What an upload may index: new releases, or new versions of releases uploaded before.

An uploaded JSONL line names its release id, so without a check an upload could replace any
release, including one ingested from `corpus/` by an administrator. And the same bytes
uploaded under another name would be indexed again as a second release. `Admission` is the
indexer's `admit` check for uploads: it refuses a release whose id belongs to a release from
outside the upload folder, and a release whose content another release already holds
(indexed, or admitted earlier in the same upload), and says which release that is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from assistant.types import IndexedRelease, Release


def shown_file(file: str) -> str:
    """A release's file as an administrator finds it: relative to the working directory
    (where `assistant ingest corpus/` runs) when it is inside it."""
    try:
        return Path(file).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return file


class Admission:
    """The upload rules, as the indexer's `admit` check (one instance per upload)."""

    def __init__(self, upload_dir: Path) -> None:
        self.upload_dir = Path(upload_dir).resolve()
        self._admitted: dict[str, str] = {}  # content hash -> id, admitted in this upload
        self._by_hash: dict[str, IndexedRelease] | None = None  # of the catalogue, built once

    def __call__(self, release: Release, file: str,
                 catalog: Mapping[str, IndexedRelease]) -> str:
        """Why this release of an uploaded file may not be indexed ("" when it may)."""
        label = f"`{Path(file).name}`: "
        known = catalog.get(release.id)
        if known is not None and not self._uploaded(known.file):
            return (f"{label}id {release.id} already belongs to release {known.title!r} from "
                    f"{shown_file(known.file) or known.source}; uploads may only add releases "
                    "or update their own (give the release another id)")
        twin = self._twin(release, catalog)
        if twin:
            return (f"{label}the same content is already indexed as release {twin}; nothing "
                    "was added (delete that release first to index it under another name)")
        self._admitted.setdefault(release.content_hash, release.id)
        return ""

    def _uploaded(self, file: str) -> bool:
        return bool(file) and Path(file).parent == self.upload_dir

    def _twin(self, release: Release, catalog: Mapping[str, IndexedRelease]) -> str:
        """The release (other than this id) that holds the same content, described."""
        earlier = self._admitted.get(release.content_hash)
        if earlier and earlier != release.id:
            return f"{earlier} (earlier in this upload)"
        if self._by_hash is None:
            self._by_hash = {r.content_hash: r for r in catalog.values()}
        record = self._by_hash.get(release.content_hash)
        if record is None or record.id == release.id:
            return ""
        return f"{record.title!r} (id {record.id}, from {shown_file(record.file) or record.source})"
