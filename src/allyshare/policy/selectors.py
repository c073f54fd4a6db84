"""Granular-marking selectors and the removal of selected content.

Selector syntax is STIX 2.1 section 7.2.3.1: property names and ``[n]`` list indices joined
by dots (``description``, ``external_references.[0].url``, ``kill_chain_phases.[1]``).

Removing content is ours (DESIGN section 3; STIX leaves redaction open):

- Every selector names a path in the *original* object. Paths are marked first and the
  object compacted afterwards, so removing ``kill_chain_phases.[0]`` does not shift what
  ``kill_chain_phases.[1]`` refers to.
- A list or dictionary emptied by removal goes too (STIX forbids empty lists), so removing
  the only external reference removes ``external_references``.
- Granular markings that stay are re-pointed at the compacted indices; a selector whose
  content went is dropped, and so is an entry left with no selector. The removed granular
  markings themselves therefore disappear with their content.
- ``x_allyshare_redacted`` lists the removed selectors (sorted, merged with any list a
  peer's redaction left), so the copy says it is one.

Unchanged parts of the object are shared with the input, not copied: treat both as
read-only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from allyshare.errors import InvalidObject

__all__ = ["REDACTED_PROPERTY", "format_selector", "parse_selector", "redact", "selects"]

REDACTED_PROPERTY = "x_allyshare_redacted"

Step = str | int
Path = tuple[Step, ...]

_INDEX_RE = re.compile(r"\[([0-9]+)\]")
# Removing these would leave a copy that looks less marked than the original.
_MARKING_PROPERTIES = frozenset({"object_marking_refs", "granular_markings"})
_GONE = object()


def parse_selector(selector: str) -> Path:
    """``a.[1].b`` as ``("a", 1, "b")``."""
    steps: list[Step] = []
    for part in selector.split("."):
        index = _INDEX_RE.fullmatch(part)
        steps.append(int(index.group(1)) if index else part)
    return tuple(steps)


def format_selector(path: Path) -> str:
    """The inverse of `parse_selector`."""
    return ".".join(f"[{step}]" if isinstance(step, int) else step for step in path)


def selects(obj: Mapping[str, Any], path: Path) -> bool:
    """Whether the path points at content present in the object."""
    node: Any = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return False
        elif not isinstance(node, Mapping) or step not in node:
            return False
        node = node[step]
    return True


class _Compaction:
    """One removal: the compacted copy, and where the surviving list elements moved."""

    def __init__(self, removed: set[Path]) -> None:
        self.removed = removed
        self.on_the_way = {path[:end] for path in removed for end in range(len(path))}
        self.moved: dict[Path, list[int | None]] = {}
        self.gone: set[Path] = set()

    def compact(self, value: Any, path: Path) -> Any:
        if path in self.removed:
            self.gone.add(path)
            return _GONE
        if path not in self.on_the_way:
            return value
        if isinstance(value, list):
            kept: list[Any] = []
            moved: list[int | None] = []
            for index, item in enumerate(value):
                item = self.compact(item, (*path, index))
                if item is _GONE:
                    moved.append(None)
                else:
                    moved.append(len(kept))
                    kept.append(item)
            self.moved[path] = moved
            if not kept:
                self.gone.add(path)
                return _GONE
            return kept
        if isinstance(value, Mapping):
            result = {}
            for key, item in value.items():
                item = self.compact(item, (*path, key))
                if item is not _GONE:
                    result[key] = item
            if not result:
                self.gone.add(path)
                return _GONE
            return result
        return value

    def relocate(self, path: Path) -> Path | None:
        """Where an original path points in the compacted copy, or None if its content went."""
        moved: list[Step] = []
        here: Path = ()
        for step in path:
            if isinstance(step, int) and here in self.moved:
                index = self.moved[here][step]
                if index is None:
                    return None
                moved.append(index)
            else:
                moved.append(step)
            here = (*here, step)
            if here in self.gone:
                return None
        return tuple(moved)


def redact(obj: Mapping[str, Any], selectors: Collection[str]) -> dict[str, Any]:
    """A copy of the object without what the selectors select (see the module docstring).

    Raises InvalidObject when a selector would remove the object's own markings; the caller
    validates the copy, since only the object's type knows which properties are required.
    """
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    removed: set[Path] = set()
    for selector in selectors:
        path = parse_selector(selector)
        if path[0] in _MARKING_PROPERTIES:
            raise InvalidObject(
                object_id, selector, "removing it would strip the object's own markings"
            )
        if selects(obj, path):
            removed.add(path)
    compaction = _Compaction(removed)
    compacted = compaction.compact(obj, ())
    copy: dict[str, Any] = {} if compacted is _GONE else dict(compacted)

    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        kept = []
        for entry in granular:
            moved = [
                format_selector(relocated)
                for selector in entry.get("selectors", ())
                if selects(obj, path := parse_selector(selector))
                and (relocated := compaction.relocate(path)) is not None
            ]
            if moved:
                kept.append({**entry, "selectors": moved})
        if kept:
            copy["granular_markings"] = kept
        else:
            copy.pop("granular_markings", None)

    listed = set(selectors)
    earlier = obj.get(REDACTED_PROPERTY)
    if isinstance(earlier, list) and all(isinstance(item, str) for item in earlier):
        listed.update(earlier)
    copy[REDACTED_PROPERTY] = sorted(listed)
    return copy
