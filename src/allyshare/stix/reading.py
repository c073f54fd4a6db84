"""Reading STIX content from files, for ``allyshare import FILE...``.

What a file may hold
    * a STIX bundle, ``{"type": "bundle", "objects": [...]}``; a bundle without ``"type"`` but
      with an ``objects`` list is read as a bundle too (the OASIS TLP 2.0 example is written
      that way);
    * a JSON array of STIX objects;
    * a single STIX object (a JSON object with a string ``type`` other than ``bundle``);
    * JSON Lines: one JSON value per line, blank lines ignored. A line holding a bundle is
      unpacked; any other line is one object.

A file is JSON Lines when its first non-blank line is a complete JSON object on its own and
more non-blank lines follow; otherwise the whole file is one JSON document. The file name does
not matter, so a ``.json`` file written one object per line reads correctly. JSON Lines files
are streamed line by line, so a multi-gigabyte export never sits in memory at once; a single
document (bundle, array or object) is parsed whole.

What comes out
    :func:`read_objects` yields one :class:`SourceObject` per object, ``(obj,
    bundle_spec_version)``: the object exactly as parsed, and the ``spec_version`` of the
    bundle it came in (``None`` when there is none). STIX 2.0 bundles declare the version only
    there, so :func:`allyshare.stix.upgrade.upgrade_object` needs it. The bundle's value is
    passed with every object; an object's own ``spec_version`` takes precedence over it.

    Items of a bundle, array or JSON Lines file that are not JSON objects are yielded as they
    are, so the caller can reject that one item and carry on with the rest.

Errors
    A file that cannot be read, is empty, is not JSON, or is JSON of another shape (for
    example a MISP event) raises :class:`~allyshare.errors.InvalidInput` with the file name and
    a one-line cause; a JSON syntax error names the line and column. A JSON Lines file is
    checked as it streams, so objects before a bad line have already been yielded when the
    error comes. ``allyshare import`` skips such a file (naming it and the cause) and goes on
    with the others, so a directory of mixed content imports what is STIX in it.

Directories
    Given a directory, :func:`read_objects` reads every ``*.json`` and ``*.jsonl`` file below
    it (recursively, case-insensitive suffix, sorted by path, hidden files and directories
    skipped) — for example the python-stix2 ``FileSystemStore`` layout
    ``<type>/<id>/<modified>.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from allyshare.errors import InvalidInput

STIX_FILE_SUFFIXES = frozenset({".json", ".jsonl"})
_BOM = b"\xef\xbb\xbf"


class SourceObject(NamedTuple):
    """One object read from a file, with the ``spec_version`` of the bundle that held it."""

    obj: object
    bundle_spec_version: str | None


def read_objects(path: Path) -> Iterator[SourceObject]:
    """Yield the objects of a STIX file, or of every STIX file under a directory."""
    if path.is_dir():
        files = stix_files(path)
        if not files:
            raise InvalidInput(f"{path}: no *.json or *.jsonl files in this directory")
        for file in files:
            yield from _read_file(file)
    else:
        yield from _read_file(path)


def stix_files(directory: Path) -> list[Path]:
    """The ``*.json`` / ``*.jsonl`` files below ``directory``, sorted, hidden ones skipped."""
    found = [
        candidate
        for candidate in directory.rglob("*")
        if candidate.suffix.lower() in STIX_FILE_SUFFIXES
        and not any(part.startswith(".") for part in candidate.relative_to(directory).parts)
        and candidate.is_file()
    ]
    return sorted(found)


def _read_file(path: Path) -> Iterator[SourceObject]:
    try:
        with path.open("rb") as stream:
            if _is_json_lines(path, stream):
                stream.seek(0)
                yield from _read_json_lines(path, stream)
            else:
                stream.seek(0)
                yield from _read_document(path, stream.read().removeprefix(_BOM))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _is_json_lines(path: Path, stream: IO[bytes]) -> bool:
    """Whether the first non-blank line is a JSON object by itself and more lines follow."""
    first = _next_content_line(stream)
    if first is None:
        raise InvalidInput(f"{path}: empty file, no STIX content")
    try:
        parsed = orjson.loads(first.removeprefix(_BOM))
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and _next_content_line(stream) is not None


def _next_content_line(stream: IO[bytes]) -> bytes | None:
    for line in stream:
        if line.strip():
            return line
    return None


def _read_json_lines(path: Path, stream: IO[bytes]) -> Iterator[SourceObject]:
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if number == 1:
            line = line.removeprefix(_BOM)
        if not line:
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(
                f"{path}: line {number} column {exc.colno}: not valid JSON: {exc.msg}"
            ) from exc
        if _is_bundle(value):
            yield from _bundle_objects(path, value, f"line {number}: ")
        else:
            yield SourceObject(value, None)


def _read_document(path: Path, data: bytes) -> Iterator[SourceObject]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"
        ) from exc
    if isinstance(document, list):
        for item in document:
            yield SourceObject(item, None)
    elif _is_bundle(document):
        yield from _bundle_objects(path, document, "")
    elif isinstance(document, dict) and isinstance(document.get("type"), str):
        yield SourceObject(document, None)
    elif isinstance(document, dict):
        raise InvalidInput(
            f"{path}: a JSON object that is neither a STIX bundle nor a STIX object "
            "(no string 'type', no 'objects' list)"
        )
    else:
        raise InvalidInput(
            f"{path}: the JSON document is a {_json_kind(document)}, "
            "not a STIX bundle, object or array of objects"
        )


def _is_bundle(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    if "type" in value:
        return bool(value["type"] == "bundle")
    return isinstance(value.get("objects"), list)


def _bundle_objects(path: Path, bundle: dict[str, Any], where: str) -> Iterator[SourceObject]:
    objects = bundle.get("objects", [])
    if not isinstance(objects, list):
        raise InvalidInput(f"{path}: {where}the bundle's 'objects' is not a list")
    spec_version = bundle.get("spec_version")
    if spec_version is not None and not isinstance(spec_version, str):
        raise InvalidInput(f"{path}: {where}the bundle's 'spec_version' is not a string")
    for item in objects:
        yield SourceObject(item, spec_version)


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"
