"""The node's data directory: its database, keys, tokens and peer credentials, for its owner
alone.

The directory is made 0700 and every file the node writes in it 0600, from the start (never
created readable and narrowed after). A SQLite database file is created 0600 before the engine
opens it, because SQLite creates its ``-wal`` and ``-shm`` files with the database file's own
permissions. A node made by an older version, or a directory someone loosened, is put right
when the node opens: every file and directory in the data directory loses its group and
other permissions, and the node logs what it changed. The directory is the node's own, so
nothing in it is meant for anyone else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def make_private_directory(path: Path) -> None:
    """Create ``path`` (and missing parents, left as the system makes them) for its owner."""
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIRECTORY)


def write_private_text(path: Path, text: str) -> None:
    """Write ``path`` as a file only its owner can read, replacing what it held."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def create_private_database(url: str) -> None:
    """Create the SQLite file a URL names as an empty, private database if it is missing
    (SQLite takes an empty file as an empty database); other databases are left alone."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database or "")
    if path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):  # another node process made it meanwhile
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def tighten(data_dir: Path) -> list[str]:
    """Take group and other permissions off the data directory and everything in it (symbolic
    links are not followed); return what changed, as ``name 0644 -> 0600``, and log it."""
    if not data_dir.is_dir():
        return []
    changed: list[str] = []
    _tighten_one(data_dir, data_dir, changed)
    for root, directories, files in os.walk(data_dir):
        for name in [*directories, *files]:
            _tighten_one(Path(root) / name, data_dir, changed)
    if changed:
        log.warning(
            f"data directory {data_dir} was readable by others; now only its owner's: "
            + ", ".join(changed),
            extra={"data_dir": str(data_dir), "changed": changed},
        )
    return changed


def _tighten_one(path: Path, data_dir: Path, changed: list[str]) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:  # a SQLite -wal or -shm that went away meanwhile
        return
    if stat.S_ISLNK(mode) or not mode & _OTHERS:
        return
    before = stat.S_IMODE(mode)
    after = before & ~_OTHERS
    path.chmod(after)
    name = str(path.relative_to(data_dir)) if path != data_dir else "."
    changed.append(f"{name} {before:04o} -> {after:04o}")
