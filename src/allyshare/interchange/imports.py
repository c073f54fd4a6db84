"""Importing files of STIX into a collection: the one pipeline the CLI, the management API
and the web UI share (reading, upgrading STIX 2.0, storing in batches, a summary of what
became of each object and file)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from allyshare.errors import InvalidInput, InvalidObject
from allyshare.service import Node
from allyshare.stix.reading import read_objects, stix_files
from allyshare.stix.upgrade import upgrade_object
from allyshare.storage import User

__all__ = ["IMPORT_BATCH", "ImportSummary", "import_into"]

IMPORT_BATCH = 5000


class ImportSummary(Counter[str]):
    """Counts of stored / duplicate / rejected objects, with each rejection's reason, each
    warning about what was stored, and the files skipped (why, one line each)."""

    def __init__(self) -> None:
        super().__init__({"stored": 0, "duplicate": 0, "rejected": 0})
        self.reasons: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.skipped: list[str] = []


def import_into(
    node: Node,
    actor: User,
    collection_id: str,
    paths: Iterable[Path],
    progress: Callable[[Path, int], None] | None = None,
    *,
    anonymous: bool | None = None,
) -> ImportSummary:
    """Read, upgrade (STIX 2.0 to 2.1) and store objects as ``actor`` (``anonymous``: as an
    anonymous contribution), in batches of ``IMPORT_BATCH``; ``progress`` is told each file
    as it starts and each batch stored.

    A file that is not STIX (an ATT&CK ``index.json``, a MISP event, anything that is not a
    bundle, object, array or JSON Lines of them) is skipped and named, and the rest imported:
    directories of mixed content are common. Objects a JSON Lines file held before a line
    that does not parse are imported; the skip says so.
    """
    summary = ImportSummary()
    given = list(paths)
    for path in given:
        if not path.exists():
            raise InvalidInput(f"{path}: no such file or directory")
    for path in given:
        files = stix_files(path) if path.is_dir() else [path]
        if not files:
            summary.skipped.append(f"{path}: no *.json or *.jsonl files in this directory")
        for file in files:
            if progress is not None:
                progress(file, 0)

            def store(batch: list[object], file: Path = file) -> None:
                _store_batch(node, actor, collection_id, batch, summary, anonymous)
                if progress is not None:
                    progress(file, len(batch))

            _import_file(file, summary, store)
    return summary


def _import_file(path: Path, summary: ImportSummary, store: Callable[[list[object]], None]) -> None:
    """Store one file's objects in batches; a file that is not STIX is skipped, named."""
    batch: list[object] = []
    read = False
    try:
        for obj in _upgraded(read_objects(path), summary):
            batch.append(obj)
            read = True
            if len(batch) >= IMPORT_BATCH:
                store(batch)
                batch = []
    except InvalidInput as exc:
        summary.skipped.append(f"{exc}" + ("; what came before it is imported" if read else ""))
    if batch:
        store(batch)


def _upgraded(
    source: Iterable[tuple[object, str | None]], summary: ImportSummary
) -> Iterator[object]:
    for obj, bundle_spec_version in source:
        if not isinstance(obj, dict):
            summary["rejected"] += 1
            summary.reasons["not a JSON object"] += 1
            continue
        try:
            yield upgrade_object(obj, bundle_spec_version)
        except InvalidObject as exc:
            summary["rejected"] += 1
            summary.reasons[exc.reason] += 1


def _store_batch(
    node: Node,
    actor: User,
    collection_id: str,
    batch: list[object],
    summary: ImportSummary,
    anonymous: bool | None,
) -> None:
    status = node.add_objects(actor, collection_id, batch, anonymous=anonymous)
    for success in status.successes:
        message, _, warning = success["message"].partition("; warning: ")
        summary["stored" if message == "stored" else "duplicate"] += 1
        if warning:
            summary.warnings[warning] += 1
    for failure in status.failures:
        summary["rejected"] += 1
        summary.reasons[failure["message"]] += 1
